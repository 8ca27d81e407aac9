"""Distribution of accessibility across zones: Gini, Palma, winners and losers.

Zones are weighted by population: a zone of ``P_i`` residents with accessibility
``x_i`` counts as ``P_i`` people each with ``x_i``.

* Gini: ``G = sum_i sum_j P_i P_j |x_i - x_j| / (2 W^2 mu)`` with ``W = sum P`` and
  ``mu`` the population-weighted mean (0 = everyone equal, towards 1 = one person has all).
* Palma ratio: share of total accessibility held by the best-served 10 % of the
  population divided by the share held by the worst-served 40 % (Palma 2011; Cobham
  & Sumner 2013), read off the population-weighted Lorenz curve, which is linear
  within each zone (a zone's residents are split across the 40 % / 90 % cut points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def _clean(values, weights) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.shape != w.shape:
        raise ValueError(f"values and weights differ in shape ({x.shape} != {w.shape})")
    if np.any(w < 0) or np.any(x[w > 0] < 0):
        raise ValueError("values and weights must be >= 0")
    keep = (w > 0) & np.isfinite(x)
    return x[keep], w[keep]


def gini(values, weights=None) -> float:
    """Population-weighted Gini coefficient of ``values`` (NaN when everything is 0)."""
    x, w = _clean(values, weights)
    total_w = w.sum()
    if total_w <= 0:
        return float("nan")
    mu = np.sum(w * x) / total_w
    if mu <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    # sum_i sum_j w_i w_j |x_i - x_j| = 2 sum_i w_i x_i (W_below_i - W_above_i), sorted ascending
    cum_w = np.cumsum(w)
    below = cum_w - w
    above = total_w - cum_w
    mean_abs = 2.0 * np.sum(w * x * (below - above))
    return float(mean_abs / (2.0 * total_w**2 * mu))


def lorenz_share(values, weights, p: float) -> float:
    """Share of ``sum w x`` held by the worst-off fraction ``p`` of the weight (Lorenz curve ``L(p)``)."""
    x, w = _clean(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum_w = np.r_[0.0, np.cumsum(w)] / w.sum()
    cum_xw = np.r_[0.0, np.cumsum(w * x)]
    cum_xw = cum_xw / cum_xw[-1]
    return float(np.interp(p, cum_w, cum_xw))


def palma(values, weights=None) -> float:
    """Palma ratio: share held by the top 10 % over the share held by the bottom 40 %."""
    x, w = _clean(values, weights)
    if w.sum() <= 0 or np.sum(w * x) <= 0:
        return float("nan")
    bottom = lorenz_share(x, w, 0.4)
    top = 1.0 - lorenz_share(x, w, 0.9)
    return float(top / bottom) if bottom > 0 else float("inf")


def gains_losses(
    base: ArrayLike, alternative: ArrayLike, population: ArrayLike, *, tolerance: float = 1e-9
) -> dict[str, int | float]:
    """Zones and residents whose value rises or falls from ``base`` to ``alternative``.

    A change counts when ``|alt - base| > tolerance * max(1, |base|)``.

    Returns
    -------
    dict
        ``zones_gain``, ``zones_lose``, ``zones_same`` (zone counts, int);
        ``population_gain``, ``population_lose`` (residents, float).
    """
    b = np.asarray(base, dtype=np.float64)
    a = np.asarray(alternative, dtype=np.float64)
    pop = np.asarray(population, dtype=np.float64)
    if not (b.shape == a.shape == pop.shape):
        raise ValueError(
            f"base, alternative and population differ in shape ({b.shape}, {a.shape}, {pop.shape})"
        )
    delta = np.nan_to_num(a, nan=0.0) - np.nan_to_num(b, nan=0.0)
    eps = tolerance * np.maximum(1.0, np.abs(np.nan_to_num(b)))
    gain, lose = delta > eps, delta < -eps
    return {
        "zones_gain": int(gain.sum()),
        "zones_lose": int(lose.sum()),
        "zones_same": int((~gain & ~lose).sum()),
        "population_gain": float(pop[gain].sum()),
        "population_lose": float(pop[lose].sum()),
    }


def zone_changes(base: pd.DataFrame, alternative: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Zone table of ``alternative - base`` for ``columns`` (joined on ``zone``), with population."""
    merged = base[["zone", "population", *columns]].merge(
        alternative[["zone", *columns]], on="zone", suffixes=("_base", "_alt"), how="outer"
    )
    for column in columns:
        merged[f"{column}_change"] = merged[f"{column}_alt"] - merged[f"{column}_base"]
    return merged
