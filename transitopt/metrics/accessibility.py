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
