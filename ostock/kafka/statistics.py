"""librdkafka's statistics (its `stats_cb`) as metrics: each broker's round-trip time and
the producer's queue (ostock.telemetry.metrics). A client emits them every
`kafka_statistics_s`; only clients whose callbacks are served get them (`config.py`)."""

import json

from ostock.telemetry.labels import child
from ostock.telemetry.metrics import KAFKA_QUEUE, KAFKA_RTT

# librdkafka gives times in microseconds.
_MICROSECONDS = 1e-6


def record_statistics(stats: str) -> None:
    """Set the gauges from one statistics message (JSON, librdkafka's STATISTICS.md).

    The client is librdkafka's handle name (`client.id#type-N`). Brokers not yet known
    by id (bootstrap, internal) are left out, and so is a window without a round trip:
    its zeros are no measurement.
    """
    report = json.loads(stats)
    client = report["name"]
    for broker in report["brokers"].values():
        rtt = broker["rtt"]
        if broker["nodeid"] < 0 or not rtt["cnt"]:
            continue
        node = str(broker["nodeid"])
        child(KAFKA_RTT, client, node, "avg").set(rtt["avg"] * _MICROSECONDS)
        child(KAFKA_RTT, client, node, "0.99").set(rtt["p99"] * _MICROSECONDS)
    if report["type"] == "producer":
        child(KAFKA_QUEUE, client).set(report["msg_cnt"])
