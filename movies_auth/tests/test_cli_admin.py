"""The admin CLI for users, roles and permissions, driven through Flask's runner as an operator types it."""

from __future__ import annotations

import json

import pytest

from auth_support import API, combined_permissions, give, make_role, row_count
from movies_auth.cli.common import PRIVATE_REDIS_NOTE
from movies_auth.models import Permission, Role, User, user_permissions, user_roles


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def run(runner, *args: str, input: str | None = None, ok: bool = True):
    result = runner.invoke(args=list(args), input=input)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def run_json(runner, *args: str):
    return json.loads(run(runner, *args, "--json").stdout)


def refused(runner, *args: str, message: str, input: str | None = None) -> None:
    result = run(runner, *args, input=input, ok=False)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


class TestUsers:
    def test_list_shows_a_table(self, runner, account, superuser):
        output = run(runner, "users", "list").stdout

        header, _, first, second, _, footer = output.splitlines()
        assert header.split() == ["EMAIL", "NAME", "VERIFIED", "ROLES", "CREATED", "UUID"]
        assert first.startswith("ada@example.com") and account.uuid in first
        assert second.startswith("root@example.com") and "superuser" in second
        assert footer == "1-2 of 2 users."

    def test_list_as_json(self, runner, account, superuser):
        listing = run_json(runner, "users", "list")

        assert listing["total"] == 2
        assert [(u["email"], u["roles"]) for u in listing["items"]] == [
            ("ada@example.com", []),
            ("root@example.com", ["superuser"]),
        ]
        fields = {"uuid", "email", "first_name", "last_name", "email_verified", "created_at", "roles"}
        assert set(listing["items"][0]) == fields

    def test_list_filters(self, app, runner, make_account, superuser):
        for email in ("ada@example.com", "alan@example.com", "grace@example.org"):
            make_account(email)
        give(app, make_account("pro@example.org"), role="subscriber")

        def emails(*options: str) -> list[str]:
            return [user["email"] for user in run_json(runner, "users", "list", *options)["items"]]

        assert emails("--email", "EXAMPLE.ORG") == ["grace@example.org", "pro@example.org"]
        assert emails("--email", "%") == []  # a literal, not a wildcard
        assert emails("--role", "subscriber") == ["pro@example.org"]
        assert emails("--permission", "pro_read") == ["pro@example.org"]
        assert emails("--permission", "all_all") == ["root@example.com"]
        assert emails("--limit", "2") == ["ada@example.com", "alan@example.com"]
        assert emails("--limit", "2", "--offset", "2") == ["grace@example.org", "pro@example.org"]
        assert run_json(runner, "users", "list", "--limit", "1")["total"] == 5

    def test_list_says_when_nothing_matches(self, runner, account):
        assert run(runner, "users", "list", "--role", "nope").stdout.strip() == "No users found."

    def test_list_refuses_a_bad_limit(self, runner):
        result = run(runner, "users", "list", "--limit", "0", ok=False)

        assert result.exit_code == 2
        assert "Invalid value for '--limit'" in result.output

    def test_show_by_email_or_uuid(self, app, runner, account):
        give(app, account, role="subscriber")
        give(app, account, permission="permissions_admin")

        by_email = run(runner, "users", "show", "ADA@example.com").output
        by_uuid = run_json(runner, "users", "show", account.uuid)

        assert "roles                 subscriber" in by_email
        assert "direct permissions    permissions_admin" in by_email
        assert "combined permissions  permissions_admin, pro_read" in by_email
        assert by_uuid["email"] == "ada@example.com"
        assert by_uuid["roles"] == ["subscriber"]
        assert by_uuid["permissions"] == ["permissions_admin"]
        assert by_uuid["combined_permissions"] == ["permissions_admin", "pro_read"]

    @pytest.mark.parametrize("reference", ["nobody@example.com", "3f1d5e4c-8b7a-4c2d-9e1f-0a2b3c4d5e6f", "x"])
    def test_unknown_users_are_a_clear_error(self, runner, account, reference):
        for command in (
            ["show", reference],
            ["grant-role", reference, "subscriber"],
            ["revoke-role", reference, "subscriber"],
            ["grant-permission", reference, "pro_read"],
            ["revoke-permission", reference, "pro_read"],
            ["logout", reference, "--yes"],
            ["delete", reference, "--yes"],
        ):
            refused(runner, "users", *command, message=f"No user with email or uuid {reference!r}.")
        assert row_count(runner.app, User) == 1

    def test_grant_and_revoke_a_role(self, client, runner, account):
        assert run(runner, "users", "grant-role", account.email, "subscriber").stdout == (
            "ada@example.com now has role subscriber.\n"
        )
        assert "already had role subscriber" in run(runner, "users", "grant-role", account.email, "subscriber").output
        assert combined_permissions(client, account) == ["pro_read"]

        assert (
            "no longer has role subscriber" in run(runner, "users", "revoke-role", account.email, "subscriber").output
        )
        assert combined_permissions(client, account) == []

    def test_grant_and_revoke_a_permission(self, client, runner, account):
        assert (
            "now holds pro_read directly" in run(runner, "users", "grant-permission", account.uuid, "pro_read").output
        )
        assert combined_permissions(client, account) == ["pro_read"]

        assert "no longer holds pro_read" in run(runner, "users", "revoke-permission", account.uuid, "pro_read").output
        assert combined_permissions(client, account) == []

    def test_grant_and_revoke_errors_are_clear_and_change_nothing(self, runner, account):
        refused(runner, "users", "grant-role", account.email, "nope", message="Role 'nope' not found")
        refused(runner, "users", "grant-permission", account.email, "nope", message="Permission 'nope' not found")
        refused(runner, "users", "revoke-role", account.email, "subscriber", message="does not have role 'subscriber'")
        refused(
            runner, "users", "revoke-permission", account.email, "pro_read", message="no direct grant of 'pro_read'"
        )
        assert row_count(runner.app, user_roles) == 0
        assert row_count(runner.app, user_permissions) == 0

    def test_the_last_superuser_keeps_their_role(self, runner, superuser):
        refused(
            runner,
            "users",
            "revoke-role",
            superuser.email,
            "superuser",
            message="would leave nobody holding all_all",
        )
        assert run_json(runner, "users", "show", superuser.email)["roles"] == ["superuser"]

    def test_logout_kills_every_session_after_confirmation(self, client, runner, account):
        declined = run(runner, "users", "logout", account.email, input="n\n", ok=False)
        assert declined.exit_code == 1
        assert client.get(f"{API}/auth_token/validation", headers=account.headers).status_code == 200

        result = run(runner, "users", "logout", account.email, input="y\n")

        assert "Log ada@example.com out of every session?" in result.output
        assert "ada@example.com is logged out everywhere." in result.output
        assert client.get(f"{API}/auth_token/validation", headers=account.headers).status_code == 401

    def test_delete_after_confirmation_or_yes(self, client, runner, make_account):
        ada, alan = make_account("ada@example.com"), make_account("alan@example.com")

        assert run(runner, "users", "delete", ada.email, input="n\n", ok=False).exit_code == 1
        assert row_count(runner.app, User) == 2

        run(runner, "users", "delete", ada.email, input="y\n")
        run(runner, "users", "delete", alan.uuid, "--yes")

        assert row_count(runner.app, User) == 0
        assert client.get(f"{API}/auth_token/validation", headers=ada.headers).status_code == 401

    def test_the_last_superuser_cannot_be_deleted(self, runner, superuser):
        refused(runner, "users", "delete", superuser.email, "--yes", message="would leave nobody holding all_all")
        assert row_count(runner.app, User) == 1


class TestRoles:
    def test_list(self, runner):
        header, _, subscriber, superuser = run(runner, "roles", "list").stdout.splitlines()

        assert header.split() == ["NAME", "DESCRIPTION", "PERMISSIONS"]
        assert subscriber.split()[0] == "subscriber" and subscriber.endswith("pro_read")
        assert superuser.split()[0] == "superuser" and superuser.endswith("all_all")
        assert [r["name"] for r in run_json(runner, "roles", "list")] == ["subscriber", "superuser"]

    def test_create_with_permissions(self, runner):
        result = run(runner, "roles", "create", "critic", "--description", "Critics", "--permission", "pro_read")

        assert result.stdout == "Role critic created.\n"
        roles = {r["name"]: r for r in run_json(runner, "roles", "list")}
        assert roles["critic"]["description"] == "Critics"
        assert [p["name"] for p in roles["critic"]["permissions"]] == ["pro_read"]

    def test_create_as_json(self, runner):
        created = run_json(runner, "roles", "create", "critic")

        assert (created["name"], created["description"], created["permissions"]) == ("critic", "", [])

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["Critic"], "name: Use 1 to 64 lower-case letters"),
            (["subscriber"], "A role named 'subscriber' already exists"),
            (["critic", "--permission", "nope"], "Permission 'nope' not found"),
            (["critic", "--description", "x" * 256], "description: Longer than maximum length 255"),
        ],
    )
    def test_create_refuses_bad_input_and_creates_nothing(self, runner, args, message):
        refused(runner, "roles", "create", *args, message=message)
        assert row_count(runner.app, Role) == 2

    def test_update(self, runner):
        make_role(runner.app, "reviewer", "early_access")
        assert run(runner, "roles", "update", "reviewer", "--name", "member").stdout == "Role member updated.\n"
        updated = run_json(runner, "roles", "update", "member", "--description", "Members")

        assert (updated["name"], updated["description"]) == ("member", "Members")

    def test_update_errors(self, runner):
        nothing = run(runner, "roles", "update", "subscriber", ok=False)
        assert nothing.exit_code == 2
        assert "Nothing to change: give --name and/or --description." in nothing.output
        refused(runner, "roles", "update", "nope", "--name", "x", message="Role 'nope' not found")
        make_role(runner.app, "reviewer", "early_access")
        refused(runner, "roles", "update", "reviewer", "--name", "superuser", message="already exists")
        refused(runner, "roles", "update", "reviewer", "--name", "Bad Name", message="name: Use 1 to 64")
        refused(runner, "roles", "update", "subscriber", "--name", "member", message="subscriber is built in")
        assert [r["name"] for r in run_json(runner, "roles", "list")] == ["reviewer", "subscriber", "superuser"]

    def test_delete_after_confirmation(self, app, client, runner, account):
        make_role(app, "reviewer", "early_access")
        give(app, account, role="reviewer")

        assert run(runner, "roles", "delete", "reviewer", input="n\n", ok=False).exit_code == 1
        assert combined_permissions(client, account) == ["early_access"]
        result = run(runner, "roles", "delete", "reviewer", input="y\n")

        assert "Role reviewer deleted." in result.output
        assert combined_permissions(client, account) == []

    def test_delete_refuses_to_leave_no_superuser(self, runner, superuser):
        refused(runner, "roles", "delete", "superuser", "--yes", message="superuser is built in")
        refused(runner, "roles", "delete", "nope", "--yes", message="Role 'nope' not found")
        assert row_count(runner.app, Role) == 2

    def test_grant_and_revoke(self, app, client, runner, account):
        make_role(app, "reviewer", "early_access")
        give(app, account, role="reviewer")

        assert run(runner, "roles", "grant", "reviewer", "permissions_admin").stdout == (
            "Role reviewer now grants permissions_admin.\n"
        )
        assert "already grants" in run(runner, "roles", "grant", "reviewer", "permissions_admin").output
        assert combined_permissions(client, account) == ["early_access", "permissions_admin"]

        assert run(runner, "roles", "revoke", "reviewer", "early_access").stdout == (
            "Role reviewer no longer grants early_access.\n"
        )
        assert combined_permissions(client, account) == ["permissions_admin"]

    def test_grant_and_revoke_errors(self, runner, superuser):
        refused(runner, "roles", "grant", "nope", "pro_read", message="Role 'nope' not found")
        refused(runner, "roles", "grant", "subscriber", "nope", message="Permission 'nope' not found")
        refused(runner, "roles", "revoke", "subscriber", "all_all", message="does not grant 'all_all'")
        refused(runner, "roles", "revoke", "superuser", "all_all", message="grant of all_all is built in")


class TestPermissions:
    def test_list(self, runner):
        lines = run(runner, "permissions", "list").stdout.splitlines()

        assert lines[0].split() == ["NAME", "DESCRIPTION", "UUID"]
        assert [line.split()[0] for line in lines[2:]] == ["all_all", "permissions_admin", "pro_read"]
        assert [p["name"] for p in run_json(runner, "permissions", "list")] == [
            "all_all",
            "permissions_admin",
            "pro_read",
        ]

    def test_create_update_delete(self, runner):
        assert run(runner, "permissions", "create", "beta", "--description", "Beta").stdout == (
            "Permission beta created.\n"
        )
        renamed = run_json(runner, "permissions", "update", "beta", "--name", "early_access")
        assert (renamed["name"], renamed["description"]) == ("early_access", "Beta")

        assert run(runner, "permissions", "delete", "early_access", input="n\n", ok=False).exit_code == 1
        assert row_count(runner.app, Permission) == 4
        run(runner, "permissions", "delete", "early_access", "--yes")
        assert row_count(runner.app, Permission) == 3

    def test_create_as_json(self, runner):
        created = run_json(runner, "permissions", "create", "beta")

        assert set(created) == {"uuid", "name", "description"}

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["create", "Beta"], "name: Use 1 to 64 lower-case letters"),
            (["create", "pro_read"], "A permission named 'pro_read' already exists"),
            (["update", "nope", "--description", "x"], "Permission 'nope' not found"),
            (["update", "pro_read", "--name", "all_all"], "pro_read is built in"),
            (["update", "all_all", "--name", "root"], "all_all is built in"),
            (["delete", "all_all", "--yes"], "all_all is built in"),
            (["delete", "nope", "--yes"], "Permission 'nope' not found"),
        ],
    )
    def test_errors_are_clear_and_change_nothing(self, runner, args, message):
        refused(runner, "permissions", *args, message=message)
        assert [p["name"] for p in run_json(runner, "permissions", "list")] == [
            "all_all",
            "permissions_admin",
            "pro_read",
        ]

    def test_deleting_a_permission_takes_it_from_holders(self, app, client, runner, account):
        make_role(app, "reviewer", "early_access")
        give(app, account, role="reviewer")
        give(app, account, permission="early_access")

        run(runner, "permissions", "delete", "early_access", "--yes")

        assert combined_permissions(client, account) == []


def test_changes_say_when_no_server_can_hear_of_them(runner, settings, account):
    changed = run(runner, "users", "grant-role", account.email, "subscriber")
    listed = run(runner, "users", "list")

    assert (PRIVATE_REDIS_NOTE in changed.stderr) is (settings.redis_url is None)
    assert PRIVATE_REDIS_NOTE not in changed.stdout
    assert PRIVATE_REDIS_NOTE not in listed.stderr  # reading changes nothing a server caches
