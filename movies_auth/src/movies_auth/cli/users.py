"""`flask users ...`: find users, manage their roles and direct permissions, their sessions, delete them."""

from __future__ import annotations

import click
from marshmallow import fields
from tabulate import tabulate

from movies_auth.cli.common import (
    AdminGroup,
    confirm,
    json_option,
    pass_user,
    print_items,
    print_json,
    reaches_running_servers,
    yes_option,
)
from movies_auth.domain import (
    accounts,
    grants,
    login_history,
    permission_cache,
    permissions,
    roles,
    sessions,
    social_accounts,
    tokens,
)
from movies_auth.extensions import current_settings
from movies_auth.models import User
from movies_auth.web.schemas import PermissionSchema, RoleSchema, SessionSchema, SocialAccountSchema, UserSchema

users_group = AdminGroup(
    "users", help="Find users, manage their roles and permissions, list and end their sessions, delete them."
)


class UserListingSchema(UserSchema):
    created_at = fields.AwareDateTime()
    roles = fields.Pluck(RoleSchema, "name", many=True)


class UserDetailsSchema(UserListingSchema):
    permissions = fields.Pluck(PermissionSchema, "name", many=True, metadata={"description": "Granted directly"})
    combined_permissions = fields.Method("_combined")
    has_password = fields.Method("_has_password")
    social_accounts = fields.Method("_social_accounts")

    def _combined(self, user: User) -> list[str]:
        return sorted(permission_cache.permission_names(user.id))

    def _has_password(self, user: User) -> bool:
        return user.password_hash is not None

    def _social_accounts(self, user: User) -> list[dict]:
        return SocialAccountSchema(many=True).dump(social_accounts.linked_to(user))


COLUMNS = {
    "EMAIL": lambda u: u["email"],
    "NAME": lambda u: " ".join(filter(None, (u["first_name"], u["last_name"]))),
    "VERIFIED": lambda u: "yes" if u["email_verified"] else "no",
    "ROLES": lambda u: ", ".join(u["roles"]),
    "CREATED": lambda u: u["created_at"][:19].replace("T", " "),
    "UUID": lambda u: u["uuid"],
}


SESSION_COLUMNS = {
    "SESSION": lambda s: s["session_id"],
    "LAST USED": lambda s: s["last_used_at"][:19].replace("T", " "),
    "SIGNED IN": lambda s: s["created_at"][:19].replace("T", " "),
    "METHOD": lambda s: s["method"],
    "DEVICE": lambda s: " / ".join(filter(None, (s["device"]["kind"], s["device"]["os"], s["device"]["browser"]))),
    "ADDRESS": lambda s: s["ip_address"] or "-",
}


@users_group.command("list")
@click.option("--email", help="Only emails containing this text.")
@click.option("--role", help="Only users with this role.")
@click.option("--permission", help="Only users holding this permission, directly or through a role.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most this many.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many first (sorted by email).")
@json_option
def list_users(
    email: str | None, role: str | None, permission: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """List users by email, with filters."""
    found, total = accounts.search(email=email, role=role, permission=permission, limit=limit, offset=offset)
    if as_json:
        print_json({"items": UserListingSchema(many=True).dump(found), "total": total})
        return
    print_items(found, UserListingSchema(), COLUMNS, as_json=False, empty="No users found.")
    if found:
        click.echo(f"\n{offset + 1}-{offset + len(found)} of {total} users.")


@users_group.command("show")
@pass_user
@json_option
def show_user(account: User, as_json: bool) -> None:
    """Show USER (an email or a uuid): details, roles, and permissions."""
    details = UserDetailsSchema().dump(account)
    if as_json:
        print_json(details)
        return
    rows = [
        ("uuid", details["uuid"]),
        ("email", details["email"]),
        ("email verified", "yes" if details["email_verified"] else "no"),
        ("name", COLUMNS["NAME"](details) or "-"),
        ("created", COLUMNS["CREATED"](details)),
        ("roles", ", ".join(details["roles"]) or "-"),
        ("direct permissions", ", ".join(details["permissions"]) or "-"),
        ("combined permissions", ", ".join(details["combined_permissions"]) or "-"),
        ("password", "set" if details["has_password"] else "none (social sign-in only)"),
        ("social accounts", _identities(details["social_accounts"]) or "-"),
    ]
    click.echo(tabulate(rows, tablefmt="plain"))


def _identities(linked: list[dict]) -> str:
    return ", ".join(
        f"{item['provider']} ({item['email'] or 'no email'}, linked {item['linked_at'][:10]})" for item in linked
    )


@users_group.command("unlink")
@reaches_running_servers
@pass_user
@click.argument("provider")
def unlink(account: User, provider: str) -> None:
    """Unlink USER's (an email or a uuid) identity at PROVIDER; refused when it is the account's last way in."""
    social_accounts.unlink(account, provider)
    click.echo(f"{account.email} is no longer linked to {provider}.")


@users_group.command("grant-role")
@reaches_running_servers
@pass_user
@click.argument("role")
def grant_role(account: User, role: str) -> None:
    """Give USER (an email or a uuid) ROLE."""
    added = grants.grant_role(account, roles.get_role(role))
    click.echo(f"{account.email} {'now has' if added else 'already had'} role {role}.")


@users_group.command("revoke-role")
@reaches_running_servers
@pass_user
@click.argument("role")
def revoke_role(account: User, role: str) -> None:
    """Take ROLE from USER (an email or a uuid)."""
    grants.revoke_role(account, roles.get_role(role))
    click.echo(f"{account.email} no longer has role {role}.")


@users_group.command("grant-permission")
@reaches_running_servers
@pass_user
@click.argument("permission")
def grant_permission(account: User, permission: str) -> None:
    """Grant USER (an email or a uuid) PERMISSION directly."""
    added = grants.grant_permission(account, permissions.get_permission(permission))
    click.echo(f"{account.email} {'now holds' if added else 'already held'} {permission} directly.")


@users_group.command("revoke-permission")
@reaches_running_servers
@pass_user
@click.argument("permission")
def revoke_permission(account: User, permission: str) -> None:
    """Take PERMISSION, granted directly, from USER (an email or a uuid)."""
    grants.revoke_permission(account, permissions.get_permission(permission))
    click.echo(f"{account.email} no longer holds {permission} directly.")


@users_group.command("logout")
@reaches_running_servers
@pass_user
@yes_option
def log_out_everywhere(account: User, yes: bool) -> None:
    """Log USER (an email or a uuid) out everywhere: every token of every session dies."""
    confirm(f"Log {account.email} out of every session?", yes)
    tokens.log_out_everywhere(str(account.id))
    click.echo(f"{account.email} is logged out everywhere.")


@users_group.command("sessions")
@pass_user
@json_option
def list_sessions(account: User, as_json: bool) -> None:
    """List the live sessions (signed-in devices) of USER (an email or a uuid), most recently used first."""
    live = sessions.live(account.id)
    print_items(live, SessionSchema(), SESSION_COLUMNS, as_json=as_json, empty=f"{account.email} has no live session.")


# Session ids may start with "-": read as the argument they are, not as an unknown option.
@users_group.command("end-session", context_settings={"ignore_unknown_options": True})
@reaches_running_servers
@pass_user
@click.argument("session_id")
def end_session(account: User, session_id: str) -> None:
    """End one session of USER (an email or a uuid): its tokens die at once."""
    if not sessions.end_session(account.id, session_id):
        raise click.ClickException(f"{account.email} has no live session {session_id!r}.")
    click.echo(f"Session {session_id} of {account.email} ended.")


@users_group.command("delete")
@reaches_running_servers
@pass_user
@yes_option
def delete_user(account: User, yes: bool) -> None:
    """Delete USER (an email or a uuid); all its tokens die."""
    confirm(f"Delete {account.email}? This cannot be undone.", yes)
    accounts.delete_user(account)
    click.echo(f"{account.email} deleted.")


@users_group.command("prune-failed-logins")
def prune_failed_logins() -> None:
    """Delete failed login attempts older than FAILED_LOGIN_RETENTION (90 days by default); run it daily."""
    retention = current_settings().failed_login_retention
    deleted = login_history.prune_failed(retention)
    click.echo(f"Deleted {deleted} failed login attempts older than {retention.total_seconds() / 86400:g} days.")
