"""A Kafka persistence module for the eventsourcing library.

The events topic is the store. A writer owns a set of its partitions (one writer
per partition, by the consumer group of the command topic), reads them once into
memory, and appends new events inside Kafka transactions.
"""
