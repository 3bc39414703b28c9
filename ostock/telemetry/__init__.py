"""What every process tells its operator: metrics (metrics.py), traces (tracing.py) and
JSON logs (ostock.logs); docs/architecture.md, "Observability", lists them."""
