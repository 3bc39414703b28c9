"""The Faust stream processors: projectors that build the Redis read models from Kafka."""
