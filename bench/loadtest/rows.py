"""A measured row and a target it is held to; the median of rounds and the reference it is compared with."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Row:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    connections: int
    # Rows at the common concurrency are measured right after the reference, so both see the same machine.
    reference_rps: float | None = None
    reference_p99_ms: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """req/s against the reference's, measured just before."""
        return self.requests_per_second / self.reference_rps if self.reference_rps else None

    @property
    def p99_ratio(self) -> float | None:
        """p99 against the reference's, measured just before."""
        return self.p99_ms / self.reference_p99_ms if self.reference_p99_ms else None


@dataclass
class Target:
    name: str
    measured: float
    limit: float
    met: bool

    @classmethod
    def at_least(cls, name: str, measured: float, limit: float) -> Target:
        return cls(f"{name} >= {limit}", measured, limit, measured >= limit)

    @classmethod
    def at_most(cls, name: str, measured: float, limit: float) -> Target:
        return cls(f"{name} <= {limit}", measured, limit, measured <= limit)


def median_row(name: str, rows: list[Row]) -> Row:
    """One row from several runs of it: the median of each figure, and every error."""
    return Row(
        name,
        statistics.median(row.requests_per_second for row in rows),
        statistics.median(row.p50_ms for row in rows),
        statistics.median(row.p99_ms for row in rows),
        sum(row.errors for row in rows),
        connections=rows[0].connections,
    )


def reference_row(references: list[Row], label: str) -> Row:
    """A reference as the table shows it: the median of its measurements in this run."""
    row = median_row(f"reference: {label} (median of {len(references)})", references)
    row.reference_rps = row.requests_per_second
    return row
