"""The integrated road + transit + mode-choice model of one prepared scenario.

See ``docs/model.md`` for the model in words and the sources of the defaults. In short,
each feedback iteration ``k``:

1. skims at the current car link times ``t``: car (door to door: walk to the network,
   congested drive, terminal time), transit (optimal strategies; bus running times from
   ``t`` in mixed traffic, free flow on bus lanes) and walk;
2. multinomial logit mode choice over car, transit and walk generalised costs gives the
   response demand ``R``;
3. method of successive averages on the demand by mode, ``D ← D + (R − D) / k``;
4. road user equilibrium of the car demand ``D_car / occupancy`` with buses as a fixed
   PCU preload on the mixed-traffic links of their routes → new link times ``t``.

It stops when the share of trips whose mode differs between ``R`` and ``D`` (the
*mode gap*) and the flow-weighted relative change of the link times both fall below
``model.feedback.tolerance``, or warns with :class:`~transitopt.ConvergenceWarning`
after ``model.feedback.max_iter`` iterations or when the ``progress`` callback returns
``False`` (cancelled).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .._errors import ConvergenceWarning
from ..geo import haversine_m
from ..kernels.shortest_paths import many_to_many
from ..network.compiled import MODE_CAR
from ..transit.defaults import WAIT_FACTOR, GraphParameters
from ..transit.graph import ACCESS, BOARD, EGRESS, RIDE, WALK_ONLY, WALK_TRANSFER, TransitGraph
from .edits import Prepared
from .routing import buses_per_link, segment_times

MODES = ("car", "transit", "walk")


@dataclass(frozen=True, eq=False)
class ModelOutcome:
    """Arrays of a finished run (all zone matrices in ``prepared.zones`` order)."""

    prepared: Prepared
    demand: dict[str, np.ndarray]  # trips/h by mode (z, z), averaged
    unserved: np.ndarray  # trips/h with no available mode
    intrazonal: np.ndarray  # (z,) trips/h within a zone (counted as walk)
    skims: dict[str, np.ndarray]  # door-to-door times, generalised costs, components
    logsum: np.ndarray  # expected maximum utility per pair (utils)
    road: object | None  # AssignmentResult of the final iteration
    link_time_s: np.ndarray | None
    bus_vph: np.ndarray | None
    preload: np.ndarray | None
    bus_free_flow: np.ndarray | None
    transit: object | None  # TransitAssignment with the final transit demand
    line_one_way_s: dict[str, float]
    history: list[dict]
    converged: bool
    stop_reason: str = "tolerance"  # "tolerance", "max_iter" or "cancelled"
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class IntegratedModel:
    """The integrated model of a :class:`Prepared` scenario; :meth:`run` iterates it."""

    def __init__(self, prepared: Prepared) -> None:
        started = time.perf_counter()
        self.p = prepared
        self.params = params = prepared.scenario.baseline.model
        self.trip_fare = prepared.scenario.baseline.transit.trip_fare
        self.notes: list[str] = []
        zones = prepared.zones
        self.z = len(zones)
        self.lon = zones["lon"].to_numpy(float)
        self.lat = zones["lat"].to_numpy(float)
        total = np.array(prepared.demand, dtype=float)
        self.intrazonal = np.diag(total).copy()
        np.fill_diagonal(total, 0.0)
        self.total = total
        self.vot_per_min = params.value_of_time_per_h / 60.0
        self.crow_m = haversine_m(
            self.lon[:, None], self.lat[:, None], self.lon[None, :], self.lat[None, :]
        )
        self._walk_setup()
        self._drive_setup()
        self._transit_setup()
        self.setup_s = time.perf_counter() - started

    # ------------------------------------------------------------------ static parts
    def _walk_setup(self) -> None:
        params, walk = self.params, self.p.walk
        if walk is not None:
            from ..paths import snap_points

            node, snap = snap_points(walk, self.lon, self.lat)
            nodes, inv = np.unique(node, return_inverse=True)
            length = np.where(np.isfinite(walk.length_m), walk.length_m, np.inf)
            # walking is two-way: take the shorter of both directions
            d = many_to_many(
                walk.indptr, walk.head, length, nodes, nodes, np.zeros(walk.n_nodes, np.bool_)
            )
            d = np.minimum(d, d.T)[np.ix_(inv, inv)] + snap[:, None] + snap[None, :]
            crow = self.crow_m * params.walk_detour_factor
            d = np.where(np.isfinite(d), d, crow)
        else:
            d = self.crow_m * params.walk_detour_factor
        np.fill_diagonal(d, 0.0)
        self.walk_m = d
        self.walk_time_s = d / params.walk_speed_mps

    def _drive_setup(self) -> None:
        params, drive = self.params, self.p.drive
        self.drive = drive
        if drive is None:
            dist = self.crow_m * params.car_detour_factor
            self.car_dist_m = dist
            self.static_car_s = dist / (params.car_speed_kph / 3.6)
            self.car_access_s = np.zeros(self.z)
            self.notes.append(
                "no street network: car times are straight line x car_detour_factor at car_speed_kph, "
                "without congestion"
            )
            return
        from ..paths import snap_points

        node, snap = snap_points(drive, self.lon, self.lat)
        self.nodes, self.inv = np.unique(node, return_inverse=True)
        self.car_access_s = snap / params.walk_speed_mps
        self.closed = self.p.closed
        self.car_open = ((drive.modes & MODE_CAR) != 0) & ~self.closed & (drive.capacity_vph > 0)
        length = np.where(self.car_open, drive.length_m, np.inf)
        dist = many_to_many(
            drive.indptr, drive.head, length, self.nodes, self.nodes, drive.centroid
        )
        self.car_dist_m = dist[np.ix_(self.inv, self.inv)]
        self.free_time_s = np.where(self.car_open, drive.free_flow_time_s, np.inf)
        # buses: per-link buses/h, PCU preload in mixed traffic, links where they run at free flow
        routes = self.p.routes
        lines = {ln.id: ln for ln in self.p.supply.lines}
        self.route_headway = np.array(
            [
                lines[i].headway(
                    None
                    if isinstance(lines[i].headway_s, float)
                    else self.p.scenario.baseline.period.name
                )
                for i in routes.lines
            ]
        )
        self.bus_vph = (
            buses_per_link(routes, drive.n_edges, self.route_headway)
            if routes.lines
            else np.zeros(drive.n_edges)
        )
        self.bus_free_flow = self.p.bus_lane | ((drive.modes & MODE_CAR) == 0)
        self.preload = np.where(self.bus_free_flow, 0.0, self.bus_vph * params.bus_pcu)
        self.v_max = np.array(
            [(lines[i].speed_kph or params.bus_max_speed_kph) / 3.6 for i in routes.lines]
        )

    def _transit_setup(self) -> None:
        from ..transit import build_transit_graph

        p, params = self.p, self.params
        supply = p.supply
        self.graph = None
        self.dynamic: dict[str, np.ndarray] = {}  # line id -> segment indices into routes
        if not supply.lines or "transit" not in params.mode_choice.modes:
            self.notes.append(
                "transit is not modelled (no lines)"
                if not supply.lines
                else "transit not in the choice set"
            )
            return
        routes = p.routes
        seg_times = None
        if self.drive is not None and routes.lines:
            seg_times = segment_times(
                routes,
                self.drive,
                self.free_time_s,
                bus_free_flow=self.bus_free_flow,
                v_max_mps=self.v_max,
            )
        lines = []
        for line in supply.lines:
            if line.id in routes.lines and line.running_times_s is None:
                li = routes.lines.index(line.id)
                segs = routes.segments_of(li)
                times = seg_times[segs]
                fallback = routes.seg_length_m[segs] / (line.speed / 3.6)
                self.dynamic[line.id] = segs
                lines.append(
                    line.replace(running_times_s=tuple(np.where(np.isnan(times), fallback, times)))
                )
            else:
                lines.append(line)
        supply = supply.replace_lines(lines)
        period = None
        if any(not isinstance(ln.headway_s, float) for ln in lines):
            period = p.scenario.baseline.period.name
        gp = GraphParameters(
            walk_speed_mps=params.walk_speed_mps,
            max_access_walk_m=params.max_access_walk_m,
            max_transfer_walk_m=params.max_transfer_walk_m,
            walk_detour_factor=params.walk_detour_factor,
            detour_factor=1.2,
            boarding_penalty_s=60.0 * params.boarding_penalty_min,
            transfer_penalty_s=60.0 * params.transfer_penalty_min,
        )
        zones = p.zones[["zone", "lon", "lat"]]
        graph = build_transit_graph(
            supply, zones=zones, walk_network=p.walk, drive_network=None, period=period, params=gp
        )
        for key, value in graph.info.get("repairs", {}).items():
            self.notes.append(f"transit graph: {key}: {value}")
        graph = _drop_links(graph, graph.kind != WALK_ONLY)
        cost = graph.cost_s.copy()
        walking = np.isin(graph.kind, (ACCESS, EGRESS, WALK_TRANSFER))
        cost[walking] += (params.walk_weight - 1.0) * graph.walk_s[walking]
        fares = p.line_meta["fare"].reindex(list(graph.line_ids)).fillna(0.0).to_numpy(float)
        board = graph.kind == BOARD
        cost[board] += fares[graph.line[board]] / (params.value_of_time_per_h / 3600.0)
        self.graph = replace(graph, cost_s=cost)
        self.line_index = {lid: k for k, lid in enumerate(graph.line_ids)}
        self.ride_links = {
            lid: np.flatnonzero((graph.kind == RIDE) & (graph.line == self.line_index[lid]))
            for lid in graph.line_ids
        }
        for lid, segs in self.dynamic.items():
            if self.ride_links[lid].size != segs.size:  # pragma: no cover - graph layout guard
                raise AssertionError(
                    f"line {lid}: {self.ride_links[lid].size} ride links for {segs.size} segments"
                )
        self.wait_factor = WAIT_FACTOR * params.wait_weight

    # ------------------------------------------------------------------ per-iteration pieces
    def _transit_graph_at(self, link_time_s: np.ndarray | None) -> TransitGraph:
        if not self.dynamic or link_time_s is None:
            return self.graph
        times = segment_times(
            self.p.routes,
            self.drive,
            link_time_s,
            bus_free_flow=self.bus_free_flow,
            v_max_mps=self.v_max,
        )
        cost = self.graph.cost_s.copy()
        ivt = self.graph.in_vehicle_s.copy()
        lines = {ln.id: ln for ln in self.p.supply.lines}
        for lid, segs in self.dynamic.items():
            links = self.ride_links[lid]
            t = times[segs]
            t = np.where(
                np.isnan(t), self.p.routes.seg_length_m[segs] / (lines[lid].speed / 3.6), t
            )
            cost[links] = t
            ivt[links] = t
        return replace(self.graph, cost_s=cost, in_vehicle_s=ivt)

    def skims(self, link_time_s: np.ndarray | None, transit_demand: np.ndarray | None = None):
        """Skims at link times ``link_time_s`` (and the transit assignment when a demand is given)."""
        params = self.params
        out: dict[str, np.ndarray] = {}
        if self.drive is not None:
            nodes, inv = self.nodes, self.inv
            t = many_to_many(
                self.drive.indptr, self.drive.head, link_time_s, nodes, nodes, self.drive.centroid
            )
            drive_s = t[np.ix_(inv, inv)]
        else:
            drive_s = self.static_car_s
        car_s = (
            drive_s
            + self.car_access_s[:, None]
            + self.car_access_s[None, :]
            + 60.0 * params.car_terminal_min
        )
        np.fill_diagonal(car_s, 0.0)
        out["car_time_s"] = car_s
        money = params.car_cost_per_km * self.car_dist_m / 1000.0 + params.parking_cost
        out["car_gc_min"] = car_s / 60.0 + money / self.vot_per_min
        out["walk_time_s"] = self.walk_time_s
        out["walk_gc_min"] = self.walk_time_s / 60.0
        assignment = None
        if self.graph is not None:
            from ..transit import assign_transit

            graph = self._transit_graph_at(link_time_s if self.drive is not None else None)
            demand = np.zeros((self.z, self.z)) if transit_demand is None else transit_demand
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assignment = assign_transit(graph, demand, wait_factor=self.wait_factor, skims=True)
            total = assignment.skim("total_s")
            wait = assignment.skim("wait_s") / params.wait_weight
            ivt = assignment.skim("in_vehicle_s")
            walk = assignment.skim("walk_s")
            out["transit_gc_min"] = total / 60.0 + self.trip_fare / self.vot_per_min
            out["transit_time_s"] = ivt + walk + wait
            out["transit_wait_s"] = wait
            out["transit_ivt_s"] = ivt
            out["transit_walk_s"] = walk
            out["transit_boardings"] = assignment.skim("boardings")
        else:
            for name in (
                "transit_gc_min",
                "transit_time_s",
                "transit_wait_s",
                "transit_ivt_s",
                "transit_walk_s",
                "transit_boardings",
            ):
                out[name] = np.full((self.z, self.z), np.inf)
        return out, assignment

    def choice(self, skims: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Logit probabilities by mode and the logsum (``-inf`` where no mode is available)."""
        mc = self.params.mode_choice
        utilities = {}
        for mode, asc in (("car", mc.asc_car), ("transit", mc.asc_transit), ("walk", mc.asc_walk)):
            gc = skims[f"{mode}_gc_min"]
            available = np.isfinite(gc) & (mode in mc.modes)
            if mode == "walk":
                available &= self.walk_m <= 1000.0 * mc.max_walk_km
            with np.errstate(invalid="ignore"):
                utilities[mode] = np.where(
                    available, asc + mc.beta_per_min * np.where(available, gc, 0.0), -np.inf
                )
        stacked = np.stack([utilities[m] for m in MODES])
        top = stacked.max(axis=0)
        safe = np.where(np.isfinite(top), top, 0.0)
        expo = np.exp(stacked - safe)
        denom = expo.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = np.where(denom > 0, expo / np.where(denom > 0, denom, 1.0), 0.0)
            logsum = np.where(denom > 0, safe + np.log(np.where(denom > 0, denom, 1.0)), -np.inf)
        return {m: probs[k] for k, m in enumerate(MODES)}, logsum

    def road(self, car_persons: np.ndarray):
        """Road equilibrium of the car demand (persons/h → veh/h); returns (result, link times)."""
        from ..assignment import UserEquilibrium
        from ..demand.od import ODMatrix

        drive, params = self.drive, self.params
        veh = car_persons / params.car_occupancy
        matrix = np.zeros((self.nodes.size, self.nodes.size))
        np.add.at(matrix, (self.inv[:, None], self.inv[None, :]), veh)
        np.fill_diagonal(matrix, 0.0)
        if matrix.sum() <= 0:
            return None, self.free_time_s.copy()
        a = params.assignment
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = UserEquilibrium(
                drive,
                ODMatrix(zones=drive.node_id[self.nodes], matrix=matrix),
                algorithm=a.algorithm,
                gap=a.gap,
                max_iter=a.max_iter,
                preload=self.preload,
                closed=self.closed,
            ).run()
        self._road_warnings = [
            str(w.message) for w in caught if not issubclass(w.category, ConvergenceWarning)
        ]
        time_s = np.where(self.car_open, result.time_s, np.inf)
        return result, time_s

    # ------------------------------------------------------------------ the loop
    def run(self, progress: Callable[[dict], object] | None = None) -> ModelOutcome:
        """Iterate to a fixed point (see the module docstring)."""
        params = self.params
        fb = params.feedback
        timings = {"setup_s": self.setup_s, "skims_s": 0.0, "choice_s": 0.0, "road_s": 0.0}
        link_time = self.free_time_s.copy() if self.drive is not None else None
        demand: dict[str, np.ndarray] | None = None
        road_result = None
        history: list[dict] = []
        converged = False
        self.stop_reason = "max_iter"
        total = self.total.sum()
        self._road_warnings = []
        for k in range(1, fb.max_iter + 1):
            started = time.perf_counter()
            skims, _ = self.skims(link_time)
            t1 = time.perf_counter()
            probs, _ = self.choice(skims)
            response = {m: self.total * probs[m] for m in MODES}
            if demand is None:
                gap = float("nan")
                demand = response
            else:
                diff = sum(np.abs(response[m] - demand[m]).sum() for m in MODES)
                gap = float(diff / (2.0 * total)) if total > 0 else 0.0
                demand = {m: demand[m] + (response[m] - demand[m]) / k for m in MODES}
            t2 = time.perf_counter()
            change = 0.0
            road_gap = road_iter = np.nan
            if self.drive is not None:
                road_result, new_time = self.road(demand["car"])
                flow = road_result.flow if road_result is not None else np.zeros_like(new_time)
                both = np.isfinite(new_time) & np.isfinite(link_time)
                weight = np.sum(flow[both] * link_time[both])
                change = (
                    float(np.sum(flow[both] * np.abs(new_time[both] - link_time[both])) / weight)
                    if weight > 0
                    else 0.0
                )
                link_time = new_time
                if road_result is not None:
                    road_gap, road_iter = road_result.relative_gap, road_result.iterations
            t3 = time.perf_counter()
            timings["skims_s"] += t1 - started
            timings["choice_s"] += t2 - t1
            timings["road_s"] += t3 - t2
            served = sum(demand[m].sum() for m in MODES)
            row = {
                "iteration": k,
                "mode_gap": gap,
                "link_time_change": change,
                **{
                    f"share_{m}": float(demand[m].sum() / served) if served > 0 else np.nan
                    for m in MODES
                },
                "road_gap": float(road_gap),
                "road_iterations": float(road_iter),
                "seconds": t3 - started,
            }
            history.append(row)
            if k >= 2 and gap <= fb.tolerance and change <= fb.tolerance:
                converged = True
                self.stop_reason = "tolerance"
            if progress is not None and progress(row) is False and not converged:
                self.stop_reason = "cancelled"
                break
            if converged:
                break
        if not converged:
            last = history[-1]
            why = "was cancelled" if self.stop_reason == "cancelled" else "stopped"
            message = (
                f"scenario {self.p.scenario.name!r}: the feedback loop {why} after {last['iteration']} iterations "
                f"with mode gap {last['mode_gap']:.3g} and link time change {last['link_time_change']:.3g} "
                f"(tolerance {fb.tolerance:g}); the results are not at equilibrium"
            )
            self.notes.append(message)
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
        if road_result is not None and not road_result.converged:
            self.notes.append(
                f"the last road equilibrium stopped at relative gap {road_result.relative_gap:.3g} "
                f"(target {params.assignment.gap:g})"
            )
        self.notes += sorted(set(self._road_warnings))
        # final skims at the final link times, and the transit loads of the final demand
        started = time.perf_counter()
        transit_demand = np.where(np.isfinite(demand["transit"]), demand["transit"], 0.0)
        skims, assignment = self.skims(
            link_time, transit_demand=transit_demand if self.graph is not None else None
        )
        _, logsum = self.choice(skims)
        timings["final_s"] = time.perf_counter() - started
        served_any = sum(probs[m] for m in MODES) > 0
        unserved = np.where(served_any, 0.0, self.total)
        one_way = {}
        if assignment is not None:
            g = assignment.graph
            lines = {ln.id: ln for ln in self.p.supply.lines}
            for lid, links in self.ride_links.items():
                n = links.size
                one_way[lid] = float(g.in_vehicle_s[links].sum()) + max(n - 1, 0) * lines[lid].dwell
        return ModelOutcome(
            prepared=self.p,
            demand=demand,
            unserved=unserved,
            intrazonal=self.intrazonal,
            skims=skims,
            logsum=logsum,
            road=road_result,
            link_time_s=link_time,
            bus_vph=getattr(self, "bus_vph", None),
            preload=getattr(self, "preload", None),
            bus_free_flow=getattr(self, "bus_free_flow", None),
            transit=assignment,
            line_one_way_s=one_way,
            history=history,
            converged=converged,
            stop_reason=self.stop_reason,
            notes=self.notes,
            timings=timings,
        )


def _drop_links(graph: TransitGraph, keep: np.ndarray) -> TransitGraph:
    """The graph without the links where ``keep`` is False (reverse CSR rebuilt)."""
    if keep.all():
        return graph
    per_link = (
        "tail",
        "head",
        "cost_s",
        "freq_hz",
        "kind",
        "line",
        "stop",
        "in_vehicle_s",
        "walk_s",
    )
    arrays = {name: np.ascontiguousarray(getattr(graph, name)[keep]) for name in per_link}
    n = graph.n_nodes
    in_links = np.argsort(arrays["head"], kind="stable").astype(np.int64)
    in_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(arrays["head"], minlength=n), out=in_indptr[1:])
    return replace(graph, **arrays, in_links=in_links, in_indptr=in_indptr)
