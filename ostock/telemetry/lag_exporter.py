"""The lag exporter's process: every `lag_interval_s`, how far each consumer group of the
system is behind (ostock.kafka.lag), served as ostock_consumer_lag_records and
ostock_consumer_lag_seconds on its /metrics.

One process watches every group, apart from the consumers themselves: a projector that
has stopped cannot report its own lag, and that is when its lag matters.
"""

import logging
import signal
import threading

from confluent_kafka import KafkaException
from prometheus_client import start_http_server

from ostock.deployables import PROCESSES, consumer_group, metrics_port
from ostock.kafka.lag import GroupState, LagReader
from ostock.settings import Settings
from ostock.telemetry.metrics import LAG_RECORDS, LAG_SECONDS

log = logging.getLogger(__name__)

NAME = "lag-exporter"


def system_groups(settings: Settings) -> list[str]:
    """The consumer group of every process of the system that is a member of one."""
    return [g for name in PROCESSES if (g := consumer_group(settings, name)) is not None]


def export(states: list[GroupState]) -> None:
    """Set the lag gauges of every partition of `states`; a lag in seconds not read in
    time keeps its last value."""
    for state in states:
        for lag in state.lags:
            labels = (lag.group, lag.topic, str(lag.partition))
            LAG_RECORDS.labels(*labels).set(lag.records)
            if lag.seconds is not None:
                LAG_SECONDS.labels(*labels).set(lag.seconds)


def run_lag_exporter(settings: Settings) -> None:
    """Serve /metrics and refresh the lag gauges until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    port = metrics_port(settings, NAME)
    # On the API's host: the one interface the system's processes serve on.
    server, _ = start_http_server(port, addr=settings.api_host)
    groups = system_groups(settings)
    topics = [name for _, name in settings.topics]
    reader = LagReader(settings)
    log.info("lag exporter serving /metrics on %s:%d for %s", settings.api_host, port, groups)
    try:
        while not stop.is_set():
            try:
                export(reader.groups(groups, topics))
            except (KafkaException, TimeoutError) as error:
                # The gauges keep their last values; the next round asks again.
                log.warning("lag not read: %s", error)
            stop.wait(settings.lag_interval_s)
    finally:
        reader.close()
        server.shutdown()
    log.info("lag exporter stopped")
