"""The package's default values, read from ``transitopt/data/defaults.toml``.

One data file holds every default of the models (emissions, transit graph, road
assignment, the scenario model), each with its source; the parameter dataclasses and
the pydantic specs of the scenario files take their defaults from it.
"""

from __future__ import annotations

import copy
import tomllib
from importlib.resources import files
from typing import Any

__all__ = ["defaults"]

_DEFAULTS: dict[str, Any] = tomllib.loads(
    files("transitopt").joinpath("data").joinpath("defaults.toml").read_text(encoding="utf-8")
)


def defaults(section: str) -> dict[str, Any]:
    """A copy of one section of the defaults file.

    Parameters
    ----------
    section : str
        Dotted table name, e.g. ``"emissions"``, ``"transit_graph"``,
        ``"model.assignment"``.

    Returns
    -------
    dict
        The section's values (nested tables as dicts), safe to modify.
    """
    table: Any = _DEFAULTS
    for part in section.split("."):
        try:
            table = table[part]
        except (KeyError, TypeError):
            raise KeyError(f"no section {section!r} in transitopt/data/defaults.toml") from None
    return copy.deepcopy(table)
