"""`--observability-only`: the hot rows with metrics and tracing on against off."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from otlp_sink import OtlpSink

from loadtest.common import OBSERVED, UNOBSERVED
from loadtest.rows import Row, median_row
from loadtest.services import gunicorn
from loadtest.wrk import Wrk


def observability_rows(wrk: Wrk, scratch: Path, auth_env: dict[str, str], config: Path, viewer: dict) -> list[Row]:
    """Token validation and the warm permission check on two more servers of the same build and stores: one with
    metrics on and tracing at 10 % (exporting to a local OTLP receiver), one with both off; measured in turn."""
    untraced = {name: value for name, value in auth_env.items() if not name.startswith("OTEL_")}
    sink = OtlpSink()
    observed_env = untraced | {
        "METRICS_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    unobserved_env = untraced | {"METRICS_ENABLED": "false"}
    unobserved, unobserved_url = gunicorn("movies_auth unobserved", config, "movies_auth.wsgi:app", unobserved_env,
                                          "/auth/healthz", scratch)  # fmt: skip
    observed, observed_url = gunicorn("movies_auth observed", config, "movies_auth.wsgi:app", observed_env,
                                      "/auth/healthz", scratch)  # fmt: skip
    condition = quote(json.dumps({"any": ["pro_read"]}))
    paths = {
        "token validation": "/auth/api/v1/auth_token/validation",
        "permission validation (warm)": f"/auth/api/v1/users/{viewer['uuid']}/combined_permissions/validation"
        f"?permissions={condition}",
    }
    rows = []
    with unobserved, observed:
        for name, path in paths.items():
            runs: dict[str, list[Row]] = {OBSERVED: [], UNOBSERVED: []}
            for round_ in range(wrk.rounds):
                # In turn, round by round: both see the same machine, however busy it is.
                for label, url in ((UNOBSERVED, unobserved_url), (OBSERVED, observed_url)):
                    runs[label].append(wrk.run(f"{name}, {label}", url + path, headers=viewer["headers"],
                                               warm_up=round_ == 0))  # fmt: skip
            off, on = (median_row(f"{name}, {label}", runs[label]) for label in (UNOBSERVED, OBSERVED))
            on.reference_rps, on.reference_p99_ms = off.requests_per_second, off.p99_ms
            rows += [off, on]
    if not sink.exports:
        raise RuntimeError("the traced server exported no spans to the local OTLP receiver")
    print(f"  the traced server exported {sink.exports} batches, {sink.bytes / 1e6:.1f} MB", flush=True)
    sink.shutdown()
    return rows
