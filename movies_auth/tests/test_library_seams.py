"""The canary of library upgrades: every private API named in `library_seams` is still there, as expected.

A failure names the library, the private name and our module relying on it: read the library's
changes for that name, adapt that module (or find the public API that now does it), then move the pin.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from movies_auth.library_seams import SEAMS, Seam

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def _pins() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = (re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(.+)", spec) for spec in dependencies)
    return {match[1].lower(): match[2] for match in pins if match}


def _installed(seam: Seam) -> str:
    if seam.distribution == "Python":
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    return version(seam.distribution)


def _resolve(where: str) -> object:
    module_name, _, qualname = where.partition(":")
    held: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        held = inspect.getattr_static(held, part)
    if isinstance(held, classmethod | staticmethod):
        return held.__func__
    return held.fget if isinstance(held, property) else held


@pytest.mark.parametrize("seam", SEAMS, ids=lambda seam: f"{seam.distribution}:{seam.name}")
def test_each_private_api_is_still_where_it_was_at_the_pinned_version(seam):
    upgrade = f"{seam.distribution} {seam.version} -> {_installed(seam)}"
    assert _installed(seam) == seam.version, (
        f"{upgrade}: check {seam.name} ({seam.where}), relied on by {seam.used_by}, then move the pin in "
        "movies_auth.library_seams"
    )
    try:
        held = _resolve(seam.where)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{seam.distribution} {seam.version}: {seam.where} is gone ({error}); {seam.used_by} relies on it")
    if seam.signature is not None:
        found = str(inspect.signature(held))  # type: ignore[arg-type]
        assert found == seam.signature, (
            f"{seam.distribution}: {seam.where} changed signature to {found}; {seam.used_by} overrides or calls it"
        )
    else:
        assert seam.name in inspect.getsource(held), (  # type: ignore[arg-type]
            f"{seam.distribution}: {seam.where} no longer sets or reads {seam.name}; {seam.used_by} relies on it"
        )


@pytest.mark.parametrize("distribution", sorted({seam.distribution for seam in SEAMS if seam.distribution != "Python"}))
def test_each_library_with_a_seam_is_pinned_in_pyproject_at_the_version_the_seams_name(distribution):
    named = {seam.version for seam in SEAMS if seam.distribution == distribution}
    assert named == {_pins().get(distribution.lower())}, (
        f"pyproject.toml pins {distribution} at {_pins().get(distribution.lower())}, "
        f"movies_auth.library_seams names {sorted(named)}: check the seams against the new version"
    )


def test_the_python_the_seams_name_is_the_one_the_image_runs():
    dockerfile = (PYPROJECT.parent / "Dockerfile").read_text()
    python = {seam.version for seam in SEAMS if seam.distribution == "Python"}
    assert re.search(r"^FROM python:(\d+\.\d+)\.", dockerfile, re.MULTILINE)[1] in python  # type: ignore[index]


def test_every_module_relying_on_a_seam_says_so():
    """A reader of the module finds the registry: each names `library_seams` where it uses a private API."""
    for module in {seam.used_by for seam in SEAMS} - {"movies_auth.observability.logging_setup"}:
        source = inspect.getsource(importlib.import_module(module))
        assert "library_seams" in source, f"{module} uses a private API without pointing at movies_auth.library_seams"
