"""Route design on a city: from a scenario baseline to a designed bus network.

>>> design = design_city("scenarios/helsinki_base.toml", n_routes=6, fleet=40)  # doctest: +SKIP
>>> write_design(design, "helsinki_designed.toml")  # doctest: +SKIP

The steps, each a function here:

1. :func:`city_network` builds the candidate network of a baseline scenario:

   * **stops**: drive-network nodes on main roads (``road_classes``, default trunk,
     primary, secondary, tertiary and their links), thinned greedily to at least
     ``spacing_m`` metres apart (straight line; intersections of several main-road links
     first); then every zone with residents or jobs farther than ``max_walk_m`` from a
     stop gets the street node nearest its centre as a stop (the must-serve areas);
   * **links**: stop ``a`` and stop ``b`` are joined when the fastest bus path from one to
     the other (over bus-permitted links at the model's free-flow bus running times:
     ``max(free-flow car time, length / bus_max_speed_kph)``, as in
     :mod:`transitopt.transit.street_routes`) passes no other stop; the link time is the
     mean of the two directions, in minutes; a link is dropped when going through a third
     stop takes at most ``DETOUR_PRUNE`` (1.15) times as long (the stop lies on the way);
     only the largest connected set of stops is kept;
   * **demand**: the baseline's zone OD matrix (all modes, trips per hour; or the
     baseline result's final transit trips with ``demand="transit"``), each zone at its
     nearest stop, trips within one stop dropped (they walk), symmetrised
     (``(D + Dᵀ) / 2``, since the literature's route-set evaluator is undirected).

2. :func:`design_routes` (simulated annealing, the numba evaluator of
   :mod:`transitopt.kernels.tndp`) designs ``n_routes`` routes on it. The fast objective
   is the literature's ATT: demand-weighted mean in-vehicle minutes plus
   ``transfer_penalty_min`` per transfer, with every stop covered by one connected route
   network. Routes are simple paths of ``min_nodes..max_nodes`` stops (no stop twice, so
   no U-turns at stops); ``max_route_min`` caps ``max_nodes`` at ``1 + max_route_min /
   (median link time)`` and the design reports each route's minutes. With
   ``objective="pareto"`` the search traces the ATT-TRT front instead and, after step 3
   for each of its route sets, keeps the one with the least :func:`model_cost_min` (the
   fast estimate closest to the scenario model's transit cost; plus the operating cost
   when priced).

3. :func:`set_headways` sets one clock-face headway per route under the fleet budget by
   greedy marginal analysis: every route starts at ``headway_bounds_min[1]``; the route
   whose next shorter headway saves the most waiting (``riders × Δheadway / 2``, riders
   = the demand at the route's stops, shared equally between the routes serving a stop)
   per extra vehicle gets it while the fleet allows. The fleet of a route is
   :func:`transitopt.metrics.operator.route_fleet` of both directions at the one-way
   running time plus the mode's dwell per intermediate stop: the rule of the scenario
   model's ``transit_fleet`` metric at free-flow running times (congestion lengthens
   them, so the evaluated fleet can be larger; compare both).

4. :func:`write_design` writes an alternative scenario: ``remove_line`` for the
   baseline's bus-type routes (``replace="bus"``; ``"none"`` keeps them, ``"all"``
   removes every line), then one ``add_line`` per route, named ``D1``..``Dk`` after its
   end streets, both directions, stops as OSM node ids (so the lines follow the routed
   streets). ``transitopt compare`` evaluates it against the baseline with the full model.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .._errors import TransitoptError
from .._io import write_text
from .._progress import ProgressCallback
from ..geo import haversine_m
from ..metrics.operator import line_operations, route_fleet
from ..network.compiled import MODE_BUS
from ..paths import distances, shortest_paths, snap_points
from ..transit import MODE_DEFAULTS
from .evaluation import RouteSetEvaluation, evaluate_route_set, route_set_travel_times
from .frequencies import CLOCK_FACE_MIN
from .instances import TNDPInstance
from .route_design import FleetWait, RouteDesignResult, RouteRules, design_routes

#: OSM ``highway`` values whose nodes are stop candidates
MAIN_ROADS = (
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
)

#: a link is dropped when a path through a third stop takes at most this times its time
DETOUR_PRUNE = 1.15

#: line modes replaced by ``replace="bus"``
BUS_TYPE_MODES = ("bus", "trolleybus", "minibus", "brt")


class CityDesignError(TransitoptError, ValueError):
    """A scenario or arguments that route design on a city cannot work with."""


@dataclass(frozen=True, eq=False)
class CityNetwork:
    """The candidate network of a baseline scenario (see the module docstring).

    Attributes
    ----------
    instance
        Link times (minutes) and stop-to-stop demand (trips per hour); its ``node_id`` are
        the stops' OSM node ids.
    scenario_path
        The baseline scenario file.
    node
        (n,) compiled drive-network index of each stop.
    lon, lat
        (n,) stop coordinates (degrees).
    street
        Street name at each stop (``""`` where the map has none).
    time_s
        (n, n) bus running time (s) between stops along the streets, directed.
    zone_stop
        Per zone (in the baseline's zone order), the index of its stop.
    settings
        The options it was built with.
    link_km
        (n, n) street length of each link (mean of both directions), km; ``inf`` unlinked.
    arrive_from, leave_to
        (n, n) drive-node index before ``b`` on the street path ``a`` → ``b``, and after
        ``a`` on it (``-1`` unlinked): a route ``a, b, c`` U-turns at ``b`` when
        ``leave_to[b, c] == arrive_from[a, b]``.
    junction
        (n,) bool: the stop's street node joins at least three bus-usable streets.
    baseline_terminal
        (n,) bool: the nearest stop (within ``max_walk_m``) to a first or last stop of a
        baseline line.
    stop_ref
        Without a street network: the baseline stop id of each stop (``node`` is then
        -1, ``instance.node_id`` the stop index, and the candidate network is built from
        the baseline's lines; see :func:`city_network`).
    """

    instance: TNDPInstance
    scenario_path: Path
    node: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    street: list[str]
    time_s: np.ndarray
    zone_stop: np.ndarray
    settings: dict = field(default_factory=dict)
    link_km: np.ndarray | None = None
    arrive_from: np.ndarray | None = None
    leave_to: np.ndarray | None = None
    junction: np.ndarray | None = None
    baseline_terminal: np.ndarray | None = None
    stop_ref: list[str] | None = None

    @property
    def n_stops(self) -> int:
        """Number of candidate stops."""
        return int(self.instance.n_nodes)

    @property
    def mode(self) -> str:
        """Mode of the designed lines (``bus`` on streets; the baseline's without)."""
        return str(self.settings.get("mode", "bus"))

    @property
    def dwell_s(self) -> float:
        """Standing time per intermediate stop, s (the mode's; 0 for lines without streets,
        whose speed includes it)."""
        return float(self.settings.get("dwell_s", MODE_DEFAULTS["bus"].dwell_s))


@dataclass(frozen=True, eq=False)
class CityDesign:
    """A designed network: routes, headways and the design run.

    Attributes
    ----------
    network
        The candidate network it was designed on.
    routes
        Per route, stop indices into ``network`` (one direction; both are run).
    headway_min
        (k,) headway per route, minutes.
    table
        One row per route: ``route`` (``D1``..), ``name`` (end streets), ``stops``,
        ``length_km``, ``one_way_min`` (running + dwell at free flow), ``riders``
        (trips/h at its stops, shared), ``headway_min``, ``fleet``.
    fleet_budget, fleet_used
        Vehicles allowed and used (sum of ``table.fleet``).
    search
        The route-design run (history, evaluations, ``stopped_by``, the front).
    evaluation
        The fast objective of ``routes``: ATT (minutes, transfer penalties included),
        d0..dun, TRT.
    wait_min
        Mean wait per boarding (minutes): half the headway, weighted by route riders.
    fast_cost_min
        ``ATT + wait_min × boardings per trip`` (from d0, d1, d2): the fast objective with
        waiting (the search's ``"frequency"`` objective, at the headways set).
    operator_min_per_veh_h, operator_min_per_veh_km
        The operating cost the design priced, passenger minutes per vehicle-hour and per
        vehicle-km (``operator_weight_per_veh_*`` of :func:`design_city` over the value of
        time per minute; 0: not priced).
    operator_cost_min
        Operating cost per trip of the demand at the headways set, minutes:
        ``(c_h × veh_h + c_km × veh_km) / trips per hour`` at free-flow running times.
    model_cost_min
        :func:`model_cost_min` of ``routes`` at ``headway_min`` on the candidate network's
        demand: the fast estimate closest to the scenario model's transit cost (dwell, the
        model's transfer penalty and wait weight, waits at the combined headway of
        overlapping routes), minutes per trip; (plus ``operator_cost_min``) it picks among
        the ``"pareto"`` front.
    """

    network: CityNetwork
    routes: list[list[int]]
    headway_min: np.ndarray
    table: pd.DataFrame
    fleet_budget: int
    fleet_used: int
    search: RouteDesignResult
    evaluation: RouteSetEvaluation
    wait_min: float
    fast_cost_min: float
    operator_min_per_veh_h: float = 0.0
    operator_min_per_veh_km: float = 0.0
    operator_cost_min: float = 0.0
    model_cost_min: float = math.nan


def city_network(
    scenario: str | os.PathLike,
    *,
    spacing_m: float = 400.0,
    max_walk_m: float = 600.0,
    road_classes: Sequence[str] = MAIN_ROADS,
    demand: Literal["total", "transit"] = "total",
    must_serve: Sequence[object] = (),
) -> CityNetwork:
    """The candidate stops, links and demand of a baseline scenario (module docstring).

    Parameters
    ----------
    scenario
        A scenario file with a street network (``network.source`` not ``"none"``).
    spacing_m
        Least straight-line distance between main-road stops, metres.
    max_walk_m
        Zones with residents or jobs farther than this from every main-road stop get a
        stop of their own, metres.
    road_classes
        OSM ``highway`` values whose nodes are candidates.
    demand
        ``"total"``: the baseline's person trips, all modes; ``"transit"``: the final
        transit trips of the evaluated baseline (runs the full model once, cached).
    must_serve
        Zone ids whose centre's nearest street node becomes a stop even when another stop
        is within ``max_walk_m`` (every stop is on a designed route).

    Raises
    ------
    CityDesignError
        No street network, fewer than three stops connected, an unknown must-serve zone,
        or a must-serve stop the bus cannot reach.
    """
    from ..scenario import load_scenario
    from ..scenario.inputs import load_base

    if spacing_m <= 0 or max_walk_m <= 0:
        raise CityDesignError(
            f"spacing_m and max_walk_m must be > 0, got {spacing_m} and {max_walk_m}"
        )
    if demand not in ("total", "transit"):
        raise CityDesignError(f"demand must be 'total' or 'transit', got {demand!r}")
    path = Path(scenario)
    spec = load_scenario(path)
    base = load_base(spec)
    drive = base.drive
    if drive is None:
        from .city_lines import network_from_lines

        return network_from_lines(path, spec, base, spacing_m, demand)
    params = spec.baseline.model
    v_bus = params.bus_max_speed_kph / 3.6
    open_ = (drive.modes & MODE_BUS) != 0
    fft = drive.free_flow_time_s
    weight = np.where(
        open_ & np.isfinite(fft), np.maximum(fft, drive.length_m / v_bus), np.inf
    ).astype(np.float64)
    zones = base.zones
    zlon, zlat = zones["lon"].to_numpy(float), zones["lat"].to_numpy(float)
    wanted = (zones["population"].to_numpy(float) + zones["jobs"].to_numpy(float)) > 0
    stops = _main_road_stops(drive, weight, road_classes, spacing_m)
    stops = _add_must_serve(drive, stops, zlon[wanted], zlat[wanted], max_walk_m)
    forced = _must_serve_nodes(drive, zones, must_serve, path)
    stops = np.concatenate([stops, forced[~np.isin(forced, stops)]]).astype(np.int64)
    if stops.size < 3:
        raise CityDesignError(
            f"{path}: only {stops.size} stop candidate(s) on {', '.join(road_classes)}; "
            "lower spacing_m or widen road_classes"
        )
    time_s = distances(drive, stops, weight=weight, by_index=True)[:, stops]
    linked, km, before, after = _direct_links(drive, stops, time_s, weight)
    keep = _largest_component(linked)
    lost = np.setdiff1d(forced, stops[keep])
    if lost.size:
        raise CityDesignError(
            f"{path}: must-serve stop(s) at OSM node(s) "
            f"{[int(drive.node_id[v]) for v in lost]} are not joined to the bus network"
        )
    grid = np.ix_(keep, keep)
    stops, time_s, linked = stops[keep], time_s[grid], linked[grid]
    km, before, after = km[grid], before[grid], after[grid]
    if stops.size < 3:
        raise CityDesignError(f"{path}: fewer than three stops are joined by bus-permitted streets")
    lon, lat = drive.node_x[stops].astype(float), drive.node_y[stops].astype(float)
    zone_stop = np.array(
        [int(np.argmin(haversine_m(x, y, lon, lat))) for x, y in zip(zlon, zlat, strict=True)],
        dtype=np.int64,
    )
    od = _zone_demand(path, base.demand, demand)
    n = stops.size
    trips = np.zeros((n, n))
    np.add.at(trips, (zone_stop[:, None], zone_stop[None, :]), od)
    np.fill_diagonal(trips, 0.0)
    link_min = np.where(linked, (time_s + time_s.T) / 120.0, np.inf)
    instance = TNDPInstance.from_matrices(
        link_min,
        (trips + trips.T) / 2.0,
        name=spec.name or path.stem,
        x=lon,
        y=lat,
        node_id=drive.node_id[stops].astype(np.int64),
    )
    return CityNetwork(
        instance=instance,
        scenario_path=path,
        node=stops,
        lon=lon,
        lat=lat,
        street=[_street_at(drive, int(v)) for v in stops],
        time_s=time_s,
        zone_stop=zone_stop,
        settings={
            "spacing_m": spacing_m,
            "max_walk_m": max_walk_m,
            "road_classes": list(road_classes),
            "demand": demand,
            "must_serve": [str(z) for z in must_serve],
        },
        link_km=np.where(linked, km, np.inf),
        arrive_from=np.where(linked, before, -1),
        leave_to=np.where(linked, after, -1),
        junction=_street_degree(drive, weight)[stops] >= 3,
        baseline_terminal=_baseline_terminals(base.supply, lon, lat, max_walk_m),
    )


def _highway(value: object) -> list[str]:
    """The ``highway`` values of an edge (a chain of ways may hold several)."""
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(value)]


def _main_road_stops(
    drive, weight: np.ndarray, classes: Sequence[str], spacing_m: float
) -> np.ndarray:
    """Drive nodes on main, bus-usable roads, at least ``spacing_m`` apart (greedy, busiest
    junctions first)."""
    wanted = set(classes)
    highway = drive.edges["highway"].to_numpy(object) if "highway" in drive.edges else None
    if highway is None:
        return np.empty(0, dtype=np.int64)
    main = np.array([bool(wanted & set(_highway(v))) for v in highway]) & np.isfinite(weight)
    degree = np.bincount(drive.tail[main], minlength=drive.n_nodes) + np.bincount(
        drive.head[main], minlength=drive.n_nodes
    )
    candidates = np.flatnonzero(degree > 0)
    order = candidates[np.lexsort((candidates, -degree[candidates]))]
    chosen: list[int] = []
    x, y = drive.node_x.astype(float), drive.node_y.astype(float)
    for v in order:
        if chosen and haversine_m(x[v], y[v], x[chosen], y[chosen]).min() < spacing_m:
            continue
        chosen.append(int(v))
    return np.asarray(chosen, dtype=np.int64)


def _add_must_serve(drive, stops: np.ndarray, zlon, zlat, max_walk_m: float) -> np.ndarray:
    """``stops`` plus the street node nearest each zone farther than ``max_walk_m`` from them."""
    out = list(map(int, stops))
    if zlon.size == 0:
        return stops
    nearest, _ = snap_points(drive, zlon, zlat)
    x, y = drive.node_x.astype(float), drive.node_y.astype(float)
    for k in range(zlon.size):
        if out and haversine_m(zlon[k], zlat[k], x[out], y[out]).min() <= max_walk_m:
            continue
        if int(nearest[k]) not in out:
            out.append(int(nearest[k]))
    return np.asarray(out, dtype=np.int64)


def _direct_links(
    drive, stops: np.ndarray, time_s: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n, n) bool: the fastest path between the two stops (either way) passes no other
    stop; with the links' street km (mean of both ways) and the street nodes before the
    head and after the tail of each directed path (see :class:`CityNetwork`)."""
    n = stops.size
    km = np.full((n, n), np.inf)
    before = np.full((n, n), -1, dtype=np.int64)
    after = np.full((n, n), -1, dtype=np.int64)
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b and np.isfinite(time_s[a, b])]
    if not pairs:
        return np.zeros((n, n), dtype=bool), km, before, after
    found = shortest_paths(
        drive, stops[[a for a, _ in pairs]], stops[[b for _, b in pairs]], weight=weight
    )
    is_stop = np.zeros(drive.n_nodes, dtype=bool)
    is_stop[stops] = True
    direct = np.zeros((n, n), dtype=bool)
    length_km = np.asarray(drive.length_m, float) / 1000.0
    for (a, b), edges in zip(pairs, found, strict=True):
        if edges.size:
            km[a, b] = float(length_km[edges].sum())
            before[a, b] = int(drive.tail[edges[-1]])
            after[a, b] = int(drive.head[edges[0]])
        if edges.size and not is_stop[drive.head[edges[:-1]]].any():
            direct[a, b] = True
    both_ways = np.isfinite(time_s) & np.isfinite(time_s.T)
    linked = (direct | direct.T) & both_ways
    mean = np.where(both_ways, (time_s + time_s.T) / 2.0, np.inf)
    legs = mean.copy()
    np.fill_diagonal(legs, np.inf)  # the third stop is neither end
    via = np.min(legs[:, :, None] + legs[None, :, :], axis=1)  # best two-leg time via a stop
    linked = linked & ~(via <= DETOUR_PRUNE * mean)
    return linked, (km + km.T) / 2.0, before, after


def _street_degree(drive, weight: np.ndarray) -> np.ndarray:
    """(n_nodes,) distinct neighbours of each drive node over bus-usable links."""
    ok = np.isfinite(weight)
    a = np.concatenate([drive.tail[ok], drive.head[ok]])
    b = np.concatenate([drive.head[ok], drive.tail[ok]])
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=drive.n_nodes)


def _baseline_terminals(supply, lon: np.ndarray, lat: np.ndarray, within_m: float) -> np.ndarray:
    """(n,) bool: the stop nearest a first or last stop of a baseline line, within ``within_m``."""
    out = np.zeros(lon.size, dtype=bool)
    if supply is None or not len(supply.lines):
        return out
    ends = {sid for line in supply.lines for sid in (line.stop_ids[0], line.stop_ids[-1])}
    table = supply.stops.loc[sorted(ends)]
    for x, y in zip(table["lon"].to_numpy(float), table["lat"].to_numpy(float), strict=True):
        d = haversine_m(x, y, lon, lat)
        k = int(np.argmin(d))
        if d[k] <= within_m:
            out[k] = True
    return out


def _must_serve_nodes(drive, zones: pd.DataFrame, zone_ids: Sequence[object], path: Path):
    """Street nodes nearest the centres of the must-serve zones."""
    if not len(zone_ids):
        return np.empty(0, dtype=np.int64)
    ids = zones["zone"] if "zone" in zones.columns else zones.index
    known = {str(z): k for k, z in enumerate(ids)}
    missing = [str(z) for z in zone_ids if str(z) not in known]
    if missing:
        raise CityDesignError(
            f"{path}: must-serve zone(s) {missing} are not zones of the scenario "
            f"(zone ids such as {list(known)[:3]})"
        )
    rows = [known[str(z)] for z in zone_ids]
    nearest, _ = snap_points(
        drive,
        zones["lon"].to_numpy(float)[rows],
        zones["lat"].to_numpy(float)[rows],
    )
    return np.asarray(nearest, dtype=np.int64)


def _largest_component(linked: np.ndarray) -> np.ndarray:
    """Indices of the largest connected set of stops."""
    _, label = connected_components(csr_matrix(linked), directed=False)
    return np.flatnonzero(label == np.bincount(label).argmax())


def _zone_demand(path: Path, total: np.ndarray, which: str) -> np.ndarray:
    """The zone OD matrix the design serves (trips/h): all modes or the baseline's transit."""
    if which == "total":
        return np.asarray(total, dtype=float)
    from ..scenario import evaluate_file

    result = evaluate_file(path)
    z = total.shape[0]
    transit = result.tables["od"]["transit"].to_numpy(float).reshape(z, z)
    return np.where(np.isfinite(transit), transit, 0.0)


def _street_at(drive, node: int) -> str:
    """The most common street name among the links at ``node`` (``""``: none)."""
    names: Counter[str] = Counter()
    at = np.flatnonzero((drive.tail == node) | (drive.head == node))
    column = drive.edges["name"].to_numpy(object) if "name" in drive.edges else []
    for e in at:
        value = column[e] if len(column) else None
        for name in _highway(value):
            if name and name != "nan":
                names[name] += 1
    return names.most_common(1)[0][0] if names else ""


def design_city(
    scenario: str | os.PathLike | CityNetwork,
    *,
    n_routes: int,
    fleet: int,
    min_nodes: int = 3,
    max_nodes: int = 15,
    max_route_min: float | None = None,
    max_route_km: float | None = None,
    terminals: Literal["any", "junctions"] | Sequence[int] = "any",
    u_turns: bool = True,
    max_evaluations: int | None = 20_000,
    budget_s: float | None = None,
    seed: int = 0,
    headway_bounds_min: tuple[float, float] = (3.0, 30.0),
    transfer_penalty_min: float = 5.0,
    objective: Literal["passenger", "frequency", "pareto"] = "passenger",
    operator_weight_per_veh_h: float = 0.0,
    operator_weight_per_veh_km: float = 0.0,
    progress: ProgressCallback | None = None,
    **network_options,
) -> CityDesign:
    """Design ``n_routes`` bus routes and their headways for a baseline scenario.

    Parameters
    ----------
    scenario
        Baseline scenario file, or a :class:`CityNetwork` built before.
    n_routes
        Number of routes.
    fleet
        Vehicles available for the designed routes.
    min_nodes, max_nodes
        Stops per route (inclusive).
    max_route_min
        Longest route one way, minutes at free-flow bus running times along the routed
        streets plus the bus's dwell per intermediate stop (as :func:`route_time_s`).
    max_route_km
        Longest route, km along the routed streets.
    terminals
        Where routes may end: ``"any"`` stop, ``"junctions"`` (stops whose street node
        joins three or more bus-usable streets, room to turn, plus the stops nearest the
        baseline lines' terminals), or a list of OSM node ids of stops.
    u_turns
        Allow a route to leave a stop along the street it came by (``False``: no U-turns;
        a stop that every route through it would leave the way it came can then only be
        a route end).
    max_evaluations, budget_s
        Route-set evaluations and/or CPU seconds of the search (an evaluation budget gives
        the same result for the same seed).
    seed
        Random seed.
    headway_bounds_min
        Shortest and longest headway, minutes (clock-face values in between).
    transfer_penalty_min
        Minutes per transfer in the fast objective.
    objective
        ``"passenger"``: the least ATT; ``"frequency"``: the least ``ATT + wait ×
        boardings`` with the wait of the fleet spread over the routes at one common
        headway (:class:`~transitopt.optimise.route_design.FleetWait`): long routes cost
        frequency inside the search; ``"pareto"``: the ATT-TRT front of
        :func:`design_routes` (the budget split over its weights), then, with headways set
        under the fleet for each of its route sets, the one with the least
        ``model_cost_min`` (shorter routes run more often; :func:`model_cost_min`).
    operator_weight_per_veh_h, operator_weight_per_veh_km
        Operating cost of a vehicle-hour (in service, layover included) and of a
        vehicle-km, in the baseline's currency (``[model] currency``); divided by its
        ``value_of_time_per_h / 60`` they become passenger minutes, spread over the
        candidate network's trips per hour. Then the headways (:func:`set_headways`)
        shorten only while the waiting saved outweighs the cost, and with
        ``"frequency"`` the search itself picks the common headway that minimises wait
        plus operating cost (:class:`~transitopt.optimise.route_design.FleetWait`), so the
        design may leave vehicles of the fleet unused. With ``demand="total"`` every trip
        counts as a rider of the design (as in the ATT), so the cost is shared by all
        trips; ``demand="transit"`` shares it among the baseline's transit riders.
    progress
        As for :func:`~transitopt.optimise.design_routes` (returning ``False`` stops the
        search and keeps the best so far; so does Ctrl-C).
    **network_options
        Passed to :func:`city_network` when ``scenario`` is a file.

    Raises
    ------
    CityDesignError, RouteDesignError, ScenarioError
        Bad scenario, impossible constraints, or a fleet too small for every route at the
        longest headway.
    """
    net = (
        scenario if isinstance(scenario, CityNetwork) else city_network(scenario, **network_options)
    )
    inst = net.instance
    if objective not in ("passenger", "frequency", "pareto"):
        raise CityDesignError(
            f"objective must be 'passenger', 'frequency' or 'pareto', got {objective!r}"
        )
    from ..scenario import load_scenario

    model = load_scenario(net.scenario_path).baseline.model
    layover = model.layover_share
    for label, value in (
        ("operator_weight_per_veh_h", operator_weight_per_veh_h),
        ("operator_weight_per_veh_km", operator_weight_per_veh_km),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise CityDesignError(f"{label} must be a number >= 0, got {value}")
    per_min = model.value_of_time_per_h / 60.0
    operator_min = (operator_weight_per_veh_h / per_min, operator_weight_per_veh_km / per_min)
    rules = route_rules(
        net,
        max_route_min=max_route_min,
        max_route_km=max_route_km,
        terminals=terminals,
        u_turns=u_turns,
    )
    _check_route_ends(net, rules, n_routes)
    fleet_wait = (
        FleetWait(
            fleet,
            layover_share=layover,
            stop_time_min=net.dwell_s / 60.0,
            min_headway_min=headway_bounds_min[0],
            max_headway_min=headway_bounds_min[1],
            operator_min_per_veh_h=operator_min[0],
            operator_min_per_veh_km=operator_min[1],
            trips_per_h=float(inst.demand.sum()),
            link_km=_link_km(net),
        )
        if objective == "frequency"
        else None
    )
    search = design_routes(
        inst,
        n_routes=n_routes,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        objective="pareto" if objective == "pareto" else "passenger",
        rules=rules,
        fleet_wait=fleet_wait,
        budget_s=budget_s,
        max_evaluations=max_evaluations,
        seed=seed,
        progress=progress,
        transfer_penalty_min=transfer_penalty_min,
        clock="cpu",
    )
    options = [search.routes] if objective != "pareto" else list(search.front["routes"])
    designs = [
        _with_headways(
            net,
            [list(map(int, inst.index_of(r))) for r in routes],
            fleet,
            headway_bounds_min,
            search,
            transfer_penalty_min,
            operator_min,
        )
        for routes in options
    ]
    return min(designs, key=lambda d: d.model_cost_min + d.operator_cost_min)


def _link_km(net: CityNetwork) -> np.ndarray:
    """(n, n) km of each link: along the streets, or straight lines without street paths."""
    if net.link_km is not None:
        return net.link_km
    km = haversine_m(net.lon[:, None], net.lat[:, None], net.lon[None, :], net.lat[None, :])
    return np.where(np.isfinite(net.instance.travel_time), km / 1000.0, np.inf)


def route_rules(
    net: CityNetwork,
    *,
    max_route_min: float | None = None,
    max_route_km: float | None = None,
    terminals: Literal["any", "junctions"] | Sequence[int] = "any",
    u_turns: bool = True,
) -> RouteRules:
    """The route rules of :func:`design_city` on a candidate network (its docstring).

    Raises
    ------
    CityDesignError
        A limit that is not positive, an unknown ``terminals`` value or stop, fewer than
        two terminals, or a network built without street paths.
    """
    for name, value in (("max_route_min", max_route_min), ("max_route_km", max_route_km)):
        if value is not None and not value > 0:
            raise CityDesignError(f"{name} must be > 0, got {value}")
    needs_paths = max_route_km is not None or not u_turns or terminals == "junctions"
    if needs_paths and (net.link_km is None or net.junction is None):
        raise CityDesignError("this candidate network has no street paths; rebuild it")
    ok: np.ndarray | None = None
    if isinstance(terminals, str):
        if terminals == "junctions":
            ok = np.asarray(net.junction, bool) | np.asarray(net.baseline_terminal, bool)
        elif terminals != "any":
            raise CityDesignError(
                f"terminals must be 'any', 'junctions' or a list of stop node ids, got {terminals!r}"
            )
    else:
        index = {int(v): k for k, v in enumerate(net.instance.node_id)}
        unknown = [int(v) for v in terminals if int(v) not in index]
        if unknown:
            raise CityDesignError(
                f"terminals {unknown} are not candidate stops (OSM node ids of the network)"
            )
        ok = np.zeros(net.n_stops, dtype=bool)
        ok[[index[int(v)] for v in terminals]] = True
    if ok is not None and ok.sum() < 2:
        raise CityDesignError(f"only {int(ok.sum())} terminal stop(s); routes need two ends")
    return RouteRules(
        max_time_min=max_route_min,
        stop_time_min=net.dwell_s / 60.0,
        link_km=net.link_km,
        max_km=max_route_km,
        terminals=ok,
        arrive_from=None if u_turns else net.arrive_from,
        leave_to=None if u_turns else net.leave_to,
    )


def end_only_stops(net: CityNetwork, rules: RouteRules) -> np.ndarray:
    """(n,) bool: stops that only a route end can serve: one link, or (without U-turns)
    every way through the stop leaves along the street it came by."""
    tt = net.instance.travel_time
    out = np.zeros(net.n_stops, dtype=bool)
    for b in range(net.n_stops):
        nb = [int(a) for a in np.flatnonzero(np.isfinite(tt[:, b])) if a != b]
        out[b] = len(nb) < 2 or (
            rules.arrive_from is not None
            and all(rules.u_turns([a, b, c]) > 0 for a in nb for c in nb if a != c)
        )
    return out


def _check_route_ends(net: CityNetwork, rules: RouteRules, n_routes: int) -> None:
    """Raise when more stops can only be route ends than ``n_routes`` routes have ends."""
    ends = end_only_stops(net, rules)
    if rules.terminals is not None:
        bad = np.flatnonzero(ends & ~rules.terminals)
        if bad.size:
            raise CityDesignError(
                f"{bad.size} stop(s) can only be served as a route end but are no terminals "
                f"(OSM nodes {[int(net.instance.node_id[v]) for v in bad[:5]]}...); "
                "allow U-turns or more terminals"
            )
    if ends.sum() > 2 * n_routes:
        why = "dead ends" if rules.arrive_from is None else "dead ends or U-turn-only stops"
        raise CityDesignError(
            f"{int(ends.sum())} stops ({why}) can only be served as route ends, more than "
            f"the {2 * n_routes} ends of {n_routes} routes; give more routes"
            + ("" if rules.arrive_from is None else " or allow U-turns")
        )


def _with_headways(
    net: CityNetwork,
    routes: list[list[int]],
    fleet: int,
    bounds: tuple[float, float],
    search: RouteDesignResult,
    penalty_min: float,
    operator_min: tuple[float, float] = (0.0, 0.0),
) -> CityDesign:
    """Headways under the fleet for designed routes, the route table and the fast cost."""
    from ..scenario import load_scenario

    model = load_scenario(net.scenario_path).baseline.model
    layover = model.layover_share
    one_way = np.array([route_time_s(net, r) for r in routes])
    riders = route_riders(net.instance.demand, routes)
    length_km = [_route_length_km(net, r) for r in routes]
    headway = set_headways(
        one_way,
        riders,
        fleet,
        bounds_min=bounds,
        layover_share=layover,
        length_km=np.asarray(length_km),
        operator_min_per_veh_h=operator_min[0],
        operator_min_per_veh_km=operator_min[1],
    )
    fleets = route_fleets(one_way, headway, layover_share=layover)
    names = [f"{_stop_name(net, r[0])} - {_stop_name(net, r[-1])}" for r in routes]
    table = pd.DataFrame(
        {
            "route": [f"D{k + 1}" for k in range(len(routes))],
            "name": names,
            "stops": [len(r) for r in routes],
            "length_km": length_km,
            "one_way_min": one_way / 60.0,
            "riders": riders,
            "headway_min": headway,
            "fleet": fleets,
        }
    )
    ev = evaluate_route_set(net.instance, routes, ids=False, transfer_penalty_min=penalty_min)
    wait = float((riders * headway / 2.0).sum() / max(riders.sum(), 1e-12))
    boardings = (ev.d0 + 2.0 * ev.d1 + 3.0 * ev.d2) / max(ev.d0 + ev.d1 + ev.d2, 1e-12)
    return CityDesign(
        network=net,
        routes=routes,
        headway_min=headway,
        table=table,
        fleet_budget=int(fleet),
        fleet_used=int(fleets.sum()),
        search=search,
        evaluation=ev,
        wait_min=wait,
        fast_cost_min=ev.att + wait * boardings,
        operator_min_per_veh_h=operator_min[0],
        operator_min_per_veh_km=operator_min[1],
        operator_cost_min=_operator_cost_min(
            one_way, np.asarray(length_km), headway, layover, operator_min, net.instance.demand
        ),
        model_cost_min=model_cost_min(
            net,
            routes,
            headway,
            wait_weight=model.wait_weight,
            transfer_penalty_min=model.transfer_penalty_min,
        ),
    )


def _operator_cost_min(
    one_way_s: np.ndarray,
    length_km: np.ndarray,
    headway_min: np.ndarray,
    layover_share: float,
    operator_min: tuple[float, float],
    demand: np.ndarray,
) -> float:
    """Operating cost per trip (minutes): priced vehicle-hours and vehicle-km per hour of
    routes run both ways, over the trips per hour."""
    veh_h = (2.0 * one_way_s / 60.0 * (1.0 + layover_share) / headway_min).sum()
    veh_km = (2.0 * length_km * 60.0 / headway_min).sum()
    cost = operator_min[0] * veh_h + operator_min[1] * veh_km
    return float(cost / max(float(demand.sum()), 1e-12))


def _stop_name(net: CityNetwork, stop: int) -> str:
    """A stop's street, or its OSM node where the map names no street."""
    if net.stop_ref is not None:
        return net.street[stop] or f"stop {net.stop_ref[stop]}"
    return net.street[stop] or f"node {int(net.instance.node_id[stop])}"


def route_time_s(net: CityNetwork, route: Sequence[int]) -> float:
    """One-way running time (s) of a route, mean of both directions, plus the bus's dwell
    per intermediate stop."""
    there = sum(net.time_s[a, b] for a, b in zip(route[:-1], route[1:], strict=True))
    back = sum(net.time_s[b, a] for a, b in zip(route[:-1], route[1:], strict=True))
    return float((there + back) / 2.0 + net.dwell_s * max(0, len(route) - 2))


def _route_length_km(net: CityNetwork, route: Sequence[int]) -> float:
    """Length along the routed streets, km (straight lines between the stops for a network
    built without street paths)."""
    r = list(route)
    if net.link_km is not None:
        return float(sum(net.link_km[a, b] for a, b in zip(r[:-1], r[1:], strict=True)))
    return float(
        sum(
            haversine_m(net.lon[a], net.lat[a], net.lon[b], net.lat[b])
            for a, b in zip(r[:-1], r[1:], strict=True)
        )
        / 1000.0
    )


def model_cost_min(
    net: CityNetwork,
    routes: Sequence[Sequence[int]],
    headway_min: Sequence[float] | np.ndarray,
    *,
    demand: np.ndarray | None = None,
    wait_weight: float | None = None,
    transfer_penalty_min: float | None = None,
) -> float:
    """The fast objective closest to the scenario model's transit cost, minutes per trip.

    Per stop pair: in-vehicle minutes along the least-cost path of the route set (link
    times plus the mode's dwell per intermediate stop of each ride) + the model's ``transfer_penalty_min``
    per transfer + ``wait_weight`` × the expected wait, as the model's frequency-based
    assignment waits (half the combined headway of the lines a rider would board): a
    direct trip waits ``30 / F_od`` with ``F_od`` the vehicles per hour of all routes
    serving both stops (overlapping routes share the wait), a trip with transfers waits
    ``30 / F`` at its origin and destination stops (``F``: all routes at the stop) and the
    median stop's wait per further boarding. Pairs without a path cost the dearest served
    pair. Weighted by ``demand`` (default: the candidate network's; the baseline's transit
    trips, ``city_network(..., demand="transit")``, weight the pairs as the model's
    logsum does to first order). ``wait_weight`` and ``transfer_penalty_min`` default to
    the baseline's ``[model]``.
    """
    if wait_weight is None or transfer_penalty_min is None:
        from ..scenario import load_scenario

        model = load_scenario(net.scenario_path).baseline.model
        wait_weight = model.wait_weight if wait_weight is None else wait_weight
        if transfer_penalty_min is None:
            transfer_penalty_min = model.transfer_penalty_min
    ww, penalty = float(wait_weight), float(transfer_penalty_min)
    inst = net.instance
    q = inst.demand if demand is None else np.asarray(demand, float)
    if q.shape != inst.demand.shape:
        raise CityDesignError(f"demand has shape {q.shape}, expected {inst.demand.shape}")
    headway = np.asarray(headway_min, float)
    if headway.shape != (len(routes),) or not np.all(headway > 0):
        raise CityDesignError(f"need one headway > 0 per route ({len(routes)}), got {headway}")
    dwell_min = net.dwell_s / 60.0
    with_dwell = inst.travel_time + dwell_min  # a dwell per link ridden ...
    np.fill_diagonal(with_dwell, 0.0)
    cost, transfers = route_set_travel_times(
        replace(inst, travel_time=with_dwell), routes, ids=False, transfer_penalty_min=penalty
    )
    cost = cost - dwell_min * (transfers + 1)  # ... less one per ride: the stops passed
    serves = np.zeros((len(routes), inst.n_nodes))
    for r, route in enumerate(routes):
        serves[r, list(set(route))] = 1.0
    per_h = 60.0 / headway
    at_stop = serves.T @ per_h
    direct = serves.T @ (serves * per_h[:, None])
    stop_wait = np.where(at_stop > 0, 30.0 / np.maximum(at_stop, 1e-12), np.inf)
    median_wait = float(np.median(stop_wait[np.isfinite(stop_wait)]))
    with np.errstate(divide="ignore"):
        wait = np.where(
            transfers == 0,
            30.0 / direct,
            stop_wait[:, None] + stop_wait[None, :] + np.maximum(transfers - 1, 0) * median_wait,
        )
    total = cost + ww * wait
    served = np.isfinite(total) & (transfers >= 0)
    np.fill_diagonal(served, False)
    if not served.any():
        raise CityDesignError("the route set serves no stop pair")
    total = np.where(served, total, total[served].max())
    np.fill_diagonal(total, 0.0)
    return float((q * total).sum() / max(float(q.sum()), 1e-12))


def route_riders(demand: np.ndarray, routes: Sequence[Sequence[int]]) -> np.ndarray:
    """Trips/h at each route's stops (origins plus destinations, halved), a stop's trips
    shared equally between the routes that serve it."""
    ends = (demand.sum(axis=0) + demand.sum(axis=1)) / 2.0
    serving = np.zeros(demand.shape[0])
    for r in routes:
        serving[list(set(r))] += 1
    share = np.where(serving > 0, ends / np.maximum(serving, 1), 0.0)
    return np.array([float(share[list(set(r))].sum()) for r in routes])


def route_fleets(
    one_way_s: np.ndarray, headway_min: np.ndarray, *, layover_share: float
) -> np.ndarray:
    """Vehicles per route run both ways at ``headway_min``: the scenario model's rule
    (:func:`~transitopt.metrics.operator.route_fleet` of both directions)."""
    k = len(one_way_s)
    lines = pd.DataFrame(
        {
            "line": [f"{r}:{d}" for r in range(k) for d in (0, 1)],
            "route_key": [r for r in range(k) for _ in (0, 1)],
            "one_way_time_s": np.repeat(np.asarray(one_way_s, float), 2),
            "length_km": 0.0,
            "headway_s": np.repeat(60.0 * np.asarray(headway_min, float), 2),
            "loop": False,
        }
    )
    table = route_fleet(line_operations(lines, layover_share=layover_share))
    return table.set_index("route_key").loc[list(range(k)), "fleet"].to_numpy(dtype=np.int64)


def set_headways(
    one_way_s: np.ndarray,
    riders: np.ndarray,
    fleet: int,
    *,
    bounds_min: tuple[float, float] = (3.0, 30.0),
    layover_share: float = 0.10,
    length_km: np.ndarray | None = None,
    operator_min_per_veh_h: float = 0.0,
    operator_min_per_veh_km: float = 0.0,
) -> np.ndarray:
    """Clock-face headways (minutes) per route within ``fleet`` vehicles (module docstring).

    With an operating cost (``operator_min_per_veh_h`` / ``_per_veh_km``: passenger
    minutes per vehicle-hour / vehicle-km, i.e. currency over the value of time per
    minute; ``length_km``: one-way route lengths), a step is taken only while the waiting
    it saves (``riders × Δheadway / 2``, passenger minutes per hour) exceeds the
    vehicle-hours (vehicles in service) and vehicle-km per hour it adds at those prices,
    the best net saving per extra vehicle first; so vehicles of the fleet can stay unused.

    Raises
    ------
    CityDesignError
        The fleet cannot run every route at the longest headway.
    """
    lo, hi = bounds_min
    grid = sorted({h for h in CLOCK_FACE_MIN if lo - 1e-9 <= h <= hi + 1e-9} | {lo, hi})
    step = np.full(len(one_way_s), len(grid) - 1)  # index into grid, longest first
    one_way = np.asarray(one_way_s, float)
    km = np.zeros(len(one_way)) if length_km is None else np.asarray(length_km, float)
    if len(km) != len(one_way):
        raise CityDesignError(f"length_km has {len(km)} values for {len(one_way)} routes")

    def fleet_at(s: np.ndarray) -> np.ndarray:
        return route_fleets(one_way_s, np.array([grid[i] for i in s]), layover_share=layover_share)

    def operating_min(r: int, headway: float) -> float:
        """Operating cost of route ``r`` per hour at ``headway``, passenger minutes."""
        veh_h = 2.0 * one_way[r] / 60.0 * (1.0 + layover_share) / headway
        veh_km = 2.0 * km[r] * 60.0 / headway
        return operator_min_per_veh_h * veh_h + operator_min_per_veh_km * veh_km

    current = fleet_at(step)
    if current.sum() > fleet:
        raise CityDesignError(
            f"a fleet of {fleet} cannot run the {len(one_way_s)} routes even every {hi:g} min "
            f"(that needs {int(current.sum())} vehicles); give a larger fleet or fewer routes"
        )
    while True:
        best, best_gain = -1, 0.0
        for r in range(len(step)):
            if step[r] == 0:
                continue
            trial = step.copy()
            trial[r] -= 1
            more = fleet_at(trial)
            if more.sum() > fleet:
                continue
            extra = max(1, int(more[r] - current[r]))
            saved = riders[r] * (grid[step[r]] - grid[trial[r]]) / 2.0
            saved -= operating_min(r, grid[trial[r]]) - operating_min(r, grid[step[r]])
            gain = saved / extra
            if gain > best_gain:
                best, best_gain = r, gain
        if best < 0:
            break
        step[best] -= 1
        current = fleet_at(step)
    return np.array([grid[i] for i in step], dtype=float)


def write_design(
    design: CityDesign,
    path: str | os.PathLike,
    *,
    replace: Literal["bus", "all", "none"] = "bus",
    name: str | None = None,
) -> Path:
    """Write the design as an alternative scenario of its baseline (atomically).

    ``replace``: remove the baseline's bus-type routes (``"bus"``), every line (``"all"``)
    or none. Routes are added as lines ``D1``.. in both directions, stops as OSM node ids.
    """
    from ..scenario import load_scenario
    from ..scenario.inputs import load_base

    if replace not in ("bus", "all", "none"):
        raise CityDesignError(f"replace must be 'bus', 'all' or 'none', got {replace!r}")
    net = design.network
    path = Path(path)
    base = load_base(load_scenario(net.scenario_path))
    removed: list[str] = []
    if replace != "none":
        for line in base.supply.lines:
            if replace == "all" or line.mode in BUS_TYPE_MODES:
                key = str(base.line_meta.loc[line.id, "route_key"])
                if key not in removed:
                    removed.append(key)
    relative = os.path.relpath(net.scenario_path.resolve(), path.resolve().parent)
    ev = design.evaluation
    title = name or f"Designed network ({len(design.routes)} routes, fleet {design.fleet_budget})"
    out = [
        f"# Written by transitopt.optimise.design_city: {len(design.routes)} routes on "
        f"{net.n_stops} candidate stops (spacing {net.settings.get('spacing_m', 0):g} m),",
        f"# fast objective ATT {ev.att:.2f} min (transfer penalty included), "
        f"{ev.d0:.1f} % direct, {ev.dun:.1f} % unserved; fleet {design.fleet_used} of "
        f"{design.fleet_budget} at free-flow running times; mean wait {design.wait_min:.1f} min; "
        f"model cost {design.model_cost_min:.2f} min per trip; "
        f"seed {design.search.seed}, "
        f"{design.search.n_evaluations} evaluations ({design.search.stopped_by}).",
    ]
    if design.operator_cost_min > 0:
        out.append(
            f"# operating cost priced at {design.operator_min_per_veh_h:.1f} passenger-min per "
            f"vehicle-hour and {design.operator_min_per_veh_km:.2f} per vehicle-km: "
            f"{design.operator_cost_min:.2f} min per trip."
        )
    out += [
        "",
        "[scenario]",
        f"name = {_toml_str(title)}",
        f"baseline = {_toml_str(Path(relative).as_posix())}",
    ]
    if removed:
        out += [
            "",
            f"# the baseline's {'bus-type ' if replace == 'bus' else ''}routes",
            "[[edits]]",
            'type = "remove_line"',
            "line = [" + ", ".join(_toml_str(k) for k in removed) + "]",
        ]
    node_id = net.instance.node_id
    refs = net.stop_ref
    for row, route in zip(design.table.itertuples(), design.routes, strict=True):
        stops = ", ".join(
            _toml_str(refs[s]) if refs is not None else str(int(node_id[s])) for s in route
        )
        out += [
            "",
            f"# {row.stops} stops, {row.one_way_min:.1f} min one way, {row.fleet} vehicles",
            "[[edits]]",
            'type = "add_line"',
            f"id = {_toml_str(row.route)}",
            f"name = {_toml_str(row.route)}",
            f"long_name = {_toml_str(row.name)}",
            f"mode = {_toml_str(net.mode)}",
            f"headway_min = {row.headway_min:g}",
            "both_directions = true",
            f"stops = [{stops}]",
        ]
        if refs is not None:  # no streets: the baseline lines' speed, dwell included
            out += [f"speed_kph = {net.settings['speed_kph']:g}", "dwell_s = 0"]
            if net.settings.get("hail_and_ride"):
                out.append("hail_and_ride = true")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "\n".join(out) + "\n")
    return path


def _toml_str(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def refit_to_model(
    design: CityDesign,
    path: str | os.PathLike,
    *,
    headway_bounds_min: tuple[float, float] = (3.0, 30.0),
    max_rounds: int = 3,
    **write_options,
) -> tuple[CityDesign, float]:
    """Evaluate the written design with the full model and, while its fleet exceeds the
    budget, set the headways again at the model's running times and rewrite the file.

    The model's one-way times (congested, along the routed streets, with dwell) replace
    the free-flow estimates in :func:`set_headways`; the fleet is then the model's own
    ``transit_fleet`` rule at those times. Each round costs one full evaluation.

    Returns
    -------
    (CityDesign, float)
        The design as last written and the fleet the full model reports for it.
    """
    from ..scenario import evaluate_file, load_scenario

    layover = load_scenario(design.network.scenario_path).baseline.model.layover_share
    path = Path(path)
    write_design(design, path, **write_options)
    for _ in range(max_rounds):
        result = evaluate_file(path)
        lines = result.tables["lines"]
        keys = [f"{design.network.mode}:{r}" for r in design.table["route"]]
        ours = lines[lines["route_key"].isin(keys)]
        if _fleet_of(ours) <= design.fleet_budget:  # lines kept from the baseline not counted
            return design, float(result["transit_fleet"])
        one_way = (ours.groupby("route_key")["one_way_time_s"].mean().reindex(keys)).to_numpy(float)
        riders = design.table["riders"].to_numpy(float)
        operator_min = (design.operator_min_per_veh_h, design.operator_min_per_veh_km)
        length_km = design.table["length_km"].to_numpy(float)
        headway = set_headways(
            one_way,
            riders,
            design.fleet_budget,
            bounds_min=headway_bounds_min,
            layover_share=layover,
            length_km=length_km,
            operator_min_per_veh_h=operator_min[0],
            operator_min_per_veh_km=operator_min[1],
        )
        fleets = route_fleets(one_way, headway, layover_share=layover)
        table = design.table.assign(one_way_min=one_way / 60.0, headway_min=headway, fleet=fleets)
        wait = float((riders * headway / 2.0).sum() / max(riders.sum(), 1e-12))
        ev = design.evaluation
        boardings = (ev.d0 + 2.0 * ev.d1 + 3.0 * ev.d2) / max(ev.d0 + ev.d1 + ev.d2, 1e-12)
        design = replace(
            design,
            headway_min=headway,
            table=table,
            fleet_used=int(fleets.sum()),
            wait_min=wait,
            fast_cost_min=ev.att + wait * boardings,
            operator_cost_min=_operator_cost_min(
                one_way,
                length_km,
                headway,
                layover,
                operator_min,
                design.network.instance.demand,
            ),
            model_cost_min=model_cost_min(design.network, design.routes, headway),
        )
        write_design(design, path, **write_options)
    result = evaluate_file(path)
    return design, float(result["transit_fleet"])


def _fleet_of(lines: pd.DataFrame) -> int:
    """Fleet of evaluated lines (the ``transit_fleet`` rule)."""
    if not len(lines):
        return 0
    return int(route_fleet(lines)["fleet"].sum())
