"""Street routes of bus-type lines and their running times on a loaded road network.

Each line (one direction of service) is routed on its own over the links of the drive
network that are open to buses (``MODE_BUS``, not closed, with a free-flow time, never
through zone centroids). Routes are fixed for a scenario (buses do not re-route around
congestion).

**Direction-aware stop snapping** (map matching). Every stop has candidate links: the
bus links within ``candidate_m`` of its nearest one, at most ``max_candidates``
(:func:`transitopt.paths.snap_to_edges`); the stop's position on a link is its
projection. The two directions of a two-way street are two candidates, and so are the
two carriageways of a divided avenue. For each line a small dynamic programme (Viterbi)
over the candidates of its stops, in order, chooses one link per stop so that

    sum over segments of the free-flow time from stop to stop along the links
    + snap_penalty_s_per_m × (sum over stops of the stop's distance to its link)

is least. A stop therefore attaches to the carriageway of the line's direction of travel:
the other one would need a U-turn detour, which costs more than the few metres more of
snapping. Between two chosen positions the vehicle runs the rest of the first link, the
free-flow fastest path (:func:`transitopt.paths.shortest_paths`) and the start of the
last link; on one link, forward, just the piece between them.

**Fallbacks**. A segment is *unrouted* when a stop at either end has no bus link within
``max_snap_m`` or when no path joins the stops' links. It runs the straight line ×
``detour_factor`` at the line's speed and loads no road link; :attr:`StreetRoutes.fallbacks`
names each with its line and reason.

Running time of a routed segment (s)::

    sum over its links e of share_e × max(t_e, L_e / v_max)

with ``share_e`` the part of the link run (1 for whole links, less where a stop lies on
the link), ``t_e`` the congested car time of the link in mixed traffic, its free-flow
time on a bus lane or bus-only link, ``L_e`` its length and ``v_max`` the line's own
speed if it has one, else ``bus_max_speed_kph``. Dwell at stops is added by the transit
graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..geo import METRES_PER_DEGREE, haversine_m
from ..network.compiled import MODE_BUS, Network
from ..paths import (
    edge_polylines,
    shortest_path_costs,
    shortest_paths,
    snap_to_edges,
)
from .graph import BUS_MODES
from .lines import TransitSupply

#: columns of :attr:`StreetRoutes.fallbacks`
FALLBACK_COLUMNS = ("line", "seq", "from_stop", "to_stop", "reason")

#: two stops on one link less than this far apart backwards (m) count as one point
_BACKWARD_TOLERANCE_M = 5.0


@dataclass(frozen=True, eq=False)
class StreetRoutes:
    """Routes of bus-type lines over the links of a drive network.

    Attributes
    ----------
    lines : tuple of str
        Line ids, one per bus-type line of the supply (in supply order).
    seg_line : (s,) int64
        Line (index into ``lines``) of each segment, segments of a line consecutive and in order.
    seg_routed : (s,) bool
        Whether the segment follows network links.
    seg_length_m : (s,) float64
        Vehicle path length (m): along the links from stop to stop, or the straight
        line × detour when unrouted.
    seg_straight_m : (s,) float64
        Straight-line distance between the segment's stops (m).
    inc_seg, inc_edge : (k,) int64
        Incidence: segment ``inc_seg[i]`` runs over link ``inc_edge[i]``; the links of a
        segment are consecutive and in driving order.
    inc_from, inc_to : (k,) float64
        Part of the link run: from ``inc_from`` to ``inc_to`` (shares of its length from
        its tail, ``0 <= inc_from < inc_to <= 1``).
    stop_edge : (s, 2) int64
        Link each end of a segment is snapped to (−1 for unrouted segments).
    stop_offset_m : (s, 2) float64
        Distance from each end's stop to its link (m; NaN for unrouted segments).
    fallbacks : DataFrame
        One row per unrouted segment: ``line`` (id), ``seq`` (segment number in the
        line), ``from_stop``, ``to_stop`` and ``reason`` (in words).
    """

    lines: tuple[str, ...]
    seg_line: np.ndarray
    seg_routed: np.ndarray
    seg_length_m: np.ndarray
    seg_straight_m: np.ndarray
    inc_seg: np.ndarray
    inc_edge: np.ndarray
    inc_from: np.ndarray
    inc_to: np.ndarray
    stop_edge: np.ndarray
    stop_offset_m: np.ndarray
    fallbacks: pd.DataFrame = field(repr=False)

    @property
    def inc_share(self) -> np.ndarray:
        """(k,) share of each incidence's link that its segment runs."""
        return self.inc_to - self.inc_from

    def segments_of(self, line_index: int) -> np.ndarray:
        """Segment indices of one line, in order."""
        return np.flatnonzero(self.seg_line == line_index)

    def edges_of(self, line_indices) -> np.ndarray:
        """Unique links used by the given lines."""
        segs = np.isin(self.seg_line, np.asarray(line_indices, dtype=np.int64))
        return np.unique(self.inc_edge[segs[self.inc_seg]])

    def summary(self) -> pd.DataFrame:
        """One row per line: ``line``, ``segments``, ``fallbacks``, ``routed_m``,
        ``straight_m`` (of its routed segments) and ``ratio`` (routed / straight)."""
        n = len(self.lines)
        routed = self.seg_routed
        routed_m = np.bincount(self.seg_line[routed], self.seg_length_m[routed], minlength=n)
        straight_m = np.bincount(self.seg_line[routed], self.seg_straight_m[routed], minlength=n)
        return pd.DataFrame(
            {
                "line": list(self.lines),
                "segments": np.bincount(self.seg_line, minlength=n),
                "fallbacks": np.bincount(self.seg_line[~routed], minlength=n),
                "routed_m": routed_m,
                "straight_m": straight_m,
                "ratio": np.divide(
                    routed_m, straight_m, out=np.full(n, np.nan), where=straight_m > 0
                ),
            }
        )


def route_lines(
    supply: TransitSupply,
    drive: Network | None,
    *,
    closed: np.ndarray | None = None,
    max_snap_m: float = 250.0,
    detour_factor: float = 1.2,
    candidate_m: float = 60.0,
    max_candidates: int = 12,
    snap_penalty_s_per_m: float = 0.5,
) -> StreetRoutes:
    """Route every bus-type line of ``supply`` over ``drive`` (see the module docstring).

    Parameters
    ----------
    supply : TransitSupply
        Stops and lines; lines of mode ``bus``, ``brt`` and ``minibus`` are routed.
    drive : Network or None
        The drive network (``None``: nothing is routed).
    closed : (n_edges,) bool, optional
        Links closed to motor traffic.
    max_snap_m : float
        A stop farther than this from every bus link is not on the network (m).
    detour_factor : float
        Unrouted segments run the straight line × this.
    candidate_m : float
        Candidate links of a stop: those within this distance beyond its nearest (m).
    max_candidates : int
        At most this many candidate links per stop.
    snap_penalty_s_per_m : float
        Cost of snapping a stop one metre from its link, in seconds of free-flow time.
    """
    bus_lines = [ln for ln in supply.lines if ln.mode in BUS_MODES] if drive is not None else []
    stops = supply.stops
    lon = stops["lon"].to_numpy(float)
    lat = stops["lat"].to_numpy(float)
    position = {sid: k for k, sid in enumerate(stops.index)}
    stop_seq = [np.array([position[x] for x in ln.stop_ids], dtype=np.int64) for ln in bus_lines]
    matched: list[_Match] = []
    if bus_lines and drive is not None:
        matched = _match_lines(
            drive,
            stop_seq,
            lon,
            lat,
            closed=closed,
            names=stops["name"].astype(str).to_numpy(),
            max_snap_m=max_snap_m,
            candidate_m=candidate_m,
            max_candidates=max_candidates,
            snap_penalty_s_per_m=snap_penalty_s_per_m,
        )
    seg_line, seg_routed, seg_length, seg_straight = [], [], [], []
    stop_edge, stop_offset = [], []
    inc: list[tuple[int, int, float, float]] = []
    fallbacks = []
    count = 0
    for li, (ln, s) in enumerate(zip(bus_lines, stop_seq, strict=True)):
        m = matched[li]
        for k in range(s.size - 1):
            a, b = int(s[k]), int(s[k + 1])
            straight = float(haversine_m(lon[a], lat[a], lon[b], lat[b]))
            seg_line.append(li)
            seg_straight.append(straight)
            reason = m.reasons[k]
            if reason:
                seg_routed.append(False)
                seg_length.append(straight * detour_factor)
                stop_edge.append((-1, -1))
                stop_offset.append((np.nan, np.nan))
                fallbacks.append((ln.id, k, ln.stop_ids[k], ln.stop_ids[k + 1], reason))
            else:
                assert drive is not None  # routed segments need the network
                seg_routed.append(True)
                length = 0.0
                for e, f0, f1 in m.pieces[k]:
                    inc.append((count, e, f0, f1))
                    length += (f1 - f0) * float(drive.length_m[e])
                seg_length.append(length)
                stop_edge.append((m.edge[k], m.edge[k + 1]))
                stop_offset.append((m.offset[k], m.offset[k + 1]))
            count += 1
    incidence = np.array(inc, dtype=float).reshape(-1, 4)
    return StreetRoutes(
        lines=tuple(ln.id for ln in bus_lines),
        seg_line=np.asarray(seg_line, dtype=np.int64),
        seg_routed=np.asarray(seg_routed, dtype=bool),
        seg_length_m=np.asarray(seg_length, dtype=float),
        seg_straight_m=np.asarray(seg_straight, dtype=float),
        inc_seg=incidence[:, 0].astype(np.int64),
        inc_edge=incidence[:, 1].astype(np.int64),
        inc_from=incidence[:, 2].copy(),
        inc_to=incidence[:, 3].copy(),
        stop_edge=np.asarray(stop_edge, dtype=np.int64).reshape(-1, 2),
        stop_offset_m=np.asarray(stop_offset, dtype=float).reshape(-1, 2),
        fallbacks=pd.DataFrame(fallbacks, columns=list(FALLBACK_COLUMNS)),
    )


@dataclass
class _Match:
    """The map matching of one line: per stop its link, position and offset; per segment
    its pieces ``(edge, from, to)`` or the reason it is unrouted."""

    edge: list[int]
    fraction: list[float]
    offset: list[float]
    pieces: list[list[tuple[int, float, float]]]
    reasons: list[str]


def _match_lines(
    drive: Network,
    stop_seq: list[np.ndarray],
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    closed: np.ndarray | None,
    names: np.ndarray,
    max_snap_m: float,
    candidate_m: float,
    max_candidates: int,
    snap_penalty_s_per_m: float,
) -> list[_Match]:
    """Choose a link per stop of every line (Viterbi) and the paths between them."""
    open_ = (drive.modes & MODE_BUS) != 0
    if closed is not None:
        open_ &= ~np.asarray(closed, dtype=bool)
    fft = drive.free_flow_time_s
    open_ &= np.isfinite(fft)
    weight = np.where(open_, fft, np.inf)  # no free-flow time: not used
    used = np.unique(np.concatenate(stop_seq)) if stop_seq else np.empty(0, np.int64)
    cands = snap_to_edges(
        drive,
        lon[used],
        lat[used],
        edges=open_,
        radius_m=candidate_m,
        max_distance_m=max_snap_m,
        max_candidates=max_candidates,
    )
    # candidates by stop (index into the stop table)
    by_stop: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if cands.point.size:
        splits = np.flatnonzero(np.diff(cands.point)) + 1
        for rows in np.split(np.arange(cands.point.size), splits):
            stop = int(used[cands.point[rows[0]]])
            by_stop[stop] = (cands.edge[rows], cands.fraction[rows], cands.distance_m[rows])
    nearest_m = _nearest_bus_link_m(drive, lon, lat, used, open_, by_stop, max_snap_m)
    # path costs between the candidates of consecutive stops: head of one to tail of the next
    pairs: set[tuple[int, int]] = set()
    for s in stop_seq:
        for a, b in zip(s[:-1], s[1:], strict=True):
            if int(a) in by_stop and int(b) in by_stop:
                heads = drive.head[by_stop[int(a)][0]]
                tails = drive.tail[by_stop[int(b)][0]]
                pairs.update((int(h), int(t)) for h in heads for t in tails)
    pair_list = sorted(pairs)
    costs = shortest_path_costs(
        drive, [p for p, _ in pair_list], [q for _, q in pair_list], weight=weight
    )
    cost_of = dict(zip(pair_list, costs.tolist(), strict=True))
    length = drive.length_m
    out: list[_Match] = []
    wanted: set[tuple[int, int]] = set()
    for s in stop_seq:
        m = _viterbi(
            s, by_stop, cost_of, drive, weight, length, snap_penalty_s_per_m, nearest_m,
            max_snap_m, names,
        )  # fmt: skip
        out.append(m)
        for k, reason in enumerate(m.reasons):
            if not reason and _needs_path(m, k, length):
                wanted.add((int(drive.head[m.edge[k]]), int(drive.tail[m.edge[k + 1]])))
    wanted_list = sorted(wanted)
    found = shortest_paths(
        drive, [p for p, _ in wanted_list], [q for _, q in wanted_list], weight=weight
    )
    path_of = dict(zip(wanted_list, found, strict=True))
    for m in out:
        for k, reason in enumerate(m.reasons):
            if reason:
                continue
            e0, f0, e1, f1 = m.edge[k], m.fraction[k], m.edge[k + 1], m.fraction[k + 1]
            if not _needs_path(m, k, length):
                m.pieces[k] = [(e0, f0, max(f0, f1))] if f1 > f0 else []
                continue
            middle = path_of[(int(drive.head[e0]), int(drive.tail[e1]))]
            pieces = [(e0, f0, 1.0)] + [(int(e), 0.0, 1.0) for e in middle] + [(e1, 0.0, f1)]
            m.pieces[k] = [(e, a, b) for e, a, b in pieces if b > a]
    return out


def _needs_path(m: _Match, k: int, length: np.ndarray) -> bool:
    """Whether segment ``k`` leaves its first link (else it runs forward along one link)."""
    e0, f0, e1, f1 = m.edge[k], m.fraction[k], m.edge[k + 1], m.fraction[k + 1]
    return not (e0 == e1 and (f1 - f0) * float(length[e0]) >= -_BACKWARD_TOLERANCE_M)


def _viterbi(
    s: np.ndarray,
    by_stop: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    cost_of: dict[tuple[int, int], float],
    drive: Network,
    weight: np.ndarray,
    length: np.ndarray,
    penalty: float,
    nearest_m: dict[int, float],
    max_snap_m: float,
    names: np.ndarray,
) -> _Match:
    """The least-cost choice of one candidate link per stop of a line (module docstring);
    a segment without candidates at an end or without a path breaks the line into chains."""
    n = s.size
    reasons = [""] * (n - 1)
    best: list[np.ndarray] = []
    back: list[np.ndarray | None] = [None] * n
    for i in range(n):
        stop = int(s[i])
        if stop not in by_stop:
            best.append(np.empty(0))
            if i > 0:
                reasons[i - 1] = _far(stop, nearest_m, max_snap_m, names)
            continue
        edges, frac, dist = by_stop[stop]
        emission = penalty * dist
        if i == 0 or best[i - 1].size == 0:
            if i > 0 and not reasons[i - 1]:
                reasons[i - 1] = _far(int(s[i - 1]), nearest_m, max_snap_m, names)
            best.append(emission)
            continue
        pe, pf, _ = by_stop[int(s[i - 1])]
        trans = np.empty((pe.size, edges.size))
        for r in range(pe.size):
            e0, f0 = int(pe[r]), float(pf[r])
            rest = (1.0 - f0) * weight[e0]
            for c in range(edges.size):
                e1, f1 = int(edges[c]), float(frac[c])
                if e0 == e1 and (f1 - f0) * float(length[e0]) >= -_BACKWARD_TOLERANCE_M:
                    trans[r, c] = max(f1 - f0, 0.0) * weight[e0]
                else:
                    middle = cost_of[(int(drive.head[e0]), int(drive.tail[e1]))]
                    trans[r, c] = rest + middle + f1 * weight[e1]
        total = best[i - 1][:, None] + trans
        arg = np.argmin(total, axis=0)
        value = total[arg, np.arange(edges.size)] + emission
        if not np.isfinite(value).any():
            reasons[i - 1] = (
                f"no street path open to buses from stop {str(names[int(s[i - 1])])!r} "
                f"to stop {str(names[stop])!r}"
            )
            best.append(emission)
            continue
        back[i] = arg
        best.append(value)
    choice = [-1] * n
    for i in range(n - 1, -1, -1):
        if best[i].size == 0:
            continue
        if i == n - 1 or reasons[i] or choice[i + 1] < 0:
            choice[i] = int(np.argmin(best[i]))
        else:
            prev = back[i + 1]
            assert prev is not None  # a routed segment has back pointers
            choice[i] = int(prev[choice[i + 1]])
    edge, fraction, offset = [], [], []
    for i in range(n):
        if choice[i] < 0:
            edge.append(-1)
            fraction.append(math.nan)
            offset.append(math.nan)
        else:
            e, f, d = by_stop[int(s[i])]
            edge.append(int(e[choice[i]]))
            fraction.append(float(f[choice[i]]))
            offset.append(float(d[choice[i]]))
    return _Match(edge, fraction, offset, [[] for _ in range(n - 1)], reasons)


def _far(stop: int, nearest_m: dict[int, float], max_snap_m: float, names: np.ndarray) -> str:
    """Reason text of a stop with no bus link within ``max_snap_m``."""
    d = nearest_m.get(stop, math.inf)
    where = f"{d:,.0f} m" if math.isfinite(d) else "more than 50 km"
    return (
        f"stop {str(names[stop])!r} is {where} from the nearest street open to buses "
        f"(limit model.max_stop_snap_m = {max_snap_m:g} m)"
    )


def _nearest_bus_link_m(
    drive: Network,
    lon: np.ndarray,
    lat: np.ndarray,
    used: np.ndarray,
    open_: np.ndarray,
    by_stop: dict,
    max_snap_m: float,
) -> dict[int, float]:
    """Distance (m) from each stop without candidates to its nearest bus link (for messages)."""
    far = np.array([s for s in used.tolist() if s not in by_stop], dtype=np.int64)
    if far.size == 0:
        return {}
    wide = snap_to_edges(
        drive, lon[far], lat[far], edges=open_, radius_m=0.0, max_distance_m=50_000.0,
        max_candidates=1,
    )  # fmt: skip
    out = {int(s): math.inf for s in far}
    for p, d in zip(wide.point.tolist(), wide.distance_m.tolist(), strict=True):
        out[int(far[p])] = float(d)
    return out


def segment_geometry(routes: StreetRoutes, drive: Network | None) -> list[np.ndarray | None]:
    """Polyline of each routed segment along its links, in the network's CRS (lon/lat
    degrees for OSM networks); ``None`` for unrouted segments.

    The first and last links are cut where the stops lie on them.
    """
    out: list[np.ndarray | None] = [None] * routes.seg_line.size
    if drive is None or routes.inc_seg.size == 0:
        for k in np.flatnonzero(routes.seg_routed):
            out[int(k)] = np.empty((0, 2))
        return out
    coords, index = edge_polylines(drive)
    start = np.searchsorted(index, np.arange(drive.n_edges + 1))
    geographic = drive.crs is not None and "4326" in str(drive.crs)
    splits = np.flatnonzero(np.diff(routes.inc_seg)) + 1
    for rows in np.split(np.arange(routes.inc_seg.size), splits):
        parts = []
        for i in rows:
            e = int(routes.inc_edge[i])
            xy = coords[start[e] : start[e + 1]]
            parts.append(_cut(xy, routes.inc_from[i], routes.inc_to[i], geographic))
        line = np.concatenate(parts) if parts else np.empty((0, 2))
        if len(line) > 1:  # drop repeated vertices where links meet
            keep = np.r_[True, np.any(np.diff(line, axis=0) != 0, axis=1)]
            line = line[keep]
        out[int(routes.inc_seg[rows[0]])] = line
    for k in np.flatnonzero(routes.seg_routed):
        if out[int(k)] is None:  # routed with no link run (two stops at one point)
            out[int(k)] = np.empty((0, 2))
    return out


def fallback_notes(routes: StreetRoutes, supply: TransitSupply, *, limit: int = 10) -> list[str]:
    """Notes for a report: how many bus segments run the straight line, then each by line
    (its label: mode and name), stop names and reason (the first ``limit``; all are in the segments table)."""
    fb = routes.fallbacks
    if fb.empty:
        return []
    total = routes.seg_line.size
    notes = [
        f"{len(fb)} of {total} bus segments ({100.0 * len(fb) / total:.1f} %) are not on the "
        "street network (straight line x detour at the line speed, no road load)"
    ]
    labels = {ln.id: ln.label for ln in supply.lines}
    stop_name = supply.stops["name"].astype(str).to_dict()
    for row in fb.head(limit).itertuples(index=False):
        label = labels.get(row.line, f"line {row.line}")
        a = stop_name.get(row.from_stop, row.from_stop)
        b = stop_name.get(row.to_stop, row.to_stop)
        notes.append(f"{label}, segment {row.seq} ({a} -> {b}): {row.reason}")
    if len(fb) > limit:
        notes.append(f"... and {len(fb) - limit} more (segments table, column fallback_reason)")
    return notes


def segment_table(routes: StreetRoutes, drive: Network | None) -> pd.DataFrame:
    """One row per segment of the routed lines: ``line``, ``seq``, ``on_streets`` (routed),
    ``fallback_reason`` (empty when routed) and ``geometry_wkt`` (the street path as a
    lon/lat ``LINESTRING``; empty when unrouted)."""
    seq = np.zeros(routes.seg_line.size, dtype=np.int64)
    for li in range(len(routes.lines)):
        segs = routes.segments_of(li)
        seq[segs] = np.arange(segs.size)
    reason = np.full(routes.seg_line.size, "", dtype=object)
    if len(routes.fallbacks):
        where = {
            (ln, k): r
            for ln, k, r in routes.fallbacks[["line", "seq", "reason"]].itertuples(index=False)
        }
        for i in np.flatnonzero(~routes.seg_routed):
            reason[i] = where.get((routes.lines[routes.seg_line[i]], int(seq[i])), "")
    wkt = [
        ""
        if g is None or len(g) < 2
        else "LINESTRING (" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in g) + ")"
        for g in segment_geometry(routes, drive)
    ]
    return pd.DataFrame(
        {
            "line": [routes.lines[i] for i in routes.seg_line],
            "seq": seq,
            "on_streets": routes.seg_routed,
            "fallback_reason": reason,
            "geometry_wkt": wkt,
        }
    )


def _cut(xy: np.ndarray, f0: float, f1: float, geographic: bool) -> np.ndarray:
    """The piece of polyline ``xy`` between shares ``f0`` and ``f1`` of its length."""
    if f0 <= 0.0 and f1 >= 1.0:
        return xy
    scale = np.array([1.0, 1.0])
    if geographic:
        scale = np.array([math.cos(math.radians(float(xy[:, 1].mean()))), 1.0]) * METRES_PER_DEGREE
    step = np.hypot(*(np.diff(xy, axis=0) * scale).T)
    cum = np.r_[0.0, np.cumsum(step)]
    total = cum[-1]
    if total <= 0:
        return xy[:1]
    at = np.array([f0, f1]) * total
    x = np.interp(at, cum, xy[:, 0])
    y = np.interp(at, cum, xy[:, 1])
    inside = (cum > at[0]) & (cum < at[1])
    return np.vstack([[x[0], y[0]], xy[inside], [x[1], y[1]]])


def segment_times(
    routes: StreetRoutes,
    drive: Network,
    link_time_s: np.ndarray,
    *,
    bus_free_flow: np.ndarray,
    v_max_mps: np.ndarray,
) -> np.ndarray:
    """Running time (s) of every routed segment (NaN for unrouted ones).

    Parameters
    ----------
    link_time_s
        Congested car time per link (s); ``inf`` on links closed to cars.
    bus_free_flow
        Links where buses run at free flow (bus lanes, bus-only links).
    v_max_mps
        Speed cap per line of ``routes.lines`` (m/s).
    """
    t_link = np.where(
        bus_free_flow | ~np.isfinite(link_time_s), drive.free_flow_time_s, link_time_s
    )
    cap = v_max_mps[routes.seg_line[routes.inc_seg]]
    per_incidence = routes.inc_share * np.maximum(
        t_link[routes.inc_edge], drive.length_m[routes.inc_edge] / cap
    )
    n = routes.seg_line.size
    times = np.bincount(routes.inc_seg, weights=per_incidence, minlength=n)
    return np.where(routes.seg_routed, times, np.nan)


def buses_per_link(routes: StreetRoutes, n_edges: int, headway_s: np.ndarray) -> np.ndarray:
    """Buses per hour on each link: ``sum of 3600 / headway`` over the lines that run on it
    (a link split by a stop counts once: its two pieces' shares add up to one)."""
    per_incidence = routes.inc_share * 3600.0 / headway_s[routes.seg_line[routes.inc_seg]]
    return np.bincount(routes.inc_edge, weights=per_incidence, minlength=n_edges)
