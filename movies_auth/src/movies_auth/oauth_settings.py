"""The per-provider social sign-in variables (`OAUTH_<NAME>_CLIENT_ID`, ...), gathered into one settings field.

Their names depend on the providers configured, so no field can name them: this source reads every variable
of that shape from the environment and the `.env` file (the environment wins) for `Settings`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

FIELD = "oauth_provider_settings"
KEYS = ("CLIENT_ID", "CLIENT_SECRET", "DISCOVERY_URL", "AUTHORIZE_URL", "TOKEN_URL", "USERINFO_URL", "SCOPE")
VARIABLE = re.compile(rf"^OAUTH_([A-Z][A-Z0-9_]*?)_({'|'.join(KEYS)})$")


def variable(provider: str, key: str) -> str:
    """The name of a provider's variable, as an operator sets it: `OAUTH_GOOGLE_CLIENT_ID`."""
    return f"OAUTH_{provider.upper()}_{key}"


class OAuthProviderVariables(PydanticBaseSettingsSource):
    """`{"GOOGLE_CLIENT_ID": ..., ...}` from every `OAUTH_<NAME>_<KEY>` variable."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env_file = self.config.get("env_file")
        found: dict[str, str] = {}
        if isinstance(env_file, str) and Path(env_file).is_file():
            found |= {k.upper(): v for k, v in dotenv_values(env_file).items() if v is not None}
        found |= {k.upper(): v for k, v in os.environ.items()}
        gathered = {}
        for name, value in found.items():
            match = VARIABLE.match(name)
            if match:
                gathered[f"{match[1]}_{match[2]}"] = value
        return {FIELD: gathered} if gathered else {}
