"""What kind of device, system and browser a user agent names, as the device list shows them (ua-parser)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ua_parser import parse

_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|Nexus (?:7|9|10)\b", re.IGNORECASE)
_MOBILE_SYSTEMS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "HarmonyOS"})
_DESKTOP_SYSTEMS = frozenset({"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD"})


@dataclass(frozen=True)
class Device:
    kind: str  # desktop, mobile, tablet, bot or unknown
    os: str | None
    browser: str | None


@functools.lru_cache(maxsize=4096)
def describe(user_agent: str | None) -> Device:
    """The device a user agent names; `unknown` and None where the parser cannot tell."""
    if not user_agent:
        return Device("unknown", None, None)
    parsed = parse(user_agent)
    system = parsed.os.family if parsed.os else None
    device = parsed.device.family if parsed.device else ""
    if device == "Spider":
        kind = "bot"
    elif _TABLET.search(user_agent) or (system == "Android" and "Mobile" not in user_agent):
        kind = "tablet"
    elif system in _MOBILE_SYSTEMS or "Mobile" in user_agent:
        kind = "mobile"
    elif system in _DESKTOP_SYSTEMS:
        kind = "desktop"
    else:
        kind = "unknown"
    return Device(kind, _named(parsed.os), _named(parsed.user_agent))


def _named(part: object) -> str | None:
    family, major = getattr(part, "family", None), getattr(part, "major", None)
    if not family or family == "Other":
        return None
    return f"{family} {major}" if major else family
