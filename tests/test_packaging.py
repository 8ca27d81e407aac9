"""The wheel's package list (pyproject.toml lists it, so the examples can ship from scenarios/)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_sub_package_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(config["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "transitopt").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert listed - found == {"transitopt.examples"}
    assert config["setuptools"]["package-dir"]["transitopt.examples"] == "scenarios"
    assert (ROOT / "scenarios" / "helsinki_base.toml").is_file()
