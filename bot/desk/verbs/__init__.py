"""The verbs of the `/desk` command language, one module per kind of work; `bot.desk.commands` runs them.
Importing `bot.desk.commands` registers them all, in the order `help` lists them."""
