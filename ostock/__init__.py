"""O-stock: event-sourced organization and licensing services on Kafka and Redis."""
