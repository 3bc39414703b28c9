"""JSON logs, one object per line, the same in every process, so a log aggregator (or
`ostock logs`) can index and merge them.

Every process calls `configure_logging` first: one handler on the root logger, to
standard error, so the lines of third-party loggers (uvicorn, faust, mode, aiokafka,
librdkafka's through ostock.kafka.config) and Python's warnings come out the same way.
"""

import logging
import logging.config
import time

import orjson

from ostock.deployables import instance_name
from ostock.settings import Settings
from ostock.telemetry.context import record_fields

#: What a line may say of the record it is about (ostock.telemetry.context); a call can
#: name them itself, as `extra`, for a record it is not processing (one it issued).
RECORD_FIELDS = ("topic", "partition", "offset", "correlation_id", "trace_id", "span_id")


class JsonFormatter(logging.Formatter):
    """time (UTC, ms), level, service, instance (which copy of it), logger, message, the
    record's fields if the line is about one, and the exception if any."""

    def __init__(self, service: str, instance: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.instance = instance
        # The last second formatted and its text: one assignment, so threads may share it.
        self._second = (0, "")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str | int] = {
            "time": f"{self._utc_second(int(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            **({"instance": self.instance} if self.instance else {}),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_fields())
        named = record.__dict__
        for field in RECORD_FIELDS:
            if field in named:
                entry[field] = named[field]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry).decode()

    def _utc_second(self, second: int) -> str:
        """ISO 8601 in UTC to the second: 2025-01-31T12:00:00."""
        last, text = self._second
        if second != last:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return text


def configure_logging(settings: Settings, service: str) -> None:
    """Send this process's logs, every logger's and Python's warnings, to standard error
    as JSON lines of `service` (its name in ostock.deployables.PROCESSES), at
    settings.log_level."""
    logging.config.dictConfig(
        {
            "version": 1,
            # Loggers made at import time (every module's `log`) keep logging.
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": JsonFormatter,
                    "service": service,
                    "instance": instance_name(settings),
                }
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"level": settings.log_level.upper(), "handlers": ["stderr"]},
        }
    )
    logging.captureWarnings(True)
