"""Observed traffic counts: a CSV of link and screenline counts matched to a network.

One row per counted link (or per link of a screenline). A row names its link in one of
three ways (the first that the file has columns for):

* ``tntp_link``: the 1-based link number of a TNTP ``*_net.tntp`` file;
* ``from_node``, ``to_node``: the node ids at the link's two ends (OSM node ids, TNTP
  node numbers);
* ``way`` and ``direction``: the OSM way id and ``forward`` (the way's drawing order) or
  ``backward``; a one-way way has only ``forward``. Where the way has several links in
  that direction (it crosses other streets), ``from_node`` names the node where the
  counted link starts.

Columns: ``count`` (vehicles per analysis period, e.g. veh/h; required); optional
``class`` (vehicle class, default ``car``; a count of one class is in that class's
vehicles, a count of class ``pcu`` is the PCU flow of all classes together), ``period`` (default ``all``), ``screenline``
(rows with the same name form one observation, the sum of their links' flows; the
count is given on at least one of its rows, and where given more than once it must be
the same) and ``name`` (a label for tables).

Transit boardings share the file: a row with a ``line`` and/or ``stop`` value (ids of
the transit supply) counts the boardings of that line, at that stop, or of that line at
that stop, per period (:func:`read_boardings`; :func:`read_counts` skips those rows).

Rows that cannot be matched to the network are not dropped silently: they are listed in
:attr:`LinkCounts.unmatched` with their row number and the reason, and
:func:`read_counts` raises when no row matches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..network.compiled import Network

#: the identifier column sets a counts file may use, in order of preference
KEY_COLUMNS = (("tntp_link",), ("from_node", "to_node"), ("way", "direction"))
#: columns naming what a transit boardings row counts
BOARDING_COLUMNS = ("line", "stop")


@dataclass(frozen=True, eq=False)
class LinkCounts:
    """Counts matched to the links of one network.

    Attributes
    ----------
    labels : (k,) object
        One label per observation (a link ``from -> to``, its name, or a screenline name).
    observed : (k,) float64
        Counted flow per observation, vehicles per period.
    indptr, edges : int64
        Observation ``i`` is the sum of the flows on ``edges[indptr[i]:indptr[i + 1]]``
        (compiled edge indices, CSR order): one edge for a link count, several for a
        screenline.
    vehicle_class, period : (k,) object
    unmatched : DataFrame
        ``row`` (1-based data row of the file), ``reason``: rows left out.
    """

    labels: np.ndarray
    observed: np.ndarray
    indptr: np.ndarray
    edges: np.ndarray
    vehicle_class: np.ndarray
    period: np.ndarray
    unmatched: pd.DataFrame = field(repr=False)

    @property
    def n_observations(self) -> int:
        """Number of observations (counted links plus screenlines)."""
        return int(self.observed.size)

    def modelled(self, link_flow: np.ndarray) -> np.ndarray:
        """Modelled value of each observation from per-link flows (same units)."""
        sums = np.add.reduceat(
            np.asarray(link_flow, dtype=np.float64)[self.edges], self.indptr[:-1]
        )
        return np.where(np.diff(self.indptr) > 0, sums, 0.0)

    def select(self, vehicle_class: str | None = None, period: str | None = None) -> LinkCounts:
        """The observations of one vehicle class and/or period."""
        keep = np.ones(self.n_observations, dtype=bool)
        if vehicle_class is not None:
            keep &= self.vehicle_class == vehicle_class
        if period is not None:
            keep &= self.period == period
        return _subset(self, np.flatnonzero(keep))

    def observation_matrix(self, n_edges: int):
        """(k, n_edges) scipy CSR 0/1 matrix ``H`` with ``H @ flow == modelled(flow)``."""
        from scipy.sparse import csr_matrix

        data = np.ones(self.edges.size)
        return csr_matrix((data, self.edges, self.indptr), shape=(self.n_observations, n_edges))


def combine_counts(*parts: LinkCounts) -> LinkCounts:
    """One set of counts from several on the same network (e.g. one per vehicle class)."""
    if not parts:
        raise ValueError("give at least one LinkCounts")
    sizes = [p.edges.size for p in parts]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return LinkCounts(
        labels=np.concatenate([p.labels for p in parts]),
        observed=np.concatenate([p.observed for p in parts]),
        indptr=np.concatenate(
            [[0]] + [p.indptr[1:] + o for p, o in zip(parts, offsets, strict=True)]
        ).astype(np.int64),
        edges=np.concatenate([p.edges for p in parts]).astype(np.int64),
        vehicle_class=np.concatenate([p.vehicle_class for p in parts]),
        period=np.concatenate([p.period for p in parts]),
        unmatched=pd.concat([p.unmatched for p in parts], ignore_index=True),
    )


def _subset(counts: LinkCounts, rows: np.ndarray) -> LinkCounts:
    parts = [counts.edges[counts.indptr[i] : counts.indptr[i + 1]] for i in rows]
    indptr = np.zeros(rows.size + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([p.size for p in parts])
    return LinkCounts(
        labels=counts.labels[rows],
        observed=counts.observed[rows],
        indptr=indptr,
        edges=np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64),
        vehicle_class=counts.vehicle_class[rows],
        period=counts.period[rows],
        unmatched=counts.unmatched,
    )


def link_counts(
    network: Network,
    edges: np.ndarray,
    observed: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    vehicle_class: str = "car",
) -> LinkCounts:
    """Counts on single links given by compiled edge index (e.g. taken from a known
    solution), all of one ``vehicle_class`` (``"pcu"``: all classes in PCU)."""
    edges = np.asarray(edges, dtype=np.int64)
    observed = np.asarray(observed, dtype=np.float64)
    if edges.shape != observed.shape:
        raise ValueError(f"{edges.size} edges but {observed.size} counts")
    if edges.size and (edges.min() < 0 or edges.max() >= network.n_edges):
        raise ValueError(f"edge index out of range 0..{network.n_edges - 1}")
    if labels is None:
        labels = np.array(_edge_labels(network, edges), dtype=object)
    k = edges.size
    return LinkCounts(
        labels=np.asarray(labels, dtype=object),
        observed=observed,
        indptr=np.arange(k + 1, dtype=np.int64),
        edges=edges,
        vehicle_class=np.full(k, vehicle_class, dtype=object),
        period=np.full(k, "all", dtype=object),
        unmatched=pd.DataFrame({"row": pd.Series(dtype=np.int64), "reason": pd.Series(dtype=str)}),
    )


def _edge_labels(network: Network, edges: np.ndarray) -> list[str]:
    streets = network.street_table()
    names = streets["name"].to_numpy(object)
    out = []
    for e in edges.tolist():
        u, v = network.node_id[network.tail[e]], network.node_id[network.head[e]]
        text = f"{u} -> {v}"
        out.append(f"{names[e]} ({text})" if names[e] else text)
    return out


def _edge_lookup(network: Network, frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, list[str]]:
    """Edge index per row (-1: unmatched) and the reason per unmatched row."""
    n = len(frame)
    found = np.full(n, -1, dtype=np.int64)
    reasons = [""] * n
    edges = network.edges
    if "tntp_link" in frame.columns:
        if "tntp_link" not in edges.columns:
            raise InputFileError(f"{path}: column tntp_link, but the network is not a TNTP network")
        where: dict[int | None, int] = {
            int(v): i for i, v in enumerate(edges["tntp_link"].to_numpy())
        }
        for r, value in enumerate(frame["tntp_link"].to_numpy()):
            e = where.get(_as_int(value), -1)
            found[r] = e
            if e < 0:
                reasons[r] = f"tntp_link {value!r} is not a link of the network"
        return found, reasons
    if {"from_node", "to_node"} <= set(frame.columns):
        ids = network.node_id
        where_pair: dict[tuple[int | None, int | None], int] = {}
        for e, (a, b) in enumerate(
            zip(ids[network.tail].tolist(), ids[network.head].tolist(), strict=False)
        ):
            where_pair.setdefault((int(a), int(b)), e)
        for r, (a, b) in enumerate(
            zip(frame["from_node"].to_numpy(), frame["to_node"].to_numpy(), strict=False)
        ):
            e = where_pair.get((_as_int(a), _as_int(b)), -1)
            found[r] = e
            if e < 0:
                reasons[r] = f"no link from node {a!r} to node {b!r}"
        return found, reasons
    if {"way", "direction"} <= set(frame.columns):
        ways = network.street_table()["way"].to_numpy(object)
        rev = (
            edges["reversed"].to_numpy(object)
            if "reversed" in edges.columns
            else np.full(network.n_edges, False, dtype=object)
        )
        where_way: dict[tuple[str, bool], list[int]] = {}
        for e, (w, back) in enumerate(zip(ways, rev, strict=False)):
            if w is not None:
                where_way.setdefault(
                    (str(w), bool(back) if back is not None else False), []
                ).append(e)
        starts = frame["from_node"].to_numpy() if "from_node" in frame.columns else np.full(n, None)
        tail_ids = network.node_id[network.tail]
        for r, (w, d) in enumerate(
            zip(frame["way"].to_numpy(), frame["direction"].to_numpy(), strict=False)
        ):
            d_text = str(d).strip().lower()
            if d_text not in ("forward", "backward"):
                reasons[r] = f"direction {d!r}; expected forward or backward"
                continue
            key = str(_as_int(w)) if _as_int(w) is not None else str(w)
            candidates = where_way.get((key, d_text == "backward"), [])
            start_node = _as_int(starts[r])
            if start_node is not None:
                candidates = [e for e in candidates if int(tail_ids[e]) == start_node]
            if len(candidates) == 1:
                found[r] = candidates[0]
            elif not candidates:
                reasons[r] = (
                    f"OSM way {w!r} ({d_text}) is not (the first way of) a network link"
                    + (f" starting at node {start_node}" if start_node is not None else "")
                )
            else:
                reasons[r] = (
                    f"OSM way {w!r} ({d_text}) has {len(candidates)} links; give from_node "
                    "(the node where the counted link starts)"
                )
        return found, reasons
    raise InputFileError(
        f"{path}: expected columns naming the link: tntp_link, or from_node and to_node, or "
        f"way and direction; got {list(frame.columns)}"
    )


def _as_int(value) -> int | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f == int(f) else None


def _read_frame(path: Path) -> pd.DataFrame:
    """The counts CSV with lower-case column names and a ``count`` column (checked)."""
    if not path.is_file():
        raise InputFileError(f"counts file not found: {path}")
    try:
        frame = pd.read_csv(
            path,
            dtype={"way": str, "screenline": str, "class": str, "period": str, "line": str,
                   "stop": str},
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "count" not in frame.columns:
        raise InputFileError(
            f"{path}: no 'count' column (vehicles per period); got {list(frame.columns)}"
        )
    return frame


def _boarding_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows that count transit boardings (a ``line`` or ``stop`` given)."""
    mask = np.zeros(len(frame), dtype=bool)
    for column in BOARDING_COLUMNS:
        if column in frame.columns:
            mask |= frame[column].fillna("").astype(str).str.strip().to_numpy() != ""
    return mask


def counts_file_kinds(path: str | os.PathLike) -> set[str]:
    """What a counts CSV counts: ``"links"`` (traffic counts) and/or ``"boardings"``."""
    frame = _read_frame(Path(path))
    boarding = _boarding_rows(frame)
    return ({"boardings"} if boarding.any() else set()) | (
        {"links"} if (~boarding).any() else set()
    )


def read_counts(path: str | os.PathLike, network: Network) -> LinkCounts:
    """Read the traffic counts of a counts CSV (see the module docstring) and match its
    rows to ``network``; boardings rows (``line``/``stop``) are left to
    :func:`read_boardings`.

    Raises
    ------
    InputFileError
        When the file lacks ``count`` or a link key, a count is not a finite number >= 0,
        a screenline's counts disagree, or no row matches the network.
    """
    path = Path(path)
    frame = _read_frame(path)
    frame = frame[~_boarding_rows(frame)]
    if frame.empty:
        raise InputFileError(f"{path}: no traffic count rows (only transit boardings)")
    row_number = frame.index.to_numpy() + 1
    frame = frame.reset_index(drop=True)
    values = pd.to_numeric(frame["count"], errors="coerce").to_numpy(dtype=np.float64)
    screen = (
        frame["screenline"].fillna("").astype(str).str.strip().to_numpy(object)
        if "screenline" in frame.columns
        else np.full(len(frame), "", dtype=object)
    )
    for r in range(len(frame)):
        missing = not np.isfinite(values[r])
        if (missing and not screen[r]) or (not missing and values[r] < 0):
            raise InputFileError(
                f"{path}, row {row_number[r]}: count {frame['count'].iloc[r]!r}; expected a "
                "number >= 0"
            )
    vclass = (
        frame["class"].fillna("car").astype(str).to_numpy(object)
        if "class" in frame.columns
        else np.full(len(frame), "car", dtype=object)
    )
    period = (
        frame["period"].fillna("all").astype(str).to_numpy(object)
        if "period" in frame.columns
        else np.full(len(frame), "all", dtype=object)
    )
    names = frame["name"].to_numpy(object) if "name" in frame.columns else None
    found, reasons = _edge_lookup(network, frame, path)
    unmatched = [(int(row_number[r]), reasons[r]) for r in range(len(frame)) if found[r] < 0]
    labels_of_edges = _edge_labels(network, np.maximum(found, 0))

    obs_labels: list[str] = []
    obs_value: list[float] = []
    obs_edges: list[list[int]] = []
    obs_class: list[str] = []
    obs_period: list[str] = []
    groups: dict[tuple[str, str, str], int] = {}
    for r in range(len(frame)):
        key = (screen[r], vclass[r], period[r])
        if screen[r] and key in groups:
            i = groups[key]
            if np.isfinite(values[r]):
                if np.isfinite(obs_value[i]) and abs(obs_value[i] - values[r]) > 1e-9 * max(
                    1.0, values[r]
                ):
                    raise InputFileError(
                        f"{path}, row {row_number[r]}: screenline {screen[r]!r} count {values[r]:g} differs from "
                        f"{obs_value[i]:g} given on an earlier row; give its total once"
                    )
                obs_value[i] = values[r]
            if found[r] >= 0:
                obs_edges[i].append(int(found[r]))
            continue
        if found[r] < 0 and not screen[r]:
            continue
        if screen[r]:
            groups[key] = len(obs_value)
            label = f"screenline {screen[r]}"
        else:
            label = (
                str(names[r])
                if names is not None and isinstance(names[r], str)
                else labels_of_edges[r]
            )
        obs_labels.append(label)
        obs_value.append(values[r])
        obs_edges.append([int(found[r])] if found[r] >= 0 else [])
        obs_class.append(vclass[r])
        obs_period.append(period[r])
    keep = [i for i, e in enumerate(obs_edges) if e]
    for i, e in enumerate(obs_edges):
        if not e:
            unmatched.append((0, f"{obs_labels[i]}: none of its links is in the network"))
        elif not np.isfinite(obs_value[i]):
            raise InputFileError(f"{path}: {obs_labels[i]} has no count on any of its rows")
    if not keep:
        raise InputFileError(
            f"{path}: none of its {len(frame)} rows matches a link of the network"
            + (f" (row {unmatched[0][0]}: {unmatched[0][1]})" if unmatched else "")
        )
    indptr = np.zeros(len(keep) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(obs_edges[i]) for i in keep])
    return LinkCounts(
        labels=np.array([obs_labels[i] for i in keep], dtype=object),
        observed=np.array([obs_value[i] for i in keep], dtype=np.float64),
        indptr=indptr,
        edges=np.array([e for i in keep for e in obs_edges[i]], dtype=np.int64),
        vehicle_class=np.array([obs_class[i] for i in keep], dtype=object),
        period=np.array([obs_period[i] for i in keep], dtype=object),
        unmatched=pd.DataFrame(unmatched, columns=["row", "reason"]).astype({"row": np.int64}),
    )


# ------------------------------------------------------------------ transit boardings
@dataclass(frozen=True, eq=False)
class Boardings:
    """Counted transit boardings (the rows of a counts CSV with ``line`` and/or ``stop``).

    Attributes
    ----------
    labels : (k,) object
        ``line L``, ``stop S`` or ``line L at stop S`` (or the row's ``name``).
    line, stop : (k,) object
        Line id and stop id as in the transit supply (``""``: any).
    observed : (k,) float64
        Boardings per analysis period (passengers per period, e.g. per hour).
    rows : (k,) int64
        1-based data row of each observation in the file.
    """

    labels: np.ndarray
    line: np.ndarray
    stop: np.ndarray
    observed: np.ndarray
    rows: np.ndarray

    @property
    def n_observations(self) -> int:
        """Number of counted lines, stops and lines at stops."""
        return int(self.observed.size)

    def match(self, graph: Any) -> MatchedBoardings:
        """The boarding links of each observation in a transit graph
        (:class:`~transitopt.transit.graph.TransitGraph`); observations with none are
        listed in ``unmatched`` (row, reason) and left out."""
        from ..transit.graph import BOARD

        line_ids = np.asarray(graph.line_ids + ("",), dtype=object)
        stop_ids = np.append(np.asarray(graph.stop_ids).astype(str).astype(object), "")
        board = np.flatnonzero(graph.kind == BOARD)
        board_line = line_ids[graph.line[board]]
        board_stop = stop_ids[graph.stop[board]]
        keep: list[int] = []
        links: list[np.ndarray] = []
        unmatched: list[tuple[int, str]] = []
        known_lines, known_stops = set(board_line.tolist()), set(board_stop.tolist())
        for i in range(self.n_observations):
            line, stop = str(self.line[i]), str(self.stop[i])
            inside = np.ones(board.size, dtype=bool)
            if line:
                inside &= board_line == line
            if stop:
                inside &= board_stop == stop
            if inside.any():
                keep.append(i)
                links.append(board[inside])
                continue
            if line and line not in known_lines:
                reason = f"line {line!r} is not a line of the transit supply"
            elif stop and stop not in known_stops:
                reason = f"stop {stop!r} is not a stop where a line boards"
            else:
                reason = f"line {line!r} does not board at stop {stop!r}"
            unmatched.append((int(self.rows[i]), reason))
        indptr = np.zeros(len(keep) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([x.size for x in links])
        rows = np.asarray(keep, dtype=np.int64)
        return MatchedBoardings(
            labels=self.labels[rows],
            observed=self.observed[rows],
            indptr=indptr,
            links=np.concatenate(links).astype(np.int64) if links else np.zeros(0, np.int64),
            unmatched=pd.DataFrame(unmatched, columns=["row", "reason"]).astype({"row": np.int64}),
        )


@dataclass(frozen=True, eq=False)
class MatchedBoardings:
    """:class:`Boardings` matched to the boarding links of one transit graph.

    Observation ``i`` is the sum of the volumes on ``links[indptr[i]:indptr[i + 1]]``.
    """

    labels: np.ndarray
    observed: np.ndarray
    indptr: np.ndarray
    links: np.ndarray
    unmatched: pd.DataFrame = field(repr=False)

    @property
    def n_observations(self) -> int:
        """Number of matched observations."""
        return int(self.observed.size)

    def modelled(self, link_volume: np.ndarray) -> np.ndarray:
        """Modelled boardings of each observation from the transit link volumes."""
        volume = np.asarray(link_volume, dtype=np.float64)
        return np.array(
            [
                volume[self.links[a:b]].sum()
                for a, b in zip(self.indptr[:-1], self.indptr[1:], strict=True)
            ]
        )


def read_boardings(path: str | os.PathLike) -> Boardings:
    """Read the transit boardings rows of a counts CSV: ``line`` and/or ``stop`` (ids of
    the transit supply), ``count`` (boardings per period), optional ``name``.

    Raises
    ------
    InputFileError
        When the file has no boardings rows, or a count is not a number >= 0.
    """
    path = Path(path)
    frame = _read_frame(path)
    mask = _boarding_rows(frame)
    if not mask.any():
        raise InputFileError(
            f"{path}: no transit boardings rows (a 'line' and/or 'stop' column with a value)"
        )
    rows = np.flatnonzero(mask)
    values = pd.to_numeric(frame["count"], errors="coerce").to_numpy(dtype=np.float64)

    def column(name: str) -> np.ndarray:
        if name not in frame.columns:
            return np.full(len(frame), "", dtype=object)
        return frame[name].fillna("").astype(str).str.strip().to_numpy(object)

    line, stop = column("line"), column("stop")
    names = column("name")
    labels = []
    for r in rows:
        if not (np.isfinite(values[r]) and values[r] >= 0):
            raise InputFileError(
                f"{path}, row {r + 1}: count {frame['count'].iloc[r]!r}; expected boardings >= 0"
            )
        text = " at ".join(
            part
            for part in (f"line {line[r]}" if line[r] else "", f"stop {stop[r]}" if stop[r] else "")
            if part
        )
        labels.append(names[r] or text)
    return Boardings(
        labels=np.array(labels, dtype=object),
        line=line[rows],
        stop=stop[rows],
        observed=values[rows],
        rows=rows.astype(np.int64) + 1,
    )
