"""The Grafana dashboard and the alert rules use only metrics the project defines
(ostock/telemetry/metrics.py, api/metrics.py), and the dashboard is a model Grafana loads
with its data source chosen by a variable."""

from tests.monitoring import (
    dashboard,
    dashboard_queries,
    defined_samples,
    metric_names,
    rule_queries,
)


def test_names_are_read_out_of_promql() -> None:
    expr = (
        'sum by (view, le) (rate(ostock_view_freshness_seconds_bucket{view="a b"}[5m]))'
        " / on (view) group_left sum(up offset 5m) unless absent(x_total) > bool 0.99"
    )

    assert metric_names(expr) == {"ostock_view_freshness_seconds_bucket", "up", "x_total"}


def test_every_dashboard_query_uses_defined_metrics_only() -> None:
    defined = defined_samples()
    for title, expr in dashboard_queries().items():
        names = metric_names(expr)
        assert names, f"{title}: no metric found in {expr}"
        assert names <= defined, f"{title}: {sorted(names - defined)} are not defined"


def test_every_rule_uses_defined_metrics_only() -> None:
    defined = defined_samples()
    for name, expr in rule_queries().items():
        names = metric_names(expr)
        assert names, f"{name}: no metric found in {expr}"
        assert names <= defined, f"{name}: {sorted(names - defined)} are not defined"


def test_the_dashboard_reads_its_data_source_from_a_variable() -> None:
    model = dashboard()
    variables = {variable["name"]: variable for variable in model["templating"]["list"]}
    panels = model["panels"]

    assert model["schemaVersion"] >= 39
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        sources = [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
        assert all(source["uid"] == "${DS_PROMETHEUS}" for source in sources), panel["title"]
        assert panel["targets"], panel["title"]
