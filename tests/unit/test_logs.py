"""The one JSON formatter: every line's fields, the exception, the record a line is about,
and every logger of a process configured with it, third-party ones included."""

import io
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ostock.infra.ports import free_port
from ostock.logs import JsonFormatter
from ostock.settings import Settings, settings_env
from ostock.telemetry.context import about

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """What the logger `test.logs` writes, through a JsonFormatter of service `api`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("api"))
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_has_time_level_service_logger_and_message(out: io.StringIO) -> None:
    before = datetime.now(UTC)
    logging.getLogger("test.logs").warning("%s %d sent", "CreateOrganization", 7)
    (line,) = lines(out)
    assert line.keys() == {"time", "level", "service", "logger", "message"}
    assert (line["level"], line["service"], line["logger"], line["message"]) == (
        "warning",
        "api",
        "test.logs",
        "CreateOrganization 7 sent",
    )
    assert isinstance(line["time"], str) and line["time"].endswith("Z")
    written = datetime.fromisoformat(line["time"])
    assert written.tzinfo == UTC
    assert before - timedelta(milliseconds=1) <= written <= datetime.now(UTC)


def test_the_time_is_utc_to_the_millisecond_whatever_the_previous_line() -> None:
    formatter = JsonFormatter("api")

    def time_of(created: float) -> object:
        record = logging.LogRecord("x", logging.INFO, "f", 1, "m", None, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        return orjson.loads(formatter.format(record))["time"]

    assert time_of(1738324800.1234) == "2025-01-31T12:00:00.123Z"
    assert time_of(1738324861.5) == "2025-01-31T12:01:01.500Z"
    assert time_of(1738324800.9) == "2025-01-31T12:00:00.900Z"


def test_an_exception_comes_with_its_traceback(out: io.StringIO) -> None:
    try:
        raise ValueError("bad field")
    except ValueError:
        logging.getLogger("test.logs").exception("decision failed")
    (line,) = lines(out)
    assert line["message"] == "decision failed"
    assert isinstance(line["exception"], str)
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert line["exception"].endswith("ValueError: bad field")


def test_a_line_about_a_record_names_it_and_its_ids(out: io.StringIO) -> None:
    headers = [("correlation-id", b"order-42"), ("traceparent", TRACEPARENT)]
    log = logging.getLogger("test.logs")
    with about("ostock.organization.commands", 1, 99, headers):
        log.info("decided")
    log.info("after")
    about_it, after = lines(out)
    assert about_it == about_it | {
        "topic": "ostock.organization.commands",
        "partition": 1,
        "offset": 99,
        "correlation_id": "order-42",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
    }
    assert "topic" not in after and "trace_id" not in after


def test_a_call_may_name_the_ids_of_a_record_it_issued(out: io.StringIO) -> None:
    log = logging.getLogger("test.logs")
    with about("ostock.organization.events", 0, 5, [("correlation-id", b"the-event's")]):
        log.info("issued", extra={"correlation_id": "the-command's", "topic": "commands"})
    (line,) = lines(out)
    assert (line["correlation_id"], line["topic"], line["offset"]) == (
        "the-command's",
        "commands",
        5,
    )


def test_every_logger_of_a_configured_process_writes_json_librdkafka_included() -> None:
    """A process configured by configure_logging: its own, third-party, Python's warnings
    and librdkafka's lines (a producer that cannot connect) all come out as JSON lines
    of its service and instance."""
    closed = free_port()
    script = textwrap.dedent(
        """
        import logging
        import warnings
        from confluent_kafka import Producer
        from ostock.kafka.config import producer_config
        from ostock.logs import configure_logging
        from ostock.settings import Settings

        settings = Settings()
        configure_logging(settings, "organization-handler")
        for name in ("ostock.handlers.decider", "aiokafka", "faust", "mode", "uvicorn.error"):
            logging.getLogger(name).warning("from %s", name)
        logging.getLogger("ostock.handlers.decider").debug("not at INFO")
        warnings.warn("a warning of Python's")
        producer = Producer(producer_config(settings))
        for _ in range(10):
            producer.poll(0.1)  # librdkafka's lines are handed over here
        """
    )
    env = settings_env(
        Settings(kafka_bootstrap=f"127.0.0.1:{closed}", instance="pod-2"), OSTOCK_LOG_LEVEL="INFO"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    written = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert {(line["service"], line["instance"]) for line in written} == {
        ("organization-handler", "pod-2")
    }
    assert [line["logger"] for line in written[:6]] == [
        "ostock.handlers.decider",
        "aiokafka",
        "faust",
        "mode",
        "uvicorn.error",
        "py.warnings",
    ]
    assert "not at INFO" not in done.stderr
    refused = [line for line in written if line["logger"] == "librdkafka"]
    assert refused and f"127.0.0.1:{closed}" in str(refused[0]["message"])
