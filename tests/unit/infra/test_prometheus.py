"""Prometheus's configuration, generated from the deployables, is one Prometheus accepts,
and scrapes each process on its /metrics port labelled with its name."""

import json
import subprocess
from pathlib import Path

from ostock.deployables import PROCESSES, metrics_port
from ostock.infra.prometheus import ALERTS, JOB, prometheus_config, promtool, scrape_targets
from ostock.settings import Settings


def test_every_process_is_a_target_labelled_with_its_name() -> None:
    settings = Settings(api_port=18080, metrics_port_base=19400)

    config = prometheus_config(scrape_targets(settings), interval_s=2)

    (job,) = config["scrape_configs"]
    targets = {group["labels"]["process"]: group["targets"] for group in job["static_configs"]}
    assert job["job_name"] == JOB
    assert set(targets) == set(PROCESSES)
    assert targets["api"] == ["127.0.0.1:18080"]
    assert targets["organization-handler"] == [
        f"127.0.0.1:{metrics_port(settings, 'organization-handler')}"
    ]
    assert config["global"]["scrape_interval"] == "2000ms"
    assert config["rule_files"] == [str(ALERTS)]


def test_promtool_accepts_the_configuration_and_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(prometheus_config(scrape_targets(Settings()), interval_s=0.5)))

    result = subprocess.run(
        [promtool(), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
