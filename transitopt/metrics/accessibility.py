"""Cumulative-opportunity accessibility: jobs reachable within a travel-time budget.

``A_i(T) = sum_j O_j [t_ij <= T]`` for zone ``i``, opportunities ``O_j`` (jobs) and
door-to-door travel time ``t_ij``; the own zone counts when ``t_ii <= T`` (give
``t_ii = 0`` to count it). The population-weighted mean ``sum_i P_i A_i / sum_i P_i``
is the number of jobs the average resident reaches.

The sums run in the accessibility kernel, through
:func:`transitopt.accessibility.accessibility_from_matrix` (the same cutoffs and the
same default budgets as the network accessibility).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..accessibility import CUTOFFS_MIN, accessibility_from_matrix


def cumulative_opportunities(
    time_s: np.ndarray,
    opportunities: np.ndarray,
    *,
    cutoffs_min: Sequence[float] = CUTOFFS_MIN,
) -> np.ndarray:
    """Opportunities reachable from each zone within each time budget.

    Parameters
    ----------
    time_s
        (z, z) travel time from row zone to column zone (s); ``inf`` or NaN = unreachable.
    opportunities
        (z,) jobs (or any opportunity) per zone.
    cutoffs_min
        Time budgets (minutes), distinct and positive.

    Returns
    -------
    (z, k) float64
        Column ``k`` is ``A_i(T_k)`` for the budgets ``T_k`` sorted ascending.
    """
    time_s = np.asarray(time_s, dtype=np.float64)
    opp = np.asarray(opportunities, dtype=np.float64)
    if time_s.ndim != 2 or time_s.shape[0] != time_s.shape[1] or time_s.shape[0] != opp.size:
        raise ValueError(
            f"time_s has shape {time_s.shape}; expected ({opp.size}, {opp.size}) for {opp.size} zones"
        )
    minutes = np.where(np.isfinite(time_s), time_s / 60.0, np.inf)
    table = accessibility_from_matrix(
        np.arange(opp.size), minutes, opp, cutoffs_min=cutoffs_min, decay_per_min=None
    )
    return table.drop(columns="zone").to_numpy(np.float64)


def population_weighted_mean(values: np.ndarray, population: np.ndarray) -> np.ndarray | float:
    """``sum_i P_i v_i / sum_i P_i`` over the first axis of ``values`` (NaN when the population is 0)."""
    values = np.asarray(values, dtype=np.float64)
    pop = np.asarray(population, dtype=np.float64)
    total = pop.sum()
    if total <= 0:
        return np.full(values.shape[1:], np.nan) if values.ndim > 1 else float("nan")
    out = np.tensordot(pop, values, axes=(0, 0)) / total
    return float(out) if np.ndim(out) == 0 else out


def decay_opportunities(
    time_s: np.ndarray, opportunities: np.ndarray, *, decay_per_min: float
) -> np.ndarray:
    """Opportunities weighted by a negative exponential of the time: ``sum_j O_j exp(−λ t_ij)``.

    A smooth measure beside the cumulative one: a trip a few seconds longer loses a few
    seconds' worth of weight instead of all of it at a cutoff.

    Parameters
    ----------
    time_s
        (z, z) travel time (s); ``inf`` or NaN = unreachable (weight 0).
    opportunities
        (z,) jobs per zone.
    decay_per_min
        ``λ`` (1/min), positive.

    Returns
    -------
    (z,) float64
    """
    if not decay_per_min > 0:
        raise ValueError(f"decay_per_min must be > 0, got {decay_per_min!r}")
    time_s = np.asarray(time_s, dtype=np.float64)
    opp = np.asarray(opportunities, dtype=np.float64)
    minutes = np.where(np.isfinite(time_s), time_s / 60.0, np.inf)
    table = accessibility_from_matrix(
        np.arange(opp.size), minutes, opp, cutoffs_min=(1.0,), decay_per_min=decay_per_min
    )
    return table.iloc[:, -1].to_numpy(np.float64)


#: the accessibility variants of a scenario's zones table: mode → (od skim, basis in words)
ACCESS_VARIANTS = {
    "transit": ("transit_generalised_s", "generalised time (the cost route choice minimises)"),
    "transit_fastest": ("transit_fastest_s", "fastest door-to-door time"),
    "car": ("car_time_s", "door-to-door time"),
}


def zone_access(
    times_s: dict[str, np.ndarray],
    jobs: np.ndarray,
    *,
    cutoffs_min: Sequence[float],
    decay_per_min: float,
) -> dict[str, np.ndarray]:
    """The accessibility columns of a zones table, by variant of :data:`ACCESS_VARIANTS`.

    ``times_s`` maps a variant (``"transit"``, ``"transit_fastest"``, ``"car"``) to its
    (z, z) time (s, ``inf`` unreachable; the diagonal is set to 0: a zone's own jobs
    count). Returns ``jobs_<variant>_<T>min`` (cumulative, one per cutoff) and
    ``jobs_<variant>_decay`` (:func:`decay_opportunities`) columns.
    """
    out: dict[str, np.ndarray] = {}
    cutoffs = sorted(set(cutoffs_min))
    for variant, time in times_s.items():
        t = np.array(time, dtype=np.float64)
        np.fill_diagonal(t, 0.0)
        values = cumulative_opportunities(t, jobs, cutoffs_min=cutoffs)
        for k, cutoff in enumerate(cutoffs):
            out[f"jobs_{variant}_{cutoff:g}min"] = values[:, k]
        out[f"jobs_{variant}_decay"] = decay_opportunities(t, jobs, decay_per_min=decay_per_min)
    return out


#: the crowding-weighted accessibility variant of a run with line capacities:
#: generalised time plus the crowding surcharge of the in-vehicle time
CROWDED_VARIANT = "transit_crowded"


def crowded_access(
    skims: dict[str, np.ndarray],
    jobs: np.ndarray,
    *,
    cutoffs_min: Sequence[float],
    decay_per_min: float,
) -> dict[str, np.ndarray]:
    """:func:`zone_access` columns of :data:`CROWDED_VARIANT` (``jobs_transit_crowded_<T>min``,
    ``jobs_transit_crowded_decay``) by ``transit_generalised_s + transit_crowding_s``;
    empty without the skim ``transit_crowding_s`` (a run without line capacities)."""
    if "transit_crowding_s" not in skims:
        return {}
    time_s = skims["transit_generalised_s"] + skims["transit_crowding_s"]
    return zone_access(
        {CROWDED_VARIANT: time_s}, jobs, cutoffs_min=cutoffs_min, decay_per_min=decay_per_min
    )
