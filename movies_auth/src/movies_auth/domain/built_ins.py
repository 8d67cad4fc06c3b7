"""The permissions and roles every deployment has, by name: the ones the code itself relies on."""

from __future__ import annotations

from typing import Final

SUPERUSER_PERMISSION: Final = "all_all"
ADMIN_PERMISSION: Final = "permissions_admin"
PRO_READ_PERMISSION: Final = "pro_read"
SUPERUSER_ROLE: Final = "superuser"
SUBSCRIBER_ROLE: Final = "subscriber"

DEFAULT_PERMISSIONS: Final[dict[str, str]] = {
    SUPERUSER_PERMISSION: "Every permission (superuser)",
    ADMIN_PERMISSION: "Manage roles, permissions and grants",
    PRO_READ_PERMISSION: "Watch every film, whatever its rating",
}
# Each role: its description and the permissions it is seeded with (and given back when it loses one).
DEFAULT_ROLES: Final[dict[str, tuple[str, list[str]]]] = {
    SUPERUSER_ROLE: ("Administrators of the whole platform", [SUPERUSER_PERMISSION]),
    SUBSCRIBER_ROLE: ("Paying subscribers", [PRO_READ_PERMISSION]),
}
