"""`--workers`: the two checks under each gunicorn worker setting."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from loadtest.common import REPO, RESULTS, WORKER_SETTINGS
from loadtest.measure import validation_during_logins
from loadtest.report import machine_description
from loadtest.services import gunicorn, subscriber_and_superuser
from loadtest.wrk import Wrk
from testkit.processes import Process


def compare_worker_settings(
    options: argparse.Namespace, scratch: Path, auth_env: dict[str, str], config: Path,
    auth: tuple[Process, str], reference: tuple[Process, str],
) -> None:  # fmt: skip
    """The two checks and the reference under each of `WORKER_SETTINGS`: how movies_auth's default was chosen."""
    with auth[0], reference[0]:
        viewer, _ = subscriber_and_superuser(f"{auth[1]}/auth/api/v1")
    condition = quote(json.dumps({"any": ["pro_read"]}))
    print("measuring each worker setting; each row is a 2 s warm-up, then", options.duration, "s", flush=True)
    results = []
    for workers, threads in WORKER_SETTINGS:
        env = auth_env | {"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
        label = f"{workers} x {threads}"
        served, url = gunicorn(f"movies_auth {label}", config, "movies_auth.wsgi:app", env, "/auth/healthz", scratch)
        baseline, baseline_url = gunicorn(f"reference {label}", config, "reference_app:app", env, "/reference",
                                          scratch, "--pythonpath", str(REPO / "bench"))  # fmt: skip
        wrk = Wrk(options, scratch, f"{baseline_url}/reference")
        api = f"{url}/auth/api/v1"
        with served, baseline:
            validation = wrk.compared("token validation", f"{api}/auth_token/validation", headers=viewer["headers"])
            check = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
            permission = wrk.compared("permission validation (warm)", check, headers=viewer["headers"])
            during_logins = validation_during_logins(wrk, api, viewer)
        rows = (validation, permission, during_logins)
        results.append({"workers": workers, "threads": threads, "rows": [asdict(row) for row in rows]})
        print(f"  {label:>6}  reference {validation.reference_rps:6.0f} req/s"
              f"  validation {validation.requests_per_second:6.0f} req/s ({validation.ratio:.2f}x, p99"
              f" {validation.p99_ms:.1f} ms)  permission {permission.requests_per_second:6.0f} req/s"
              f" ({permission.ratio:.2f}x, p99 {permission.p99_ms:.1f} ms)  during logins"
              f" {during_logins.requests_per_second:6.0f} req/s (p99 {during_logins.p99_ms:.1f} ms)",
              flush=True)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"workers-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps({"machine": machine_description(), "settings": results}, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(REPO)}")
