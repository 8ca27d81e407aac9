"""Batch files: cities × city-agnostic policy scenarios, validated before anything runs.

A batch file (TOML) lists cities and policies::

    [batch]
    name = "java-cities"             # identifies the batch in its output folder

    [model]                          # parameters shared by every run ([model] of a scenario file)
    value_of_time_per_h = 3.0

    [defaults]                       # baseline sections shared by every city (zones, demand, period, transit, network)
    zones = {grid_cell_m = 400, weights = "street_length"}
    demand = {synthesis = {trips_per_hour = 5000}}

    [[cities]]
    id = "west-oakland"
    network = "${TRANSITOPT_DATA}/osm/West-Oakland.osm.bz2"   # OSM file, "helsinki", a place name
    osm_routes = true                # transit from the file's route relations
    gtfs = "feeds/oakland.zip"       # and/or a GTFS feed
    demand = {od_file = "od.csv"}    # optional per-city demand (overrides [defaults].demand)

    [[scenarios]]
    name = "baseline"
    policy = "baseline"

    [[scenarios]]
    name = "frequent"
    policy = "headway_factor"
    factor = 0.5

    [[scenarios]]
    name = "bus-lanes"
    policy = "bus_lanes_over_voc"
    threshold = 0.8

Each city becomes a baseline scenario dict (``[defaults]`` < city fields, ``[model]``
< city ``model``), written as an ordinary scenario file and validated by
:func:`transitopt.scenario.load_scenario`: the batch does not repeat the scenario schema.
Relative paths are relative to the batch file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._errors import InputFileError
from ..defaults import deep_merge
from ..scenario.schema import ScenarioError, format_validation_error, locate_line

#: policies a batch scenario may name
POLICIES = ("baseline", "headway_factor", "bus_lanes_over_voc")
#: policies announced but not available yet
PLANNED_POLICIES = ("optimised",)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class BatchError(InputFileError):
    """A batch file is malformed, names a missing file, or its output folder belongs to other work."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitySpec(_Spec):
    """One ``[[cities]]`` entry."""

    id: Annotated[str, Field(pattern=_ID.pattern)]
    name: str | None = None
    network: str
    profile: str | None = None
    walk: bool | None = None
    osm_routes: bool | None = None
    route_types: list[str] | None = None
    gtfs: str | None = None
    transit: dict[str, Any] = {}
    zones: dict[str, Any] = {}
    demand: dict[str, Any] = {}
    period: dict[str, Any] = {}
    model: dict[str, Any] = {}


class PolicySpec(_Spec):
    """One ``[[scenarios]]`` entry: a policy applicable to any city."""

    name: Annotated[str, Field(pattern=_ID.pattern)]
    policy: str
    factor: Annotated[float, Field(gt=0)] | None = None
    threshold: Annotated[float, Field(gt=0)] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _parameters(self) -> PolicySpec:
        if self.policy in PLANNED_POLICIES:
            raise ValueError(
                f"policy {self.policy!r} is not available yet; available: {', '.join(POLICIES)}"
            )
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; available: {', '.join(POLICIES)}")
        needs = {"headway_factor": "factor", "bus_lanes_over_voc": "threshold"}.get(self.policy)
        if needs and getattr(self, needs) is None:
            raise ValueError(f"policy {self.policy!r} needs {needs} = <number>")
        for other in ("factor", "threshold"):
            if other != needs and getattr(self, other) is not None:
                raise ValueError(f"policy {self.policy!r} takes no {other}")
        return self


class BatchMeta(_Spec):
    name: str | None = None
    description: str = ""


class BatchFile(_Spec):
    """A whole batch file."""

    batch: BatchMeta = BatchMeta()
    model: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    cities: Annotated[list[CitySpec], Field(min_length=1)]
    scenarios: Annotated[list[PolicySpec], Field(min_length=1)]


@dataclass(frozen=True)
class Batch:
    """A validated batch.

    Attributes
    ----------
    name : str
        ``batch.name``, else the file name without ``.toml``: identifies the batch in
        its output folder.
    path : Path or None
        The batch file (``None`` for a batch given as a dict).
    spec : BatchFile
    baselines : dict of str to dict
        Per city id, the baseline scenario dict (as a baseline TOML file would give).
    """

    name: str
    path: Path | None
    spec: BatchFile
    baselines: dict[str, dict[str, Any]]

    @property
    def cities(self) -> list[CitySpec]:
        return list(self.spec.cities)

    @property
    def scenarios(self) -> list[PolicySpec]:
        return list(self.spec.scenarios)

    def where(self, *loc: Any) -> str:
        """``file:line: cities[2]`` for messages."""
        from ..scenario.schema import dotted

        if self.path is None:
            return f"<batch {self.name}>: {dotted(loc)}"
        text = self.path.read_text(encoding="utf-8")
        return f"{self.path}:{locate_line(text, loc)}: {dotted(loc)}"


def load_batch(source: str | os.PathLike | dict[str, Any], *, check_files: bool = True) -> Batch:
    """Read and validate a batch file (or the dict it would parse to).

    Every city's baseline is validated by the scenario module (schema, files that
    exist, ``${VARIABLES}``) without loading any data.

    Raises
    ------
    BatchError
        Naming the batch file, the entry (``cities[i]`` with its id, ``scenarios[j]``)
        and what is wrong: unknown policy, duplicated city id or scenario name, a
        missing file, a field out of range.
    """
    if isinstance(source, dict):
        path, text, data = None, "", source
        label = Path(str(source.get("batch", {}).get("name", "batch")))
        folder = Path.cwd()
    else:
        path = Path(source).resolve()
        if not path.is_file():
            raise BatchError(f"{path}: batch file not found")
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BatchError(f"{path}: not valid TOML: {exc}") from None
        label, folder = path, path.parent
    try:
        spec = BatchFile.model_validate(data)
    except ValidationError as exc:
        raise BatchError(
            format_validation_error(label, text, exc).replace(
                "invalid scenario file", "invalid batch file"
            )
        ) from None
    name = spec.batch.name or (path.name.removesuffix(".toml") if path else "batch")
    batch = Batch(name=name, path=path, spec=spec, baselines={})
    problems = []
    for kind, key in (("cities", "id"), ("scenarios", "name")):
        seen: dict[str, int] = {}
        for i, entry in enumerate(getattr(spec, kind)):
            value = getattr(entry, key)
            if value in seen:
                problems.append(
                    f"{batch.where(kind, i, key)}: duplicated {key} {value!r} (also {kind}[{seen[value]}])"
                )
            seen.setdefault(value, i)
    policies = {s.policy for s in spec.scenarios}
    if "bus_lanes_over_voc" in policies and "baseline" not in policies:
        problems.append(
            f"{batch.where('scenarios')}: bus_lanes_over_voc reads the baseline's v/c: add a scenario "
            'with policy = "baseline"'
        )
    if problems:
        raise BatchError("\n".join(problems))
    for city in spec.cities:
        batch.baselines[city.id] = city_baseline(spec, city, folder=folder)
    if check_files:
        with tempfile.TemporaryDirectory(prefix="transitopt-batch-") as tmp:
            for i, city in enumerate(spec.cities):
                try:
                    write_baseline(batch, city.id, Path(tmp))
                except ScenarioError as exc:
                    problems.append(
                        f"{batch.where('cities', i)} (city {city.id!r}): {_strip_tmp(str(exc), tmp)}"
                    )
        if problems:
            raise BatchError("\n".join(problems))
    return batch


def _strip_tmp(message: str, tmp: str) -> str:
    return re.sub(re.escape(tmp) + r"/[^:]+\.toml:(\d+: )?", "", message)


def _absolute(value: str, folder: Path) -> str:
    """A path relative to the batch file made absolute; place names and ``${VARS}`` are left alone."""
    from ..scenario.files import EMBEDDED_SOURCES, NO_NETWORK, _looks_like_path

    if (
        value.lower() in (*EMBEDDED_SOURCES, NO_NETWORK)
        or not _looks_like_path(value)
        or value.startswith("${")
    ):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def city_baseline(spec: BatchFile, city: CitySpec, *, folder: Path) -> dict[str, Any]:
    """The baseline scenario dict of ``city``: ``[defaults]`` < the city's fields; ``[model]`` < ``city.model``."""
    d = deep_merge(spec.defaults, {})
    d.pop("scenario", None)
    network = dict(d.get("network", {}))
    network["source"] = _absolute(city.network, folder)
    for key in ("profile", "walk"):
        if getattr(city, key) is not None:
            network[key] = getattr(city, key)
    d["network"] = network
    transit = deep_merge(d.get("transit", {}), city.transit)
    for key in ("osm_routes", "route_types", "gtfs"):
        if getattr(city, key) is not None:
            transit[key] = getattr(city, key)
    if transit.get("gtfs"):
        transit["gtfs"] = _absolute(transit["gtfs"], folder)
    d["transit"] = transit
    for section in ("zones", "period"):
        d[section] = deep_merge(d.get(section, {}), getattr(city, section))
    d["demand"] = dict(city.demand) if city.demand else dict(d.get("demand", {}))
    if d["demand"].get("od_file"):
        d["demand"]["od_file"] = _absolute(d["demand"]["od_file"], folder)
    if d["zones"].get("file"):
        d["zones"]["file"] = _absolute(d["zones"]["file"], folder)
    d["model"] = deep_merge(spec.model, city.model)
    d["scenario"] = {"name": f"{city.id}/baseline", "description": city.name or city.id}
    return {k: v for k, v in d.items() if v != {} or k in ("demand",)}


def write_baseline(batch: Batch, city_id: str, folder: Path) -> Path:
    """Write the city's baseline as ``folder/baseline.toml`` and validate it with
    :func:`transitopt.scenario.load_scenario` (raises :class:`ScenarioError`)."""
    from ..scenario import load_scenario

    folder.mkdir(parents=True, exist_ok=True)
    path = write_toml(batch.baselines[city_id], folder / "baseline.toml")
    load_scenario(path)
    return path


def write_alternative(
    folder: Path, name: str, edits: list[dict[str, Any]], *, description: str = ""
) -> Path:
    """Write an alternative of ``folder/baseline.toml`` as ``folder/<name>.toml``."""
    data: dict[str, Any] = {
        "scenario": {"name": name, "baseline": "baseline.toml", "description": description},
        "edits": edits,
    }
    return write_toml(data, folder / f"{name.rsplit('/', 1)[-1]}.toml")


# ---------------------------------------------------------------------------- a small TOML writer
_BARE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot write {value!r} to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def toml_text(data: dict[str, Any]) -> str:
    """TOML for a dict of tables: top-level tables as ``[table]`` with inline values, lists of
    tables as ``[[table]]`` (enough for scenario files)."""
    lines: list[str] = []
    for section, body in data.items():
        if isinstance(body, list) and all(isinstance(b, dict) for b in body):
            for entry in body:
                lines += ["", f"[[{_key(section)}]]"] + [
                    f"{_key(k)} = {_value(v)}" for k, v in entry.items()
                ]
        elif isinstance(body, dict):
            lines += ["", f"[{_key(section)}]"] + [
                f"{_key(k)} = {_value(v)}" for k, v in body.items()
            ]
        else:
            lines.insert(0, f"{_key(section)} = {_value(body)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def write_toml(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` as TOML to ``path`` atomically; unchanged files are not rewritten."""
    text = "# written by transitopt.batch\n" + toml_text(data)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
