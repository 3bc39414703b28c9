"""The dead-letter record: the original key and value, and headers saying why and whence."""

from datetime import UTC, datetime

from ostock.kafka.config import Headers

ERROR = "dlq-error"
REASON = "dlq-reason"
SOURCE_TOPIC = "dlq-source-topic"
SOURCE_PARTITION = "dlq-source-partition"
SOURCE_OFFSET = "dlq-source-offset"
FAILED_AT = "dlq-failed-at"
CONSUMER = "dlq-consumer"


class Unprocessable(Exception):
    """A record that was read but cannot be processed, for a reason that retrying does
    not remove (`reason`: its dlq-reason)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def dead_letter_headers(
    *,
    reason: str,
    error: str,
    topic: str,
    partition: int,
    offset: int,
    consumer: str,
    original: Headers | None = None,
) -> Headers:
    """Headers of a dead letter; the original headers (correlation id, trace) are kept."""
    ours = {
        REASON: reason,
        ERROR: error,
        SOURCE_TOPIC: topic,
        SOURCE_PARTITION: str(partition),
        SOURCE_OFFSET: str(offset),
        FAILED_AT: datetime.now(UTC).isoformat(),
        CONSUMER: consumer,
    }
    kept = [(k, v) for k, v in original or () if not k.startswith("dlq-")]
    return kept + [(k, v.encode()) for k, v in ours.items()]
