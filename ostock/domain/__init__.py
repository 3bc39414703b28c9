"""The domain: aggregates, their events and their rules. No Kafka, Redis or HTTP here."""
