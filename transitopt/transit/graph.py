"""The transit graph: zones, stops, line nodes and the links between them.

Layout (one row per link; costs in seconds, frequencies in vehicles per second)::

    zone origin ──access──► stop (departure side) ──board──► line node (vehicle at stop k)
        ──ride──► line node (vehicle arriving at stop k+1) ──dwell──► line node (departing k+1) ...
        ──alight──► stop (arrival side) ──egress──► zone destination
    stop (arrival) ──transfer──► stop (departure), same stop
    stop (arrival) ──walk transfer──► another stop (departure), within a walking distance
    zone origin ──walk only──► another zone's destination, within a walking distance

Only boarding links have a finite frequency (1 / headway of their line); every other
link is taken without waiting. Each stop has a departure and an arrival node so that
the transfer penalty is paid on transfers only, and each zone has an origin and a
destination node so that no path passes through a zone.

Walking distances come from shortest paths on a walk :class:`~transitopt.network.Network`
(``length_m``, every link walkable both ways: :func:`transitopt.paths.walk_distances`),
plus the straight-line distance from each point to its nearest walk node; without a
walk network, from the straight line times ``GraphParameters.walk_detour_factor``.
Vehicle running times come from the line's own ``running_times_s``; otherwise bus-type
lines (bus, BRT, minibus) run along the shortest path by length on a drive network
(:func:`transitopt.paths.shortest_paths`) at the line's speed, and rail/tram lines, or
buses when no drive network is given, along the straight line times
``GraphParameters.detour_factor``. Every parameter and default lives in
:class:`~transitopt.transit.defaults.GraphParameters`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import NetworkError, SnappingError
from ..geo import haversine_m, local_xy
from ..network.compiled import Network
from ..paths import shortest_paths, snap_points, walk_distances
from .defaults import GraphParameters
from .lines import TransitSupply

#: link kinds (``TransitGraph.kind``)
BOARD, RIDE, DWELL, ALIGHT, TRANSFER, WALK_TRANSFER, ACCESS, EGRESS, WALK_ONLY = range(9)
LINK_KINDS = (
    "board",
    "ride",
    "dwell",
    "alight",
    "transfer",
    "walk_transfer",
    "access",
    "egress",
    "walk_only",
)

#: node kinds (``TransitGraph.node_kind``)
ZONE_ORIGIN, ZONE_DESTINATION, STOP_DEPARTURE, STOP_ARRIVAL, LINE_ARRIVAL, LINE_DEPARTURE = range(6)
NODE_KINDS = (
    "zone_origin",
    "zone_destination",
    "stop_departure",
    "stop_arrival",
    "line_arrival",
    "line_departure",
)

#: names of the per-link attributes skimmed by the assignment, in ``link_skim`` order
LINK_SKIM_NAMES = ("in_vehicle_s", "walk_s", "boardings")

BUS_MODES = ("bus", "brt", "minibus")


@dataclass(frozen=True, eq=False)
class TransitGraph:
    """A transit network compiled to flat arrays for the optimal-strategies kernels.

    Attributes
    ----------
    tail, head : (m,) int64
        Link end nodes.
    cost_s : (m,) float64
        Link cost (s): in-vehicle, dwell, walk time and penalties.
    freq_hz : (m,) float64
        Boarding links: line frequency (1/s); ``inf`` on every other link.
    kind : (m,) int8
        Link kind, an index into ``LINK_KINDS``.
    line : (m,) int32
        Line index (into ``line_ids``) of board/ride/dwell/alight links, else -1.
    stop : (m,) int32
        Stop index (into ``stop_ids``) of board/alight/transfer links, the stop at the
        start of ride links, else -1.
    in_vehicle_s, walk_s : (m,) float64
        The in-vehicle (ride + dwell) and walking part of ``cost_s``.
    node_kind : (n,) int8
        Node kind, an index into ``NODE_KINDS``.
    zone_ids : (z,) array
        Zone ids in matrix order; ``origin_node``/``destination_node`` (z,) their nodes.
    stop_ids : (s,) str array
        Stop ids; ``stop_departure_node``/``stop_arrival_node`` (s,) their nodes.
    line_ids : tuple of str
        Line ids; ``line_headway_s`` and ``line_capacity`` (per vehicle) per line.
    in_indptr, in_links : reverse CSR (links entering each node).
    params : GraphParameters
    info : dict
        Counts, the period, and ``repairs`` (what had to be assumed, with counts).
    line_seats : (lines,) float64 or None
        Seats per vehicle of each line (``Line.vehicle_seats``); ``None``: all places are
        seats.
    hail_points : DataFrame or None
        The boarding points added along hail-and-ride lines (they are also in
        ``stop_ids``): index stop id, columns ``name``, ``lon``, ``lat``, ``line`` (line
        id); ``None`` when there are none.
    """

    tail: np.ndarray
    head: np.ndarray
    cost_s: np.ndarray
    freq_hz: np.ndarray
    kind: np.ndarray
    line: np.ndarray
    stop: np.ndarray
    in_vehicle_s: np.ndarray
    walk_s: np.ndarray
    node_kind: np.ndarray
    zone_ids: np.ndarray
    origin_node: np.ndarray
    destination_node: np.ndarray
    stop_ids: np.ndarray
    stop_departure_node: np.ndarray
    stop_arrival_node: np.ndarray
    line_ids: tuple[str, ...]
    line_headway_s: np.ndarray
    line_capacity: np.ndarray
    in_indptr: np.ndarray
    in_links: np.ndarray
    params: GraphParameters
    info: dict = field(default_factory=dict, repr=False)
    line_seats: np.ndarray | None = None
    hail_points: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.node_kind.size

    @property
    def n_links(self) -> int:
        """Number of links."""
        return self.tail.size

    @property
    def link_skim(self) -> np.ndarray:
        """(m, 3) per-link attributes skimmed by the assignment: ``LINK_SKIM_NAMES``."""
        boardings = (self.kind == BOARD).astype(np.float64)
        return np.ascontiguousarray(np.column_stack([self.in_vehicle_s, self.walk_s, boardings]))

    def __repr__(self) -> str:
        return (
            f"<TransitGraph {self.n_nodes} nodes, {self.n_links} links, {len(self.zone_ids)} zones, "
            f"{len(self.stop_ids)} stops, {len(self.line_ids)} lines>"
        )

    def links_table(self) -> pd.DataFrame:
        """One row per link: ends, kind, line and stop ids, cost, frequency, headway."""
        line_ids = np.asarray(self.line_ids + ("",), dtype=object)
        stop_ids = np.append(self.stop_ids.astype(object), "")
        return pd.DataFrame(
            {
                "tail": self.tail,
                "head": self.head,
                "kind": np.asarray(LINK_KINDS, dtype=object)[self.kind],
                "line": line_ids[self.line],
                "stop": stop_ids[self.stop],
                "cost_s": self.cost_s,
                "freq_hz": self.freq_hz,
                "in_vehicle_s": self.in_vehicle_s,
                "walk_s": self.walk_s,
            }
        )


def build_transit_graph(
    supply: TransitSupply,
    *,
    zones: pd.DataFrame | str | None = "stops",
    walk_network: Network | None = None,
    drive_network: Network | None = None,
    period: str | None = None,
    params: GraphParameters | None = None,
    hail_polylines: Mapping[str, Sequence[np.ndarray | None]] | None = None,
) -> TransitGraph:
    """Build the transit graph of a supply for one analysis period.

    Parameters
    ----------
    supply
        Stops and lines.
    zones
        ``"stops"``: every stop is a zone (its departure node is the origin, its arrival
        node the destination; no access walk), for stop-to-stop demand and skims; a
        DataFrame with ``zone`` and ``x``/``y`` (or ``lon``/``lat``) in degrees: zone
        centroids connected to stops within ``params.max_access_walk_m``; ``None``: no
        zones.
    walk_network
        Walking network (``length_m`` per edge) for access, egress and transfer walks.
    drive_network
        Street network for the running times of bus-type lines without their own times.
    period
        Analysis period naming the headway of lines with several (``Line.headway``).
    params
        Walking speed, distances, penalties, detour factors (see :class:`GraphParameters`).
    hail_polylines
        Street path of each segment of hail-and-ride lines, by line id: (k, 2) lon/lat
        from one stop to the next, ``None`` for the straight line (the default for lines
        not given); their boarding points lie along it.
    """
    params = params or GraphParameters()
    repairs: dict[str, int] = {}
    point_line: dict[str, int] = {}  # hail-and-ride boarding point -> its line's index
    if not isinstance(zones, str):  # stop-to-stop demand ("stops") boards at stops only
        supply, point_line = _with_hail_and_ride_points(
            supply, drive_network, params, repairs, hail_polylines or {}
        )
    stops = supply.stops
    stop_ids = stops.index.to_numpy(dtype=object).astype(str)
    stop_index = {sid: k for k, sid in enumerate(stop_ids)}
    stop_lon = stops["lon"].to_numpy(np.float64)
    stop_lat = stops["lat"].to_numpy(np.float64)
    n_stops = len(stop_ids)

    # ---- zones
    if isinstance(zones, str):
        if zones != "stops":
            raise ValueError(f"zones must be 'stops', a DataFrame or None, got {zones!r}")
        zone_ids = stop_ids.copy()
        zone_lon = zone_lat = np.empty(0)
        n_zones = 0  # zones share the stop nodes
    elif zones is None:
        zone_ids = np.empty(0, dtype=np.int64)
        zone_lon = zone_lat = np.empty(0)
        n_zones = 0
    else:
        zone_ids, zone_lon, zone_lat = _zone_points(zones)
        n_zones = zone_ids.size
        _check_zones_near_stops(zone_ids, zone_lon, zone_lat, stop_lon, stop_lat)

    # ---- nodes: zone origins, zone destinations, stop departures, stop arrivals, line nodes
    node_kind: list[np.ndarray] = [
        np.full(n_zones, ZONE_ORIGIN),
        np.full(n_zones, ZONE_DESTINATION),
        np.full(n_stops, STOP_DEPARTURE),
        np.full(n_stops, STOP_ARRIVAL),
    ]
    stop_dep = 2 * n_zones + np.arange(n_stops)
    stop_arr = 2 * n_zones + n_stops + np.arange(n_stops)
    next_node = 2 * n_zones + 2 * n_stops
    if isinstance(zones, str):
        origin_node, destination_node = stop_dep.copy(), stop_arr.copy()
    else:
        origin_node, destination_node = np.arange(n_zones), n_zones + np.arange(n_zones)

    links: dict[str, list] = {
        k: [] for k in ("tail", "head", "cost", "freq", "kind", "line", "stop", "ivt", "walk")
    }

    def add(tail, head, cost, freq, kind, line=-1, stop=-1, ivt=0.0, walk=0.0):
        size = np.broadcast(tail, head).size if np.ndim(tail) or np.ndim(head) else 1
        for name, value, dtype in (
            ("tail", tail, np.int64),
            ("head", head, np.int64),
            ("cost", cost, np.float64),
            ("freq", freq, np.float64),
            ("kind", kind, np.int8),
            ("line", line, np.int32),
            ("stop", stop, np.int32),
            ("ivt", ivt, np.float64),
            ("walk", walk, np.float64),
        ):
            links[name].append(np.broadcast_to(np.asarray(value, dtype=dtype), (size,)).copy())

    # ---- lines
    running = _running_times(supply, stop_index, stop_lon, stop_lat, drive_network, params, repairs)
    headways = np.array([line.headway(period) for line in supply.lines], dtype=np.float64)
    for li, line in enumerate(supply.lines):
        s = np.array([stop_index[sid] for sid in line.stop_ids])
        n = s.size
        arrive = next_node + np.arange(n - 1)  # vehicle arriving at stop k = 1..n-1
        depart = next_node + (n - 1) + np.arange(n - 1)  # vehicle departing stop k = 0..n-2
        next_node += 2 * (n - 1)
        node_kind += [np.full(n - 1, LINE_ARRIVAL), np.full(n - 1, LINE_DEPARTURE)]
        freq = 1.0 / headways[li]
        times = running[li]
        add(stop_dep[s[:-1]], depart, params.boarding_penalty_s, freq, BOARD, li, s[:-1])
        add(depart, arrive, times, np.inf, RIDE, li, s[:-1], ivt=times)
        if n > 2:  # at stops 1..n-2 a vehicle arrives, dwells and departs again
            add(arrive[:-1], depart[1:], line.dwell, np.inf, DWELL, li, s[1:-1], ivt=line.dwell)
        add(arrive, stop_arr[s[1:]], 0.0, np.inf, ALIGHT, li, s[1:])

    # ---- transfers at the same stop
    add(stop_arr, stop_dep, params.transfer_penalty_s, np.inf, TRANSFER, -1, np.arange(n_stops))

    # ---- walking: stop to stop, zone to stop, stop to zone, zone to zone
    walker = _Walker(walk_network, params)
    if n_stops > 1 and params.max_transfer_walk_m > 0:
        i, j, d = walker.pairs(stop_lon, stop_lat, stop_lon, stop_lat, params.max_transfer_walk_m)
        keep = i != j
        i, j, d = _thin_hail_transfers(i[keep], j[keep], d[keep], stop_ids, point_line)
        t = d / params.walk_speed_mps
        add(
            stop_arr[i],
            stop_dep[j],
            t + params.transfer_penalty_s,
            np.inf,
            WALK_TRANSFER,
            -1,
            i,
            walk=t,
        )
    if n_zones:
        i, j, d = walker.pairs(zone_lon, zone_lat, stop_lon, stop_lat, params.max_access_walk_m)
        t = d / params.walk_speed_mps
        add(origin_node[i], stop_dep[j], t, np.inf, ACCESS, -1, j, walk=t)
        add(stop_arr[j], destination_node[i], t, np.inf, EGRESS, -1, j, walk=t)
        no_stop = np.setdiff1d(np.arange(n_zones), i)
        repairs["zones without a stop within max_access_walk_m (transit unreachable)"] = int(
            no_stop.size
        )
        if params.max_access_walk_m > 0:
            i, j, d = walker.pairs(zone_lon, zone_lat, zone_lon, zone_lat, params.max_access_walk_m)
            keep = i != j
            t = d[keep] / params.walk_speed_mps
            add(origin_node[i[keep]], destination_node[j[keep]], t, np.inf, WALK_ONLY, walk=t)

    arrays = {
        name: np.concatenate(parts) if parts else np.empty(0) for name, parts in links.items()
    }
    n_nodes = next_node
    node_kind_arr = np.concatenate(node_kind).astype(np.int8) if node_kind else np.empty(0, np.int8)
    if node_kind_arr.size != n_nodes:
        raise AssertionError("node bookkeeping is inconsistent")
    in_links = np.argsort(arrays["head"], kind="stable").astype(np.int64)
    in_indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(arrays["head"], minlength=n_nodes), out=in_indptr[1:])
    info = {
        "source": supply.info.get("source"),
        "period": period,
        "n_zones": int(zone_ids.size),
        "walk": "network" if walk_network is not None else "straight line x walk_detour_factor",
        "hail_and_ride_points": len(point_line),
        "repairs": {k: v for k, v in repairs.items() if v},
        "link_counts": {
            LINK_KINDS[k]: int(c)
            for k, c in zip(*np.unique(arrays["kind"], return_counts=True), strict=True)
        },
    }
    return TransitGraph(
        tail=arrays["tail"].astype(np.int64),
        head=arrays["head"].astype(np.int64),
        cost_s=arrays["cost"],
        freq_hz=arrays["freq"],
        kind=arrays["kind"].astype(np.int8),
        line=arrays["line"].astype(np.int32),
        stop=arrays["stop"].astype(np.int32),
        in_vehicle_s=arrays["ivt"],
        walk_s=arrays["walk"],
        node_kind=node_kind_arr,
        zone_ids=np.asarray(zone_ids),
        origin_node=np.asarray(origin_node, dtype=np.int64),
        destination_node=np.asarray(destination_node, dtype=np.int64),
        stop_ids=stop_ids,
        stop_departure_node=stop_dep.astype(np.int64),
        stop_arrival_node=stop_arr.astype(np.int64),
        line_ids=tuple(line.id for line in supply.lines),
        line_headway_s=headways,
        line_capacity=np.array([line.vehicle_capacity for line in supply.lines], dtype=np.float64),
        in_indptr=in_indptr,
        in_links=in_links,
        params=params,
        info=info,
        line_seats=np.array([line.vehicle_seats for line in supply.lines], dtype=np.float64),
        hail_points=_hail_points_table(stops, stop_ids, point_line, supply),
    )


# ---------------------------------------------------------------------- hail and ride
def _with_hail_and_ride_points(
    supply: TransitSupply,
    drive_network: Network | None,
    params: GraphParameters,
    repairs: dict[str, int],
    polylines: Mapping[str, Sequence[np.ndarray | None]],
) -> tuple[TransitSupply, dict[str, int]]:
    """The supply with boarding points along its hail-and-ride lines, at most
    ``params.hail_and_ride_spacing_m`` apart (:mod:`transitopt.transit.hail_and_ride`),
    along ``polylines[line id]`` where given, and the line index of each point added.
    Running times: :func:`_running_times`."""
    hail = [li for li, line in enumerate(supply.lines) if line.hail_and_ride]
    if not hail:
        return supply, {}
    from .hail_and_ride import boarding_points

    stops = supply.stops
    stop_index = {sid: k for k, sid in enumerate(stops.index.astype(str))}
    lonlat = stops[["lon", "lat"]].to_numpy(np.float64)
    hail_lines = TransitSupply(stops=stops, lines=tuple(supply.lines[li] for li in hail))
    running = _running_times(
        hail_lines, stop_index, lonlat[:, 0], lonlat[:, 1], drive_network, params, repairs
    )
    lines = list(supply.lines)
    tables = [stops]
    point_line: dict[str, int] = {}
    for li, times in zip(hail, running, strict=True):
        s = [stop_index[sid] for sid in lines[li].stop_ids]
        lines[li], points = boarding_points(
            lines[li],
            lonlat[s],
            times,
            spacing_m=params.hail_and_ride_spacing_m,
            polylines=polylines.get(lines[li].id),
        )
        tables.append(points)
        point_line.update(dict.fromkeys(points.index, li))
    return TransitSupply(stops=pd.concat(tables), lines=tuple(lines), info=supply.info), point_line


def _hail_points_table(
    stops: pd.DataFrame, stop_ids: np.ndarray, point_line: dict[str, int], supply: TransitSupply
) -> pd.DataFrame | None:
    """``TransitGraph.hail_points``: the points of ``point_line`` with their line id."""
    if not point_line:
        return None
    at = [k for k, sid in enumerate(stop_ids.tolist()) if sid in point_line]
    table = stops.iloc[at][["name", "lon", "lat"]].copy()
    table.index = pd.Index(stop_ids[at], name="stop_id")
    table["line"] = [supply.lines[point_line[sid]].id for sid in table.index]
    return table


def _thin_hail_transfers(
    i: np.ndarray, j: np.ndarray, d: np.ndarray, stop_ids: np.ndarray, point_line: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk transfers ``i -> j`` (stop indices, distance m) without the needless ones that
    hail-and-ride points would add: none between two points of one line (alighting to
    board the same vehicle route again), and from each stop to one point of each
    hail-and-ride line only, its nearest (boarding at another point of that line nearby
    changes the walk by at most the transfer walk)."""
    if not point_line or i.size == 0:
        return i, j, d
    line_of = np.array([point_line.get(str(sid), -1) for sid in stop_ids], dtype=np.int64)
    li, lj = line_of[i], line_of[j]
    keep = ~((li >= 0) & (li == lj))
    i, j, d, lj = i[keep], j[keep], d[keep], lj[keep]
    order = np.lexsort((d, lj, i))  # by stop i, then target line, nearest first
    i, j, d, lj = i[order], j[order], d[order], lj[order]
    first = np.r_[True, (i[1:] != i[:-1]) | (lj[1:] != lj[:-1])]
    keep = first | (lj < 0)  # every plain stop, the nearest point of each hail line
    return i[keep], j[keep], d[keep]


# ---------------------------------------------------------------------- zones
def _check_zones_near_stops(zone_ids, zone_lon, zone_lat, stop_lon, stop_lat) -> None:
    """Refuse zones of which none lies within :data:`~transitopt.paths.MAX_SNAP_M` of a
    stop: zones of another city, or longitude and latitude swapped (named as such)."""
    from scipy.spatial import cKDTree

    from ..paths import MAX_SNAP_M

    if zone_ids.size == 0 or len(stop_lon) == 0:
        return
    lat0 = float(np.mean(stop_lat))
    tree = cKDTree(np.column_stack(local_xy(stop_lon, stop_lat, lat0)))
    near, _ = tree.query(np.column_stack(local_xy(zone_lon, zone_lat, lat0)))
    if np.min(near) <= MAX_SNAP_M:
        return  # zones beyond walking distance of every stop are a plausibility matter
    k = int(np.argmin(near))
    nearest = float(haversine_m(zone_lon[k], zone_lat[k], stop_lon, stop_lat).min())
    swapped, _ = tree.query(np.column_stack(local_xy(zone_lat, zone_lon, lat0)))
    hint = (
        "the zone coordinates look swapped: give longitude first, latitude second"
        if np.mean(swapped <= MAX_SNAP_M) > 0.5
        else "are the zones and the transit lines of the same city?"
    )
    raise SnappingError(
        f"none of the {zone_ids.size} zones lies within {MAX_SNAP_M:,.0f} m of a stop; the "
        f"nearest is zone {_plain(zone_ids[k])} at ({zone_lon[k]:.6g}, {zone_lat[k]:.6g}), "
        f"{nearest:,.0f} m from a stop: {hint}"
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _zone_points(zones: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    columns = {c.lower(): c for c in zones.columns}

    def pick(*names: str) -> str:
        for name in names:
            if name in columns:
                return columns[name]
        raise ValueError(f"zones need a column named one of {names}; found {list(zones.columns)}")

    ids = zones[pick("zone", "id")].to_numpy()
    lon = pd.to_numeric(zones[pick("lon", "x")], errors="coerce").to_numpy(np.float64)
    lat = pd.to_numeric(zones[pick("lat", "y")], errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        raise SnappingError(
            f"zone {ids[bad][0]!r} has no coordinates ({int(bad.sum())} such zones)"
        )
    if pd.Series(ids).duplicated().any():
        raise ValueError(
            f"zone id {pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]!r} appears twice"
        )
    return ids, lon, lat


# ---------------------------------------------------------------------- walking
class _Walker:
    """Walking distances between two point sets, on a walk network (two-way, see
    :func:`transitopt.paths.walk_distances`) or as the crow flies."""

    def __init__(self, network: Network | None, params: GraphParameters) -> None:
        self.network = network
        self.params = params
        if network is not None and not np.isfinite(network.length_m).all():
            raise NetworkError("the walk network needs a finite length_m on every edge")

    def pairs(
        self, lon1, lat1, lon2, lat2, max_m: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index pairs ``(i, j)`` of points with walking distance ``d <= max_m`` (m)."""
        if len(lon1) == 0 or len(lon2) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        if self.network is None:
            return self._crow_pairs(lon1, lat1, lon2, lat2, max_m)
        return self._network_pairs(lon1, lat1, lon2, lat2, max_m)

    def _crow_pairs(self, lon1, lat1, lon2, lat2, max_m):
        from scipy.spatial import cKDTree

        lat0 = float(np.mean(np.r_[lat1, lat2]))
        radius = max_m / self.params.walk_detour_factor
        tree = cKDTree(np.column_stack(local_xy(lon2, lat2, lat0)))
        hits = tree.query_ball_point(np.column_stack(local_xy(lon1, lat1, lat0)), r=radius * 1.01)
        i = np.repeat(np.arange(len(lon1)), [len(h) for h in hits]).astype(np.int64)
        j = np.fromiter((x for h in hits for x in h), dtype=np.int64, count=i.size)
        d = haversine_m(lon1[i], lat1[i], lon2[j], lat2[j]) * self.params.walk_detour_factor
        keep = d <= max_m
        return i[keep], j[keep], d[keep]

    def _network_pairs(self, lon1, lat1, lon2, lat2, max_m):
        node1, snap1 = snap_points(self.network, lon1, lat1)
        node2, snap2 = snap_points(self.network, lon2, lat2)
        sources = np.unique(node1[snap1 <= max_m])
        targets_of_node: dict[int, list[int]] = {}
        for j, v in enumerate(node2):
            if snap2[j] <= max_m:
                targets_of_node.setdefault(int(v), []).append(j)
        target_nodes = np.fromiter(targets_of_node, dtype=np.int64)
        dist = walk_distances(self.network, sources, target_nodes, max_distance_m=max_m)
        dist_to_target = {int(v): dist[r] for r, v in enumerate(sources)}
        out_i, out_j, out_d = [], [], []
        for i, v in enumerate(node1):
            if snap1[i] > max_m:
                continue
            d_nodes = dist_to_target[int(v)] + snap1[i]
            reach = np.flatnonzero(d_nodes <= max_m)
            for r in reach:
                for j in targets_of_node[int(target_nodes[r])]:
                    d = d_nodes[r] + snap2[j]
                    if d <= max_m:
                        out_i.append(i)
                        out_j.append(j)
                        out_d.append(d)
        return (
            np.asarray(out_i, np.int64),
            np.asarray(out_j, np.int64),
            np.asarray(out_d, np.float64),
        )


# ---------------------------------------------------------------------- running times
def _running_times(
    supply: TransitSupply,
    stop_index: dict[str, int],
    stop_lon: np.ndarray,
    stop_lat: np.ndarray,
    drive_network: Network | None,
    params: GraphParameters,
    repairs: dict[str, int],
) -> list[np.ndarray]:
    """Seconds between consecutive stops of every line (see the module docstring)."""
    out: list[np.ndarray | None] = []
    pending: list[tuple[int, np.ndarray]] = []  # bus lines to route on the drive network
    for li, line in enumerate(supply.lines):
        if line.running_times_s is not None:
            out.append(np.asarray(line.running_times_s, dtype=np.float64))
            continue
        s = np.array([stop_index[sid] for sid in line.stop_ids])
        if line.mode in BUS_MODES and drive_network is not None:
            out.append(None)
            pending.append((li, s))
            continue
        straight = haversine_m(stop_lon[s[:-1]], stop_lat[s[:-1]], stop_lon[s[1:]], stop_lat[s[1:]])
        out.append(straight * params.detour_factor / (line.speed / 3.6))
        repairs["line segments timed on the straight line x detour_factor"] = (
            repairs.get("line segments timed on the straight line x detour_factor", 0) + s.size - 1
        )
    if pending and drive_network is not None:
        lengths = _drive_lengths(drive_network, stop_lon, stop_lat, pending)
        for (li, s), length in zip(pending, lengths, strict=True):
            line = supply.lines[li]
            straight = haversine_m(
                stop_lon[s[:-1]], stop_lat[s[:-1]], stop_lon[s[1:]], stop_lat[s[1:]]
            )
            missing = ~np.isfinite(length)
            if missing.any():
                key = "bus segments not connected in the drive network (straight line x detour_factor used)"
                repairs[key] = repairs.get(key, 0) + int(missing.sum())
            length = np.where(missing, straight * params.detour_factor, length)
            out[li] = length / (line.speed / 3.6)
    return [np.asarray(t, dtype=np.float64) for t in out]


def _drive_lengths(
    network: Network, stop_lon, stop_lat, pending: list[tuple[int, Any]]
) -> list[np.ndarray]:
    """Shortest drive path length (m) between consecutive stops of each pending line
    (``inf`` where not connected)."""
    used = np.unique(np.concatenate([s for _, s in pending]))
    node_of = np.full(stop_lon.size, -1, dtype=np.int64)
    snap = np.zeros(stop_lon.size)
    node_of[used], snap[used] = snap_points(network, stop_lon[used], stop_lat[used])
    weight = np.where(np.isfinite(network.length_m), network.length_m, np.inf)
    a_nodes = np.concatenate([node_of[s[:-1]] for _, s in pending])
    b_nodes = np.concatenate([node_of[s[1:]] for _, s in pending])
    edges = shortest_paths(network, a_nodes, b_nodes, weight=weight)
    # summed in path order, as the search does
    length = np.array(
        [
            np.cumsum(weight[e])[-1] if e.size else (0.0 if a == b else np.inf)
            for a, b, e in zip(a_nodes, b_nodes, edges, strict=True)
        ]
    )
    out = []
    start = 0
    for _, s in pending:
        stop = start + s.size - 1
        out.append(length[start:stop] + snap[s[:-1]] + snap[s[1:]])
        start = stop
    return out
