"""`python -m ostock` is the `ostock` command."""

from ostock.cli.main import app

app()
