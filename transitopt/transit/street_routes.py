"""Street routes of bus-type lines and their running times on a loaded road network.

Each stop of a bus, BRT or minibus line is snapped to the nearest node of the drive
network; between consecutive stops the vehicle follows the free-flow fastest path over
links open to buses (``MODE_BUS``, not closed, never through zone centroids), found by
:func:`transitopt.paths.shortest_paths`. Routes are fixed for a scenario (buses do not
re-route around congestion). A segment whose stops lie farther than
``max_snap_m`` from the network, or that has no path, is *unrouted*: it runs the
straight line × ``detour_factor`` at the line's speed and loads no road link.

Running time of a routed segment (s)::

    sum over its links e of max(t_e, L_e / v_max) + (snap distances at both ends) / v_max

with ``t_e`` the congested car time of the link in mixed traffic, its free-flow time on
a bus lane or bus-only link, ``L_e`` its length and ``v_max`` the line's own speed if
it has one, else ``bus_max_speed_kph``. Dwell at stops is added by the transit graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..geo import haversine_m
from ..network.compiled import MODE_BUS, Network
from ..paths import shortest_paths, snap_points
from .graph import BUS_MODES
from .lines import TransitSupply


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
    seg_extra_m : (s,) float64
        Snap distances at both ends (m) of routed segments.
    seg_length_m : (s,) float64
        Vehicle path length (m): links + snaps, or straight line × detour when unrouted.
    inc_seg, inc_edge : (k,) int64
        Incidence: segment ``inc_seg[i]`` runs over link ``inc_edge[i]``.
    """

    lines: tuple[str, ...]
    seg_line: np.ndarray
    seg_routed: np.ndarray
    seg_extra_m: np.ndarray
    seg_length_m: np.ndarray
    inc_seg: np.ndarray
    inc_edge: np.ndarray

    def segments_of(self, line_index: int) -> np.ndarray:
        """Segment indices of one line, in order."""
        return np.flatnonzero(self.seg_line == line_index)

    def edges_of(self, line_indices) -> np.ndarray:
        """Unique links used by the given lines."""
        segs = np.isin(self.seg_line, np.asarray(line_indices, dtype=np.int64))
        return np.unique(self.inc_edge[segs[self.inc_seg]])


def route_lines(
    supply: TransitSupply,
    drive: Network | None,
    *,
    closed: np.ndarray | None = None,
    max_snap_m: float = 250.0,
    detour_factor: float = 1.2,
) -> StreetRoutes:
    """Route every bus-type line of ``supply`` over ``drive`` (see the module docstring)."""
    bus_lines = [ln for ln in supply.lines if ln.mode in BUS_MODES] if drive is not None else []
    stops = supply.stops
    lon = stops["lon"].to_numpy(float)
    lat = stops["lat"].to_numpy(float)
    position = {sid: k for k, sid in enumerate(stops.index)}
    seg_line, seg_routed, seg_extra, seg_length = [], [], [], []
    inc_seg: list[np.ndarray] = []
    inc_edge: list[np.ndarray] = []
    paths: dict[tuple[int, int], tuple[np.ndarray, float] | None] = {}
    if bus_lines and drive is not None:
        used = sorted({position[s] for ln in bus_lines for s in ln.stop_ids})
        node_of = np.full(lon.size, -1, dtype=np.int64)
        snap = np.full(lon.size, np.inf)
        node_of[used], snap[used] = snap_points(drive, lon[used], lat[used])
        open_ = (drive.modes & MODE_BUS) != 0
        if closed is not None:
            open_ &= ~np.asarray(closed, dtype=bool)
        fft = drive.free_flow_time_s
        weight = np.where(open_ & ~np.isnan(fft), fft, np.inf)  # no free-flow time: not used
        pairs = sorted(
            {
                (int(node_of[a]), int(node_of[b]))
                for ln in bus_lines
                for a, b in pairwise(position[x] for x in ln.stop_ids)
                if snap[a] <= max_snap_m and snap[b] <= max_snap_m
            }
        )
        found = shortest_paths(drive, [a for a, _ in pairs], [b for _, b in pairs], weight=weight)
        for (a, b), e in zip(pairs, found, strict=True):
            # an empty path between two different nodes: not connected
            routed = e.size > 0 or a == b
            paths[(a, b)] = (e, float(np.nansum(drive.length_m[e]))) if routed else None
    count = 0
    for li, ln in enumerate(bus_lines):
        s = [position[x] for x in ln.stop_ids]
        for a, b in zip(s[:-1], s[1:], strict=True):
            key = (int(node_of[a]), int(node_of[b]))
            found_path = paths.get(key) if snap[a] <= max_snap_m and snap[b] <= max_snap_m else None
            seg_line.append(li)
            if found_path is None:
                seg_routed.append(False)
                seg_extra.append(0.0)
                seg_length.append(
                    float(haversine_m(lon[a], lat[a], lon[b], lat[b])) * detour_factor
                )
            else:
                path, path_m = found_path
                seg_routed.append(True)
                extra = float(snap[a] + snap[b])
                seg_extra.append(extra)
                seg_length.append(path_m + extra)
                inc_seg.append(np.full(path.size, count, dtype=np.int64))
                inc_edge.append(path)
            count += 1
    return StreetRoutes(
        lines=tuple(ln.id for ln in bus_lines),
        seg_line=np.asarray(seg_line, dtype=np.int64),
        seg_routed=np.asarray(seg_routed, dtype=bool),
        seg_extra_m=np.asarray(seg_extra, dtype=float),
        seg_length_m=np.asarray(seg_length, dtype=float),
        inc_seg=np.concatenate(inc_seg) if inc_seg else np.empty(0, dtype=np.int64),
        inc_edge=np.concatenate(inc_edge) if inc_edge else np.empty(0, dtype=np.int64),
    )


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
    per_incidence = np.maximum(t_link[routes.inc_edge], drive.length_m[routes.inc_edge] / cap)
    n = routes.seg_line.size
    times = np.bincount(routes.inc_seg, weights=per_incidence, minlength=n)
    times = times + routes.seg_extra_m / v_max_mps[routes.seg_line]
    return np.where(routes.seg_routed, times, np.nan)


def buses_per_link(routes: StreetRoutes, n_edges: int, headway_s: np.ndarray) -> np.ndarray:
    """Buses per hour on each link: ``sum of 3600 / headway`` over the lines that run on it."""
    per_incidence = 3600.0 / headway_s[routes.seg_line[routes.inc_seg]]
    return np.bincount(routes.inc_edge, weights=per_incidence, minlength=n_edges)
