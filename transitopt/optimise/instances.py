"""Transit network design (TNDP/UTRP) benchmark instances and published route sets.

An instance is a small undirected road network with travel times in minutes and a
symmetric origin-destination demand matrix in trips, as in Mandl (1979) and
Mumford (2013). Two file layouts are read:

* the CSV layout of github.com/RenatoArbex/TransitNetworkDesign: a folder holding
  ``<name>_nodes.txt`` (``id,lat,lon,terminal``), ``<name>_links.txt``
  (``from,to,travel_time``, one row per direction) and ``<name>_demand.txt``
  (``from,to,demand``, non-zero pairs only);
* Mumford's original layout: ``<Name>Coords.txt`` (one ``x y`` row per node),
  ``<Name>TravelTimes.txt`` and ``<Name>Demand.txt`` (whitespace-separated full
  matrices, ``Inf`` = no link).

Nodes are renumbered ``0..n-1`` in file order; ``node_id`` keeps the file's ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .._errors import InputFileError, NetworkError
from .._io import write_text
from ..settings import data_dir

#: instance names of the shared data folder and where they live under ``tndp/``
KNOWN_INSTANCES = {
    "mandl": "Mandl/Mandl1",
    "mandl1": "Mandl/Mandl1",
    "mandl2": "Mandl/Mandl2",
    "mumford0": "Mumford0",
    "mumford1": "Mumford1",
    "mumford2": "Mumford2",
}


@dataclass(frozen=True, eq=False)
class TNDPInstance:
    """A transit network design instance.

    Attributes
    ----------
    name
        Instance name (``"Mandl1"``, ``"Mumford0"``, ...).
    node_id
        (n,) int64 node ids as in the source files.
    x, y
        (n,) float64 node coordinates (longitude/latitude for Mandl in the CSV layout,
        planar units otherwise).
    terminal
        (n,) bool: node may be a route terminal (all True when the source has no flag).
    travel_time
        (n, n) float64 symmetric link travel times in minutes; ``inf`` where there is no
        link, 0 on the diagonal.
    demand
        (n, n) float64 trips between nodes (0 on the diagonal).
    source
        Where the instance was read from, for messages.
    """

    name: str
    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    terminal: np.ndarray
    travel_time: np.ndarray
    demand: np.ndarray
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_id.size)

    @property
    def n_links(self) -> int:
        """Number of undirected links."""
        finite = np.isfinite(self.travel_time)
        return int((finite.sum() - self.n_nodes) // 2)

    @property
    def total_demand(self) -> float:
        """Total demand in trips (both directions)."""
        return float(self.demand.sum())

    def index_of(self, ids: Iterable[int]) -> np.ndarray:
        """Compiled indices ``0..n-1`` of the given file node ids.

        Raises
        ------
        KeyError
            If an id is not a node of the instance.
        """
        lookup = {int(v): i for i, v in enumerate(self.node_id)}
        out = []
        for v in ids:
            if int(v) not in lookup:
                raise KeyError(f"node id {v} is not a node of instance {self.name}")
            out.append(lookup[int(v)])
        return np.asarray(out, dtype=np.int64)

    @classmethod
    def from_matrices(
        cls,
        travel_time: np.ndarray,
        demand: np.ndarray,
        *,
        name: str = "instance",
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
        terminal: np.ndarray | None = None,
        node_id: np.ndarray | None = None,
    ) -> TNDPInstance:
        """Build and validate an instance from a travel-time matrix (minutes) and demand (trips).

        ``travel_time[i, j]`` is the link time, ``inf`` (or ``nan``) where there is no
        link; the matrix must be symmetric and the link graph connected.
        """
        tt = np.array(travel_time, dtype=np.float64)
        dm = np.array(demand, dtype=np.float64)
        n = tt.shape[0]
        if tt.ndim != 2 or tt.shape != (n, n) or n < 2:
            raise NetworkError(
                f"{name}: travel-time matrix must be square with n >= 2, got {tt.shape}"
            )
        if dm.shape != (n, n):
            raise NetworkError(
                f"{name}: demand matrix is {dm.shape}, expected {(n, n)} like the travel times"
            )
        tt[np.isnan(tt)] = np.inf
        np.fill_diagonal(tt, 0.0)
        info: dict = {}
        if (tt < 0).any():
            i, j = np.argwhere(tt < 0)[0]
            raise NetworkError(f"{name}: negative travel time {tt[i, j]} on link {i}-{j}")
        if not np.array_equal(tt, tt.T):
            i, j = np.argwhere(tt != tt.T)[0]
            raise NetworkError(
                f"{name}: travel times must be symmetric (undirected links); "
                f"link {i}-{j} is {tt[i, j]} but {j}-{i} is {tt[j, i]}"
            )
        if (~np.isfinite(dm)).any() or (dm < 0).any():
            raise NetworkError(f"{name}: demand must be finite and >= 0")
        np.fill_diagonal(dm, 0.0)
        ids = (
            np.arange(1, n + 1, dtype=np.int64)
            if node_id is None
            else np.asarray(node_id, dtype=np.int64)
        )
        inst = cls(
            name=name,
            node_id=ids,
            x=np.zeros(n) if x is None else np.asarray(x, dtype=np.float64),
            y=np.zeros(n) if y is None else np.asarray(y, dtype=np.float64),
            terminal=np.ones(n, dtype=bool)
            if terminal is None
            else np.asarray(terminal, dtype=bool),
            travel_time=tt,
            demand=dm,
            source=name,
            info=info,
        )
        _check_connected(inst)
        return inst


def _check_connected(inst: TNDPInstance) -> None:
    adj = np.isfinite(inst.travel_time) & ~np.eye(inst.n_nodes, dtype=bool)
    n_comp, labels = connected_components(csr_matrix(adj), directed=False)
    if n_comp > 1:
        sizes = np.bincount(labels)
        small = np.flatnonzero(labels != np.argmax(sizes))
        raise NetworkError(
            f"{inst.source}: the road network is disconnected ({n_comp} components); "
            f"nodes {inst.node_id[small[:10]].tolist()} cannot be reached from the rest"
        )


def _resolve(name_or_folder: str | Path) -> Path:
    path = Path(name_or_folder)
    if path.exists():
        return path
    key = str(name_or_folder).strip().lower()
    if key in KNOWN_INSTANCES:
        folder = data_dir() / "tndp" / KNOWN_INSTANCES[key]
        if not folder.is_dir():
            raise InputFileError(
                f"TNDP instance {name_or_folder!r}: folder {folder} not found (set TRANSITOPT_DATA to the shared data)"
            )
        return folder
    # a prefix of Mumford's original files, e.g. ``.../original_format/Mandl``
    if Path(f"{path}TravelTimes.txt").exists():
        return path
    raise InputFileError(
        f"TNDP instance {name_or_folder!r} not found: give a folder with *_nodes.txt, "
        f"*_links.txt and *_demand.txt, a prefix of <Name>TravelTimes.txt, or one of "
        f"{sorted(KNOWN_INSTANCES)} (looked under {data_dir() / 'tndp'})"
    )


def read_tndp_instance(name_or_folder: str | Path) -> TNDPInstance:
    """Read a TNDP benchmark instance.

    Parameters
    ----------
    name_or_folder
        A known name (``"Mandl"``/``"Mandl1"``, ``"Mandl2"``, ``"Mumford0"`` ..
        ``"Mumford2"``, resolved under ``data_dir() / "tndp"``), a folder with the CSV
        files, or the path prefix of Mumford's original files (e.g.
        ``".../original_format/Mumford0"`` for ``Mumford0TravelTimes.txt`` etc.).

    Returns
    -------
    TNDPInstance

    Raises
    ------
    InputFileError
        A file is missing or malformed (the message names file and line).
    NetworkError
        The road network is disconnected or the travel times are not symmetric.
    """
    path = _resolve(name_or_folder)
    if path.is_dir():
        return _read_csv_layout(path)
    return _read_original_layout(path)


# --------------------------------------------------------------------------- CSV layout


def _find_one(folder: Path, suffix: str) -> Path:
    hits = sorted(folder.glob(f"*_{suffix}.txt"))
    if len(hits) != 1:
        raise InputFileError(
            f"{folder}: expected exactly one *_{suffix}.txt file, found {[h.name for h in hits]}"
        )
    return hits[0]


def _read_rows(path: Path, columns: Sequence[str], types: Sequence[type]) -> list[tuple]:
    """Rows of a small CSV file as ``(line_number, *values)``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    lines = text.splitlines()
    if not lines:
        raise InputFileError(f"{path}: file is empty, expected header {','.join(columns)}")
    header = [h.strip().lower() for h in lines[0].split(",")]
    if header != list(columns):
        raise InputFileError(
            f"{path}, line 1: header is {lines[0]!r}, expected {','.join(columns)!r}"
        )
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != len(columns):
            raise InputFileError(
                f"{path}, line {number}: {len(parts)} fields in {line!r}, expected {len(columns)} ({','.join(columns)})"
            )
        try:
            values = tuple(
                t(_number(p)) if t is int else t(p) for t, p in zip(types, parts, strict=True)
            )
            rows.append((number, *values))
        except ValueError:
            raise InputFileError(
                f"{path}, line {number}: cannot read {line!r} as {','.join(columns)} (numbers expected)"
            ) from None
    return rows


def _number(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def _read_csv_layout(folder: Path) -> TNDPInstance:
    nodes_file = _find_one(folder, "nodes")
    links_file = _find_one(folder, "links")
    demand_file = _find_one(folder, "demand")
    name = nodes_file.name[: -len("_nodes.txt")]
    name = name[:1].upper() + name[1:]
    nodes = _read_rows(nodes_file, ("id", "lat", "lon", "terminal"), (int, float, float, int))
    if not nodes:
        raise InputFileError(f"{nodes_file}: no nodes")
    ids = np.array([r[1] for r in nodes], dtype=np.int64)
    if np.unique(ids).size != ids.size:
        dup = ids[np.flatnonzero(np.diff(np.sort(ids)) == 0)[0]]
        raise InputFileError(f"{nodes_file}: node id {dup} appears twice")
    index = {int(v): i for i, v in enumerate(ids)}
    n = ids.size
    tt = np.full((n, n), np.inf)
    for i, j, minutes in _read_pair_values(links_file, nodes_file, index, "travel_time"):
        tt[i, j] = minutes
    # links are stored in both directions; accept a one-direction file as undirected
    one_way = np.isfinite(tt) & ~np.isfinite(tt.T)
    tt[one_way.T] = tt.T[one_way.T]
    demand = np.zeros((n, n))
    for i, j, trips in _read_pair_values(demand_file, nodes_file, index, "demand"):
        demand[i, j] += trips
    inst = TNDPInstance.from_matrices(
        tt,
        demand,
        name=name,
        x=np.array([r[3] for r in nodes]),
        y=np.array([r[2] for r in nodes]),
        terminal=np.array([r[4] != 0 for r in nodes]),
        node_id=ids,
    )
    return _with_source(inst, str(folder))


#: what the value column of a node-pair file holds: (text in messages, unit)
_PAIR_VALUES = {"travel_time": ("travel time", "minutes"), "demand": ("demand", "trips")}


def _read_pair_values(
    path: Path, nodes_file: Path, index: dict[int, int], column: str
) -> list[tuple[int, int, float]]:
    """``(from, to, value)`` rows of a links or demand file as node indices, checked.

    Raises
    ------
    InputFileError
        A node is not in the nodes file, or a value is negative or not finite.
    """
    label, unit = _PAIR_VALUES[column]
    out = []
    for number, a, b, value in _read_rows(path, ("from", "to", column), (int, int, float)):
        for v in (a, b):
            if v not in index:
                raise InputFileError(f"{path}, line {number}: node {v} is not in {nodes_file.name}")
        if not (math.isfinite(value) and value >= 0):
            raise InputFileError(
                f"{path}, line {number}: {label} {value} must be finite and >= 0 {unit}"
            )
        out.append((index[a], index[b], value))
    return out


def _with_source(inst: TNDPInstance, source: str) -> TNDPInstance:
    object.__setattr__(inst, "source", source)
    return inst


# --------------------------------------------------------------------------- original layout


def _number_rows(path: Path, width: int | None, expected: str) -> list[list[float]]:
    """Rows of white-space separated numbers in ``path`` (blank lines skipped), each ``width``
    wide (the first row's width when ``None``); ``expected`` describes a row in errors."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = [float(v) for v in line.split()]
        except ValueError:
            raise InputFileError(
                f"{path}, line {number}: expected {expected}, got {line[:60]!r}"
            ) from None
        width = len(row) if width is None else width
        if len(row) != width:
            raise InputFileError(f"{path}, line {number}: {len(row)} values, expected {width}")
        rows.append(row)
    return rows


def _read_matrix(path: Path, n: int | None) -> np.ndarray:
    rows = _number_rows(path, n, "a row of numbers or Inf")
    n = len(rows[0]) if rows and n is None else n
    if not rows or len(rows) != n:
        raise InputFileError(f"{path}: {len(rows)} rows, expected a square {n}x{n} matrix")
    return np.array(rows)


def _read_original_layout(prefix: Path) -> TNDPInstance:
    name = prefix.name
    tt = _read_matrix(Path(f"{prefix}TravelTimes.txt"), None)
    n = tt.shape[0]
    dm = _read_matrix(Path(f"{prefix}Demand.txt"), n)
    x = y = None
    coords_file = Path(f"{prefix}Coords.txt")
    if coords_file.exists():
        coords = _number_rows(coords_file, 2, "'x y'")
        if len(coords) != n:
            raise InputFileError(f"{coords_file}: {len(coords)} coordinates for {n} nodes")
        x, y = np.array(coords).T
    inst = TNDPInstance.from_matrices(tt, dm, name=name, x=x, y=y)
    return _with_source(inst, str(prefix))


# --------------------------------------------------------------------------- route sets

_ROUTE = re.compile(r"^\s*\d+(\s*-\s*\d+)+\s*$")


def read_literature_route_sets(path: str | Path | None = None) -> dict[str, list[list[int]]]:
    """Read a file of published route sets (the Mandl literature file's layout).

    Each block is a title line, a line with the number of routes, and one route per
    line as node ids joined by ``-``; blocks are separated by blank lines.

    Parameters
    ----------
    path
        The file; default ``tndp/Mandl/Mandl1/literature_solutions_for_mandl1_20181025.txt``
        under the shared data folder.

    Returns
    -------
    dict
        Title → list of routes (lists of node ids, as in the file), in file order.
    """
    if path is None:
        path = (
            data_dir()
            / "tndp"
            / "Mandl"
            / "Mandl1"
            / "literature_solutions_for_mandl1_20181025.txt"
        )
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    out: dict[str, list[list[int]]] = {}
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        title, title_line = lines[i].strip(), i + 1
        if i + 1 >= len(lines) or not lines[i + 1].strip().isdigit():
            raise InputFileError(
                f"{path}, line {title_line + 1}: expected the number of routes of {title!r}"
            )
        count = int(lines[i + 1])
        routes = []
        for k in range(count):
            j = i + 2 + k
            if j >= len(lines) or not _ROUTE.match(lines[j]):
                got = lines[j] if j < len(lines) else "end of file"
                raise InputFileError(
                    f"{path}, line {j + 1}: route {k + 1} of {count} of {title!r} expected as ids joined by '-', got {got!r}"
                )
            routes.append([int(v) for v in lines[j].split("-")])
        if title in out:
            raise InputFileError(f"{path}, line {title_line}: route set {title!r} appears twice")
        out[title] = routes
        i += 2 + count
        if i < len(lines) and lines[i].strip():
            raise InputFileError(f"{path}, line {i + 1}: {title!r} has more than {count} routes")
    return out


def write_route_set(routes: Sequence[Sequence[int]], path: str | Path, *, header: str = "") -> Path:
    """Write a route set, one route per line as node ids joined by ``-`` (``#`` lines: ``header``).

    :func:`read_route_set` reads it back.
    """
    path = Path(path)
    lines = [f"# {line}" for line in header.splitlines()]
    lines += ["-".join(str(int(v)) for v in route) for route in routes]
    write_text(path, "\n".join(lines) + "\n")
    return path


def read_route_set(path: str | Path) -> list[list[int]]:
    """Read one route set: one route per line, node ids separated by ``-``, spaces or commas.

    Blank lines and lines starting with ``#`` are skipped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    routes = []
    for number, line in enumerate(text.splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = [p for p in re.split(r"[-,\s]+", text) if p]
        try:
            routes.append([int(p) for p in parts])
        except ValueError:
            raise InputFileError(
                f"{path}, line {number}: expected node ids, got {line!r}"
            ) from None
    return routes
