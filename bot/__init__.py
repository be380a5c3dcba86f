"""Zonedesk: the service desk core (config, storage, access, use cases, outbox, scheduler)."""
