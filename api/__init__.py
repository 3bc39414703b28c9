"""The HTTP API: commands in (published to Kafka), read models out (from Redis)."""
