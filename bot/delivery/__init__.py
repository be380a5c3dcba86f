"""Delivery: the durable inbox for inbound events, the outbox and its worker, the neutral outbound message."""
