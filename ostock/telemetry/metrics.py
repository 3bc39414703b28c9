"""Every Prometheus metric of O-stock, defined once; each process fills those it has, and
a worker serves them with `serve_metrics` (docs/architecture.md, "Observability: metrics").

Names follow Prometheus conventions (base units, `_total`, `_seconds`) and, where one
applies, the OpenTelemetry messaging and database semantic conventions (their dots as
underscores). Labels never carry ids: a series per organization would be unbounded.
"""

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# Seconds, from a fast Redis call to a projector far behind.
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

CONSUMED = Counter(
    "messaging_client_consumed_messages",
    "Records a consumer took from a topic (poison records included).",
    ["messaging_consumer_group_name", "messaging_destination_name"],
)
SENT = Counter(
    "messaging_client_sent_messages",
    "Records a producer sent to a topic (acknowledged).",
    ["messaging_destination_name"],
)
BATCH_DURATION = Histogram(
    "messaging_process_duration_seconds",
    "Time to process one batch of records, from taking it to its effects written.",
    ["messaging_consumer_group_name"],
    buckets=_SECONDS,
)
TRANSACTIONS = Counter(
    "ostock_handler_transactions",
    "Kafka transactions of a command handler, by outcome (committed, aborted).",
    ["service", "outcome"],
)
DECIDED = Counter(
    "ostock_commands_decided",
    "Commands a handler decided, by outcome (accepted, rejected) and the rejection's code.",
    ["service", "outcome", "code"],
)
DEAD_LETTERS = Counter(
    "ostock_dead_letters",
    "Records sent to the dead-letter topic, by consumer group and reason.",
    ["messaging_consumer_group_name", "reason"],
)
LAG_RECORDS = Gauge(
    "ostock_consumer_lag_records",
    "Records of a partition not yet processed by a consumer group (end minus committed).",
    ["messaging_consumer_group_name", "messaging_destination_name", "partition"],
)
LAG_SECONDS = Gauge(
    "ostock_consumer_lag_seconds",
    "Age of the oldest record of a partition a consumer group has not processed; 0 when none.",
    ["messaging_consumer_group_name", "messaging_destination_name", "partition"],
)
FRESHNESS = Histogram(
    "ostock_view_freshness_seconds",
    "From an event's time to its effect applied in Redis, per view model.",
    ["view"],
    buckets=_SECONDS,
)
REDIS_DURATION = Histogram(
    "db_client_operation_duration_seconds",
    "Duration of a Redis call (a function call or a pipeline counts once).",
    ["db_system_name", "db_operation_name"],
    buckets=_SECONDS,
)
REPLAY_EVENTS = Counter(
    "ostock_replay_events",
    "Events a replay applied to the generation it builds.",
    ["view"],
)
REPLAY_RATE = Gauge(
    "ostock_replay_events_per_second", "A running replay's rate of applied events.", ["view"]
)
REPLAY_GENERATION = Gauge(
    "ostock_replay_generation", "The generation a replay builds (0: none running).", ["view"]
)
KAFKA_RTT = Gauge(
    "ostock_kafka_broker_rtt_seconds",
    "librdkafka's round-trip time to a broker over its last statistics window.",
    ["client", "broker", "quantile"],
)
KAFKA_QUEUE = Gauge(
    "ostock_kafka_queue_messages",
    "Messages in librdkafka's producer queue, waiting to be sent or acknowledged.",
    ["client"],
)


def serve_metrics(host: str, port: int) -> int | None:
    """Serve this process's metrics on http://host:port/metrics from a daemon thread; the
    port bound (`port` 0: one the system picks). A port taken is logged as an error and
    the process goes on without /metrics: its work matters more than its gauges, and
    Prometheus reports the target down."""
    try:
        server, _ = start_http_server(port, host)
    except OSError as error:
        log.error("no /metrics: %s:%d cannot be bound (%s)", host, port, error)
        return None
    bound: int = server.server_port
    log.info("serving /metrics on http://%s:%d/metrics", host, bound)
    return bound
