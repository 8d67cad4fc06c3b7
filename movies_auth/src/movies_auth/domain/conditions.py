"""Permission conditions: a name, `{"any": [...]}` or `{"all": [...]}`, nested.

Other services send a condition to ask whether a user may do something, e.g.
`{"any": ["pro_read", {"all": ["beta", "early_access"]}]}`. Conditions are parsed once into
immutable trees, bounded in depth and size so that no request can make evaluation expensive.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Union

from movies_auth.models import CODE_NAME, CODE_NAME_RULE

MAX_DEPTH = 8
MAX_NAMES = 100
# Enough for MAX_NAMES names of the longest kind and their brackets; anything longer is refused unread.
MAX_TEXT_LENGTH = 16 * 1024


class ConditionError(ValueError):
    """A condition that is malformed, too deep or too large; the message says which."""


@dataclass(frozen=True)
class AnyOf:
    """True when at least one condition holds (so `any([])` is false)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    """True when every condition holds (so `all([])` is true)."""

    conditions: tuple[Condition, ...]


Condition = Union[str, AnyOf, AllOf]  # noqa: UP007 (a runtime alias the dataclasses above refer to)

_OPERATORS: dict[str, type[AnyOf] | type[AllOf]] = {"any": AnyOf, "all": AllOf}


def any_of(*conditions: Condition) -> AnyOf:
    """A condition met by any one of `conditions`."""
    return AnyOf(tuple(conditions))


def all_of(*conditions: Condition) -> AllOf:
    """A condition met by all of `conditions`."""
    return AllOf(tuple(conditions))


def parse_text(text: str) -> Condition:
    """Parse a condition sent as text: JSON, or a bare permission name."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ConditionError(f"Condition is too large (at most {MAX_TEXT_LENGTH} characters)")
    if not text.strip():
        raise ConditionError("Condition is empty: send a permission name or a JSON condition")
    if CODE_NAME.fullmatch(text):
        return text
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise ConditionError(f"Condition is nested more than {MAX_DEPTH} levels deep") from error
    except ValueError as error:
        raise ConditionError(f"Condition is not valid JSON: {error}") from error
    return parse(value)


def parse(value: Any) -> Condition:
    """Parse a condition from decoded JSON."""
    return _Parser().parse(value, depth=0)


class _Parser:
    """One parse, counting the names it has seen against the limit."""

    def __init__(self) -> None:
        self.names = 0

    def parse(self, value: Any, *, depth: int) -> Condition:
        if isinstance(value, str):
            return self._name(value)
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in _OPERATORS:
            raise ConditionError('A condition is a permission name, {"any": [...]} or {"all": [...]}')
        [(operator, operands)] = value.items()
        if not isinstance(operands, list):
            raise ConditionError(f'"{operator}" takes a list of conditions')
        if depth == MAX_DEPTH:
            raise ConditionError(f"Condition is nested more than {MAX_DEPTH} levels deep")
        return _OPERATORS[operator](tuple(self.parse(operand, depth=depth + 1) for operand in operands))

    def _name(self, name: str) -> str:
        if not CODE_NAME.fullmatch(name):
            raise ConditionError(f"Invalid permission name {name[:80]!r}: use {CODE_NAME_RULE}")
        self.names += 1
        if self.names > MAX_NAMES:
            raise ConditionError(f"Condition names more than {MAX_NAMES} permissions")
        return name


def is_met(condition: Condition, held: AbstractSet[str]) -> bool:
    """Whether a holder of the permissions `held` meets `condition`."""
    if isinstance(condition, str):
        return condition in held
    if isinstance(condition, AnyOf):
        return any(is_met(operand, held) for operand in condition.conditions)
    return all(is_met(operand, held) for operand in condition.conditions)


def describe(condition: Condition) -> str:
    """The condition in words, for error messages: `pro_read`, `any of (a, all of (b, c))`."""
    if isinstance(condition, str):
        return condition
    operator = "any of" if isinstance(condition, AnyOf) else "all of"
    return f"{operator} ({', '.join(describe(operand) for operand in condition.conditions)})"
