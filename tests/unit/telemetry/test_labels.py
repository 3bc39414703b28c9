"""A batch counted at once is counted as record by record."""

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.samples import Sample

from ostock.telemetry.labels import count_topics, observe_all

BUCKETS = (0.001, 0.01, 0.1, 1, 10)
# On a bound, between bounds, below the first, above the last.
VALUES = [0.0, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1, 9.99, 10, 10.01, 3600, 0.05]


def samples(registry: CollectorRegistry) -> list[Sample]:
    return [s for metric in registry.collect() for s in metric.samples if "created" not in s.name]


def test_observe_all_leaves_the_histogram_observe_leaves() -> None:
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    singly = Histogram("age_seconds", "", ["view"], buckets=BUCKETS, registry=one_by_one)
    batched = Histogram("age_seconds", "", ["view"], buckets=BUCKETS, registry=at_once)
    for value in VALUES:
        singly.labels("v").observe(value)
    observe_all(batched.labels("v"), iter(VALUES))
    observe_all(batched.labels("v"), [])  # an empty batch changes nothing
    assert samples(at_once) == samples(one_by_one)
    assert samples(at_once)[-2:] == [
        Sample("age_seconds_count", {"view": "v"}, len(VALUES)),
        Sample("age_seconds_sum", {"view": "v"}, sum(VALUES)),
    ]


def test_count_topics_adds_each_topics_share() -> None:
    registry = CollectorRegistry()
    counter = Counter("records", "", ["group", "topic"], registry=registry)
    count_topics(counter, ["a", "b", "a", "a"], "g")
    count_topics(counter, ["b"], "g")
    totals = {s.labels["topic"]: s.value for s in samples(registry)}
    assert totals == {"a": 3, "b": 2}
