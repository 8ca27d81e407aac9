"""The integrated road + transit + mode-choice model: a library beside the assignments.

>>> from transitopt.assignment.multimodal import MultimodalModel, MultimodalParameters
>>> model = MultimodalModel(zones, demand, drive=drive, walk=walk, supply=supply)  # doctest: +SKIP
>>> result = model.run()  # doctest: +SKIP
>>> result.demand["transit"].sum(), result.convergence  # doctest: +SKIP

Inputs are plain data: zones (``zone``, ``lon``, ``lat``), an OD matrix of person trips
per hour in zone order, drive and walk :class:`~transitopt.network.compiled.Network`\\ s
(or ``None``), a :class:`~transitopt.transit.lines.TransitSupply` with its street routes
and per-line fares, and a frozen :class:`MultimodalParameters`. See ``docs/model.md``
for the model in words and the sources of the defaults. In short, each feedback
iteration ``k``:

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
``feedback.tolerance``, or warns with :class:`~transitopt.ConvergenceWarning` after
``feedback.max_iter`` iterations or when the ``progress`` callback returns ``False``
(cancelled).

Drive links with a ``closed`` column set in ``drive.edges`` carry no cars or buses;
links with ``bus_lane`` set let buses run at free flow without a PCU preload.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConvergenceWarning, DemandError, TransitoptError
from .._progress import ProgressCallback
from ..demand.external import ExternalDemand
from ..geo import haversine_m
from ..metrics.transit import transit_averages
from ..network.compiled import MODE_CAR, Network
from ..paths import snap_points, walk_connected, walk_distances
from ..transit.capacity import CapacityParameters
from ..transit.defaults import WAIT_FACTOR, GraphParameters
from ..transit.graph import ACCESS, BOARD, EGRESS, RIDE, WALK_ONLY, WALK_TRANSFER, TransitGraph
from ..transit.hail_and_ride import line_pieces
from ..transit.lines import TransitSupply
from ..transit.street_routes import (
    StreetRoutes,
    buses_per_link,
    route_lines,
    segment_geometry,
    segment_times,
)
from ._aon import CompressedAON, KeptTrees
from .mode_choice import (
    BASE_MODES,
    MODES,
    MOTORCYCLE_MODES,
    ModeChoiceParameters,
    Nest,
    logit_choice,
    mode_availability,
    model_modes,
)

__all__ = [
    "BASE_MODES",
    "MODES",
    "BusLoads",
    "FeedbackParameters",
    "ModeChoiceParameters",
    "ModelInputError",
    "MultimodalModel",
    "MultimodalParameters",
    "MultimodalResult",
    "Nest",
    "RoadParameters",
    "generalised_time_s",
    "logit_choice",
    "mode_availability",
    "run_multimodal",
]


_TRANSIT_SKIMS = (
    "transit_gc_min",
    "transit_generalised_s",
    "transit_time_s",
    "transit_wait_s",
    "transit_ivt_s",
    "transit_walk_s",
    "transit_boardings",
)

#: the convergence log's columns of each iteration's capacity-constrained transit
#: assignment (with line capacities only): its gap and iterations, its riders denied
#: boarding and passenger-hours standing, the highest load / capacity and the lines over
#: capacity, and the trip-weighted transit averages of the skims it gave, weighted by
#: the demand it assigned (as the headline metrics of the same names)
TRANSIT_LOG_COLUMNS = (
    "transit_gap",
    "transit_iterations",
    "transit_denied",
    "transit_standing_h",
    "transit_max_load_ratio",
    "transit_lines_over_capacity",
    "transit_avg_wait_min",
    "transit_avg_time_min",
    "transit_transfers_per_trip",
    "transit_crowding_min",
    "transit_crowded_time_min",
)


class ModelInputError(TransitoptError, ValueError):
    """Inputs of the multimodal model that do not fit together (the message names them)."""


# ---------------------------------------------------------------------------- parameters
#: transit graph parameters that the model's parameters hold under the same name and unit
_GRAPH_PARAMETERS = (
    "walk_speed_mps",
    "max_access_walk_m",
    "max_transfer_walk_m",
    "walk_detour_factor",
    "detour_factor",
)


@dataclass(frozen=True)
class RoadParameters:
    """The road user equilibrium inside each feedback iteration (see :class:`UserEquilibrium`)."""

    algorithm: str = "bfw"
    gap: float = 1e-4
    max_iter: int = 500


@dataclass(frozen=True)
class FeedbackParameters:
    """The outer loop: at most ``max_iter`` iterations to a mode gap and link time change
    both at or below ``tolerance``.

    ``transit_sweeps``: with line capacities solved by sweeps, each iteration after the
    first runs at most this many sweeps of the capacity-constrained transit assignment,
    from the state the iteration before left (a partial solve: the sweeps go on from one
    iteration to the next as the demand settles); the final state's assignment is solved
    to its own tolerance or stall. 0: every iteration solved so.
    """

    max_iter: int = 40
    tolerance: float = 2e-3
    transit_sweeps: int = 3


@dataclass(frozen=True)
class MultimodalParameters:
    """Behavioural and technical parameters of :class:`MultimodalModel` (units in the names).

    The defaults are those of ``[model]`` in a scenario file (``docs/model.md``);
    :func:`transitopt.scenario.parameters.model_parameters` converts a scenario's.
    ``detour_factor`` is the straight-line factor of transit segments off the street
    network; ``trip_fare`` is paid once per transit trip (per-line boarding fares are an
    input of the model); ``max_stop_snap_m`` bounds the snap of bus stops to the drive
    network when the model routes bus lines itself.

    Motorcycles and ojek (modes ``"motorcycle"`` and ``"ojek"`` of
    ``mode_choice.modes``): a motorcycle trip costs ``motorcycle_cost_per_km`` per km
    plus ``motorcycle_parking_cost`` and ``motorcycle_terminal_min`` minutes; an ojek
    trip (app motorcycle taxi, one passenger) waits ``ojek_wait_min`` minutes (weighted
    by ``wait_weight``) and pays ``max(ojek_min_fare, ojek_flag_fall + ojek_fare_per_km
    · km)``. Both ride motorcycles of ``motorcycle_pcu`` PCU in the road equilibrium
    (``motorcycle_occupancy`` persons per private motorcycle).

    ``pce_by_road_type``: motorcycles, ojek and buses take their PCE per link from the
    drive network's profile's ``[pce]`` table (:mod:`transitopt.network.pce`; MKJI 1997
    in the Indonesian profile), ``motorcycle_pcu`` and ``bus_pcu`` where the table has
    none; the road equilibrium is then solved by diagonalisation
    (:mod:`.diagonalisation`).
    """

    value_of_time_per_h: float = 10.0
    car_occupancy: float = 1.2
    car_cost_per_km: float = 0.15
    parking_cost: float = 0.0
    car_terminal_min: float = 3.0
    car_speed_kph: float = 25.0
    car_detour_factor: float = 1.3
    bus_pcu: float = 2.0
    bus_max_speed_kph: float = 40.0
    walk_speed_mps: float = 1.2
    walk_detour_factor: float = 1.3
    max_access_walk_m: float = 800.0
    max_transfer_walk_m: float = 300.0
    walk_weight: float = 1.5
    wait_weight: float = 1.5
    boarding_penalty_min: float = 0.0
    transfer_penalty_min: float = 5.0
    max_stop_snap_m: float = 250.0
    detour_factor: float = 1.2
    trip_fare: float = 0.0
    motorcycle_occupancy: float = 1.3
    motorcycle_cost_per_km: float = 0.05
    motorcycle_parking_cost: float = 0.0
    motorcycle_terminal_min: float = 1.0
    motorcycle_pcu: float = 0.25
    pce_by_road_type: bool = False
    ojek_fare_per_km: float = 0.12
    ojek_flag_fall: float = 0.0
    ojek_min_fare: float = 0.6
    ojek_wait_min: float = 5.0
    mode_choice: ModeChoiceParameters = field(default_factory=ModeChoiceParameters)
    road: RoadParameters = field(default_factory=RoadParameters)
    feedback: FeedbackParameters = field(default_factory=FeedbackParameters)
    transit_capacity: CapacityParameters | None = None


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class BusLoads:
    """Buses on the drive links (arrays per link).

    Attributes
    ----------
    bus_vph : (e,) float64
        Buses per hour.
    preload_pcu : (e,) float64
        PCU per hour they add to car traffic (0 on bus lanes and bus-only links).
    free_flow : (e,) bool
        Links where buses run at free flow (bus lanes, bus-only links).
    """

    bus_vph: np.ndarray
    preload_pcu: np.ndarray
    free_flow: np.ndarray


@dataclass(frozen=True, eq=False)
class MultimodalResult:
    """A finished run of :class:`MultimodalModel` (zone matrices in the input zone order).

    Attributes
    ----------
    demand : dict of str to (z, z) float64
        Trips/h by mode (``car``, ``transit``, ``walk``), averaged over the iterations.
    unserved : (z, z) float64
        Trips/h with no available mode.
    intrazonal : (z,) float64
        Trips/h within a zone (counted as walk).
    skims : dict of str to (z, z) float64
        Door-to-door times (s), generalised costs (min) and their components;
        ``transit_generalised_s`` is the generalised time route choice minimises (money
        left out, :func:`generalised_time_s`), ``transit_time_s`` the unweighted time of
        that chosen strategy and ``transit_fastest_s`` the time of the fastest strategy.
    logsum : (z, z) float64
        Expected maximum utility per pair (utils; ``-inf`` where no mode is available).
    road : AssignmentResult or None
        The road equilibrium of the final iteration.
    link_time_s : (e,) float64 or None
        Final car link times (``inf`` where cars cannot drive).
    bus_vph, preload, bus_free_flow : (e,) arrays or None
        As in :class:`BusLoads` (``preload`` in PCU/h).
    transit : TransitAssignment or None
        The transit assignment of the final transit demand.
    transit_capacity : CapacityAssignment or None
        With line capacities (``MultimodalParameters.transit_capacity``), the
        capacity-constrained assignment ``transit`` belongs to: loads against places
        and seats, standing riders, denied boardings, effective frequencies.
    line_one_way_s : dict of str to float
        One-way time per line (running + dwell, s).
    history : tuple of dict
        One row per feedback iteration (the convergence log).
    line_crowding_log : DataFrame or None
        With line capacities, per feedback iteration and line (columns ``iteration``,
        ``line`` and those of ``CapacityAssignment.line_crowding``: peak load factor,
        peak standing, passenger-hours standing, riders denied boarding) the crowding of
        that iteration's capacity-constrained assignment (their scatter is the per-line
        noise band in comparisons); else None.
    converged : bool
    stop_reason : str
        ``"tolerance"``, ``"max_iter"`` or ``"cancelled"``.
    notes : tuple of str
        Assumptions and warnings of the run.
    timings : mapping of str to float
        Seconds spent in set-up, skims, choice, road and the final skims.
    """

    demand: dict[str, np.ndarray]
    unserved: np.ndarray
    intrazonal: np.ndarray
    skims: dict[str, np.ndarray]
    logsum: np.ndarray
    road: Any
    link_time_s: np.ndarray | None
    bus_vph: np.ndarray | None
    preload: np.ndarray | None
    bus_free_flow: np.ndarray | None
    transit: Any
    line_one_way_s: dict[str, float]
    history: tuple[dict[str, float], ...]
    converged: bool
    stop_reason: str = "tolerance"
    notes: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    transit_capacity: Any = None
    line_crowding_log: pd.DataFrame | None = None

    @property
    def convergence(self) -> pd.DataFrame:
        """The convergence log, one row per feedback iteration."""
        return pd.DataFrame(list(self.history))

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes of ``demand``, in :data:`MODES` order (car, transit and walk always)."""
        return tuple(m for m in MODES if m in self.demand)


# ---------------------------------------------------------------------------- the model
@dataclass(frozen=True, eq=False)
class MultimodalModel:
    """The integrated model of one set of inputs; :meth:`run` iterates it to a fixed point.

    Parameters
    ----------
    zones : DataFrame
        ``zone``, ``lon``, ``lat`` (degrees), one row per zone.
    demand : (z, z) array
        Person trips per hour by all modes, in ``zones`` order (the diagonal walks).
    drive, walk : Network or None
        Street networks; without ``drive`` car times are straight line ×
        ``car_detour_factor`` at ``car_speed_kph`` (no congestion), without ``walk``
        walking is straight line × ``walk_detour_factor``.
    supply : TransitSupply or None
        Stops and lines; ``None`` or no lines: transit is not modelled.
    routes : StreetRoutes or None
        Street routes of the bus-type lines over ``drive``; ``None``: routed here
        (:func:`~transitopt.transit.street_routes.route_lines`).
    line_fares : mapping of str to float
        Fare per boarding by line id (currency; missing lines: 0).
    period : str or None
        Analysis period naming the headway of lines with several.
    parameters : MultimodalParameters
    name : str
        Prefix of warnings and notes (e.g. ``"scenario 'Base'"``).
    mode_offsets : mapping of str to (z, z) array
        Utils added to a mode's utility per zone pair (zone-pair constants, e.g. of a
        calibration to counts: :mod:`transitopt.scenario.calibration`); none by default.
    """

    zones: pd.DataFrame
    demand: np.ndarray
    drive: Network | None = None
    walk: Network | None = None
    supply: TransitSupply | None = None
    routes: StreetRoutes | None = None
    line_fares: Mapping[str, float] = field(default_factory=dict)
    period: str | None = None
    parameters: MultimodalParameters = field(default_factory=MultimodalParameters)
    name: str = ""
    mode_offsets: Mapping[str, np.ndarray] = field(default_factory=dict)
    #: through and external-internal vehicle trips at gateways of a clipped ``drive``
    #: network (:mod:`transitopt.demand.external`): assigned with the zones' vehicles,
    #: outside the mode choice
    external: ExternalDemand | None = None

    def __post_init__(self) -> None:
        _check_inputs(self)

    # ------------------------------------------------------------------ public pieces
    def run(self, progress: ProgressCallback | None = None) -> MultimodalResult:
        """Iterate to a fixed point (see the module docstring).

        Parameters
        ----------
        progress
            Called with each iteration's row of the convergence log (``iteration``,
            ``mode_gap``, ``link_time_change``, ``share_<mode>``, ``road_gap``,
            ``road_iterations``, ``seconds``); returning ``False`` cancels the loop.

        Warns
        -----
        ConvergenceWarning
            The loop stopped before its tolerance (the result says so too).
        """
        loop = _Loop(self._setup)
        fb = self.parameters.feedback
        for k in range(1, fb.max_iter + 1):
            row = loop.iterate(k)
            if (
                k >= 2
                and row["mode_gap"] <= fb.tolerance
                and row["link_time_change"] <= fb.tolerance
            ):
                loop.stop_reason = "tolerance"
            converged = loop.stop_reason == "tolerance"
            if progress is not None and progress(row) is False and not converged:
                loop.stop_reason = "cancelled"
                break
            if converged:
                break
        return loop.finish(self.name)

    def transit_graph(
        self,
        link_time_s: np.ndarray | None = None,
        *,
        headway_s: Mapping[str, float] | None = None,
    ) -> TransitGraph | None:
        """The transit graph the model assigns on (``None`` when transit is not modelled).

        Parameters
        ----------
        link_time_s
            Car link times (s) that set the bus running times in mixed traffic;
            ``None``: free flow.
        headway_s
            Headway (s) by line id replacing the supply's in the boarding frequencies.
        """
        setup = self._setup
        if setup.graph is None:
            return None
        graph = _transit_graph_at(setup, link_time_s if self.drive is not None else None)
        if headway_s:
            freq = graph.freq_hz.copy()
            line_headway_s = graph.line_headway_s.copy()  # the places a line offers
            position = {line_id: k for k, line_id in enumerate(graph.line_ids)}
            for line_id, headway in headway_s.items():
                if line_id not in setup.board_links:
                    raise ModelInputError(
                        f"headway_s names line {line_id!r}, not in the transit graph"
                    )
                freq[setup.board_links[line_id]] = 1.0 / headway
                line_headway_s[position[line_id]] = headway
            graph = replace(graph, freq_hz=freq, line_headway_s=line_headway_s)
        return graph

    def transit_assignment(
        self,
        link_time_s: np.ndarray | None,
        demand: np.ndarray,
        *,
        skims: bool = False,
    ) -> Any:
        """The transit assignment as the model runs it (``None`` when transit is not modelled).

        Optimal strategies on the generalised link costs (walk weight, per-line fares in
        time, weighted waits) with bus running times at car link times ``link_time_s``
        (``None``: free flow), loading ``demand`` ((z, z) trips/h in zone order). With
        ``skims=False`` only destinations with demand are searched, so one pair is cheap:
        its link volumes are the strategy's expected use of each link.
        """
        setup = self._setup
        if setup.graph is None:
            return None
        return _transit_assignment(
            setup, link_time_s if self.drive is not None else None, demand, skims=skims
        )

    def with_constants(self, **constants: float) -> MultimodalModel:
        """This model with other alternative-specific constants (``asc_car=...`` in utils).

        Only the mode choice differs, so the new model shares this one's set-up (snapped
        zones, distances, street routes, transit graph; built here if it was not yet).
        """
        unknown = sorted(set(constants) - {f"asc_{m}" for m in MODES})
        if unknown:
            raise ModelInputError(
                f"unknown constants {unknown}; expected asc_{', asc_'.join(MODES)}"
            )
        params = self.parameters
        values: dict[str, Any] = {k: float(v) for k, v in constants.items()}
        mode_choice = replace(params.mode_choice, **values)
        model = replace(self, parameters=replace(params, mode_choice=mode_choice))
        built = self._setup  # the set-up does not depend on the constants
        setup = copy.copy(built)
        setup.model, setup.params, setup.notes = model, model.parameters, list(built.notes)
        model.__dict__["_setup"] = setup
        return model

    def mode_availability(self, skims: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Where each mode is available at ``skims`` (see :func:`mode_availability`)."""
        return mode_availability(skims, self._setup.walk_m, self.parameters.mode_choice)

    @property
    def wait_factor(self) -> float:
        """Weighted expected wait per unit headway of the transit assignment."""
        return WAIT_FACTOR * self.parameters.wait_weight

    def bus_loads(self) -> BusLoads | None:
        """Buses per drive link and their PCU preload (``None`` without a drive network)."""
        setup = self._setup
        bus_vph, preload, free_flow = setup.bus_vph, setup.preload, setup.bus_free_flow
        if self.drive is None or bus_vph is None or preload is None or free_flow is None:
            return None
        return BusLoads(bus_vph, preload, free_flow)

    @cached_property
    def _setup(self) -> _Setup:
        return _Setup(self)


def run_multimodal(
    zones: pd.DataFrame,
    demand: np.ndarray,
    *,
    drive: Network | None = None,
    walk: Network | None = None,
    supply: TransitSupply | None = None,
    parameters: MultimodalParameters | None = None,
    progress: ProgressCallback | None = None,
    **inputs: Any,
) -> MultimodalResult:
    """One call for the simple case: :class:`MultimodalModel` with these inputs, run.

    ``inputs`` are the other fields of :class:`MultimodalModel` (``routes``,
    ``line_fares``, ``period``, ``name``).
    """
    model = MultimodalModel(
        zones,
        demand,
        drive=drive,
        walk=walk,
        supply=supply,
        parameters=parameters or MultimodalParameters(),
        **inputs,
    )
    return model.run(progress)


def _check_inputs(model: MultimodalModel) -> None:
    missing = [c for c in ("zone", "lon", "lat") if c not in model.zones.columns]
    if missing:
        raise ModelInputError(f"zones need the columns zone, lon, lat; missing {missing}")
    z = len(model.zones)
    shape = np.shape(model.demand)
    if shape != (z, z):
        raise DemandError(f"the OD matrix is {shape}; {z} zones need ({z}, {z})")
    for mode, offset in model.mode_offsets.items():
        if mode not in MODES or np.shape(offset) != (z, z) or not np.isfinite(offset).all():
            raise ModelInputError(
                f"mode_offsets[{mode!r}]: expected finite utils of shape ({z}, {z}) for one of "
                f"{MODES}, got shape {np.shape(offset)}"
            )
    if model.routes is not None and model.drive is None and model.routes.lines:
        raise ModelInputError("street routes were given without the drive network they run on")


# ---------------------------------------------------------------------------- set-up
class _Setup:
    """The parts of a model that do not change between iterations (built once).

    The drive-network parts (``nodes``, ``free_time_s``, the bus arrays, ...) exist only
    when ``drive`` is not ``None``; ``graph`` is ``None`` when transit is not modelled.
    """

    drive: Network | None
    routes: StreetRoutes | None
    bus_vph: np.ndarray | None
    preload: np.ndarray | None
    bus_free_flow: np.ndarray | None
    graph: TransitGraph | None

    def __init__(self, model: MultimodalModel) -> None:
        started = time.perf_counter()
        self.model = model
        self.params = model.parameters
        self.notes: list[str] = []
        self.supply = model.supply
        zones = model.zones
        self.z = len(zones)
        self.lon = zones["lon"].to_numpy(float)
        self.lat = zones["lat"].to_numpy(float)
        total = np.array(model.demand, dtype=float)
        self.intrazonal = np.diag(total).copy()
        np.fill_diagonal(total, 0.0)
        self.total = total
        self.vot_per_min = self.params.value_of_time_per_h / 60.0
        self.modes = model_modes(self.params.mode_choice)
        self.motorcycles = any(m in self.modes for m in MOTORCYCLE_MODES)
        self.crow_m = haversine_m(
            self.lon[:, None], self.lat[:, None], self.lon[None, :], self.lat[None, :]
        )
        self._walk_setup()
        self._drive_setup()
        self._transit_setup()
        self.setup_s = time.perf_counter() - started

    def _walk_setup(self) -> None:
        """The walk distance and time matrices; with a walk network, its searches (kernels
        outside the GIL) run on a side thread beside the drive set-up, whose network
        elimination is serial, and :meth:`_transit_setup` takes their result."""
        self._walk_pending: Future[np.ndarray] | None = None
        if self.model.walk is not None and _threads_side_by_side():
            side = ThreadPoolExecutor(1, thread_name_prefix="transitopt-walk")
            self._walk_pending = side.submit(self._walk_distances)
            side.shutdown(wait=False)
            return
        self._set_walk(self._walk_distances())

    def _set_walk(self, d: np.ndarray) -> None:
        self.walk_m = d
        self.walk_time_s = d / self.params.walk_speed_mps

    def _walk_distances(self) -> np.ndarray:
        """Zone-to-zone walking distances (m): see :meth:`_walk_setup`."""
        params, walk = self.params, self.model.walk
        if walk is not None:
            # walking is in the choice set up to max_walk_km only (mode_availability), so
            # each search stops there: pairs farther apart on the network are inf, as
            # unavailable as at their full length; pairs no walk joins fall back to the
            # straight line x walk_detour_factor (which may be within max_walk_km)
            node, snap = snap_points(walk, self.lon, self.lat)
            nodes, inv = np.unique(node, return_inverse=True)
            pair = np.ix_(inv, inv)
            limit_m = 1000.0 * params.mode_choice.max_walk_km
            d = walk_distances(walk, nodes, max_distance_m=limit_m)[pair]
            d = d + snap[:, None] + snap[None, :]
            crow = self.crow_m * params.walk_detour_factor
            unjoined = ~walk_connected(walk, nodes)[pair]
            d = np.where(np.isfinite(d), d, np.where(unjoined, crow, np.inf))
        else:
            d = self.crow_m * params.walk_detour_factor
        np.fill_diagonal(d, 0.0)
        return d

    def _drive_setup(self) -> None:
        params, drive = self.params, self.model.drive
        self.drive = drive
        self.routes = self.model.routes
        self.bus_vph = self.preload = self.bus_free_flow = None
        self.motorcycle_pce: np.ndarray | None = None
        self.bus_pce: np.ndarray | None = None
        if drive is None:
            dist = self.crow_m * params.car_detour_factor
            self.car_dist_m = dist
            self.static_car_s = dist / (params.car_speed_kph / 3.6)
            self.car_access_s = np.zeros(self.z)
            self.motorcycle_dist_m = dist
            self.notes.append(
                "no street network: car times are straight line x car_detour_factor at car_speed_kph, "
                "without congestion"
                + (" (motorcycles and ojek likewise)" if self.motorcycles else "")
            )
            return

        node, snap = snap_points(drive, self.lon, self.lat)
        self.nodes, self.inv = np.unique(node, return_inverse=True)
        self.car_access_s = snap / params.walk_speed_mps
        self.closed = _edge_flag(drive, "closed")
        self.closed_car = _edge_flag(drive, "closed_car")
        motor = ((drive.modes & MODE_CAR) != 0) & ~self.closed & (drive.capacity_vph > 0)
        self.car_open = motor & ~self.closed_car
        # motorcycles: barred by the network (OSM tags under the profile's rules) or closed
        # to them by a scenario edit
        self.closed_motorcycle = _edge_flag(drive, "motorcycle_barred") | _edge_flag(
            drive, "closed_motorcycle"
        )
        self.motorcycle_open = motor & ~self.closed_motorcycle
        self.motorcycle_pce, self.bus_pce = _road_type_pce(drive, params)
        self.road_open = self.car_open | self.motorcycle_open if self.motorcycles else self.car_open
        # car skims search the core graph that the road assignment builds for the same
        # network and zone nodes (chains contracted, nodes eliminated; kept in _aon's cache)
        self.car_core = CompressedAON(
            drive.indptr,
            drive.head,
            self.car_open,
            np.asarray(drive.centroid, dtype=np.bool_),
            self.nodes,
            self.nodes,
            np.zeros((self.nodes.size, self.nodes.size)),
        )
        length = np.where(self.car_open & np.isfinite(drive.length_m), drive.length_m, np.inf)
        car_dist = self.car_core.skim(length)
        self.car_dist_m = car_dist[np.ix_(self.inv, self.inv)]
        self.free_time_s = np.where(self.road_open, drive.free_flow_time_s, np.inf)
        if self.motorcycles:
            self.motorcycle_core = CompressedAON(
                drive.indptr,
                drive.head,
                self.motorcycle_open,
                np.asarray(drive.centroid, dtype=np.bool_),
                self.nodes,
                self.nodes,
                np.zeros((self.nodes.size, self.nodes.size)),
            )
            length = np.where(
                self.motorcycle_open & np.isfinite(drive.length_m), drive.length_m, np.inf
            )
            self.motorcycle_dist_m = self.motorcycle_core.skim(length)[np.ix_(self.inv, self.inv)]
        self._bus_setup(drive)

    def _bus_setup(self, drive: Network) -> None:
        """Per-link buses/h, their PCU preload in mixed traffic, links where they run free."""

        params = self.params
        supply = self.supply or _no_supply()
        if self.routes is None:
            self.routes = route_lines(
                supply,
                drive,
                closed=self.closed,
                max_snap_m=params.max_stop_snap_m,
                detour_factor=params.detour_factor,
            )
        routes = self.routes
        lines = {ln.id: ln for ln in supply.lines}
        self.route_headway = np.array(
            [
                lines[i].headway(
                    None if isinstance(lines[i].headway_s, float) else self.model.period
                )
                for i in routes.lines
            ]
        )
        self.bus_vph = (
            buses_per_link(routes, drive.n_edges, self.route_headway)
            if routes.lines
            else np.zeros(drive.n_edges)
        )
        self.bus_free_flow = _edge_flag(drive, "bus_lane") | ((drive.modes & MODE_CAR) == 0)
        bus_pce = params.bus_pcu if self.bus_pce is None else self.bus_pce
        self.preload = np.where(self.bus_free_flow, 0.0, self.bus_vph * bus_pce)
        self.v_max = np.array(
            [(lines[i].speed_kph or params.bus_max_speed_kph) / 3.6 for i in routes.lines]
        )

    def _transit_setup(self) -> None:
        if self._walk_pending is not None:  # the walk matrices of _walk_setup's side thread
            self._set_walk(self._walk_pending.result())
            self._walk_pending = None
        params = self.params
        self.graph = None
        self.dynamic: dict[str, np.ndarray] = {}  # line id -> segment indices into routes
        # hail-and-ride line id -> (segment, share, extra_s) of each ride link
        self.pieces: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.board_links: dict[str, np.ndarray] = {}
        supply = self.supply
        if supply is None or not supply.lines or "transit" not in params.mode_choice.modes:
            self.notes.append(
                "transit is not modelled (no lines)"
                if supply is None or not supply.lines
                else "transit not in the choice set"
            )
            return
        graph = self._build_graph(self._timed_supply(supply))
        self.graph = replace(graph, cost_s=self._generalised_cost(graph))
        self.line_index = {lid: k for k, lid in enumerate(graph.line_ids)}
        self.ride_links = {
            lid: np.flatnonzero((graph.kind == RIDE) & (graph.line == self.line_index[lid]))
            for lid in graph.line_ids
        }
        self.board_links = {
            lid: np.flatnonzero((graph.kind == BOARD) & (graph.line == self.line_index[lid]))
            for lid in graph.line_ids
        }
        self.pieces = _hail_pieces(graph, supply, self.ride_links)
        for lid, segs in self.dynamic.items():
            rides = self.ride_links[lid].size
            if lid in self.pieces:
                rides = int(self.pieces[lid][0].max()) + 1 if rides else 0
            if rides != segs.size:  # pragma: no cover - graph layout guard
                raise AssertionError(f"line {lid}: {rides} ride segments for {segs.size} segments")
        self.wait_factor = WAIT_FACTOR * params.wait_weight

    def _timed_supply(self, supply: TransitSupply) -> TransitSupply:
        """The supply with the free-flow street running times of bus lines without their own."""

        routes = self.routes
        seg_times: np.ndarray | None = None
        if self.drive is not None and routes is not None and routes.lines:
            assert self.bus_free_flow is not None  # set with the drive network
            seg_times = segment_times(
                routes,
                self.drive,
                self.free_time_s,
                bus_free_flow=self.bus_free_flow,
                v_max_mps=self.v_max,
            )
        lines = []
        for line in supply.lines:
            if routes is not None and line.id in routes.lines and line.running_times_s is None:
                assert seg_times is not None  # routes with lines need the drive network
                segs = routes.segments_of(routes.lines.index(line.id))
                times = seg_times[segs]
                fallback = routes.seg_length_m[segs] / (line.speed / 3.6)
                self.dynamic[line.id] = segs
                lines.append(
                    line.replace(running_times_s=tuple(np.where(np.isnan(times), fallback, times)))
                )
            else:
                lines.append(line)
        return supply.replace_lines(lines)

    def _build_graph(self, supply: TransitSupply) -> TransitGraph:
        from ..transit import build_transit_graph

        params = self.params
        period = None
        if any(not isinstance(ln.headway_s, float) for ln in supply.lines):
            period = self.model.period
        gp = GraphParameters(
            **{name: getattr(params, name) for name in _GRAPH_PARAMETERS},
            boarding_penalty_s=60.0 * params.boarding_penalty_min,
            transfer_penalty_s=60.0 * params.transfer_penalty_min,
        )
        zones = self.model.zones[["zone", "lon", "lat"]]
        graph = build_transit_graph(
            supply,
            zones=zones,
            walk_network=self.model.walk,
            drive_network=None,
            period=period,
            params=gp,
            hail_polylines=self._hail_polylines(supply),
        )
        for key, value in graph.info.get("repairs", {}).items():
            self.notes.append(f"transit graph: {key}: {value}")
        return _drop_links(graph, graph.kind != WALK_ONLY)

    def _hail_polylines(self, supply: TransitSupply) -> dict[str, list[np.ndarray | None]]:
        """Street path (lon/lat) of each segment of the routed hail-and-ride lines, along
        which their boarding points lie (none off a lon/lat drive network: straight lines)."""
        routes, drive = self.routes, self.drive
        hail = [ln.id for ln in supply.lines if ln.hail_and_ride]
        if not hail or routes is None or drive is None or "4326" not in str(drive.crs):
            return {}
        geometry = segment_geometry(routes, drive)
        return {
            lid: [geometry[int(k)] for k in routes.segments_of(routes.lines.index(lid))]
            for lid in hail
            if lid in routes.lines
        }

    def _generalised_cost(self, graph: TransitGraph) -> np.ndarray:
        """Link costs (s) with the extra walk weight and the boarding fares in time."""
        params = self.params
        cost = graph.cost_s.copy()
        walking = np.isin(graph.kind, (ACCESS, EGRESS, WALK_TRANSFER))
        cost[walking] += (params.walk_weight - 1.0) * graph.walk_s[walking]
        fare_of = self.model.line_fares
        fares = np.array([float(fare_of.get(lid, 0.0)) for lid in graph.line_ids], dtype=float)
        fares = np.where(np.isnan(fares), 0.0, fares)
        board = graph.kind == BOARD
        cost[board] += fares[graph.line[board]] / (params.value_of_time_per_h / 3600.0)
        return cost


def _threads_side_by_side() -> bool:
    """Whether numba's threading layer runs parallel kernels from two threads at once
    (OpenMP and TBB do; the workqueue layer, numba's fallback, does not)."""
    import numba

    try:
        from numba.np.ufunc import parallel

        parallel._launch_threads()  # chooses the layer (as the first parallel kernel would)
        return numba.threading_layer() in ("omp", "tbb")
    except Exception:  # pragma: no cover - numba internals moved: stay on one thread
        return False


def _no_supply() -> TransitSupply:
    stops = pd.DataFrame(
        {
            "name": pd.Series(dtype=str),
            "lon": pd.Series(dtype=float),
            "lat": pd.Series(dtype=float),
        },
        index=pd.Index([], name="stop_id", dtype=str),
    )
    return TransitSupply(stops=stops, lines=())


def _hail_pieces(
    graph: TransitGraph, supply: TransitSupply, ride_links: Mapping[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each hail-and-ride line, how its ride links (between boarding points) split its
    stop-to-stop segments: :func:`~transitopt.transit.hail_and_ride.line_pieces`."""
    return {
        ln.id: line_pieces(graph, ln)
        for ln in supply.lines
        if ln.hail_and_ride and ln.id in ride_links
    }


def _road_type_pce(
    drive: Network, params: MultimodalParameters
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Motorcycle and bus PCE per link by road type (``params.pce_by_road_type`` and a
    shipped profile of ``drive`` with a ``[pce]`` table), else ``None`` for one PCE."""
    from ..network.imputation import available_profiles, load_profile
    from ..network.pce import link_pce

    name = drive.info.get("profile") if isinstance(drive.info, dict) else None
    if not params.pce_by_road_type or name not in available_profiles():
        return None, None
    profile = load_profile(str(name))
    return (
        link_pce(drive, "motorcycle", profile=profile, default=params.motorcycle_pcu),
        link_pce(drive, "bus", profile=profile, default=params.bus_pcu),
    )


def _edge_flag(drive: Network, column: str) -> np.ndarray:
    """A boolean edge column of ``drive.edges`` (all False when absent)."""
    if column in drive.edges.columns:
        return drive.edges[column].to_numpy(bool)
    return np.zeros(drive.n_edges, dtype=bool)


# ---------------------------------------------------------------------------- per iteration
def _transit_graph_at(setup: _Setup, link_time_s: np.ndarray | None) -> TransitGraph:
    """The transit graph with bus running times at car link times ``link_time_s``
    (only called when transit is modelled)."""

    graph = setup.graph
    assert graph is not None  # callers check that transit is modelled
    if not setup.dynamic or link_time_s is None:
        return graph
    # lines with street running times exist only with the drive network and its routes
    routes, drive, free_flow = setup.routes, setup.drive, setup.bus_free_flow
    assert routes is not None and drive is not None and free_flow is not None
    assert setup.supply is not None
    times = segment_times(
        routes, drive, link_time_s, bus_free_flow=free_flow, v_max_mps=setup.v_max
    )
    cost = graph.cost_s.copy()
    ivt = graph.in_vehicle_s.copy()
    lines = {ln.id: ln for ln in setup.supply.lines}
    for lid, segs in setup.dynamic.items():
        links = setup.ride_links[lid]
        t = times[segs]
        t = np.where(np.isnan(t), routes.seg_length_m[segs] / (lines[lid].speed / 3.6), t)
        if lid in setup.pieces:  # hail-and-ride: pieces between boarding points
            segment, share, extra_s = setup.pieces[lid]
            t = t[segment] * share + extra_s
        cost[links] = t
        ivt[links] = t
    return replace(graph, cost_s=cost, in_vehicle_s=ivt)


def _car_skim_of_road(setup: _Setup, road: Any) -> np.ndarray | None:
    """The car skim (s, between the set-up's zone nodes) at the link times of the road
    equilibrium ``road``, from its last all-or-nothing search, or ``None`` where that is
    not the skim: the search ran at the final flows (``road.zone_cost_s``, link-based
    algorithms, one class) on costs ``road.cost_s``, which are the car skim's where they
    equal the link times (no toll or distance cost) and the links open to its searches
    are the skim's; every zone pair must have been settled (car demand on it)."""
    if road is None or road.zone_cost_s is None or road.network is not setup.drive:
        return None
    open_links = ~road.closed
    if not np.array_equal(open_links, setup.car_open):
        return None
    if not np.array_equal(road.cost_s[open_links], road.time_s[open_links]):
        return None
    zones = setup.drive.node_id[setup.nodes]
    cost = road.zone_cost_s.reindex(index=zones, columns=zones).to_numpy(copy=True)
    np.fill_diagonal(cost, 0.0)
    if np.isnan(cost).any():
        return None
    return cost


def _car_skim(
    setup: _Setup, link_time_s: np.ndarray, keep_trees: bool
) -> tuple[np.ndarray, KeptTrees | None]:
    """The car skim (s) between the set-up's zone nodes at link times ``link_time_s``,
    searched on the core graph, and with ``keep_trees`` its search trees (large
    networks: :data:`._aon.KEEP_TREES_WORK`; else ``None``) for the road equilibrium's
    start."""
    return setup.car_core.skim_keeping(link_time_s, keep_trees)


def _skims(
    setup: _Setup,
    link_time_s: np.ndarray | None,
    transit_demand: np.ndarray | None = None,
    *,
    car_zone_s: np.ndarray | None = None,
    capacity_start: Any = None,
    max_sweeps: int = 0,
) -> tuple[dict[str, np.ndarray], Any, Any]:
    """Skims at link times ``link_time_s``, the transit assignment and, with line
    capacities, the capacity-constrained assignment it came from (else ``None``);
    ``capacity_start``, the last one, is its ``start`` and ``max_sweeps`` its limit
    (:func:`_transit_run`).

    ``car_zone_s``: the car skim between the zone nodes at ``link_time_s`` where the road
    equilibrium that set them has it (:func:`_car_skim_of_road`); else it is searched.

    With line capacities ``transit_gc_min`` (from the strategy cost ``total_s``) holds
    the crowding-weighted in-vehicle time and the effective waits, so crowding enters
    the mode choice; ``transit_crowding_s`` is the crowding part of it (s).
    """
    params = setup.params
    out: dict[str, np.ndarray] = {}
    if setup.drive is not None:
        assert link_time_s is not None  # the loop keeps link times with a drive network
        if car_zone_s is None:
            car_zone_s, _ = _car_skim(setup, link_time_s, keep_trees=False)
        drive_s = car_zone_s[np.ix_(setup.inv, setup.inv)]
    else:
        drive_s = setup.static_car_s
    car_s = (
        drive_s
        + setup.car_access_s[:, None]
        + setup.car_access_s[None, :]
        + 60.0 * params.car_terminal_min
    )
    np.fill_diagonal(car_s, 0.0)
    out["car_time_s"] = car_s
    money = params.car_cost_per_km * setup.car_dist_m / 1000.0 + params.parking_cost
    out["car_gc_min"] = car_s / 60.0 + money / setup.vot_per_min
    out["walk_time_s"] = setup.walk_time_s
    out["walk_gc_min"] = setup.walk_time_s / 60.0
    if setup.motorcycles:
        out.update(_motorcycle_skims(setup, link_time_s))
    if setup.graph is None:
        for name in _TRANSIT_SKIMS:
            out[name] = np.full((setup.z, setup.z), np.inf)
        return out, None, None
    assignment, capacity = _transit_run(
        setup, link_time_s, transit_demand, start=capacity_start, max_sweeps=max_sweeps
    )
    total = assignment.skim("total_s")
    wait = assignment.skim("wait_s") / params.wait_weight
    ivt = assignment.skim("in_vehicle_s")
    walk = assignment.skim("walk_s")
    boardings = assignment.skim("boardings")
    out["transit_gc_min"] = total / 60.0 + params.trip_fare / setup.vot_per_min
    out["transit_generalised_s"] = generalised_time_s(ivt, walk, wait, boardings, params)
    out["transit_time_s"] = ivt + walk + wait
    out["transit_wait_s"] = wait
    out["transit_ivt_s"] = ivt
    out["transit_walk_s"] = walk
    out["transit_boardings"] = boardings
    if capacity is not None and capacity.crowding_skim_s is not None:
        out["transit_crowding_s"] = capacity.crowding_skim_s
    return out, assignment, capacity


def _motorcycle_skims(setup: _Setup, link_time_s: np.ndarray | None) -> dict[str, np.ndarray]:
    """Motorcycle and ojek door-to-door times (s) and generalised costs (min) at link times
    ``link_time_s`` over the links open to motorcycles."""
    params = setup.params
    if setup.drive is not None:
        assert link_time_s is not None  # the loop keeps link times with a drive network
        ride_s = setup.motorcycle_core.skim(link_time_s)[np.ix_(setup.inv, setup.inv)]
    else:
        ride_s = setup.static_car_s
    door_s = ride_s + setup.car_access_s[:, None] + setup.car_access_s[None, :]
    km = setup.motorcycle_dist_m / 1000.0
    out: dict[str, np.ndarray] = {}
    if "motorcycle" in setup.modes:
        time_s = door_s + 60.0 * params.motorcycle_terminal_min
        np.fill_diagonal(time_s, 0.0)
        money = params.motorcycle_cost_per_km * km + params.motorcycle_parking_cost
        out["motorcycle_time_s"] = time_s
        out["motorcycle_gc_min"] = time_s / 60.0 + money / setup.vot_per_min
    if "ojek" in setup.modes:
        wait_s = 60.0 * params.ojek_wait_min
        time_s = door_s + wait_s
        np.fill_diagonal(time_s, 0.0)
        fare = ojek_fare(km, params)
        out["ojek_time_s"] = time_s
        out["ojek_fare"] = fare
        out["ojek_gc_min"] = (
            door_s + params.wait_weight * wait_s
        ) / 60.0 + fare / setup.vot_per_min
        np.fill_diagonal(out["ojek_gc_min"], 0.0)
    return out


def ojek_fare(km: np.ndarray, params: MultimodalParameters) -> np.ndarray:
    """Ojek fare (currency) of a ride of ``km`` kilometres:
    ``max(ojek_min_fare, ojek_flag_fall + ojek_fare_per_km · km)``."""
    return np.maximum(params.ojek_min_fare, params.ojek_flag_fall + params.ojek_fare_per_km * km)


def generalised_time_s(
    ivt_s: np.ndarray,
    walk_s: np.ndarray,
    wait_s: np.ndarray,
    boardings: np.ndarray,
    params: MultimodalParameters,
) -> np.ndarray:
    """Generalised time (s) of transit strategies: the cost route choice minimises, money left out.

    ``ivt + walk_weight·walk + wait_weight·wait + boarding_penalty·B + transfer_penalty·(B − 1)``
    for ``B ≥ 1`` expected boardings (every boarding after the first is a transfer; a
    walk-only strategy has ``B = 0`` and no penalty). Times unweighted, in seconds.
    """
    b = np.asarray(boardings, dtype=float)
    b = np.where(np.isfinite(b), b, 0.0)  # no path: the times are inf already
    penalty = 60.0 * (
        params.boarding_penalty_min * b + params.transfer_penalty_min * np.maximum(b - 1.0, 0.0)
    )
    return ivt_s + params.walk_weight * walk_s + params.wait_weight * wait_s + penalty


def _fastest_transit_s(setup: _Setup, graph: TransitGraph) -> np.ndarray:
    """Expected door-to-door time (s) of the fastest strategies: optimal strategies on
    unweighted time (in-vehicle + walk, waits at half the combined headway, no penalties
    or fares), at the same running times and headways as ``graph``."""
    from ..transit import assign_transit

    timed = replace(graph, cost_s=graph.in_vehicle_s + graph.walk_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastest = assign_transit(
            timed, np.zeros((setup.z, setup.z)), wait_factor=WAIT_FACTOR, skims=True
        )
    return fastest.skim("total_s")


def _transit_assignment(
    setup: _Setup,
    link_time_s: np.ndarray | None,
    transit_demand: np.ndarray | None,
    *,
    skims: bool = True,
) -> Any:
    return _transit_run(setup, link_time_s, transit_demand, skims=skims)[0]


def _transit_run(
    setup: _Setup,
    link_time_s: np.ndarray | None,
    transit_demand: np.ndarray | None,
    *,
    skims: bool = True,
    start: Any = None,
    max_sweeps: int = 0,
) -> tuple[Any, Any]:
    """The transit assignment and, with line capacities, the capacity-constrained
    assignment (:class:`~transitopt.transit.CapacityAssignment`) it is part of, by sweeps
    from ``start`` (the previous feedback iteration's, where it kept its flows: the
    transit graph keeps its links from one iteration to the next, only its costs and the
    demand change), at most ``max_sweeps`` sweeps from a warm start where that is
    positive."""
    from ..transit import assign_transit, assign_transit_capacity

    graph = _transit_graph_at(setup, link_time_s if setup.drive is not None else None)
    demand = np.zeros((setup.z, setup.z)) if transit_demand is None else transit_demand
    capacity = setup.params.transit_capacity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if capacity is not None:
            warm = start if start is not None and start.sweeps_state is not None else None
            if warm is not None and max_sweeps > 0:
                capacity = replace(capacity, max_iter=min(capacity.max_iter, max_sweeps))
            result = assign_transit_capacity(
                graph, demand, params=capacity, wait_factor=setup.wait_factor, skims=skims,
                start=warm,
            )  # fmt: skip
            return result.assignment, result
        return assign_transit(graph, demand, wait_factor=setup.wait_factor, skims=skims), None


def vehicle_demand(
    demand: Mapping[str, np.ndarray], params: MultimodalParameters
) -> dict[str, np.ndarray]:
    """Vehicles/h by vehicle class from person trips/h by mode (zone matrices).

    ``car``: car trips / ``car_occupancy``; ``motorcycle``: motorcycle trips /
    ``motorcycle_occupancy``; ``ojek``: one motorcycle per ojek trip (the empty run to
    the pick-up is not modelled). Classes of modes the demand lacks are left out.
    """
    out = {"car": demand["car"] / params.car_occupancy}
    if "motorcycle" in demand:
        out["motorcycle"] = demand["motorcycle"] / params.motorcycle_occupancy
    if "ojek" in demand:
        out["ojek"] = np.array(demand["ojek"], dtype=float)
    return out


def _road(
    setup: _Setup,
    drive: Network,
    demand: Mapping[str, np.ndarray],
    start_trees: KeptTrees | None = None,
) -> tuple[Any, np.ndarray, list[str]]:
    """Road equilibrium of the vehicles of ``demand`` (persons/h by mode → veh/h by class)
    on ``drive`` (the set-up's drive network): result, link times, warnings.

    ``start_trees``: the car skim's search trees at the current link times (cars alone,
    link-based algorithms): the equilibrium starts from the loading of its demand on
    them instead of a search at zero flow (:class:`UserEquilibrium`'s ``start_trees``),
    and keeps the trees of its last search for the next one (``result.kept_trees``).

    Cars alone: one class, as before motorcycles existed. With motorcycle modes:
    vehicle classes (:class:`~transitopt.assignment.classes.VehicleClass`) car (PCE 1,
    links closed to cars), motorcycle and ojek (PCE ``motorcycle_pcu``, links closed to
    motorcycles), at equilibrium in PCU with the buses' preload.
    """
    from ..demand.od import ODMatrix
    from .classes import VehicleClass
    from .equilibrium import UserEquilibrium

    params = setup.params
    zones = drive.node_id[setup.nodes]
    matrices = {}
    for name, veh in vehicle_demand(demand, params).items():
        matrix = np.zeros((setup.nodes.size, setup.nodes.size))
        np.add.at(matrix, (setup.inv[:, None], setup.inv[None, :]), veh)
        np.fill_diagonal(matrix, 0.0)
        matrices[name] = matrix
    external = setup.model.external
    if external is not None:
        car_open, moto_open = setup.car_open, setup.motorcycle_open
        external = external.routable(
            drive,
            {"car": car_open, "motorcycle": moto_open if setup.motorcycles else car_open},
            zones[setup.inv],
        )
        zones, extra = external.vehicle_od(zones, zones[setup.inv], list(matrices))
        n = setup.nodes.size
        for name, matrix in extra.items():
            matrix[:n, :n] += matrices[name]
            matrices[name] = matrix
    if sum(m.sum() for m in matrices.values()) <= 0:
        return None, setup.free_time_s.copy(), []
    a = params.road
    options: dict[str, Any] = {}
    if setup.motorcycles:
        pce = {"car": 1.0, "motorcycle": params.motorcycle_pcu, "ojek": params.motorcycle_pcu}
        closed_to = {
            "car": setup.closed_car,
            "motorcycle": setup.closed_motorcycle,
            "ojek": setup.closed_motorcycle,
        }
        options["classes"] = [
            VehicleClass(
                name,
                ODMatrix(zones=zones, matrix=matrix),
                pce=pce[name],
                closed=closed_to[name],
                link_pce=None if name == "car" else setup.motorcycle_pce,
            )
            for name, matrix in matrices.items()
        ]
    else:
        options["demand"] = ODMatrix(zones=zones, matrix=matrices["car"])
        options["keep_trees"] = _road_starts_from_trees(setup)
        options["start_trees"] = start_trees
    closed = setup.closed if setup.motorcycles else setup.closed | setup.closed_car
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = UserEquilibrium(
            drive,
            algorithm=a.algorithm,
            gap=a.gap,
            max_iter=a.max_iter,
            preload=setup.preload,
            closed=closed,
            keep_zone_costs=True,  # the next car skim (_car_skim_of_road)
            **options,
        ).run()
    messages = [str(w.message) for w in caught if not issubclass(w.category, ConvergenceWarning)]
    time_s = np.where(setup.road_open, result.time_s, np.inf)
    return result, time_s, messages


def _road_starts_from_trees(setup: _Setup) -> bool:
    """Whether the road equilibrium can start from the car skim's trees: cars alone (one
    class) and a link-based algorithm (``algb`` builds bushes instead)."""
    return (
        setup.drive is not None and not setup.motorcycles and setup.params.road.algorithm != "algb"
    )


# ---------------------------------------------------------------------------- the loop
class _Loop:
    """The state of one run of the feedback loop."""

    def __init__(self, setup: _Setup) -> None:
        self.setup = setup
        self.timings = {"setup_s": setup.setup_s, "skims_s": 0.0, "choice_s": 0.0, "road_s": 0.0}
        self.link_time: np.ndarray | None = (
            setup.free_time_s.copy() if setup.drive is not None else None
        )
        self.demand: dict[str, np.ndarray] | None = None
        self.probs: dict[str, np.ndarray] = {}
        self.road_result = None
        #: the car skim at ``link_time`` where the road equilibrium that set it has it
        self.car_zone_s: np.ndarray | None = None
        #: the search trees of that skim (the next road equilibrium starts from them)
        self.car_trees: KeptTrees | None = None
        self.road_warnings: list[str] = []
        #: the last capacity-constrained transit assignment (the next one starts from it)
        self.capacity: Any = None
        self.history: list[dict] = []
        #: with line capacities, each iteration's per-line crowding counts
        self.line_log: list[pd.DataFrame] = []
        self.stop_reason = "max_iter"

    def iterate(self, k: int) -> dict[str, float]:
        """Iteration ``k``: skims, choice, averaging, road; returns its log row."""
        setup = self.setup
        started = time.perf_counter()
        # with line capacities the transit skims depend on the transit demand (crowding,
        # effective frequencies): the averaged demand so far; without them they do not
        crowded_by = (
            self.demand["transit"]
            if setup.params.transit_capacity is not None and self.demand is not None
            else None
        )
        if self.car_zone_s is None and _road_starts_from_trees(setup):
            # the car skim searched here, its trees kept for the road equilibrium's start
            assert self.link_time is not None  # kept with a drive network
            self.car_zone_s, self.car_trees = _car_skim(setup, self.link_time, keep_trees=True)
        skims, _, self.capacity = _skims(
            setup, self.link_time, crowded_by, car_zone_s=self.car_zone_s,
            capacity_start=self.capacity, max_sweeps=setup.params.feedback.transit_sweeps,
        )  # fmt: skip
        t1 = time.perf_counter()
        self.probs, _ = logit_choice(
            skims, setup.walk_m, setup.params.mode_choice, offsets=setup.model.mode_offsets
        )
        gap = self._average(k, {m: setup.total * self.probs[m] for m in setup.modes})
        t2 = time.perf_counter()
        change, road_gap, road_iter = self._road_step()
        t3 = time.perf_counter()
        self.timings["skims_s"] += t1 - started
        self.timings["choice_s"] += t2 - t1
        self.timings["road_s"] += t3 - t2
        demand = self.averaged
        served = sum(demand[m].sum() for m in setup.modes)
        row = {
            "iteration": k,
            "mode_gap": gap,
            "link_time_change": change,
            **{
                f"share_{m}": float(demand[m].sum() / served) if served > 0 else np.nan
                for m in setup.modes
            },
            "road_gap": float(road_gap),
            "road_iterations": float(road_iter),
            **self._transit_columns(k, skims, crowded_by),
            "seconds": t3 - started,
        }
        self.history.append(row)
        return row

    def _transit_columns(
        self, k: int, skims: dict[str, np.ndarray], assigned: np.ndarray | None
    ) -> dict[str, float]:
        """With line capacities, :data:`TRANSIT_LOG_COLUMNS` of iteration ``k``'s
        capacity-constrained transit assignment of the transit demand ``assigned``: its
        relative gap (every step rule confirms the last iteration's), its iterations
        (sweeps), its crowding counts and the trip-weighted averages of its ``skims``
        (their scatter over the last iterations is their noise band in comparisons,
        :func:`transitopt.scenario.explain.noise_floor`); each line's crowding is kept in
        ``line_log``. Without capacities nothing."""
        if self.setup.params.transit_capacity is None:
            return {}
        capacity = self.capacity
        if capacity is None:
            return dict.fromkeys(TRANSIT_LOG_COLUMNS, np.nan)
        lines = capacity.line_crowding()
        logged = lines.reset_index()
        logged.insert(0, "iteration", k)
        self.line_log.append(logged)
        # the first iteration assigns no demand yet: no averages
        averages = transit_averages(assigned, skims) if assigned is not None else {}
        return {
            **dict.fromkeys(TRANSIT_LOG_COLUMNS, np.nan),
            "transit_gap": float(capacity.history["relative_gap"].iloc[-1]),
            "transit_iterations": float(len(capacity.history)),
            "transit_denied": float(capacity.history["denied_boardings"].iloc[-1]),
            "transit_standing_h": float(lines["standing_h"].sum()),
            "transit_max_load_ratio": float(lines["peak_load_factor"].max()),
            "transit_lines_over_capacity": float(np.sum(lines["peak_load_factor"] > 1.0)),
            **{f"transit_{name}": value for name, value in averages.items()},
        }

    @property
    def averaged(self) -> dict[str, np.ndarray]:
        """The demand by mode averaged so far (set by the first iteration)."""
        if self.demand is None:
            raise RuntimeError("the feedback loop has not run an iteration yet")
        return self.demand

    def _average(self, k: int, response: dict[str, np.ndarray]) -> float:
        """MSA step on the demand by mode; returns the mode gap before it (NaN at first)."""
        if self.demand is None:
            self.demand = response
            return float("nan")
        demand = self.demand
        total = self.setup.total.sum()
        modes = self.setup.modes
        diff = sum(np.abs(response[m] - demand[m]).sum() for m in modes)
        gap = float(diff / (2.0 * total)) if total > 0 else 0.0
        self.demand = {m: demand[m] + (response[m] - demand[m]) / k for m in modes}
        return gap

    def _road_step(self) -> tuple[float, float, float]:
        """Road equilibrium of the car demand: (link time change, road gap, road iterations)."""
        drive, link_time = self.setup.drive, self.link_time
        if drive is None:
            return 0.0, np.nan, np.nan
        assert link_time is not None  # kept with a drive network
        self.road_result, new_time, self.road_warnings = _road(
            self.setup, drive, self.averaged, self.car_trees
        )
        result = self.road_result
        flow = result.flow if result is not None else np.zeros_like(new_time)
        both = np.isfinite(new_time) & np.isfinite(link_time)
        weight = np.sum(flow[both] * link_time[both])
        change = (
            float(np.sum(flow[both] * np.abs(new_time[both] - link_time[both])) / weight)
            if weight > 0
            else 0.0
        )
        self.link_time = new_time
        self.car_zone_s = _car_skim_of_road(self.setup, result)
        self.car_trees = (
            result.kept_trees if result is not None and self.car_zone_s is not None else None
        )
        if result is None:
            return change, np.nan, np.nan
        return change, result.relative_gap, result.iterations

    def _run_notes(self, name: str) -> list[str]:
        """Notes on convergence (and the warning when it was not reached)."""
        setup, notes = self.setup, list(self.setup.notes)
        fb = setup.params.feedback
        if self.stop_reason != "tolerance":
            last = self.history[-1]
            why = "was cancelled" if self.stop_reason == "cancelled" else "stopped"
            prefix = f"{name}: " if name else ""
            message = (
                f"{prefix}the feedback loop {why} after {last['iteration']} iterations "
                f"with mode gap {last['mode_gap']:.3g} and link time change {last['link_time_change']:.3g} "
                f"(tolerance {fb.tolerance:g}); the results are not at equilibrium"
            )
            notes.append(message)
            warnings.warn(message, ConvergenceWarning, stacklevel=4)
        road = self.road_result
        if road is not None and not road.converged:
            notes.append(
                f"the last road equilibrium stopped at relative gap {road.relative_gap:.3g} "
                f"(target {setup.params.road.gap:g})"
            )
        return notes + sorted(set(self.road_warnings))

    def finish(self, name: str) -> MultimodalResult:
        """Final skims at the final link times, the transit loads of the final demand."""
        setup = self.setup
        notes = self._run_notes(name)
        demand = self.averaged
        started = time.perf_counter()
        transit_demand = np.where(np.isfinite(demand["transit"]), demand["transit"], 0.0)
        skims, assignment, capacity = _skims(
            setup,
            self.link_time,
            transit_demand if setup.graph is not None else None,
            car_zone_s=self.car_zone_s,
            capacity_start=self.capacity,
        )
        if capacity is not None and capacity.sweeps_state is not None:
            # the per-destination flows were the next iteration's start: not kept in
            # the result (destinations x links floats)
            capacity = replace(capacity, sweeps_state=None)
        _, logsum = logit_choice(
            skims, setup.walk_m, setup.params.mode_choice, offsets=setup.model.mode_offsets
        )
        if assignment is not None:
            skims["transit_fastest_s"] = _fastest_transit_s(setup, assignment.graph)
        else:
            skims["transit_fastest_s"] = np.full((setup.z, setup.z), np.inf)
        self.timings["final_s"] = time.perf_counter() - started
        served_any = sum(self.probs[m] for m in setup.modes) > 0
        return MultimodalResult(
            demand=demand,
            unserved=np.where(served_any, 0.0, setup.total),
            intrazonal=setup.intrazonal,
            skims=skims,
            logsum=logsum,
            road=self.road_result,
            link_time_s=self.link_time,
            bus_vph=setup.bus_vph,
            preload=setup.preload,
            bus_free_flow=setup.bus_free_flow,
            transit=assignment,
            transit_capacity=capacity,
            line_one_way_s=_one_way_times(setup, assignment),
            history=tuple(self.history),
            line_crowding_log=(
                pd.concat(self.line_log, ignore_index=True) if self.line_log else None
            ),
            converged=self.stop_reason == "tolerance",
            stop_reason=self.stop_reason,
            notes=tuple(notes),
            timings=MappingProxyType(dict(self.timings)),
        )


def _one_way_times(setup: _Setup, assignment: Any) -> dict[str, float]:
    """Running plus dwell time (s) per line of the final transit graph."""
    if assignment is None:
        return {}
    g = assignment.graph
    assert setup.supply is not None  # a transit assignment needs lines
    lines = {ln.id: ln for ln in setup.supply.lines}
    out = {}
    for lid, links in setup.ride_links.items():
        n = links.size
        dwells = 0 if lid in setup.pieces else max(n - 1, 0)  # hail: dwell in the ride pieces
        out[lid] = float(g.in_vehicle_s[links].sum()) + dwells * lines[lid].dwell
    return out


def _drop_links(graph: TransitGraph, keep: np.ndarray) -> TransitGraph:
    """The graph without the links where ``keep`` is False (reverse CSR rebuilt)."""
    if keep.all():
        return graph

    def kept(link_values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(link_values[keep])

    head = kept(graph.head)
    n = graph.n_nodes
    in_links = np.argsort(head, kind="stable").astype(np.int64)
    in_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head, minlength=n), out=in_indptr[1:])
    return replace(
        graph,
        tail=kept(graph.tail),
        head=head,
        cost_s=kept(graph.cost_s),
        freq_hz=kept(graph.freq_hz),
        kind=kept(graph.kind),
        line=kept(graph.line),
        stop=kept(graph.stop),
        in_vehicle_s=kept(graph.in_vehicle_s),
        walk_s=kept(graph.walk_s),
        in_links=in_links,
        in_indptr=in_indptr,
    )
