"""The write side: command handlers that consume a command topic, let aggregates
decide, and emit events and results in one Kafka transaction per batch."""
