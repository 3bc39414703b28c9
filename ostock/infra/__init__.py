"""Local infrastructure: Kafka (KRaft, from the Maven jars) and Redis as real processes."""
