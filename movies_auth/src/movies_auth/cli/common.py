"""What every admin command shares: errors as one clear line, output as a table or JSON, finding users."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

import click
from flask.cli import AppGroup
from marshmallow import Schema, ValidationError
from tabulate import tabulate

from movies_auth.domain import accounts
from movies_auth.domain.errors import DomainError, NotFound
from movies_auth.extensions import redis_store
from movies_auth.models import User
from movies_auth.stores import embedded_redis

PRIVATE_REDIS_NOTE = (
    "Note: REDIS_URL is unset and no running server shares its embedded Redis, so what this command "
    "changed there (revocations, cached permissions) lasts only while this command runs. Start the server "
    "first (make run), or set REDIS_URL."
)

P = ParamSpec("P")
R = TypeVar("R")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of text.")
yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


class AdminGroup(AppGroup):
    """A command group whose commands turn refused input into a clear message and exit status 1."""

    def command(self, *args: Any, **kwargs: Any) -> Callable:
        register = super().command(*args, **kwargs)
        return lambda callback: register(_reporting_errors(callback))


def reaches_running_servers(callback: Callable) -> Callable:
    """Mark a command whose change servers learn of through Redis (revocations, the permission cache)."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = callback(*args, **kwargs)
        if embedded_redis.is_private(redis_store.client):
            click.echo(PRIVATE_REDIS_NOTE, err=True)
        return result

    return wrapper


def _reporting_errors(callback: Callable) -> Callable:
    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except ValidationError as error:
            raise click.ClickException(describe_invalid(error.messages)) from error
        except DomainError as error:
            raise click.ClickException(error.msg) from error

    return wrapper


def describe_invalid(messages: Mapping[str, Any] | list) -> str:
    """Marshmallow's error messages as one line: `field: problem; other: problem`."""
    if not isinstance(messages, Mapping):
        return " ".join(map(str, messages))
    return "; ".join(f"{field}: {' '.join(map(str, problems))}" for field, problems in messages.items())


def find_user(reference: str) -> User:
    """The user an operator means by an email or a uuid; a clear error when there is none."""
    try:
        return accounts.get_user(uuid.UUID(reference))
    except ValueError:
        user = accounts.find_by_email(reference)
    except NotFound:
        user = None
    if user is None:
        raise click.ClickException(f"No user with email or uuid {reference!r}.")
    return user


def pass_user(command: Callable[Concatenate[User, P], R]) -> Callable[Concatenate[str, P], R]:
    """Give a command the USER argument (an email or a uuid), and call it with the account it names."""

    @click.argument("user")
    @functools.wraps(command)
    def wrapper(user: str, *args: P.args, **kwargs: P.kwargs) -> R:
        return command(find_user(user), *args, **kwargs)

    return wrapper


def confirm(question: str, yes: bool) -> None:
    """Ask before a destructive action, unless `--yes` was given; declining exits with status 1."""
    if not yes:
        click.confirm(question, abort=True)


def changes_given(**options: str | None) -> dict[str, str]:
    """The options an update command was given; a usage error when it was given none."""
    changes = {name: value for name, value in options.items() if value is not None}
    if not changes:
        raise click.UsageError(f"Nothing to change: give {' and/or '.join(f'--{name}' for name in options)}.")
    return changes


def report(changed: Any, schema: Schema, message: str, *, as_json: bool) -> None:
    """Tell the operator what a command did: a sentence, or the changed object as JSON."""
    if as_json:
        print_json(schema.dump(changed))
    else:
        click.echo(message)


def print_json(data: Any) -> None:
    """Print data as indented JSON, for scripts."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_items(
    items: Iterable[Any],
    schema: Schema,
    columns: Mapping[str, Callable[[dict], Any]],
    *,
    as_json: bool,
    empty: str,
) -> None:
    """Print objects as JSON (dumped by `schema`) or as a table of `columns` (header: value of the dump)."""
    dumped = schema.dump(items, many=True)
    if as_json:
        print_json(dumped)
    elif not dumped:
        click.echo(empty)
    else:
        click.echo(tabulate([[value(row) for value in columns.values()] for row in dumped], headers=list(columns)))


def names(objects: Iterable[Mapping[str, Any]]) -> str:
    """`a, b, c` from dumped roles or permissions."""
    return ", ".join(item["name"] for item in objects)
