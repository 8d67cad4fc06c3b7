"""Types of view decorators, so a decorated view keeps its signature for the type checker."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class SameSignature(Protocol):
    """A decorator giving back a view that takes and returns what the view does (a guard, a documenting mark)."""

    def __call__(self, view: Callable[P, R], /) -> Callable[P, R]: ...
