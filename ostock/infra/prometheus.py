"""Prometheus from Debian's package as a local process: it scrapes every process of
ostock.deployables and evaluates the alert rules of monitoring/prometheus/alerts.yml.

Its configuration is generated on every start from the processes and their /metrics ports,
so a process added to PROCESSES is scraped without editing any file.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ostock.deployables import instances, metrics_port
from ostock.infra.debian import ensure_program
from ostock.infra.process import HttpService, Launch, PidFile
from ostock.settings import Settings

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
ALERTS = MONITORING / "prometheus" / "alerts.yml"
JOB = "ostock"
SCRAPE_INTERVAL_S = 5.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
PROBE_TIMEOUT_S = 1.0


def ensure_installed() -> str:
    """Return the path of prometheus, installing Debian's package if it is missing."""
    return ensure_program("prometheus", "prometheus")


def promtool() -> str:
    """Return the path of promtool, which Debian's prometheus package brings."""
    return ensure_program("promtool", "prometheus")


def scrape_targets(settings: Settings) -> dict[str, int]:
    """Every process of PROCESSES, and each further copy (`scale`), and the port it serves
    /metrics on."""
    return {i.label: metrics_port(settings, i.process, i.copy) for i in instances(settings.scale)}


def prometheus_config(targets: Mapping[str, int], interval_s: float) -> dict[str, Any]:
    """The configuration: one job whose targets are the processes, each labelled
    `process` with its name; rules evaluated as often as targets are scraped."""
    interval = f"{round(interval_s * 1000)}ms"
    return {
        # A scrape may not take longer than its interval: Prometheus refuses the file.
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"process": name}}
                    for name, port in targets.items()
                ],
            }
        ],
    }


class PrometheusServer(HttpService):
    """One local Prometheus: its generated configuration, its time series and its log under
    `data_dir`/prometheus, scraping `targets` (process name to /metrics port)."""

    name = "Prometheus"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def __init__(
        self,
        data_dir: Path,
        port: int,
        targets: Mapping[str, int],
        scrape_interval_s: float = SCRAPE_INTERVAL_S,
    ) -> None:
        folder = data_dir / "prometheus"
        self.targets = dict(targets)
        self.scrape_interval_s = scrape_interval_s
        self.config = folder / "prometheus.yml"
        # Its --config.file argument names this path, unique to the data folder.
        pidfile = PidFile(folder / "prometheus.pid", token=str(self.config))
        super().__init__(folder, port, pidfile, folder / "prometheus.log")

    def _prepare(self) -> Launch:
        program = ensure_installed()
        self.dir.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: Prometheus reads it as its YAML configuration.
        config = prometheus_config(self.targets, self.scrape_interval_s)
        self.config.write_text(json.dumps(config, indent=2))
        return Launch(
            [
                program,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address={self.address}",
            ]
        )

    def _ready(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/-/ready", timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
