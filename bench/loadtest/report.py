"""The report: targets checked, the table printed, the JSON and the chart written to bench/results."""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import signing

from loadtest.common import MOVIES_FILM_LIST, OBSERVED, REPO, RESULTS, UNOBSERVED
from loadtest.rows import Row, Target


def targets(
    rows: list[Row], scaled: list[Row], hash_ms: float, bytes_per_session_record: float | None,
    memory: dict[str, float] | None = None,
) -> list[Target]:  # fmt: skip
    """The issue's targets, each measured against a baseline from this same run."""
    row = {row.name: row for row in rows}
    checks = []
    if validation := row.get("token validation"):
        checks += [
            Target.at_least("token validation req/s / reference req/s", validation.ratio, 0.8),
            Target.at_most(
                "token validation p99 / reference p99", validation.p99_ms / validation.reference_p99_ms, 1.5
            ),
            Target.at_least(
                "permission validation (warm) req/s / reference", row["permission validation (warm)"].ratio, 0.7
            ),
            Target.at_most("login time / one argon2id hash", row["login (one at a time)"].p50_ms / hash_ms, 1.15),
        ]
    checks += [
        Target.at_least(f"{check}: {OBSERVED} / off, req/s", row[f"{check}, {OBSERVED}"].ratio, 0.95)
        for check in ("token validation", "permission validation (warm)")
        if f"{check}, {OBSERVED}" in row
    ]
    checks += movies_targets(row)
    for at_scale in scaled:
        unscaled = row[at_scale.name.removesuffix(" @ scale")]
        # Rows at full concurrency compare throughput; one-at-a-time rows compare their median latency.
        if at_scale.connections == 1:
            slower = at_scale.p50_ms / unscaled.p50_ms - 1
        else:
            slower = 1 - at_scale.requests_per_second / unscaled.requests_per_second
        checks.append(Target.at_most(f"{at_scale.name}: slower than unscaled by", slower, 0.10))
    if bytes_per_session_record is not None:
        checks.append(Target.at_most("Redis bytes per session record @ scale", bytes_per_session_record, 300))
    checks += session_memory_targets(memory or {})
    return checks


def movies_targets(row: dict[str, Row]) -> list[Target]:
    """The film list's targets, against the constant film page measured beside it."""
    anonymous, subscriber = row[f"{MOVIES_FILM_LIST}, anonymous"], row[f"{MOVIES_FILM_LIST}, subscriber"]
    stopped = row[f"{MOVIES_FILM_LIST}, subscriber, auth stopped"]
    return [
        Target.at_least("film list, anonymous req/s / film page reference", anonymous.ratio, 0.6),
        Target.at_least("film list, subscriber req/s / film page reference", subscriber.ratio, 0.5),
        Target.at_most("film list, anonymous p99 / reference p99", anonymous.p99_ms / anonymous.reference_p99_ms, 2),
        Target.at_most("film list, subscriber p99 / reference p99", subscriber.p99_ms / subscriber.reference_p99_ms, 2),
        Target.at_most("film list p99: auth stopped / auth healthy", stopped.p99_ms / subscriber.p99_ms, 1.2),
    ]


def session_memory_targets(memory: dict[str, float]) -> list[Target]:
    """The issue's bounds on what Redis keeps per session."""
    if not memory:
        return []
    return [
        Target.at_most("Redis bytes per live session", memory["live"], 300),
        Target.at_most("Redis bytes per ended session", memory["ended"], 120),
    ]


def report(references: list[Row], rows: list[Row], scaled: list[Row], hash_ms: float,
           bytes_per_session_record: float | None, signatures: dict[str, dict[str, float]], options: argparse.Namespace,
           memory: dict[str, float] | None = None) -> None:  # fmt: skip
    """Print the table and the targets; write them, with the run's conditions, as JSON and a PNG chart."""
    checks = targets(rows, scaled, hash_ms, bytes_per_session_record, memory)
    rows = [*references, *rows]
    width = max(len(row.name) for row in rows + scaled)
    print(f"\n{'row':<{width}}  {'conns':>5}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  {'x ref':>6}"
          f"  {'p99 x ref':>9}")  # fmt: skip
    for row in rows + scaled:
        ratio = f"{row.ratio:>6.2f}" if row.ratio is not None else f"{'':>6}"
        p99_ratio = f"{row.p99_ratio:>9.2f}" if row.p99_ratio is not None else ""
        print(f"{row.name:<{width}}  {row.connections:>5}  {row.requests_per_second:>9.0f}  {row.p50_ms:>8.2f}  "
              f"{row.p99_ms:>8.2f}  {row.errors:>6}  {ratio}  {p99_ratio:>9}  {row.note}")  # fmt: skip
    print(f"(x ref of a row '..., {OBSERVED}': against the same check with {UNOBSERVED}, measured in turn)")
    print(f"\none argon2id hash at the configured parameters: {hash_ms:.1f} ms")
    signing.print_table(signatures)
    if bytes_per_session_record is not None:
        print(f"Redis memory per session record @ scale: {bytes_per_session_record:.0f} bytes")
    for state, size in (memory or {}).items():
        print(f"Redis memory per session, {state}: {size:.0f} bytes")
    print("\ntargets:")
    for check in checks:
        print(f"  {'met   ' if check.met else 'MISSED'}  {check.name}: {check.measured:.2f}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = machine_description()
    result = {
        "time": stamp,
        "machine": machine,
        "wrk": {"duration_s": options.duration, "connections": options.connections, "threads": options.threads},
        "argon2id_hash_ms": hash_ms,
        "redis_bytes_per_session_record": bytes_per_session_record,
        "redis_bytes_per_session": memory,
        "token_signatures": signatures,
        "rows": [asdict(row) | {"ratio": row.ratio, "p99_ratio": row.p99_ratio} for row in rows + scaled],
        "targets": [asdict(check) for check in checks],
    }
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    chart(rows + scaled, RESULTS / f"{stamp}.png", machine)
    print(f"\nwritten to {path.relative_to(REPO)} and {path.with_suffix('.png').relative_to(REPO)}")


def chart(rows: list[Row], path: Path, machine: dict) -> None:
    """A bar chart of each row's req/s against the reference's, with the targets marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    compared = [row for row in rows if row.ratio is not None]
    figure, axes = pyplot.subplots(figsize=(9, 0.45 * len(compared) + 1.5))
    names = [row.name for row in compared][::-1]
    ratios = [row.ratio for row in compared][::-1]
    bars = axes.barh(names, ratios, color="#4878a8")
    axes.bar_label(bars, labels=[f"{row.requests_per_second:.0f} req/s" for row in compared][::-1], padding=3)
    for limit, label in ((0.8, "token validation target"), (0.7, "permission validation target")):
        axes.axvline(limit, linestyle="--", color="#c44e52" if limit == 0.8 else "#dd8452", label=label)
    axes.set_xlabel("req/s as a fraction of the constant-JSON reference (same run, same gunicorn settings)")
    axes.set_xlim(0, max([1.0, *ratios]) * 1.3)
    axes.set_title(f"make bench, {machine['cpus']} CPUs: {machine['processor']}", fontsize=9)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine_description() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "processor": _processor(), "system": platform.platform()}


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
