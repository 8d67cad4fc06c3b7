"""movies_auth's layers import one way: down (docs/architecture.md, "Code layout of movies_auth")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import movies_auth

pytestmark = pytest.mark.unit

PACKAGE = Path(movies_auth.__file__).parent
SURFACES = {"web", "cli"}
# What each layer must not import: the layers above it. `observability` and the top-level modules are used by all;
# `app.py` (create_app) mounts the surfaces.
ABOVE = {
    "hotpath": SURFACES,
    "domain": SURFACES | {"hotpath"},
    "stores": SURFACES | {"hotpath"},
    "observability": SURFACES | {"hotpath", "domain", "stores"},
    "top level": SURFACES,
}


def layer_of(path: Path) -> str:
    """The layer of a source file: its folder under the package, or "top level" for app.py, extensions.py, ..."""
    folder, *rest = path.relative_to(PACKAGE).parts
    return folder if rest else "top level"


def imported_layers(path: Path) -> dict[str, str]:
    """The movies_auth layers a source file imports (deferred and type-only imports too), each with one module."""
    layers = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "movies_auth" and len(parts) > 2:
                layers.setdefault(parts[1], name)
    return layers


def sources() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "app.py" or path.parent != PACKAGE)


@pytest.mark.parametrize("layer", ABOVE)
def test_a_layer_imports_none_above_it(layer: str) -> None:
    upward = {
        str(path.relative_to(PACKAGE)): module
        for path in sources()
        if layer_of(path) == layer
        for imported, module in imported_layers(path).items()
        if imported in ABOVE[layer]
    }
    assert upward == {}


def test_every_layer_is_known() -> None:
    assert {layer_of(path) for path in sources()} == set(ABOVE) | SURFACES | {"migrations"}
