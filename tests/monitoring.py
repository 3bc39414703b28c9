"""The PromQL of the Grafana dashboard and of the alert rules, and the metric names it uses,
for the tests that check them against promtool, the metric definitions and a real
Prometheus."""

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

import api.metrics
import ostock.telemetry.metrics
from ostock.infra.prometheus import ALERTS, MONITORING

ALERTS_TEST = ALERTS.with_name("alerts_test.yml")
DASHBOARD = MONITORING / "grafana" / "dashboards" / "ostock.json"
#: Grafana's interval variables, as the tests query Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1m"}
#: What Prometheus records of every target itself.
BUILT_IN = {"up"}

_DEFINITIONS: tuple[ModuleType, ...] = (ostock.telemetry.metrics, api.metrics)
# The samples a metric family of each type exposes, by suffix.
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OFFSET = re.compile(r"\boffset\s+\w+")
# An identifier that is not a function's or an aggregation's name.
_NAME = re.compile(r"\b[a-zA-Z_][a-zA-Z0-9_]*\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "group_left", "group_right", "inf", "nan"}


def load_yaml(path: Path) -> Any:
    """The YAML document of `path`."""
    return yaml.safe_load(path.read_text())


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model."""
    model: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return model


def dashboard_queries() -> dict[str, str]:
    """Every panel query, by panel title and query id, Grafana's variables replaced."""
    queries: dict[str, str] = {}
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries[f"{panel['title']} [{target['refId']}]"] = expr
    return queries


def alert_rules() -> dict[str, dict[str, Any]]:
    """Every alerting rule of alerts.yml, by its name."""
    groups = load_yaml(ALERTS)["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def rule_queries() -> dict[str, str]:
    """Every alerting rule's expression, by its name."""
    return {name: rule["expr"] for name, rule in alert_rules().items()}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (roughly: what is left once strings,
    label matchers, ranges, groupings, offsets, functions and keywords are taken out)."""
    bare = _STRING.sub("", expr)
    for pattern in (_MATCHERS, _RANGE, _GROUPING, _OFFSET):
        bare = pattern.sub(" ", bare)
    return {name for name in _NAME.findall(bare) if name not in _KEYWORDS}


def defined_samples() -> set[str]:
    """Every sample name the project's metrics expose, and Prometheus's own `up`."""
    samples = set(BUILT_IN)
    for module in _DEFINITIONS:
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                for family in value.describe():
                    samples |= {family.name + suffix for suffix in _SUFFIXES[family.type]}
    return samples
