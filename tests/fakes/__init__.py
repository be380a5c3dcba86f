"""Fakes that stand in for Slack and the Bot connector over real HTTP on ephemeral ports."""
