"""Channel adapters: each turns one platform's traffic into calls on `bot.desk`."""
