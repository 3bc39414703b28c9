"""The lag arithmetic of ostock.kafka.lag, from the offsets and timestamps Kafka gives."""

from ostock.deployables import consumer_group
from ostock.kafka.lag import UNREAD, PartitionLag, partition_lag
from ostock.settings import Settings
from ostock.telemetry.lag_exporter import system_groups

WHERE = ("ostock.organization.events", 2)
NOW_S = 1_000_000.0


def test_pending_records_count_from_the_committed_offset_and_age_from_the_first() -> None:
    lag = partition_lag("g", WHERE, 40, 40, 52, int((NOW_S - 7.5) * 1000), NOW_S)

    assert lag == PartitionLag("g", *WHERE, committed=40, end=52, records=12, seconds=7.5)


def test_only_markers_before_the_end_is_nothing_pending() -> None:
    # The committed offset points at a transaction marker: the probe reaches the end first.
    lag = partition_lag("g", WHERE, 40, 40, 41, None, NOW_S)

    assert (lag.records, lag.seconds) == (0, 0.0)


def test_a_group_at_the_end_lags_nothing_whatever_the_probe() -> None:
    assert partition_lag("g", WHERE, 52, 52, 52, UNREAD, NOW_S).seconds == 0.0
    # A committed offset past the last stable one (a transaction still open before it).
    assert partition_lag("g", WHERE, 60, 60, 52, UNREAD, NOW_S).records == 0


def test_a_group_that_never_committed_lags_from_the_first_offset() -> None:
    lag = partition_lag("g", WHERE, None, 10, 15, int(NOW_S * 1000), NOW_S)

    assert (lag.committed, lag.records, lag.seconds) == (None, 5, 0.0)


def test_a_first_record_not_read_in_time_leaves_the_seconds_unknown() -> None:
    assert partition_lag("g", WHERE, 0, 0, 3, UNREAD, NOW_S).seconds is None


def test_a_clock_behind_the_record_gives_no_negative_age() -> None:
    assert partition_lag("g", WHERE, 0, 0, 3, int((NOW_S + 2) * 1000), NOW_S).seconds == 0.0


def test_the_exporter_watches_every_consumer_group_of_the_system() -> None:
    settings = Settings(redis_prefix="live")

    assert system_groups(settings) == [
        "ostock.organization-service",
        "ostock.licensing-service",
        "live.organization-projector",
        "live.command-status-projector",
        "live.license-projector",
        "live.licensing-organizations",
        "live.cascade-delete-saga",
    ]
    assert consumer_group(settings, "api") is None
    assert consumer_group(settings, "lag-exporter") is None
