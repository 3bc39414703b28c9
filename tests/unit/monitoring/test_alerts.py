"""The alert rules pass promtool's checks and its unit tests, and every rule has a test in
which it fires and one in which it stays quiet."""

import subprocess

from ostock.infra.prometheus import ALERTS, promtool
from tests.monitoring import ALERTS_TEST, alert_rules, load_yaml


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", str(ALERTS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = run_promtool("test", "rules", str(ALERTS_TEST))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_is_tested_firing_and_quiet() -> None:
    cases = [case for test in load_yaml(ALERTS_TEST)["tests"] for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}

    assert set(alert_rules()) - firing == set(), "rules never tested firing"
    assert set(alert_rules()) - quiet == set(), "rules never tested quiet"
    assert (firing | quiet) - set(alert_rules()) == set(), "tests of rules that do not exist"


def test_every_rule_has_a_severity_a_summary_and_a_description() -> None:
    for name, rule in alert_rules().items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert set(rule["annotations"]) >= {"summary", "description"}, name
