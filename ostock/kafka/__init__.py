"""Kafka, in one place: every client's configuration (config), reading partitions to their
end (topic_reader), producing and waiting for the acks (delivery), how every command goes
on Kafka and the CLI's publisher (publisher), dead letters (deadletters, dead_letter_queue), the
schema registry's topic (schema_registry). The broker process is ostock.infra.kafka;
the event store over the events topics is ostock.eventstore."""
