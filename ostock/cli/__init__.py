"""The `ostock` command line."""
