"""Property-based runs over every operation of an OpenAPI spec, shared by both services' fuzz tests.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized (a fixed seed).
Every operation is tried with valid and with invalid data, and all findings are reported together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

EXAMPLES = 25
BOUNDED = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def fuzz_every_operation(operations: Iterable[APIOperation], send: Callable[[Case], None]) -> int:
    """Call `send` (which calls the API and validates the answer) on generated cases of every operation;
    fail listing every operation that failed, with its smallest failing case. How many operations ran."""
    failures = {}
    count = 0
    for operation in operations:
        count += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @BOUNDED
            @given(case=operation.as_strategy(generation_mode=mode))
            def holds(case: Case) -> None:
                send(case)

            try:
                holds()
            except Unsatisfiable:  # no parameter or body to make invalid: nothing to try in this mode
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # every operation is tried; all are reported
                failures[f"{operation.label} ({mode.value})"] = failure
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
    return count
