"""O-stock's benchmark harness (`ostock bench`): each figure beside its baseline, measured in
the same run on Kafka and Redis of its own (targets: docs/performance.md)."""
