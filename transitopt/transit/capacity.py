"""Capacity-constrained transit assignment with crowding (effective frequencies + MSA).

Method: Cepeda, Cominetti & Florian (2006), "A frequency-based assignment model for
congested transit networks with strict capacity constraints: characterization and
computation of equilibria", Transportation Research B 40(6) 437-459. The frequency a
rider sees on a boarding link ``a`` (line ``l`` at a stop) falls as its boardings ``v_a``
fill the room the riders already on board leave::

    room_a = K_l - through_a,    f_a(v) = mu_a (1 - (v_a / room_a) ** beta)

with ``mu_a`` the nominal frequency (1/s), ``K_l`` the places the line offers over the
period (vehicle capacity x period / headway) and ``through_a`` the riders staying on
board through the stop (trips per period). ``beta -> inf`` is the strict-capacity model;
``f_a`` is kept at least ``min_frequency_share * mu_a``. A longer effective wait is how
the model says that riders cannot board the first vehicle: boardings above the room
(only possible for riders with no other line) are reported as *denied boardings*.

Crowding: the in-vehicle time of a ride or dwell link is multiplied by the mean
crowding multiplier of its riders (:func:`crowding_multiplier`, Wardman & Whelan 2011),
so crowded lines lose riders to others in route choice, and the skims (``total_s``)
carry it into mode choice.

Algorithm: the method of successive averages on the link flows (the algorithm of
Cepeda et al., section 4): all-or-nothing optimal strategies at the effective
frequencies and crowded costs of the averaged flows, averaged with step ``1 / (k + 1)``
(``step_rule = "msa"``) or by self-regulated averaging (``"sra"``, Liu, He & He
2009: the step shrinks slowly while the gap falls, fast when it does not),
or by a line search (``"line_search"``): the step ``s`` at which the averaged flows
``v`` and the all-or-nothing response ``y`` cost the same at the state their mix
``v + s (y - v)`` produces, each flow's cost being its gap-function experienced cost
(in-vehicle and walking ``sum_a c_a x_a`` plus the wait term of its per-destination
flows), found by bisection; 1 where the response stays cheaper. With separable link
costs and no waiting this is Frank-Wolfe's exact line search (``<c(v + s (y - v)), y -
v> = 0``, Frank & Wolfe 1956 as used for road equilibrium by LeBlanc, Morlok &
Pierskalla 1975). It takes few iterations on small and moderately crowded networks
(Coquimbo: 6 to a 1 % gap, MSA 19) but oscillates where a few nearly-full lines decide
the gap (Transjakarta: no better than MSA; ``docs/model.md``). Or by strategy columns
(``"columns"``, :mod:`.capacity_columns`: each destination's flow a re-balanced mix of the
strategies found so far, loaded at the current effective frequencies; few iterations on
the small cases, not better than MSA on Transjakarta), or by node shifts (``"stops"``,
:mod:`.capacity_stops`: MSA on each destination's own link flows, then each
destination's split at every node moved part of the way to its best local choice, at a
stop the common-lines split at the current effective frequencies; fewer iterations than
MSA on Transjakarta and Coquimbo, each dearer), or by block Gauss-Seidel sweeps over
the destinations (``"sweeps"``, :mod:`.capacity_sweeps`: each destination in turn takes
its own equal-cost step towards its optimal strategy at the state the destinations
before it left, then extra visits to the destinations with the largest gaps; far fewer
iterations than MSA on the hand-solved cases and Coquimbo, 1 % on Transjakarta in 4-6
sweeps where MSA and node shifts do not reach it in 100 iterations; ``docs/model.md``).
The first flows are the unconstrained assignment's (by sweeps, or an earlier run's:
``start``). The default, ``"auto"``, runs the
sweeps where their per-destination flows on every link fit in ``sweeps_memory_mb``, else
MSA (:func:`resolve_step_rule`); ``info["method"]`` names the rule that ran.

Convergence criterion: Cepeda et al.'s gap function (their section 3),

    G(v) = sum_a c_a(v) v_a + alpha sum_d sum_i max_a v_a^d / f_a(v) - sum_od g_od tau_od(v)

with ``v^d`` the averaged flows towards destination ``d`` (kept on the boarding links,
destinations x boarding links floats), ``alpha`` the wait factor and ``tau_od(v)`` the
optimal strategy's expected cost at the current effective frequencies and crowded costs:
the total cost the averaged flows experience minus the least they could, 0 exactly at an
equilibrium (flows on attractive lines at most their effective-frequency share) and
positive otherwise. The run stops at the first iteration whose *relative gap*
``G(v) / sum g tau`` is at most ``tolerance``; the history records it with the gap (s),
its waiting part (the averaged flows' wait term minus the optimal strategies' expected
wait, ``sum g tau - sum_a c_a y_a`` with ``y`` the all-or-nothing response; the rest is
in-vehicle and walking cost), the flow gap ``sum_a |y_a - v_a| / sum_a v_a`` between
``y`` and ``v`` over the line links, the step, the largest boardings / room ratio and load
factor, and the denied boardings; by strategy columns also the restricted passes after the
search, their restricted relative gap (a lower bound of the next row's relative gap) and
the columns kept (the step is then NaN); by node shifts the local gap before the last
pass (``local_gap_s``, :func:`.capacity_stops.shift_nodes`); by sweeps the sweep's gap
estimate (``sweep_gap_estimate``, an estimate, not the gap) and the mean step, with the
relative gap and its parts NaN on sweeps that no full search confirmed.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..defaults import section
from ..kernels import transit as kernels
from ..kernels._config import sized
from .assign import SKIM_NAMES, TransitAssignment, _demand_matrix
from .capacity_columns import StrategyColumns, rebalance
from .capacity_stops import NodeShifts, shift_nodes
from .capacity_sweeps import STALL_DROP, SweepsState, solve_by_sweeps
from .defaults import WAIT_FACTOR
from .graph import ALIGHT, BOARD, DWELL, RIDE, TransitGraph

_DEFAULTS = section("transit_capacity")

#: columns of :attr:`CapacityAssignment.history`
HISTORY_COLUMNS = (
    "iteration",
    "relative_gap",
    "gap_s",
    "wait_gap_s",
    "flow_gap",
    "step",
    "max_board_room_ratio",
    "denied_boardings",
    "max_load_factor",
    "cpu_s",
    "restricted_passes",
    "restricted_gap",
    "columns",
    "local_gap_s",
    "sweep_gap_estimate",
)


@dataclass(frozen=True)
class CapacityParameters:
    """Parameters of :func:`assign_transit_capacity` (defaults and sources:
    ``data/defaults.toml``, section ``transit_capacity``).

    Attributes
    ----------
    beta : float
        Effective-frequency exponent (> 0); larger is closer to a strict capacity.
    min_frequency_share : float
        Floor of the effective frequency as a share of the nominal one, in (0, 1].
    max_iter : int
        Most iterations (sweeps for ``"sweeps"``).
    tolerance : float
        Stop when the relative gap (module docstring) is at or below this.
    period_h : float
        Hours over which the demand is spread: a line offers ``capacity x period /
        headway`` places (the demand is trips per period).
    step_rule : str
        ``"auto"`` (the default: ``"sweeps"`` where their memory fits in
        ``sweeps_memory_mb``, else ``"msa"``), ``"msa"``, ``"sra"``, ``"line_search"``,
        ``"columns"``, ``"stops"`` or ``"sweeps"`` (:data:`STEP_RULES`, module
        docstring).
    sra_slow_growth, sra_fast_growth : float
        Self-regulated averaging: how much ``1 / step`` grows after an iteration that
        lowered the relative gap (< 1) and after one that did not (>= 1).
    columns_shift, columns_max, columns_passes, columns_target
        ``step_rule = "columns"`` (:mod:`.capacity_columns`): gain of the weight shift
        per relative cost difference, most strategies kept per destination, most
        restricted passes between two full searches, and the restricted relative gap at
        which they stop, as a share of the last full relative gap.
    stops_gain, stops_passes
        ``step_rule = "stops"`` (:mod:`.capacity_stops`): share of a node's outflow
        moved to its best local choice per relative cost excess, and node-shift passes
        after each averaging step.
    sweeps_block, sweeps_confirm, sweeps_shift_passes, sweeps_focus, sweeps_stall
        ``step_rule = "sweeps"`` (:mod:`.capacity_sweeps`): destinations searched
        together before their steps, the sweep's gap estimate (as a multiple of
        ``tolerance``) at which a full search confirms the gap, node-shift passes after
        each sweep, extra visits per sweep to the destinations with the largest gaps,
        as a share of the destinations with demand, and the sweeps over which the gap
        estimate must fall by 10 % (else the run stops after a confirming search, with
        the warning; 0: never).
    sweeps_memory_mb : float
        ``step_rule = "auto"`` runs the sweeps where each destination's flows on every
        link (destinations x links float64) fit in this many MB (2,048: 1,000 zones x
        268,000 links), else MSA, which keeps them on the boarding links only. A warm
        start holds the earlier run's flows beside them (the scenario model's feedback
        loop does: twice this).
    crowding : bool
        Weight in-vehicle time by :func:`crowding_multiplier`.
    seated_free_load, seated_full_multiplier, seated_over_multiplier, standing_multiplier
        The crowding curve (see :func:`crowding_multiplier`).
    """

    beta: float = _DEFAULTS["beta"]
    min_frequency_share: float = _DEFAULTS["min_frequency_share"]
    max_iter: int = _DEFAULTS["max_iter"]
    tolerance: float = _DEFAULTS["tolerance"]
    period_h: float = _DEFAULTS["period_h"]
    step_rule: str = _DEFAULTS["step_rule"]
    sra_slow_growth: float = _DEFAULTS["sra_slow_growth"]
    sra_fast_growth: float = _DEFAULTS["sra_fast_growth"]
    columns_shift: float = _DEFAULTS["columns_shift"]
    columns_max: int = _DEFAULTS["columns_max"]
    columns_passes: int = _DEFAULTS["columns_passes"]
    columns_target: float = _DEFAULTS["columns_target"]
    stops_gain: float = _DEFAULTS["stops_gain"]
    stops_passes: int = _DEFAULTS["stops_passes"]
    sweeps_block: int = _DEFAULTS["sweeps_block"]
    sweeps_confirm: float = _DEFAULTS["sweeps_confirm"]
    sweeps_shift_passes: int = _DEFAULTS["sweeps_shift_passes"]
    sweeps_focus: float = _DEFAULTS["sweeps_focus"]
    sweeps_stall: int = _DEFAULTS["sweeps_stall"]
    sweeps_memory_mb: float = _DEFAULTS["sweeps_memory_mb"]
    crowding: bool = _DEFAULTS["crowding"]
    seated_free_load: float = _DEFAULTS["seated_free_load"]
    seated_full_multiplier: float = _DEFAULTS["seated_full_multiplier"]
    seated_over_multiplier: float = _DEFAULTS["seated_over_multiplier"]
    standing_multiplier: float = _DEFAULTS["standing_multiplier"]

    def __post_init__(self) -> None:
        checks = {
            "beta": self.beta > 0,
            "min_frequency_share": 0 < self.min_frequency_share <= 1,
            "max_iter": self.max_iter >= 1,
            "tolerance": self.tolerance >= 0,
            "period_h": self.period_h > 0,
            "step_rule": self.step_rule in STEP_RULES,
            "sra_slow_growth": 0 < self.sra_slow_growth < 1,
            "sra_fast_growth": self.sra_fast_growth >= 1,
            "columns_shift": self.columns_shift > 0,
            "columns_max": self.columns_max >= 1,
            "columns_passes": self.columns_passes >= 1,
            "columns_target": 0 < self.columns_target < 1,
            "stops_gain": self.stops_gain > 0,
            "stops_passes": self.stops_passes >= 1,
            "sweeps_block": self.sweeps_block >= 1,
            "sweeps_confirm": self.sweeps_confirm > 0,
            "sweeps_shift_passes": self.sweeps_shift_passes >= 0,
            "sweeps_focus": self.sweeps_focus >= 0,
            "sweeps_stall": self.sweeps_stall >= 0,
            "sweeps_memory_mb": self.sweeps_memory_mb > 0,
            "seated_free_load": 0 <= self.seated_free_load < 1,
            "seated_full_multiplier": self.seated_full_multiplier >= 1,
            "seated_over_multiplier": self.seated_over_multiplier >= 1,
            "standing_multiplier": self.standing_multiplier >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"CapacityParameters.{name} is out of range: {getattr(self, name)!r}"
                )


def crowding_multiplier(
    load: np.ndarray, seats: np.ndarray, params: CapacityParameters | None = None
) -> np.ndarray:
    """Mean in-vehicle time multiplier of the riders of a link (Wardman & Whelan 2011).

    Parameters
    ----------
    load : array
        Riders on the link (trips per period).
    seats : array
        Seats offered on the link over the period (seats per vehicle x vehicles).

    Riders up to ``seats`` sit; with ``x = load / seats`` a seated rider's multiplier is
    1 up to ``seated_free_load``, then a line to ``seated_full_multiplier`` at ``x = 1``,
    and ``seated_over_multiplier`` above; the riders beyond the seats stand
    (``standing_multiplier``). Returns the mean over riders (1 where the link is empty).
    """
    p = params or CapacityParameters()
    load = np.asarray(load, dtype=np.float64)
    seats = np.broadcast_to(np.asarray(seats, dtype=np.float64), load.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(seats > 0, load / seats, np.inf)
        ramp = 1.0 + (p.seated_full_multiplier - 1.0) * (x - p.seated_free_load) / (
            1.0 - p.seated_free_load
        )
        seated_m = np.where(
            x <= p.seated_free_load, 1.0, np.where(x <= 1.0, ramp, p.seated_over_multiplier)
        )
        seated = np.minimum(load, seats)
        standing = np.maximum(load - seats, 0.0)
        mean = (seated * seated_m + standing * p.standing_multiplier) / load
    return np.where(load > 0, mean, 1.0)


def effective_frequency(
    freq_hz: np.ndarray,
    boardings: np.ndarray,
    room: np.ndarray,
    *,
    beta: float,
    min_share: float,
) -> np.ndarray:
    """``freq_hz * (1 - (boardings / room) ** beta)``, at least ``min_share * freq_hz``
    (Cepeda et al. 2006); ``room <= 0`` gives the floor."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(room > 0, boardings / room, np.inf)
        share = np.where(ratio < 1.0, 1.0 - np.power(np.minimum(ratio, 1.0), beta), 0.0)
    return freq_hz * np.maximum(share, min_share)


@dataclass(frozen=True, eq=False)
class CapacityAssignment:
    """Result of :func:`assign_transit_capacity`.

    Attributes
    ----------
    assignment : TransitAssignment
        The averaged link volumes and the skims at the final effective frequencies and
        crowded costs (``total_s`` and ``wait_s`` include both).
    effective_freq_hz : (m,) float64
        Effective frequency of each link (``inf`` off boarding links).
    link_cost_s : (m,) float64
        Link costs with crowding (s).
    history : DataFrame
        One row per iteration, columns ``HISTORY_COLUMNS``.
    converged : bool
    params : CapacityParameters
    crowding_skim_s : (z, z) float64 or None
        Per OD pair, the expected crowding surcharge of the chosen strategy (s): the
        in-vehicle time times (crowding multiplier - 1), summed over its rides; the part
        of the skim ``total_s`` that is crowding (``None`` without skims; ``inf`` where
        there is no transit path, 0 on the diagonal).
    info : dict
        ``iterations``, ``skim_names``, ``strategy_cost_s`` and ``experienced_cost_s``
        (the gap function's terms at the last full search, s), ``stop_reason``
        (``"tolerance"``, ``"max_iter"`` or, by sweeps, ``"stalled"``) and, by sweeps,
        ``warm_destinations`` (how many started from ``start``).
    sweeps_state : SweepsState or None
        By sweeps, where the run ended (each destination's flows on every link, the
        sweeps and focus visits so far): the ``start`` of a later run on the same graph;
        else ``None``.
    """

    assignment: TransitAssignment
    effective_freq_hz: np.ndarray
    link_cost_s: np.ndarray
    history: pd.DataFrame
    converged: bool
    params: CapacityParameters
    crowding_skim_s: np.ndarray | None = field(default=None, repr=False)
    info: dict = field(default_factory=dict, repr=False)
    sweeps_state: SweepsState | None = field(default=None, repr=False)

    @property
    def link_volume(self) -> np.ndarray:
        """Passengers per period on each link (averaged flows)."""
        return self.assignment.link_volume

    def segment_table(self) -> pd.DataFrame:
        """Per ride segment: line, from-stop, load, places and seats offered over the
        period, load factor (load / places), standing riders and crowding multiplier."""
        g = self.assignment.graph
        state = _State(g, self.params)
        ride = state.ride
        v = self.link_volume
        places = state.line_places[g.line[ride]]
        seats = state.line_seats[g.line[ride]]
        return pd.DataFrame(
            {
                "line": np.asarray(g.line_ids, dtype=object)[g.line[ride]],
                "stop": g.stop_ids[g.stop[ride]],
                "load": v[ride],
                "places": places,
                "seats": seats,
                "load_factor": v[ride] / places,
                "standing": np.maximum(v[ride] - seats, 0.0),
                "crowding_multiplier": crowding_multiplier(v[ride], seats, self.params),
            }
        )

    def boarding_table(self) -> pd.DataFrame:
        """Per boarding link (line at a stop): boardings, riders already on board, room
        left, nominal and effective frequency (1/s) and denied boardings (boardings above
        the room: riders who cannot board in the period)."""
        g = self.assignment.graph
        state = _State(g, self.params)
        board = state.board
        v = self.link_volume
        through = state.through(v)
        room = state.room(v)
        return pd.DataFrame(
            {
                "line": np.asarray(g.line_ids, dtype=object)[g.line[board]],
                "stop": g.stop_ids[g.stop[board]],
                "boardings": v[board],
                "through": through,
                "room": room,
                "freq_hz": g.freq_hz[board],
                "effective_freq_hz": self.effective_freq_hz[board],
                "denied": np.maximum(v[board] - np.maximum(room, 0.0), 0.0),
            }
        )

    def line_table(self) -> pd.DataFrame:
        """Per line: boardings, peak load, places over the period, peak load factor,
        standing riders at the peak segment and denied boardings."""
        seg = self.segment_table()
        brd = self.boarding_table()
        g = self.assignment.graph
        out = pd.DataFrame({"line": list(g.line_ids)}).set_index("line")
        out["boardings"] = brd.groupby("line")["boardings"].sum()
        grouped = seg.groupby("line")
        out["peak_load"] = grouped["load"].max()
        out["places"] = grouped["places"].first()
        out["peak_load_factor"] = out["peak_load"] / out["places"]
        out["peak_standing"] = grouped["standing"].max()
        out["denied"] = brd.groupby("line")["denied"].sum()
        return out.fillna(0.0).reset_index()

    @property
    def denied_boardings(self) -> float:
        """Total riders who cannot board in the period (trips per period)."""
        return float(self.boarding_table()["denied"].sum())

    @property
    def standing_h(self) -> float:
        """Passenger-hours standing in the period: riders above the seats on each ride
        segment × its in-vehicle time (h); the sum over :meth:`line_crowding`."""
        return float(self.line_crowding()["standing_h"].sum())

    def line_crowding(self) -> pd.DataFrame:
        """Per line (index ``line``, the graph's ``line_ids``): ``peak_load_factor`` (load
        / places on its busiest segment), ``peak_standing`` (riders standing on the segment
        with the most), ``standing_h`` (passenger-hours standing) and ``denied`` (riders
        denied boarding, all stops), per period; the values of :meth:`line_table` and the
        per-line sums of :attr:`standing_h` and :attr:`denied_boardings`, without the
        per-link tables (cheap enough to log every feedback iteration: 1 ms on Bogor)."""
        g = self.assignment.graph
        state = _State(g, self.params)
        v = self.link_volume
        n_lines = len(g.line_ids)
        ride = state.ride
        ride_line = g.line[ride]
        standing = np.maximum(v[ride] - state.line_seats[ride_line], 0.0)
        peak_load_factor = np.zeros(n_lines)
        np.maximum.at(peak_load_factor, ride_line, v[ride] / state.line_places[ride_line])
        peak_standing = np.zeros(n_lines)
        np.maximum.at(peak_standing, ride_line, standing)
        denied = np.maximum(v[state.board] - np.maximum(state.room(v), 0.0), 0.0)
        return pd.DataFrame(
            {
                "peak_load_factor": peak_load_factor,
                "peak_standing": peak_standing,
                "standing_h": np.bincount(
                    ride_line, standing * g.in_vehicle_s[ride] / 3600.0, minlength=n_lines
                ),
                "denied": np.bincount(g.line[state.board], denied, minlength=n_lines),
            },
            index=pd.Index(list(g.line_ids), name="line"),
        )


#: bisections of the line search (``step_rule = "line_search"``): the step to 2**-12
LINE_SEARCH_BISECTIONS = 12
#: smallest line-search step
MIN_STEP = 1e-3

#: step rules of :class:`CapacityParameters`
STEP_RULES = ("auto", "msa", "sra", "line_search", "columns", "stops", "sweeps")


def resolve_step_rule(params: CapacityParameters, graph: TransitGraph) -> CapacityParameters:
    """``params`` with ``step_rule = "auto"`` made ``"sweeps"`` where the sweeps' flows
    of each destination on every link (destinations x links float64) fit in
    ``params.sweeps_memory_mb``, else ``"msa"``; any other rule as it is."""
    if params.step_rule != "auto":
        return params
    flows_mb = graph.destination_node.shape[0] * graph.n_links * 8 / 2**20
    rule = "sweeps" if flows_mb <= params.sweeps_memory_mb else "msa"
    return replace(params, step_rule=rule)


class _StepRule:
    """Steps of the averaging: ``1 / (k + 1)`` (MSA), or the self-regulated averaging of
    Liu, He & He (2009): the step is ``1 / b_k`` with ``b_k`` growing by
    ``sra_slow_growth`` (< 1) after an iteration that lowered the relative gap and by
    ``sra_fast_growth`` (>= 1) after one that did not; ``b_0 = 1``."""

    def __init__(self, params: CapacityParameters) -> None:
        self.params = params
        self.k = 0
        self.b = 1.0
        self.previous = math.inf

    def next(self, relative_gap: float) -> float:
        p = self.params
        self.k += 1
        if p.step_rule in ("msa", "stops"):
            return 1.0 / (self.k + 1.0)
        self.b += p.sra_slow_growth if relative_gap < self.previous else p.sra_fast_growth
        self.previous = relative_gap
        return 1.0 / self.b


class _State:
    """Index arrays of a graph for the capacity updates."""

    def __init__(self, graph: TransitGraph, params: CapacityParameters) -> None:
        g = graph
        period_s = params.period_h * 3600.0
        vehicles = period_s / g.line_headway_s
        self.line_places = g.line_capacity * vehicles
        seats = g.line_seats if g.line_seats is not None else g.line_capacity
        self.line_seats = np.asarray(seats, dtype=np.float64) * vehicles
        self.board = np.flatnonzero(g.kind == BOARD)
        self.ride = np.flatnonzero(g.kind == RIDE)
        self.in_vehicle = np.flatnonzero(np.isin(g.kind, (RIDE, DWELL)) & (g.in_vehicle_s > 0))
        self.line_links = np.flatnonzero(np.isin(g.kind, (BOARD, RIDE, DWELL, ALIGHT)))
        dwell = np.flatnonzero(g.kind == DWELL)
        dwell_into = np.full(g.n_nodes, -1, dtype=np.int64)
        dwell_into[g.head[dwell]] = dwell
        self.board_dwell = dwell_into[g.head[self.board]]  # -1 at a line's first stop
        self.board_places = self.line_places[g.line[self.board]]
        self.iv_seats = self.line_seats[g.line[self.in_vehicle]]
        self.iv_places = self.line_places[g.line[self.in_vehicle]]

    def through(self, volume: np.ndarray) -> np.ndarray:
        """Riders on board through each boarding link's stop."""
        return np.where(self.board_dwell >= 0, volume[self.board_dwell], 0.0)

    def room(self, volume: np.ndarray) -> np.ndarray:
        """Places left for boarding at each boarding link (may be negative)."""
        return self.board_places - self.through(volume)


def assign_transit_capacity(
    graph: TransitGraph,
    demand: Any,
    *,
    params: CapacityParameters | None = None,
    wait_factor: float = WAIT_FACTOR,
    skims: bool = True,
    start: CapacityAssignment | None = None,
) -> CapacityAssignment:
    """Capacity-constrained optimal-strategies assignment with crowding.

    Parameters
    ----------
    graph
        From :func:`~transitopt.transit.graph.build_transit_graph`; its
        ``line_capacity`` (places per vehicle) and ``line_seats`` set the capacity.
    demand
        As for :func:`~transitopt.transit.assign.assign_transit` (trips per period of
        ``params.period_h`` hours).
    params
        Method parameters (:class:`CapacityParameters`).
    wait_factor
        Expected wait = ``wait_factor / F`` (F: combined effective frequency).
    skims
        Compute the OD skims at the final state.
    start
        An earlier run by sweeps on a graph with the same links, nodes and zones (its
        costs and demand may differ): the sweeps start from its
        :attr:`~CapacityAssignment.sweeps_state`, each destination's flows loaded again
        with ``demand`` along their splits at every node, instead of from the
        unconstrained strategies (a destination whose new demand leaves from where its
        start's flows do not starts unconstrained), and their step caps go on from the
        start's sweep and visit counts. Ignored by the other step rules.

    Warns when the relative gap is still above ``params.tolerance`` after ``max_iter``
    or when the sweeps stall (``sweeps_stall``); ``info["stop_reason"]`` says which.
    """
    p = resolve_step_rule(params or CapacityParameters(), graph)
    if not wait_factor > 0:
        raise ValueError(f"wait_factor must be > 0, got {wait_factor!r}")
    matrix = _demand_matrix(graph, demand)
    np.fill_diagonal(matrix, 0.0)
    start_state = _start_state(start, graph) if p.step_rule == "sweeps" else None
    state = _State(graph, p)
    no_skims = np.empty((graph.n_links, 0))

    def aon(freq: np.ndarray, cost: np.ndarray, want_skims: bool) -> tuple:
        # the skims carry one more layer: the crowding surcharge (cost - base cost) of
        # the in-vehicle links, so the skims say how much of a trip's cost is crowding
        link_skim = (
            np.ascontiguousarray(np.column_stack([graph.link_skim, cost - graph.cost_s]))
            if want_skims
            else no_skims
        )
        return sized(kernels.assign, matrix.shape[1] * graph.n_links)(
            graph.tail, graph.head, cost, freq, graph.in_indptr, graph.in_links,
            link_skim, float(wait_factor),
            graph.origin_node, graph.destination_node, matrix, bool(want_skims),
        )  # fmt: skip

    def costs_and_freqs(volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        freq = graph.freq_hz.copy()
        freq[state.board] = effective_frequency(
            graph.freq_hz[state.board],
            volume[state.board],
            state.room(volume),
            beta=p.beta,
            min_share=p.min_frequency_share,
        )
        cost = graph.cost_s
        if p.crowding:
            cost = cost.copy()
            iv = state.in_vehicle
            multiplier = crowding_multiplier(volume[iv], state.iv_seats, p)
            cost[iv] += (multiplier - 1.0) * graph.in_vehicle_s[iv]
        return freq, cost

    clock = time.process_time()
    n_dest = graph.destination_node.shape[0]
    # the flows kept per destination: on the waiting links, or on every link for the
    # node shifts of step_rule "stops" (the wait term then runs over every link: the
    # others have an infinite frequency and add nothing)
    shifts = NodeShifts(graph) if p.step_rule == "stops" else None
    wait_links = np.arange(graph.n_links) if shifts else np.flatnonzero(np.isfinite(graph.freq_hz))
    wait_index = np.full(graph.n_links, -1, dtype=np.int64)
    wait_index[wait_links] = np.arange(wait_links.size)
    # per destination, on the waiting links (the sweeps keep their own flows)
    kept = 0 if p.step_rule == "sweeps" else n_dest
    averaged = np.zeros((kept, wait_links.size))
    response_w = np.zeros((kept, wait_links.size))

    columnar = p.step_rule == "columns"
    columns = StrategyColumns(n_dest, p.columns_max)
    orders = np.zeros((n_dest, graph.n_links) if columnar else (0, 0), dtype=np.int32)
    counts = np.zeros(n_dest, dtype=np.int64)

    def respond(freq: np.ndarray, cost: np.ndarray) -> tuple:
        return kernels.capacity_response(
            graph.tail, graph.head, cost, freq, graph.in_indptr, graph.in_links,
            float(wait_factor), graph.origin_node, graph.destination_node, matrix, wait_links,
            wait_index, averaged, response_w, orders, counts,
        )  # fmt: skip

    def flow_cost(
        freq: np.ndarray, cost: np.ndarray, totals: np.ndarray, flows: np.ndarray
    ) -> float:
        # the experienced cost of the gap function: link costs plus the wait term of the
        # per-destination flows on the waiting links (s)
        wait = kernels.wait_totals(graph.tail, freq, wait_links, flows, graph.n_nodes)
        return float(np.dot(cost, totals) + wait_factor * wait.sum())

    def equal_cost_step(volume: np.ndarray, response: np.ndarray) -> float:
        # the step at which the averaged flows and the response cost the same at the
        # state (effective frequencies, crowded costs) that their mix produces; at step 0
        # the response is cheaper by the gap
        def excess(step: float) -> float:
            freq, cost = costs_and_freqs(volume + step * (response - volume))
            return flow_cost(freq, cost, response, response_w) - flow_cost(
                freq, cost, volume, averaged
            )

        if excess(1.0) <= 0.0:
            return 1.0
        low, high = 0.0, 1.0
        for _ in range(LINE_SEARCH_BISECTIONS):
            mid = 0.5 * (low + high)
            if excess(mid) <= 0.0:
                low = mid
            else:
                high = mid
        return max(0.5 * (low + high), MIN_STEP)

    def describe(volume: np.ndarray) -> dict[str, float]:
        # the history's columns of the state: boardings / room, denied, load factor
        room = state.room(volume)
        boardings = volume[state.board]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(room > 0, boardings / room, np.where(boardings > 0, np.inf, 0.0))
        load_factor = volume[state.in_vehicle] / state.iv_places
        return {
            "max_board_room_ratio": float(ratio.max()) if ratio.size else 0.0,
            "denied_boardings": float(np.maximum(boardings - np.maximum(room, 0.0), 0.0).sum()),
            "max_load_factor": float(load_factor.max()) if load_factor.size else 0.0,
        }

    rows: list[dict] = []
    converged = False
    sweeps = None
    if p.step_rule == "sweeps":
        # block Gauss-Seidel sweeps over the destinations (their own loop and history)
        sweeps = solve_by_sweeps(
            graph, matrix, state, p, costs_and_freqs, describe,
            wait_factor=wait_factor, clock=clock, start=start_state,
        )  # fmt: skip
        volume, arrived, rows = sweeps.volume, sweeps.arrived, sweeps.rows
        converged, best, experienced = sweeps.converged, sweeps.best, sweeps.experienced
    else:
        volume, arrived, _, _ = respond(graph.freq_hz, graph.cost_s)  # unconstrained start
        averaged[:] = response_w
        columns.add(orders, counts)
    line_links = state.line_links
    steps = _StepRule(p)
    iterations = 0 if p.step_rule == "sweeps" else p.max_iter
    for k in range(1, iterations + 1):
        freq, cost = costs_and_freqs(volume)
        response, arrived, strategy_cost, averaged_wait = respond(freq, cost)
        best = float(strategy_cost.sum())
        experienced = float(np.dot(cost, volume) + averaged_wait.sum())
        gap_s = experienced - best  # >= 0 (Cepeda et al.): kept signed, a check
        wait_gap_s = float(averaged_wait.sum() - (best - np.dot(cost, response)))
        relative_gap = gap_s / best if best > 0 else 0.0
        total = volume[line_links].sum()
        flow_gap = (
            float(np.abs(response[line_links] - volume[line_links]).sum() / total)
            if total > 0
            else 0.0
        )
        converged = relative_gap <= p.tolerance or best == 0
        step = 0.0 if converged else steps.next(relative_gap)
        rows.append(
            {
                "iteration": k,
                "relative_gap": relative_gap,
                "gap_s": gap_s,
                "wait_gap_s": wait_gap_s,
                "flow_gap": flow_gap,
                "step": step,
                **describe(volume),
                "cpu_s": time.process_time() - clock,
                "restricted_passes": 0,
                "restricted_gap": float("nan"),
                "columns": columns.count,
                "local_gap_s": float("nan"),
                "sweep_gap_estimate": float("nan"),
            }
        )
        if converged:
            break
        if columnar:
            columns.add(orders, counts)
            volume, passes, restricted = rebalance(
                columns, graph, matrix, costs_and_freqs, volume, averaged, wait_links, wait_index,
                wait_factor=wait_factor, shift=p.columns_shift,
                target=p.columns_target * relative_gap, max_passes=p.columns_passes,
            )  # fmt: skip
            rows[-1].update(
                step=float("nan"),
                restricted_passes=passes,
                restricted_gap=restricted,
                columns=columns.count,
            )
            continue
        if p.step_rule == "line_search":
            step = equal_cost_step(volume, response)
            rows[-1]["step"] = step
        volume += step * (response - volume)
        averaged += step * (response_w - averaged)
        if shifts is not None:
            volume, local_gap, _ = shift_nodes(
                shifts, matrix, costs_and_freqs, averaged, wait_factor=wait_factor,
                gain=p.stops_gain, passes=p.stops_passes,
            )  # fmt: skip
            rows[-1]["local_gap_s"] = local_gap
    freq, cost = costs_and_freqs(volume)
    skim_array: np.ndarray | None = None
    crowding_skim: np.ndarray | None = None
    if skims:
        _, all_layers, arrived = aon(freq, cost, True)
        diagonal = np.arange(matrix.shape[0])
        all_layers[diagonal, diagonal, :] = 0.0
        skim_array = np.ascontiguousarray(all_layers[:, :, : len(SKIM_NAMES)])
        crowding_skim = np.ascontiguousarray(all_layers[:, :, len(SKIM_NAMES)])
    unassigned = float(matrix.sum() - arrived.sum())
    if unassigned <= 1e-9 * max(1.0, matrix.sum()):
        unassigned = 0.0
    stop_reason = "tolerance" if converged else "max_iter"
    if sweeps is not None and sweeps.stalled and not converged:
        stop_reason = "stalled"
    if not converged:
        why = (
            f"stalled after {len(rows)} sweeps (the gap estimate fell less than "
            f"{STALL_DROP:.0%} in the last {p.sweeps_stall})"
            if stop_reason == "stalled"
            else f"stopped after {p.max_iter} iterations"
        )
        warnings.warn(
            f"capacity-constrained transit assignment {why} "
            f"with relative gap {rows[-1]['relative_gap']:.3g} > tolerance {p.tolerance:g}",
            stacklevel=2,
        )
    assignment = TransitAssignment(
        graph=graph,
        demand=matrix,
        link_volume=volume,
        skims=skim_array,
        unassigned=unassigned,
        wait_factor=float(wait_factor),
        info={
            "total_trips": float(matrix.sum()),
            "method": f"effective frequencies ({p.step_rule})",
        },
    )
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return CapacityAssignment(
        assignment=assignment,
        effective_freq_hz=freq,
        link_cost_s=cost,
        history=history,
        converged=converged,
        params=p,
        crowding_skim_s=crowding_skim,
        info={
            "iterations": len(rows),
            "skim_names": SKIM_NAMES,
            "strategy_cost_s": best,
            "experienced_cost_s": experienced,
            "stop_reason": stop_reason,
            **({"warm_destinations": sweeps.warm_destinations} if sweeps is not None else {}),
        },
        sweeps_state=sweeps.state if sweeps is not None else None,
    )


def _start_state(start: CapacityAssignment | None, graph: TransitGraph) -> SweepsState | None:
    """``start``'s sweeps state, checked against ``graph`` (``None`` without a start)."""
    if start is None:
        return None
    state = start.sweeps_state
    if state is None:
        raise ValueError(
            "start: the earlier capacity-constrained assignment kept no per-destination "
            f"flows (its step_rule was {start.params.step_rule!r}; only 'sweeps' keeps them)"
        )
    old = start.assignment.graph
    same = (
        old.n_nodes == graph.n_nodes
        and old.n_links == graph.n_links
        and np.array_equal(old.tail, graph.tail)
        and np.array_equal(old.head, graph.head)
        and np.array_equal(old.origin_node, graph.origin_node)
        and np.array_equal(old.destination_node, graph.destination_node)
    )
    if not same:
        raise ValueError(
            "start: the earlier capacity-constrained assignment is on a different graph "
            f"({old.n_nodes} nodes, {old.n_links} links, {old.destination_node.size} "
            f"destinations; this one {graph.n_nodes}, {graph.n_links}, "
            f"{graph.destination_node.size}, or the same sizes with other links or zones)"
        )
    return state
