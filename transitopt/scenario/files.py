"""Reading scenario files: TOML → validated specs, paths resolved, baseline chains followed.

:func:`load_scenario` reads a file and, for an alternative, its baseline (which may
itself be an alternative) until it reaches a baseline file. It checks everything that
can be checked without loading data: the schema, that referenced files exist, that
``${VARIABLES}`` are known, and that the chain of baselines has no cycle. Nothing is
computed and nothing is written.

Paths in a file (``network.source``, ``zones.file``, ``demand.od_file``,
``transit.gtfs``, ``calibration.counts``, ``scenario.baseline``) are relative to the folder of the file that
names them. ``${TRANSITOPT_DATA}`` is the shared data folder
(:func:`transitopt.settings.data_dir`); any other ``${NAME}`` is an environment variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from .._digest import file_digest
from ..settings import data_dir
from .schema import AlternativeFile, BaselineFile, ScenarioError, locate_line, parse_file

#: network sources that are not files
EMBEDDED_SOURCES = ("helsinki",)
#: ``network.source`` value for "no street network"
NO_NETWORK = "none"
_FILE_SUFFIXES = (".osm", ".pbf", ".bz2", ".xml", ".graphml", ".tntp")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: bump when the model changes in a way that changes results (invalidates cached results)
MODEL_VERSION = "8"  # 8: per-line crowding log, transit averages and load figures per feedback iteration (their noise bands); 7: feedback log of denied boardings and standing (their noise band); 6: PCE by road type (Indonesian profile), PCU-km per class; 5: hail-and-ride in scenarios, motorcycle/ojek modes and vehicle classes, crowding outputs; 4: lines routed per direction, capacity-constrained transit option, fleet rule; 3: clipped extracts kept


@dataclass(frozen=True)
class EditRecord:
    """One edit of an alternative, with where it was written.

    Attributes
    ----------
    file : Path
        The alternative file.
    index : int
        Position in that file's ``edits`` list (0-based).
    edit : pydantic model
        The validated edit (``edit.type`` names its kind).
    text : str
        The file's text (for line numbers in messages).
    """

    file: Path
    index: int
    edit: Any
    text: str = field(repr=False)

    def where(self, name: str | None = None) -> str:
        """``file:line: edits[i].name`` for messages."""
        loc: tuple[Any, ...] = ("edits", self.index) + ((name,) if name else ())
        line = locate_line(self.text, loc)
        return f"{self.file}:{line}: edits[{self.index}]" + (f".{name}" if name else "")

    def error(self, name: str | None, message: str) -> ScenarioError:
        """A :class:`ScenarioError` located at this edit's field ``name``."""
        return ScenarioError(f"{self.where(name)}: {message}")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the baseline it rests on and the edits on top, in order.

    Attributes
    ----------
    path : Path
        The file this scenario was read from.
    name : str
        ``scenario.name``, else the file name without ``.toml``.
    description : str
    baseline : BaselineFile
        The root baseline's spec, with every path resolved to an absolute one.
    baseline_path : Path
        The root baseline file.
    baseline_text : str
        Its text (for line numbers in messages).
    edits : tuple of EditRecord
        The edits of every alternative in the chain, root-most first.
    chain : tuple of Path
        Files from the root baseline to ``path``.
    parent : Path or None
        The file ``path`` names as its baseline (None for a baseline).
    """

    path: Path
    name: str
    description: str
    baseline: BaselineFile
    baseline_path: Path
    baseline_text: str = field(repr=False)
    edits: tuple[EditRecord, ...]
    chain: tuple[Path, ...]
    parent: Path | None = None

    @property
    def is_baseline(self) -> bool:
        """Whether this is a baseline file (no edits of its own)."""
        return self.parent is None

    def where(self, *loc: Any) -> str:
        """``baseline_file:line: field.path`` for messages about the baseline spec."""
        from .schema import dotted

        return f"{self.baseline_path}:{locate_line(self.baseline_text, loc)}: {dotted(loc)}"

    def error(self, loc: tuple[Any, ...], message: str) -> ScenarioError:
        """A :class:`ScenarioError` located at the baseline field ``loc``."""
        return ScenarioError(f"{self.where(*loc)}: {message}")

    def input_files(self) -> list[Path]:
        """Data files the scenario reads (network, zones, OD, GTFS), for the cache key."""
        spec = self.baseline
        files = [spec.network.source, spec.zones.file, spec.demand.od_file, spec.transit.gtfs]
        if spec.calibration is not None:
            files.append(spec.calibration.counts)
        if spec.demand.external is not None:
            files.append(spec.demand.external.counts_file)
        out = [Path(f) for f in files if f and _looks_like_path(f) and Path(f).is_file()]
        if spec.network.source.lower() in EMBEDDED_SOURCES:
            from ..network.sources import embedded_default_path

            out.append(embedded_default_path())
        return out

    def digest(self) -> str:
        """SHA-256 of everything the result depends on: the specs, the edits, the input files'
        contents, the transitopt version and :data:`MODEL_VERSION`."""
        from .. import __version__

        content = {
            "model_version": MODEL_VERSION,
            "transitopt": __version__,
            "baseline": self.baseline.model_dump(mode="json"),
            "edits": [record.edit.model_dump(mode="json") for record in self.edits],
            "name": self.name,
            "inputs": {str(p): file_digest(p) for p in self.input_files()},
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file and its chain of baselines.

    Raises
    ------
    ScenarioError
        A file is missing, is not TOML, breaks the schema (the message names file,
        line, field and what was expected), names a missing file, or the baselines form
        a cycle.
    """
    path = Path(path).resolve()
    chain: list[Path] = []
    edits: list[list[EditRecord]] = []
    current = path
    spec: Any
    while True:
        if current in chain:
            cycle = " -> ".join(str(p) for p in [*chain[chain.index(current) :], current])
            raise ScenarioError(
                f"{chain[-1]}: scenario.baseline: the baselines form a cycle: {cycle}"
            )
        chain.append(current)
        text, spec = _read(current)
        if isinstance(spec, BaselineFile):
            break
        edits.append(
            [EditRecord(file=current, index=i, edit=e, text=text) for i, e in enumerate(spec.edits)]
        )
        target = _resolve(spec.scenario.baseline, current, text, ("scenario", "baseline"))
        if target.suffix.lower() != ".toml":
            line = locate_line(text, ("scenario", "baseline"))
            raise ScenarioError(
                f"{current}:{line}: scenario.baseline: expected a scenario file ending in "
                f".toml, got {spec.scenario.baseline!r}"
            )
        if not target.is_file():
            line = locate_line(text, ("scenario", "baseline"))
            raise ScenarioError(
                f"{current}:{line}: scenario.baseline: baseline file not found: {target}"
            )
        current = target.resolve()
    baseline = _resolved_baseline(spec, current, text)
    first_text, first_spec = _read(path) if chain[0] != current else (text, spec)
    name = first_spec.scenario.name or path.name.removesuffix(".toml")
    ordered = [record for records in reversed(edits) for record in records]
    return Scenario(
        path=path,
        name=name,
        description=first_spec.scenario.description,
        baseline=baseline,
        baseline_path=current,
        baseline_text=text,
        edits=tuple(ordered),
        chain=tuple(reversed(chain)),
        parent=None if chain[0] == current else chain[1],
    )


# ---------------------------------------------------------------------------- helpers
#: parsed scenario files by path, kept while their mtime and size are unchanged; at most
#: ``FILES_KEPT`` (the oldest entry goes first)
_CACHE: dict[Path, tuple[float, int, str, Any]] = {}
FILES_KEPT = 256


def _read(path: Path) -> tuple[str, BaselineFile | AlternativeFile]:
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    stat = path.stat()
    cached = _CACHE.get(path)
    if cached and cached[:2] == (stat.st_mtime, stat.st_size):
        return cached[2], cached[3]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a UTF-8 text file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    spec = parse_file(path, text, data)
    _CACHE.pop(path, None)
    _CACHE[path] = (stat.st_mtime, stat.st_size, text, spec)
    while len(_CACHE) > FILES_KEPT:
        _CACHE.pop(next(iter(_CACHE)))
    return text, spec


def _expand(value: str, path: Path, text: str, loc: tuple[Any, ...]) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name == "TRANSITOPT_DATA":
            return str(data_dir().resolve())
        if name in os.environ:
            return os.environ[name]
        line = locate_line(text, loc)
        from .schema import dotted

        raise ScenarioError(
            f"{path}:{line}: {dotted(loc)}: unknown variable ${{{name}}} (set the environment variable, "
            "or use ${TRANSITOPT_DATA} for the shared data folder)"
        )

    return _VARIABLE.sub(substitute, value)


def _looks_like_path(value: str) -> bool:
    text = value.lower()
    return (
        "/" in value
        or "\\" in value
        or "${" in value
        or text.endswith(_FILE_SUFFIXES)
        or text.startswith(".")
    )


def _resolve(value: str, path: Path, text: str, loc: tuple[Any, ...]) -> Path:
    expanded = Path(_expand(value, path, text, loc)).expanduser()
    return expanded if expanded.is_absolute() else (path.parent / expanded)


def _resolved_baseline(spec: BaselineFile, path: Path, text: str) -> BaselineFile:
    """The spec with its file references made absolute and checked to exist."""

    @overload
    def existing(value: str, loc: tuple[Any, ...], what: str) -> str: ...

    @overload
    def existing(value: None, loc: tuple[Any, ...], what: str) -> None: ...

    def existing(value: str | None, loc: tuple[Any, ...], what: str) -> str | None:
        if value is None:
            return None
        resolved = _resolve(value, path, text, loc).resolve()
        if not resolved.exists():
            from .schema import dotted

            raise ScenarioError(
                f"{path}:{locate_line(text, loc)}: {dotted(loc)}: {what} not found: {resolved}"
            )
        return str(resolved)

    source = spec.network.source
    if source.lower() not in (*EMBEDDED_SOURCES, NO_NETWORK) and _looks_like_path(source):
        source = existing(source, ("network", "source"), "network file")
    network = spec.network.model_copy(update={"source": source})
    zones = spec.zones.model_copy(
        update={"file": existing(spec.zones.file, ("zones", "file"), "zone file")}
    )
    demand = spec.demand.model_copy(
        update={"od_file": existing(spec.demand.od_file, ("demand", "od_file"), "OD file")}
    )
    if demand.external is not None and demand.external.counts_file is not None:
        loc = ("demand", "external", "counts_file")
        external = demand.external.model_copy(
            update={"counts_file": existing(demand.external.counts_file, loc, "counts file")}
        )
        demand = demand.model_copy(update={"external": external})
    transit = spec.transit.model_copy(
        update={"gtfs": existing(spec.transit.gtfs, ("transit", "gtfs"), "GTFS feed")}
    )
    if transit.osm_routes and network.source.lower() == NO_NETWORK:
        raise ScenarioError(
            f"{path}:{locate_line(text, ('transit', 'osm_routes'))}: transit.osm_routes: OSM route relations are read "
            "from the network file, but network.source is 'none'"
        )
    calibration = spec.calibration
    if calibration is not None and calibration.counts is not None:
        calibration = calibration.model_copy(
            update={
                "counts": existing(calibration.counts, ("calibration", "counts"), "counts file")
            }
        )
    return spec.model_copy(
        update={
            "network": network,
            "zones": zones,
            "demand": demand,
            "transit": transit,
            "calibration": calibration,
        }
    )
