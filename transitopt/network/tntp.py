"""Read the TNTP benchmark format (Transportation Networks for Research).

A TNTP case is a folder with ``*_net.tntp`` (links), ``*_trips.tntp`` (OD demand),
optionally ``*_node.tntp`` (coordinates), ``*_flow.tntp`` (best-known equilibrium link
flows) and a ``README.md`` (units, generalised-cost weights, best-known objective).
See https://github.com/bstabler/TransportationNetworks.

Mapping to the compiled :class:`~transitopt.network.Network`:

* node ``k`` of the file (``1..<NUMBER OF NODES>``) is compiled node ``k - 1`` and
  ``node_id == k``; every header node is kept, even one without links;
* zones are nodes ``1..<NUMBER OF ZONES>``; those numbered below ``<FIRST THRU NODE>`` are
  centroids (``centroid[i]``: paths start or end there, never pass through);
* ``free_flow_time_s`` = free-flow time × 60 (TNTP times are minutes) or × 3600 when the
  case's README says ``Time: hours`` (Eastern-Massachusetts);
* ``length_m`` = length converted to metres when the unit is known from the header or
  README (feet: Anaheim, miles: Chicago-Sketch and Eastern-Massachusetts); otherwise the
  file's number unchanged (``info["tntp"]["length_unit"] == "unknown"``; SiouxFalls'
  lengths are its free-flow times, Berlin's are presumably metres);
* ``capacity_vph`` = capacity, ``alpha`` = b, ``beta`` = power, ``toll`` = toll (the
  file's money unit); ``speed_kph`` from length and free-flow time when the length unit
  is known; the raw columns, the link type and the 1-based file order (``tntp_link``)
  are kept in ``Network.edges``;
* every link allows every mode (TNTP says nothing about modes); ``crs`` is ``None``
  (TNTP coordinates are in arbitrary planar units or degrees without saying which).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..demand.od import ODMatrix
from ..settings import data_dir
from .compiled import Network

#: the ten link columns of a ``*_net.tntp`` file, in order
NET_COLUMNS = (
    "init_node",
    "term_node",
    "capacity",
    "length",
    "free_flow_time",
    "b",
    "power",
    "speed",
    "toll",
    "link_type",
)

#: length units TNTP cases use, in metres
LENGTH_UNITS_M = {
    "feet": 0.3048,
    "ft": 0.3048,
    "miles": 1609.344,
    "mile": 1609.344,
    "mi": 1609.344,
    "km": 1000.0,
    "kilometers": 1000.0,
    "kilometres": 1000.0,
    "m": 1.0,
    "meters": 1.0,
    "metres": 1.0,
}

#: time units TNTP cases use, in seconds
TIME_UNITS_S = {
    "minutes": 60.0,
    "minute": 60.0,
    "min": 60.0,
    "hours": 3600.0,
    "hour": 3600.0,
    "h": 3600.0,
    "seconds": 1.0,
    "s": 1.0,
}

#: relative tolerance between ``<TOTAL OD FLOW>`` and the parsed sum of a trips file
TOTAL_FLOW_RTOL = 1e-6

_META = re.compile(r"^\s*<([^>]+)>\s*(.*)$")


# ---------------------------------------------------------------------------- helpers
def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise InputFileError(f"TNTP file not found: {path}")
    try:
        return path.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1").splitlines()


def _split_metadata(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    """Metadata ``{TAG: value}`` and the index of the first line after ``<END OF METADATA>``."""
    meta: dict[str, str] = {}
    for i, line in enumerate(lines):
        match = _META.match(line)
        if match is None:
            if line.strip() and not line.lstrip().startswith("~"):
                raise InputFileError(
                    f"{path}, line {i + 1}: expected a <TAG> value metadata line before <END OF METADATA>, "
                    f"got {line.strip()[:60]!r}"
                )
            continue
        tag = " ".join(match.group(1).upper().split())
        if tag == "END OF METADATA":
            return meta, i + 1
        meta[tag] = match.group(2).strip()
    raise InputFileError(f"{path}: no <END OF METADATA> line")


def _meta_number(
    meta: dict[str, str], tag: str, path: Path, *, kind: type = int, required: bool = True
) -> Any:
    if tag not in meta:
        if required:
            raise InputFileError(f"{path}: metadata line <{tag}> is missing")
        return None
    text = meta[tag].split("~")[0].strip()
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(f"{path}: <{tag}> should be a number, got {text!r}") from None
    if kind is int:
        if value != int(value):
            raise InputFileError(f"{path}: <{tag}> should be an integer, got {text!r}")
        return int(value)
    return value


def _fields(line: str) -> list[str]:
    """A data line's fields: ``;`` terminators dropped, split on whitespace."""
    return line.replace(";", " ").split()


# ---------------------------------------------------------------------------- README
def read_tntp_readme(path: str | os.PathLike) -> dict[str, Any]:
    """Units, generalised-cost weights and best-known objective from a case's ``README.md``.

    Returns a dict with ``time_unit``, ``length_unit`` (lower-case words or ``None``),
    ``toll_factor`` and ``distance_factor`` (minutes per toll unit / per length unit as
    written; ``0.0`` when blank) and ``best_objective`` (``None`` when not given).
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("#"):
            current = line.lstrip("#").strip().lower()
            continue
        sections.setdefault(current, []).append(line.strip())

    def entry(section: str, key: str) -> str:
        for line in sections.get(section, []):
            if line.lower().startswith(key.lower() + ":"):
                return line.split(":", 1)[1].strip()
        return ""

    def first_number(value: str) -> float:
        match = re.search(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", value)
        return float(match.group()) if match else 0.0

    def unit_word(value: str) -> str | None:
        word = value.split()[0].lower().rstrip(".,") if value.split() else ""
        return word or None

    weights = "generalized cost weights"
    objective = re.search(
        r"[Oo]ptimal objective function value:\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", text
    )
    return {
        "time_unit": unit_word(entry("units", "Time")),
        "length_unit": unit_word(entry("units", "Distance")),
        "toll_factor": first_number(entry(weights, "Toll")),
        "distance_factor": first_number(entry(weights, "Distance")),
        "best_objective": float(objective.group(1)) if objective else None,
    }


def _header_unit(header: str, column: str) -> str | None:
    """Unit in parentheses after ``column`` in an ``<ORIGINAL HEADER>`` line, lower case."""
    match = re.search(column + r"[^\t(]*\(([^)]+)\)", header, flags=re.IGNORECASE)
    return match.group(1).strip().lower() if match else None


# ---------------------------------------------------------------------------- network
def read_tntp_network(
    path: str | os.PathLike,
    *,
    node_file: str | os.PathLike | None = None,
    readme: str | os.PathLike | None = None,
) -> Network:
    """Read a ``*_net.tntp`` link file into a compiled :class:`Network`.

    Parameters
    ----------
    path
        The ``*_net.tntp`` file.
    node_file
        Node coordinates (``Node X Y``); default: the one ``*_node.tntp`` in the same folder, if any.
    readme
        The case's README (units); default: ``README.md`` in the same folder, if any.

    Returns
    -------
    Network
        Nodes ``1..<NUMBER OF NODES>`` as compiled nodes ``0..n-1``; see the module
        docstring for the attribute mapping. ``info["tntp"]`` holds the metadata
        (``zones``, ``nodes``, ``links``, ``first_thru_node``, units and factors).

    Raises
    ------
    InputFileError
        Missing file or metadata, a malformed line (file and line number named), a node
        number outside ``1..<NUMBER OF NODES>``, or a link count differing from the metadata.
    """
    path = Path(path)
    lines = _read_lines(path)
    meta, start = _split_metadata(lines, path)
    n_zones = _meta_number(meta, "NUMBER OF ZONES", path)
    n_nodes = _meta_number(meta, "NUMBER OF NODES", path)
    n_links = _meta_number(meta, "NUMBER OF LINKS", path)
    first_thru = _meta_number(meta, "FIRST THRU NODE", path, required=False)
    if first_thru is None:
        first_thru = 1
    if n_zones > n_nodes:
        raise InputFileError(
            f"{path}: <NUMBER OF ZONES> {n_zones} exceeds <NUMBER OF NODES> {n_nodes}"
        )

    columns = _net_columns(lines, start, path)
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith("~"):
            continue
        parts = _fields(line)
        if not parts:
            continue
        if len(parts) != len(columns):
            raise InputFileError(
                f"{path}, line {i + 1}: expected {len(columns)} columns "
                f"({' '.join(columns)}), got {len(parts)}: {line[:80]!r}"
            )
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise InputFileError(
                f"{path}, line {i + 1}: non-numeric field in {line[:80]!r}"
            ) from None
        rows.append(values)
        line_numbers.append(i + 1)
    if len(rows) != n_links:
        raise InputFileError(
            f"{path}: <NUMBER OF LINKS> says {n_links} but the file has {len(rows)} links"
        )

    raw = np.array(rows, dtype=np.float64).reshape(-1, len(columns))
    # the standard ten columns in their usual order (toll 0 and link type 1 when absent);
    # columns the standard does not name are kept as extra edge columns
    data = np.column_stack(
        [
            raw[:, columns.index(name)]
            if name in columns
            else np.full(len(raw), _NET_COLUMN_DEFAULTS[name])
            for name in NET_COLUMNS
        ]
    ).reshape(-1, len(NET_COLUMNS))
    extra = {name: raw[:, k] for k, name in enumerate(columns) if name not in NET_COLUMNS}
    ends = data[:, :2]
    bad = (ends != np.round(ends)) | (ends < 1) | (ends > n_nodes)
    if bad.any():
        k = int(np.argwhere(bad)[0, 0])
        raise InputFileError(
            f"{path}, line {line_numbers[k]}: node numbers must be integers in 1..{n_nodes} "
            f"(<NUMBER OF NODES>), got {ends[k, 0]:g} -> {ends[k, 1]:g}"
        )
    numeric = data[:, 2:9]
    bad = ~np.isfinite(numeric) | (numeric < 0)
    if bad.any():
        k, c = np.argwhere(bad)[0]
        raise InputFileError(
            f"{path}, line {line_numbers[k]}: {NET_COLUMNS[2 + c]} must be finite and >= 0, got {float(numeric[k, c])!r}"
        )

    # units: the <ORIGINAL HEADER> first, then the README
    readme_path = Path(readme) if readme is not None else path.parent / "README.md"
    notes = read_tntp_readme(readme_path) if readme_path.is_file() else {}
    header = meta.get("ORIGINAL HEADER", "")
    length_unit = _header_unit(header, "length") or notes.get("length_unit")
    time_unit = (
        _header_unit(header, "free flow time")
        or _header_unit(header, "fftt")
        or notes.get("time_unit")
    )
    length_factor = LENGTH_UNITS_M.get(length_unit or "", None)
    time_factor = TIME_UNITS_S.get(time_unit or "", 60.0)

    init = data[:, 0].astype(np.int64)
    term = data[:, 1].astype(np.int64)
    length = data[:, 3]
    fft_s = data[:, 4] * time_factor
    length_m = length * length_factor if length_factor is not None else length.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        speed_kph = np.where((fft_s > 0) & (length_m > 0), length_m / fft_s * 3.6, np.nan)
    if length_factor is None:
        speed_kph[:] = np.nan

    edges = pd.DataFrame({name: data[:, c] for c, name in enumerate(NET_COLUMNS)})
    edges["init_node"] = init
    edges["term_node"] = term
    edges["link_type"] = (
        data[:, 9].astype(np.int64) if np.all(data[:, 9] == np.round(data[:, 9])) else data[:, 9]
    )
    edges.insert(0, "tntp_link", np.arange(1, n_links + 1, dtype=np.int64))
    for name, column in extra.items():
        edges[name] = column
    lanes = extra.get("lanes")
    if lanes is not None and not (np.all(np.isfinite(lanes)) and np.all(lanes > 0)):
        raise InputFileError(f"{path}: the lanes column must hold numbers above 0")

    node_id = np.arange(1, n_nodes + 1, dtype=np.int64)
    centroid = (node_id <= n_zones) & (node_id < first_thru)
    node_x = node_y = None
    if node_file is None:
        candidates = sorted(path.parent.glob("*_node.tntp"))
        node_file = candidates[0] if len(candidates) == 1 else None
    if node_file is not None:
        node_x, node_y = read_tntp_nodes(node_file, n_nodes=n_nodes)

    info = {
        "source": str(path),
        "format": "tntp",
        "tntp": {
            "zones": n_zones,
            "nodes": n_nodes,
            "links": n_links,
            "first_thru_node": first_thru,
            "nodes_without_links": int(n_nodes - np.unique(np.concatenate([init, term])).size),
            "time_unit": time_unit or "minutes (assumed)",
            "time_to_s": time_factor,
            "length_unit": length_unit or "unknown",
            "length_to_m": length_factor,
            "toll_factor": notes.get("toll_factor", 0.0),
            "distance_factor": notes.get("distance_factor", 0.0),
            "node_file": str(node_file) if node_file is not None else None,
            "columns": list(columns),
            "missing_columns": [name for name in NET_COLUMNS if name not in columns],
            "metadata": dict(meta),
        },
    }
    return Network.from_edges(
        init - 1,
        term - 1,
        n_nodes=n_nodes,
        node_x=node_x,
        node_y=node_y,
        node_id=node_id,
        centroid=centroid,
        edges=edges,
        crs=None,
        info=info,
        length_m=length_m,
        free_flow_time_s=fft_s,
        capacity_vph=data[:, 2],
        alpha=data[:, 5],
        beta=data[:, 6],
        speed_kph=speed_kph,
        toll=data[:, 8],
        **({"lanes": lanes} if lanes is not None else {}),
    )


#: values of the optional standard columns when a file's header leaves them out
_NET_COLUMN_DEFAULTS = {"speed": 0.0, "toll": 0.0, "link_type": 1.0}
#: the standard columns every net file must have
_REQUIRED_NET_COLUMNS = tuple(name for name in NET_COLUMNS if name not in _NET_COLUMN_DEFAULTS)
#: header spellings of the standard columns seen in the wild
_NET_COLUMN_ALIASES = {"init": "init_node", "term": "term_node", "fftt": "free_flow_time"}


def _net_columns(lines: list[str], start: int, path: Path) -> list[str]:
    """The link columns, by the file's ``~ init_node term_node ... ;`` header line.

    Without a header line the ten standard columns are assumed in their order. A header
    that lacks a required column, or repeats one, is an error naming it.
    """
    header = None
    for line in lines[start:]:
        text = line.strip()
        if not text:
            continue
        if text.startswith("~"):
            header = text
            continue
        break
    if header is None:
        return list(NET_COLUMNS)
    names = [
        _NET_COLUMN_ALIASES.get(name, name)
        for name in (part.strip().lower() for part in header.lstrip("~").replace(";", " ").split())
    ]
    missing = [name for name in _REQUIRED_NET_COLUMNS if name not in names]
    if missing:
        raise InputFileError(
            f"{path}: the column header {header!r} lacks {', '.join(missing)}; expected the "
            f"TNTP columns {' '.join(NET_COLUMNS)} (toll, speed and link_type may be left out)"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputFileError(f"{path}: the column header repeats {', '.join(repeated)}")
    return names


def read_tntp_nodes(
    path: str | os.PathLike, *, n_nodes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates ``(x, y)`` from a ``*_node.tntp`` file (``Node X Y ;`` rows).

    Returns arrays of length ``n_nodes`` (default: the largest node number) indexed by
    node number − 1; nodes the file does not list get ``nan``.
    """
    path = Path(path)
    lines = _read_lines(path)
    ids: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("~"):
            continue
        parts = _fields(line)
        if not parts:
            continue
        if parts[0].lower() == "node":
            continue  # the header row
        if len(parts) < 3:
            raise InputFileError(f"{path}, line {i + 1}: expected 'node x y', got {line[:80]!r}")
        try:
            node = float(parts[0])
            x, y = float(parts[1]), float(parts[2])
        except ValueError:
            raise InputFileError(
                f"{path}, line {i + 1}: non-numeric field in {line[:80]!r}"
            ) from None
        if node != int(node) or node < 1 or (n_nodes is not None and node > n_nodes):
            limit = f"1..{n_nodes}" if n_nodes is not None else ">= 1"
            raise InputFileError(
                f"{path}, line {i + 1}: node number must be an integer in {limit}, got {parts[0]}"
            )
        ids.append(int(node))
        xs.append(x)
        ys.append(y)
    size = n_nodes if n_nodes is not None else (max(ids) if ids else 0)
    node_x = np.full(size, np.nan)
    node_y = np.full(size, np.nan)
    index = np.asarray(ids, dtype=np.int64) - 1
    node_x[index] = xs
    node_y[index] = ys
    return node_x, node_y


# ---------------------------------------------------------------------------- trips
def read_tntp_trips(path: str | os.PathLike, *, check_total: bool = True) -> ODMatrix:
    """Read a ``*_trips.tntp`` OD table (``Origin o`` blocks of ``d : flow;`` pairs).

    Parameters
    ----------
    path
        The trips file.
    check_total
        Compare the parsed sum with ``<TOTAL OD FLOW>``: a relative difference above
        ``TOTAL_FLOW_RTOL`` (1e-6, far above float rounding and far below one dropped
        pair) raises ``InputFileError``.

    Returns
    -------
    ODMatrix
        Zones ``1..<NUMBER OF ZONES>`` (node ids); trips as in the file (veh/h for
        the TNTP cases). A pair listed twice is an error.
    """
    path = Path(path)
    lines = _read_lines(path)
    meta, start = _split_metadata(lines, path)
    n_zones = _meta_number(meta, "NUMBER OF ZONES", path)
    total = _meta_number(meta, "TOTAL OD FLOW", path, kind=float, required=False)
    matrix = np.zeros((n_zones, n_zones))
    seen = np.zeros((n_zones, n_zones), dtype=np.bool_)
    origin = -1
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line or line.startswith("~"):
            continue
        if line.lower().startswith("origin"):
            parts = line.split()
            try:
                origin = int(parts[1])
            except (IndexError, ValueError):
                raise InputFileError(
                    f"{path}, line {i + 1}: expected 'Origin <zone>', got {line[:80]!r}"
                ) from None
            if not 1 <= origin <= n_zones:
                raise InputFileError(
                    f"{path}, line {i + 1}: origin {origin} is not a zone in 1..{n_zones}"
                )
            continue
        if origin < 0:
            raise InputFileError(f"{path}, line {i + 1}: OD pairs before the first 'Origin' line")
        for piece in line.split(";"):
            piece = piece.strip()
            if not piece:
                continue
            dest_text, sep, flow_text = piece.partition(":")
            try:
                if not sep:
                    raise ValueError
                dest = int(dest_text)
                flow = float(flow_text)
            except ValueError:
                raise InputFileError(
                    f"{path}, line {i + 1}: expected 'destination : flow;', got {piece[:60]!r}"
                ) from None
            if not 1 <= dest <= n_zones:
                raise InputFileError(
                    f"{path}, line {i + 1}: destination {dest} is not a zone in 1..{n_zones}"
                )
            if not math.isfinite(flow) or flow < 0:
                raise InputFileError(
                    f"{path}, line {i + 1}: demand {origin} -> {dest} is {flow_text.strip()}; expected a finite value >= 0"
                )
            if seen[origin - 1, dest - 1]:
                raise InputFileError(
                    f"{path}, line {i + 1}: OD pair {origin} -> {dest} listed twice"
                )
            seen[origin - 1, dest - 1] = True
            matrix[origin - 1, dest - 1] = flow
    parsed = float(matrix.sum())
    if (
        check_total
        and total is not None
        and abs(parsed - total) > TOTAL_FLOW_RTOL * max(abs(total), 1.0)
    ):
        raise InputFileError(
            f"{path}: <TOTAL OD FLOW> says {total!r} but the OD pairs sum to {parsed!r} "
            f"(relative tolerance {TOTAL_FLOW_RTOL:g})"
        )
    return ODMatrix(zones=np.arange(1, n_zones + 1, dtype=np.int64), matrix=matrix)


# ---------------------------------------------------------------------------- flows
def read_tntp_flows(path: str | os.PathLike) -> pd.DataFrame:
    """Best-known link flows from a ``*_flow.tntp`` file.

    Returns
    -------
    DataFrame
        Columns ``from_node``, ``to_node`` (TNTP node numbers), ``volume`` (veh/h) and
        ``cost`` (link travel time at that flow, in the case's time unit), in file order.
    """
    path = Path(path)
    lines = _read_lines(path)
    rows: list[tuple[int, int, float, float]] = []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("~") or line.startswith("<"):
            continue
        parts = _fields(line)
        if parts and parts[0].lower() == "from":
            continue  # the header row
        if len(parts) != 4:
            raise InputFileError(
                f"{path}, line {i + 1}: expected 'from to volume cost', got {line[:80]!r}"
            )
        try:
            rows.append((int(parts[0]), int(parts[1]), float(parts[2]), float(parts[3])))
        except ValueError:
            raise InputFileError(
                f"{path}, line {i + 1}: non-numeric field in {line[:80]!r}"
            ) from None
    frame = pd.DataFrame(rows, columns=["from_node", "to_node", "volume", "cost"])
    return frame.astype(
        {"from_node": np.int64, "to_node": np.int64, "volume": np.float64, "cost": np.float64}
    )


# ---------------------------------------------------------------------------- cases
@dataclass(frozen=True, eq=False)
class TNTPCase:
    """A TNTP case: network, demand and (where published) the best-known flows.

    Attributes
    ----------
    network : Network
    demand : ODMatrix
    best_flows : DataFrame or None
        ``read_tntp_flows`` of the ``*_flow.tntp`` file, in file order.
    folder : Path
    metadata : dict
        ``network.info["tntp"]`` plus ``name``, ``total_od_flow`` and ``best_objective``
        (from the README, in the case's own units; ``None`` when not given).
    """

    network: Network
    demand: ODMatrix
    best_flows: pd.DataFrame | None
    folder: Path
    metadata: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The case's folder name (``"SiouxFalls"``)."""
        return self.folder.name

    def best_edge_flows(self) -> np.ndarray:
        """Best-known flows (veh/h) per compiled edge, in CSR order.

        Flow rows are matched to links in file order (they must name the same
        ``from -> to`` sequence as the ``*_net.tntp`` file).
        """
        if self.best_flows is None:
            raise InputFileError(f"{self.folder}: no *_flow.tntp file with best-known flows")
        edges = self.network.edges
        flows = self.best_flows
        file_order = edges.sort_values("tntp_link")
        if len(flows) != len(edges) or not (
            np.array_equal(flows["from_node"].to_numpy(), file_order["init_node"].to_numpy())
            and np.array_equal(flows["to_node"].to_numpy(), file_order["term_node"].to_numpy())
        ):
            raise InputFileError(
                f"{self.folder}: the flow file's links do not follow the network file's link order"
            )
        return flows["volume"].to_numpy()[edges["tntp_link"].to_numpy() - 1]


def _optional_one(folder: Path, pattern: str) -> Path | None:
    """The one file of ``folder`` matching ``pattern``, or None; several is an error."""
    found = sorted(folder.glob(pattern))
    if len(found) > 1:
        raise InputFileError(f"{folder}: several files match {pattern}: {[p.name for p in found]}")
    return found[0] if found else None


def _one(folder: Path, pattern: str) -> Path:
    """The one file of ``folder`` matching ``pattern``; none or several is an error."""
    found = _optional_one(folder, pattern)
    if found is None:
        raise InputFileError(f"{folder}: no file matching {pattern}")
    return found


def load_tntp(folder_or_name: str | os.PathLike) -> TNTPCase:
    """Load a TNTP case from its folder, or by name from ``<data_dir>/tntp/<name>``.

    Parameters
    ----------
    folder_or_name
        A folder holding ``*_net.tntp`` and ``*_trips.tntp`` (and optionally
        ``*_node.tntp``, ``*_flow.tntp``, ``README.md``), or a case name such as
        ``"SiouxFalls"`` looked up under :func:`transitopt.settings.data_dir`.

    Returns
    -------
    TNTPCase
    """
    folder = Path(folder_or_name)
    if not folder.is_dir():
        candidate = data_dir() / "tntp" / str(folder_or_name)
        if not candidate.is_dir():
            raise InputFileError(
                f"TNTP case not found: {folder_or_name} (neither a folder nor {candidate})"
            )
        folder = candidate
    net_path = _one(folder, "*_net.tntp")
    trips_path = _one(folder, "*_trips.tntp")
    node_path = _optional_one(folder, "*_node.tntp")
    flow_path = _optional_one(folder, "*_flow.tntp")
    network = read_tntp_network(net_path, node_file=node_path)
    demand = read_tntp_trips(trips_path)
    n_zones = network.info["tntp"]["zones"]
    if demand.n_zones != n_zones:
        raise InputFileError(
            f"{trips_path}: <NUMBER OF ZONES> {demand.n_zones} differs from {net_path.name}'s {n_zones}"
        )
    readme = folder / "README.md"
    notes = read_tntp_readme(readme) if readme.is_file() else {}
    trips_meta, _ = _split_metadata(_read_lines(trips_path)[:50], trips_path)
    metadata = {
        **network.info["tntp"],
        "name": folder.name,
        "total_od_flow": _meta_number(
            trips_meta, "TOTAL OD FLOW", trips_path, kind=float, required=False
        ),
        "best_objective": notes.get("best_objective"),
        "files": {
            k: (str(p) if p else None)
            for k, p in {
                "net": net_path,
                "trips": trips_path,
                "node": node_path,
                "flow": flow_path,
            }.items()
        },
    }
    best = read_tntp_flows(flow_path) if flow_path is not None else None
    return TNTPCase(
        network=network, demand=demand, best_flows=best, folder=folder, metadata=metadata
    )
