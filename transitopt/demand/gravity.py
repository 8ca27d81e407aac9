"""Trip generation by rates and a doubly-constrained gravity model.

Trip generation (:func:`generate_trips`) turns residents and jobs into productions and
attractions with per-period rates; attractions are then scaled to the total of the
productions, so that a doubly-constrained model exists (the usual convention: origins
are counted, destinations only distribute them).

The gravity model (:func:`gravity_model`) finds

    T_ij = a_i O_i b_j D_j f(c_ij),   sum_j T_ij = O_i,   sum_i T_ij = D_j

with deterrence ``f(c) = exp(-beta c)`` (exponential) or ``f(c) = c^-beta`` (power;
``c`` in minutes, floored at :data:`POWER_MIN_COST_MIN`), balancing factors ``a``,
``b`` found by Furness / iterative proportional fitting (Furness 1965; Ortúzar &
Willumsen, *Modelling Transport*, 4th ed., section 5.5). Given a target mean trip cost,
``beta`` is calibrated by Brent's method on the mean cost of the balanced matrix, which
decreases monotonically as ``beta`` grows (Hyman 1969; Ortúzar & Willumsen 5.6).
Unreachable pairs (``inf`` cost) get no trips.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._errors import ConvergenceWarning, DemandError
from .od import ODMatrix

Deterrence = Literal["exponential", "power"]

#: trips produced per resident in the analysis period (a morning peak hour): about 3
#: person trips per resident per day, a tenth of them starting in the peak hour
PRODUCTION_RATE = 0.3
#: trips attracted per job in the analysis period, before scaling to the productions
ATTRACTION_RATE = 1.0
#: the power deterrence uses ``max(c, POWER_MIN_COST_MIN)`` (minutes), so that
#: intrazonal and very short trips keep a finite weight
POWER_MIN_COST_MIN = 1.0
#: balancing stops when every row and column sum is within this relative error
BALANCE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class TripEnds:
    """Productions and attractions per zone (trips per analysis period).

    Attributes
    ----------
    zones : (z,) int64
    productions, attractions : (z,) float64
        Attractions scaled to the productions' total.
    """

    zones: np.ndarray
    productions: np.ndarray
    attractions: np.ndarray


@dataclass(frozen=True, eq=False)
class GravityResult:
    """A balanced gravity model.

    Attributes
    ----------
    od : ODMatrix
        Trips between zones.
    beta : float
        Deterrence parameter (1/minute for exponential, exponent for power).
    deterrence : str
    mean_cost_min : float
        Trip-weighted mean cost (minutes) of ``od``.
    balance_error : float
        Largest relative error of a row or column sum after balancing.
    iterations : int
        Furness iterations of the final balancing.
    calibration : list of (beta, mean_cost_min)
        Every ``beta`` tried while calibrating (empty without a target).
    info : dict
    """

    od: ODMatrix
    beta: float
    deterrence: str
    mean_cost_min: float
    balance_error: float
    iterations: int
    calibration: list[tuple[float, float]] = field(default_factory=list)
    info: dict = field(default_factory=dict, repr=False)


def generate_trips(
    zones: Any,
    population: Any,
    jobs: Any,
    *,
    production_rate: float = PRODUCTION_RATE,
    attraction_rate: float = ATTRACTION_RATE,
) -> TripEnds:
    """Productions from residents and attractions from jobs (or other opportunities).

    Parameters
    ----------
    zones : (z,) int
        Zone ids.
    population, jobs : (z,) float
        Residents and jobs per zone (non-negative).
    production_rate : float
        Trips produced per resident in the period (default :data:`PRODUCTION_RATE`).
    attraction_rate : float
        Trips attracted per job (default :data:`ATTRACTION_RATE`); only the relative
        weights matter, as attractions are scaled to the productions' total.

    Returns
    -------
    TripEnds
    """
    ids = np.asarray(zones, dtype=np.int64)
    pop = _non_negative(population, "population", ids)
    work = _non_negative(jobs, "jobs", ids)
    if not production_rate > 0 or not attraction_rate > 0:
        raise ValueError("production_rate and attraction_rate must be > 0")
    productions = pop * production_rate
    raw = work * attraction_rate
    if productions.sum() <= 0:
        raise DemandError("no zone has residents: there are no trips to distribute")
    if raw.sum() <= 0:
        raise DemandError("no zone has jobs: trips have nowhere to go")
    attractions = raw * (productions.sum() / raw.sum())
    return TripEnds(zones=ids, productions=productions, attractions=attractions)


def gravity_model(
    productions: Any,
    attractions: Any,
    cost_min: Any,
    *,
    zones: Any = None,
    deterrence: Deterrence = "exponential",
    beta: float | None = None,
    target_mean_cost_min: float | None = None,
    mean_tolerance_min: float = 1e-6,
    tolerance: float = BALANCE_TOLERANCE,
    max_iterations: int = 10_000,
) -> GravityResult:
    """Doubly-constrained gravity model, balanced by Furness, optionally calibrated.

    Parameters
    ----------
    productions, attractions : (z,) float
        Trips leaving and entering each zone. Their totals must agree to 1e-9 relative
        (see :func:`generate_trips`).
    cost_min : (z, z) float
        Travel cost between zones in minutes (``inf``: unreachable; the diagonal is used
        as given, see :func:`intrazonal_cost`).
    zones : (z,) int, optional
        Zone ids of the returned :class:`ODMatrix` (default 1..z).
    deterrence : {"exponential", "power"}
        ``exp(-beta c)`` or ``max(c, 1 min)^-beta``.
    beta : float, optional
        Deterrence parameter (>= 0) when not calibrating. Default 0.1 / minute
        (exponential) or 2.0 (power).
    target_mean_cost_min : float, optional
        Calibrate ``beta`` so that the trip-weighted mean cost equals this (minutes).
    mean_tolerance_min : float
        Calibration stops when the mean cost is within this of the target (minutes).
    tolerance : float
        Balancing stops when every row/column sum is within this relative error.
    max_iterations : int
        Furness iterations per balancing.

    Returns
    -------
    GravityResult

    Raises
    ------
    DemandError
        Mismatched sizes or totals, negative values, a zone with trips but no reachable
        partner, or a target mean cost outside what any ``beta >= 0`` gives.
    """
    cost = np.array(cost_min, dtype=np.float64)
    z = cost.shape[0] if cost.ndim == 2 else -1
    if cost.ndim != 2 or cost.shape[1] != z:
        raise DemandError(f"cost matrix must be square, got shape {cost.shape}")
    ids = (
        np.arange(1, z + 1, dtype=np.int64) if zones is None else np.asarray(zones, dtype=np.int64)
    )
    if ids.shape != (z,):
        raise DemandError(f"{ids.size} zone ids for a {z}x{z} cost matrix")
    o = _non_negative(productions, "productions", ids)
    d = _non_negative(attractions, "attractions", ids)
    if np.isnan(cost).any() or (cost < 0).any():
        i, j = np.argwhere(np.isnan(cost) | (cost < 0))[0]
        raise DemandError(
            f"cost from zone {ids[i]} to {ids[j]} is {cost[i, j]!r}; expected >= 0 or inf"
        )
    if not math.isclose(o.sum(), d.sum(), rel_tol=1e-9):
        raise DemandError(
            f"productions total {o.sum():.9g} but attractions total {d.sum():.9g}; a doubly-constrained "
            "model needs equal totals (scale the attractions, as generate_trips does)"
        )
    if deterrence not in ("exponential", "power"):
        raise ValueError(f"deterrence must be 'exponential' or 'power', not {deterrence!r}")
    _check_reachable(o, d, cost, ids)

    def run(b: float) -> tuple[np.ndarray, float, int]:
        f = deterrence_matrix(cost, beta=b, deterrence=deterrence)
        trips, err, it = furness(o, d, f, tolerance=tolerance, max_iterations=max_iterations)
        return trips, err, it

    history: list[tuple[float, float]] = []
    if target_mean_cost_min is None:
        b = (0.1 if deterrence == "exponential" else 2.0) if beta is None else float(beta)
        if not b >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        trips, err, iterations = run(b)
    else:
        b, trips, err, iterations = _calibrate(
            run, cost, float(target_mean_cost_min), mean_tolerance_min, history
        )
    if err > max(tolerance, 1e-6):
        warnings.warn(
            f"Furness balancing stopped after {iterations} iterations with a relative row/column error "
            f"of {err:.3g} (the cost matrix may leave some zones nearly unreachable)",
            ConvergenceWarning,
            stacklevel=2,
        )
    mean = _mean_cost(trips, cost)
    return GravityResult(
        od=ODMatrix(zones=ids, matrix=trips),
        beta=b,
        deterrence=deterrence,
        mean_cost_min=mean,
        balance_error=err,
        iterations=iterations,
        calibration=history,
        info={"total_trips": float(trips.sum())},
    )


def gravity_demand(
    zones: Any, *, trips: float, decay_per_km: float, detour_factor: float = 1.3
) -> ODMatrix:
    """Trips between zones by a doubly-constrained gravity model on straight-line distance.

    Productions are in proportion to ``population``, attractions to ``jobs``; the
    deterrence is ``exp(-decay_per_km * d)`` with ``d`` the great-circle distance between
    zone centres times ``detour_factor`` (km). No intrazonal trips (they would all walk).

    Parameters
    ----------
    zones : DataFrame
        ``zone``, ``x``, ``y`` (degrees), ``population``, ``jobs``.
    trips : float
        Total trips to distribute (e.g. person trips per hour).
    decay_per_km : float
        Deterrence parameter (1/km, >= 0).
    detour_factor : float
        Travel distance / straight-line distance.

    Returns
    -------
    ODMatrix
        Keyed by the zone ids, in ``zones`` order.
    """
    return _distance_gravity(
        zones, trips=trips, detour_factor=detour_factor, decay_per_km=decay_per_km
    ).od


def fit_decay(
    zones: Any, *, trips: float, mean_trip_km: float, detour_factor: float = 1.3
) -> GravityResult:
    """:func:`gravity_demand` with the decay fitted to a mean trip length.

    ``decay_per_km`` is found by Brent's method on the trip-weighted mean distance of
    the balanced matrix, which falls monotonically as the decay grows (Hyman 1969; see
    :func:`gravity_model`), to within 1e-6 km of ``mean_trip_km``.

    Parameters
    ----------
    zones, trips, detour_factor
        As in :func:`gravity_demand`.
    mean_trip_km : float
        Target trip-weighted mean of the trips' distances (straight line × detour, km).

    Returns
    -------
    GravityResult
        ``beta`` is the fitted decay (1/km), ``mean_cost_min`` the mean distance reached
        (km), ``od`` the trips.

    Raises
    ------
    DemandError
        The target is not above the mean distance to the nearest other zone, or not
        below the mean distance without any decay: no decay reaches it.
    """
    if not mean_trip_km > 0:
        raise DemandError(f"the mean trip length must be above 0 km, got {mean_trip_km!r}")
    spread = _distance_gravity(zones, trips=trips, detour_factor=detour_factor, decay_per_km=0.0)
    if mean_trip_km >= spread.mean_cost_min:
        raise DemandError(
            f"a mean trip length of {mean_trip_km:g} km is not below the {spread.mean_cost_min:.3g} km "
            "of trips spread over these zones without any distance decay: no decay reaches it "
            "(check the value, or the zones' extent)"
        )
    nearest = _nearest_zone_km(zones, detour_factor)
    if mean_trip_km <= nearest:
        raise DemandError(
            f"a mean trip length of {mean_trip_km:g} km is not above {nearest:.3g} km, the mean "
            "distance from each zone to its nearest other zone (every synthesised trip leaves its "
            "zone): no decay reaches it (check the value, or use smaller zones)"
        )
    try:
        return _distance_gravity(
            zones, trips=trips, detour_factor=detour_factor, target_mean_km=mean_trip_km
        )
    except DemandError:
        raise DemandError(
            f"a mean trip length of {mean_trip_km:g} km is shorter than any distance decay "
            "reaches on these zones (with the jobs where they are, the trips cannot all go to "
            "a nearby zone): check the value"
        ) from None


def _distance_km(zones: Any, detour_factor: float) -> np.ndarray:
    """Straight-line distance × ``detour_factor`` between zone centres (km), ``inf`` on the
    diagonal (no intrazonal trips)."""
    from ..geo import haversine_m

    x = np.asarray(zones["x"], dtype=np.float64)
    y = np.asarray(zones["y"], dtype=np.float64)
    dist_km = haversine_m(x[:, None], y[:, None], x[None, :], y[None, :]) / 1000.0 * detour_factor
    np.fill_diagonal(dist_km, np.inf)
    return dist_km


def _nearest_zone_km(zones: Any, detour_factor: float) -> float:
    """Production-weighted mean distance from each zone to its nearest other zone (km)."""
    population = np.asarray(zones["population"], dtype=np.float64)
    nearest = _distance_km(zones, detour_factor).min(axis=1)
    return float(np.sum(population * nearest) / population.sum())


def _distance_gravity(
    zones: Any,
    *,
    trips: float,
    detour_factor: float,
    decay_per_km: float | None = None,
    target_mean_km: float | None = None,
) -> GravityResult:
    """The gravity model of :func:`gravity_demand`: a given decay, or one fitted to
    ``target_mean_km`` (the result's ``beta`` and ``mean_cost_min`` are in 1/km and km)."""
    population = np.asarray(zones["population"], dtype=np.float64)
    jobs = np.asarray(zones["jobs"], dtype=np.float64)
    if population.sum() <= 0 or jobs.sum() <= 0:
        raise DemandError("the zones have no population or no jobs: no trips can be synthesised")
    productions = trips * population / population.sum()
    attractions = trips * jobs / jobs.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gravity_model(
            productions,
            attractions,
            _distance_km(zones, detour_factor),
            zones=np.asarray(zones["zone"]),
            deterrence="exponential",
            beta=decay_per_km,
            target_mean_cost_min=target_mean_km,
        )


def deterrence_matrix(
    cost_min: np.ndarray, *, beta: float, deterrence: Deterrence = "exponential"
) -> np.ndarray:
    """``f(c)``: ``exp(-beta c)`` or ``max(c, 1)^-beta`` (c in minutes), each row divided by
    its largest value (which leaves a balanced doubly-constrained matrix unchanged);
    0 where ``c`` is inf."""
    cost = np.asarray(cost_min, dtype=np.float64)
    finite = np.isfinite(cost)
    c = np.where(finite, cost, np.inf)
    if deterrence == "power":
        c = np.log(np.maximum(c, POWER_MIN_COST_MIN))  # c^-beta = exp(-beta log c)
    # scale each row by its largest value (shift by the row's least cost) so that a large
    # beta does not underflow whole rows; row factors cancel in the balanced matrix
    least = np.min(c, axis=1, initial=np.inf, where=finite, keepdims=True) if c.size else c
    least = np.where(np.isfinite(least), least, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.exp(-beta * (np.where(finite, c, least) - least))
    return np.where(finite, f, 0.0)


def furness(
    productions: np.ndarray,
    attractions: np.ndarray,
    seed: np.ndarray,
    *,
    tolerance: float = BALANCE_TOLERANCE,
    max_iterations: int = 10_000,
) -> tuple[np.ndarray, float, int]:
    """Scale ``seed`` rows and columns until they sum to ``productions`` and ``attractions``.

    Returns ``(trips, largest relative row/column error, iterations)``. Rows/columns with
    zero target stay zero.

    Raises
    ------
    DemandError
        The balancing factors overflow (seed values spanning more than the float range,
        e.g. a very large deterrence parameter).
    """
    o = np.asarray(productions, dtype=np.float64)
    d = np.asarray(attractions, dtype=np.float64)
    f = np.asarray(seed, dtype=np.float64)
    a = np.ones_like(o)
    b = np.ones_like(d)
    it = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        while it < max_iterations:
            row = f @ b
            if it > 0 and _relative_error(a * row, o) <= tolerance:
                break  # columns are exact after each column step; the rows measure the error
            it += 1
            a = np.divide(o, row, out=np.zeros_like(o), where=row > 0)
            col = a @ f
            b = np.divide(d, col, out=np.zeros_like(d), where=col > 0)
            if not (np.isfinite(a).all() and np.isfinite(b).all()):
                raise DemandError(
                    "Furness balancing overflowed: the deterrence values span beyond the float range "
                    "(lower beta or express costs in larger units)"
                )
        trips = a[:, None] * f * b[None, :]
    err = max(_relative_error(trips.sum(axis=1), o), _relative_error(trips.sum(axis=0), d))
    return trips, err, it


def intrazonal_cost(cost_min: Any, *, factor: float = 0.5) -> np.ndarray:
    """A copy of ``cost_min`` whose diagonal is ``factor`` times each zone's cost to its
    nearest other zone (a common stand-in for trips within a zone)."""
    cost = np.array(cost_min, dtype=np.float64)
    off = cost.copy()
    np.fill_diagonal(off, np.inf)
    nearest = off.min(axis=1)
    np.fill_diagonal(cost, np.where(np.isfinite(nearest), factor * nearest, 0.0))
    return cost


# ----------------------------------------------------------------------------- helpers


def _calibrate(run, cost, target, tol, history):
    """Brent's method on ``mean_cost(beta) - target``, bracketed by doubling."""
    from scipy.optimize import brentq

    finite = np.isfinite(cost)
    if not target > 0:
        raise ValueError(f"target_mean_cost_min must be > 0, got {target}")

    def mean_at(b: float) -> float:
        trips, _, _ = run(b)
        m = _mean_cost(trips, cost)
        history.append((b, m))
        return m

    high_mean = mean_at(0.0)
    if target > high_mean + tol:
        raise DemandError(
            f"target mean cost {target:g} min is above the {high_mean:.4g} min of beta = 0 (no deterrence); "
            "a gravity model cannot spread trips farther"
        )
    if abs(high_mean - target) <= tol:
        trips, err, it = run(0.0)
        return 0.0, trips, err, it
    scale = np.median(cost[finite & (cost > 0)]) if (finite & (cost > 0)).any() else 1.0
    lo, hi = 0.0, 1.0 / max(scale, 1e-9)
    m_hi = mean_at(hi)
    while m_hi > target:
        lo, hi = hi, hi * 2.0
        if hi > 1e6:
            raise DemandError(
                f"target mean cost {target:g} min is below what any beta reaches ({m_hi:.4g} min)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m_hi = mean_at(hi)
    b = brentq(lambda x: mean_at(x) - target, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200)
    trips, err, it = run(b)
    reached = _mean_cost(trips, cost)
    if abs(reached - target) > tol:
        warnings.warn(
            f"calibration reached a mean cost of {reached:.9g} min for a target of {target:g} min",
            ConvergenceWarning,
            stacklevel=3,
        )
    return float(b), trips, err, it


def _mean_cost(trips: np.ndarray, cost: np.ndarray) -> float:
    total = trips.sum()
    if total <= 0:
        return math.nan
    used = trips > 0
    return float((trips[used] * cost[used]).sum() / total)


def _relative_error(actual: np.ndarray, target: np.ndarray) -> float:
    scale = np.maximum(np.abs(target), 1e-300)
    rel = np.abs(actual - target) / scale
    rel[target == 0] = np.abs(actual[target == 0])
    return float(rel.max(initial=0.0))


def _non_negative(values: Any, name: str, ids: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != ids.shape:
        raise DemandError(
            f"{name} has shape {arr.shape}, expected {ids.shape} (one value per zone)"
        )
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DemandError(f"{name} of zone {ids[k]} is {arr[k]!r}; expected a finite value >= 0")
    return arr


def _check_reachable(o: np.ndarray, d: np.ndarray, cost: np.ndarray, ids: np.ndarray) -> None:
    reach = np.isfinite(cost)
    stuck_o = (o > 0) & ~((reach & (d > 0)[None, :]).any(axis=1))
    if stuck_o.any():
        raise DemandError(
            f"zone {ids[np.flatnonzero(stuck_o)[0]]} produces trips but reaches no zone with attractions "
            f"({int(stuck_o.sum())} such zones)"
        )
    stuck_d = (d > 0) & ~((reach & (o > 0)[:, None]).any(axis=0))
    if stuck_d.any():
        raise DemandError(
            f"zone {ids[np.flatnonzero(stuck_d)[0]]} attracts trips but no producing zone reaches it "
            f"({int(stuck_d.sum())} such zones)"
        )
