"""`flask services list|create|rotate-secret|delete|ensure`: the platform's other services and their secrets."""

from __future__ import annotations

import os

import click

from movies_auth.cli.common import AdminGroup, confirm, json_option, print_items, reaches_running_servers, yes_option
from movies_auth.domain import service_accounts
from movies_auth.web.schemas import ServiceAccountSchema

services_group = AdminGroup("services", help="Register services, rotate their secrets, delete them.")

COLUMNS = {
    "NAME": lambda s: s["name"],
    "CREATED": lambda s: s["created_at"][:19].replace("T", " "),
    "SECRET CHANGED": lambda s: s["secret_changed_at"][:19].replace("T", " "),
    "UUID": lambda s: s["uuid"],
}


def _show_secret(secret: str, note: str) -> None:
    # The secret alone on stdout, so `SECRET=$(flask services create NAME)` captures just that.
    click.echo(note, err=True)
    click.echo(secret)


@services_group.command("list")
@json_option
def list_services(as_json: bool) -> None:
    """List the registered services."""
    services = service_accounts.list_services()
    print_items(services, ServiceAccountSchema(), COLUMNS, as_json=as_json, empty="No services.")


@services_group.command("create")
@click.argument("name")
def create(name: str) -> None:
    """Register a service and print its secret, this once: only a hash of it is kept."""
    service, secret = service_accounts.create(ServiceAccountSchema().load({"name": name})["name"])
    _show_secret(secret, f"Service {service.name} created. Its secret, shown this once:")


@services_group.command("rotate-secret")
@reaches_running_servers
@click.argument("name")
def rotate_secret(name: str) -> None:
    """Give a service a new secret, printed this once; every token it holds dies."""
    secret = service_accounts.rotate_secret(service_accounts.get_service(name))
    _show_secret(secret, f"Service {name} has a new secret; its tokens are revoked. The secret, shown this once:")


@services_group.command("delete")
@reaches_running_servers
@click.argument("name")
@yes_option
def delete(name: str, yes: bool) -> None:
    """Delete a service; every token it holds dies."""
    service = service_accounts.get_service(name)
    confirm(f"Delete service {name}? Its tokens stop working at once.", yes)
    service_accounts.delete(service)
    click.echo(f"Service {name} deleted.")


@services_group.command("ensure")
@reaches_running_servers
@click.argument("name")
@click.option("--secret-env", required=True, metavar="VARIABLE", help="The environment variable holding the secret.")
def ensure(name: str, secret_env: str) -> None:
    """Create the service, or set its secret, from an environment variable (for deployments; idempotent)."""
    secret = os.environ.get(secret_env)
    if not secret:
        raise click.ClickException(f"The environment variable {secret_env} is not set.")
    outcome = service_accounts.ensure(ServiceAccountSchema().load({"name": name})["name"], secret)
    messages = {
        "created": f"Service {name} created with the secret in {secret_env}.",
        "updated": f"Service {name} now has the secret in {secret_env}; tokens made with the old one are revoked.",
        "unchanged": f"Service {name} already has the secret in {secret_env}.",
    }
    click.echo(messages[outcome])
