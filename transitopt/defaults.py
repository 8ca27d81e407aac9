"""The package's default values, read from ``transitopt/data/defaults.toml``, and the one
way of layering overrides on a table of defaults (:func:`deep_merge`).

One data file holds every default of the models (emissions, transit graph and modes,
road assignment, the scenario model), each with its source; the parameter dataclasses
and the pydantic specs of the scenario files take their defaults from it.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

__all__ = ["deep_merge", "section"]

_DEFAULTS: dict[str, Any] = tomllib.loads(
    files("transitopt").joinpath("data").joinpath("defaults.toml").read_text(encoding="utf-8")
)


def section(name: str) -> dict[str, Any]:
    """A copy of one section of the defaults file.

    Parameters
    ----------
    name : str
        Dotted table name, e.g. ``"emissions"``, ``"transit_graph"``,
        ``"model.assignment"``.

    Returns
    -------
    dict
        The section's values (nested tables as dicts), safe to modify.
    """
    table: Any = _DEFAULTS
    for part in name.split("."):
        try:
            table = table[part]
        except (KeyError, TypeError):
            raise KeyError(f"no section {name!r} in transitopt/data/defaults.toml") from None
    return copy.deepcopy(table)


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, tables merged key by key at every depth.

    A value of ``extra`` replaces the value of ``base`` unless both are tables, which
    are merged in turn. Neither argument is modified.
    """
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
