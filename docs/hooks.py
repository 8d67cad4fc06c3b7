"""MkDocs hooks: the repository's own documents as pages, and the settings tables made from the settings objects.

- `SECURITY.md`, `CHANGELOG.md` and the client library's README stay where readers of the repository look for
  them; the site publishes each as a page and points the links between them at those pages.
- `<!-- settings: movies_auth -->` (or `movies_async_api`) in a page becomes the table of every field of that
  service's `Settings`, so the documented settings are always exactly the ones the service reads.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPOSITORY = Path(__file__).resolve().parent.parent
# Repository document -> the page it is published as.
PUBLISHED = {
    "SECURITY.md": "security.md",
    "CHANGELOG.md": "changelog.md",
    "movies_auth_client/README.md": "client.md",
}
_LINK = re.compile(
    r"\]\((?:\.\./)?(SECURITY\.md|CHANGELOG\.md|movies_auth_client/(?:README\.md)?|docs/[^)#]+)(#[^)]*)?\)"
)
_SETTINGS = re.compile(r"<!-- settings: (movies_auth|movies_async_api) -->")


def on_files(files: Files, config: Any) -> Files:
    """Publish the repository documents that exist on this checkout."""
    for source, page in PUBLISHED.items():
        path = REPOSITORY / source
        if path.exists():
            files.append(File.generated(config, page, content=path.read_text(encoding="utf-8")))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Links to repository documents lead to their pages; settings markers become tables."""
    markdown = _LINK.sub(lambda match: _relink(match, files), markdown)
    return _SETTINGS.sub(lambda match: settings_table(match.group(1)), markdown)


def _relink(match: re.Match, files: Files) -> str:
    target, anchor = match.group(1), match.group(2) or ""
    if target.startswith("docs/"):  # a repository document linking into docs/
        return f"]({target.removeprefix('docs/')}{anchor})"
    page = PUBLISHED.get(target if target.endswith(".md") else target + "README.md")
    if page and files.get_file_from_path(page):
        return f"]({page}{anchor})"
    return match.group(0)


def settings_table(service: str) -> str:
    """A Markdown table of every setting of `service`: variable, default and meaning."""
    if service == "movies_auth":
        from movies_auth.settings import Settings
    else:
        from movies_async_api.settings import Settings
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name.upper()}` | {_default(field.get_default(call_default_factory=True))} | {meaning} |")
    return "\n".join(rows)


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, timedelta):
        return f"`{int(value.total_seconds())}` (seconds)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return "the package's `instance/` folder"
    if isinstance(value, list):
        return f"`{value!r}`".replace("'", '"')
    return f"`{value}`"
