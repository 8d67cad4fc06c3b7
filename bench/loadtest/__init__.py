"""`make bench` as a package: wrk runner, rows, scale filler, the `--workers`, `--cluster` and
`--observability-only` jobs, and the report; bench/run.py starts `main`."""
