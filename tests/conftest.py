"""Shared fixtures: the shared data folder (``TRANSITOPT_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from transitopt.settings import data_dir


def _require(path: Path) -> Path:
    """``path`` if it exists; otherwise fail under CI (data must be there) or skip locally."""
    if path.exists():
        return path
    message = f"shared data not found: {path} (set TRANSITOPT_DATA)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; fails under ``CI=true`` when it is missing, skips otherwise."""
    return _require(data_dir())


@pytest.fixture(scope="session")
def require_data():
    """A function ``require_data("tntp/SiouxFalls")`` giving a path under the shared data folder."""

    def get(relative: str) -> Path:
        return _require(data_dir() / relative)

    return get


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the network cache of each test session out of the user's home."""
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
