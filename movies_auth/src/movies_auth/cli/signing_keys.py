"""`flask keys list|rotate|retire`: the key ring tokens are signed with."""

from __future__ import annotations

import click
from marshmallow import Schema, fields

from movies_auth.cli.common import AdminGroup, confirm, json_option, print_items, print_json, yes_option
from movies_auth.domain import signing_keys

keys_group = AdminGroup("keys", help="List, rotate and retire the keys tokens are signed with.")


class KeyStateSchema(Schema):
    kid = fields.String(attribute="key.kid")
    algorithm = fields.String(attribute="key.algorithm")
    created_at = fields.AwareDateTime(attribute="key.created_at")
    status = fields.String()
    superseded_at = fields.AwareDateTime(allow_none=True)
    retirable_at = fields.AwareDateTime(allow_none=True)


def _when(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


COLUMNS = {
    "KID": lambda k: k["kid"],
    "ALGORITHM": lambda k: k["algorithm"],
    "CREATED (UTC)": lambda k: _when(k["created_at"]),
    "STATUS": lambda k: k["status"],
    "RETIRABLE AFTER (UTC)": lambda k: _when(k["retirable_at"]),
}


@keys_group.command("list")
@json_option
def list_keys(as_json: bool) -> None:
    """List the keys: the newest signs, every one verifies the tokens it signed."""
    print_items(signing_keys.list_keys(), KeyStateSchema(), COLUMNS, as_json=as_json, empty="The key ring is empty.")


@keys_group.command("rotate")
@json_option
def rotate(as_json: bool) -> None:
    """Add a signing key; tokens signed by the older keys stay valid until they expire."""
    key = signing_keys.rotate()
    if as_json:
        print_json({"kid": key.kid, "algorithm": key.algorithm})
        return
    click.echo(f"Key {key.kid} ({key.algorithm}) created: it signs every new token from now on.")
    click.echo("The older keys still verify the tokens they signed; `flask keys list` says when each can go.")


@keys_group.command("retire")
@click.argument("kid")
@click.option("--force", is_flag=True, help="Retire it although tokens it signed may still be valid: they die.")
@yes_option
def retire(kid: str, force: bool, yes: bool) -> None:
    """Remove a key that no longer signs: the tokens it signed stop working on every worker."""
    if force:
        confirm(f"Retire key {kid} now? Every token it signed stops working.", yes)
    signing_keys.retire(kid, force=force)
    click.echo(f"Key {kid} retired.")
