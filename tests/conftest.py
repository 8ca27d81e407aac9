"""Shared fixtures: the shared data folder (``TRANSITOPT_DATA``) and the hand-written town."""

from __future__ import annotations

import os
from collections.abc import Callable
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
    """Keep the network cache of each test session out of the user's home, and the
    commands the tests run from compiling ahead in second processes (``transitopt._ahead``;
    ``tests/test_ahead.py`` tests that)."""
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("TRANSITOPT_COMPILE_AHEAD", "0")


#: the hand-written town: a 3 x 3 grid of 300 m blocks with one OSM bus route (relation 401)
TOWN_OSM = Path(__file__).parent / "data" / "scenario_town.osm"


@pytest.fixture(scope="session")
def town_osm() -> Path:
    """The OSM file of the hand-written town (``tests/data/scenario_town.osm``)."""
    return TOWN_OSM


@pytest.fixture(scope="session")
def town_toml() -> Callable[..., str]:
    """A function giving the baseline scenario TOML of the town.

    ``town_toml(trips_per_hour, zones={...}, transit={...})``: the synthesised demand in
    trips/h; ``zones`` and ``transit`` add keys (numbers) to those sections.
    """

    def make(
        trips_per_hour: int,
        *,
        zones: dict[str, float] | None = None,
        transit: dict[str, float] | None = None,
    ) -> str:
        def keys(values: dict[str, float] | None) -> str:
            return "".join(f"{key} = {value}\n" for key, value in (values or {}).items())

        return (
            f'[scenario]\nname = "Town"\n\n'
            f'[network]\nsource = "{TOWN_OSM.as_posix()}"\n\n'
            f'[zones]\ngrid_cell_m = 300\nweights = "uniform"\n{keys(zones)}\n'
            f"[demand.synthesis]\ntrips_per_hour = {trips_per_hour}\n\n"
            f"[transit]\nosm_routes = true\n{keys(transit)}"
        )

    return make
