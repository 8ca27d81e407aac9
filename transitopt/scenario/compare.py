"""Side-by-side comparison of scenario results against a baseline."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..metrics.equity import gains_losses
from ..metrics.registry import access_change
from .explain import access_beyond_noise, cutoffs_of
from .result import ScenarioResult


def compare(base: ScenarioResult, *alternatives: ScenarioResult) -> pd.DataFrame:
    """Headline metrics of ``base`` and each alternative, with absolute and % change.

    Returns
    -------
    DataFrame
        One row per metric: ``group``, ``metric``, ``unit``, then the baseline's value
        (column named after it) and, per alternative ``A``, the columns ``A``,
        ``A Δ`` (A − baseline) and ``A Δ%`` (100 × Δ / |baseline|; NaN when the
        baseline is 0). Rows of the ``equity`` group also count the zones and residents
        whose transit accessibility rises or falls beyond the model's convergence noise
        (:func:`~.explain.access_beyond_noise`; NaN in the baseline column).
    """
    names = _unique_names([base, *alternatives])
    table = base.metrics[["group", "metric", "unit"]].copy()
    table[names[0]] = base.metrics["value"].to_numpy()
    for result, name in zip(alternatives, names[1:], strict=True):
        values = result.metrics.set_index("metric")["value"]
        extra = result.metrics[~result.metrics["metric"].isin(table["metric"])]
        if len(extra):
            table = pd.concat([table, extra[["group", "metric", "unit"]]], ignore_index=True)
        table[name] = table["metric"].map(values).to_numpy(float)
    gains = _gains_rows(base, alternatives, names)
    table = pd.concat([table, gains], ignore_index=True)
    ordered = ["group", "metric", "unit", names[0]]
    for name in names[1:]:
        delta = table[name] - table[names[0]]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(table[names[0]].abs() > 0, 100.0 * delta / table[names[0]].abs(), np.nan)
        table[f"{name} Δ"] = delta
        table[f"{name} Δ%"] = pct
        ordered += [name, f"{name} Δ", f"{name} Δ%"]
    return table[ordered]


def _unique_names(results: list[ScenarioResult]) -> list[str]:
    names: list[str] = []
    for result in results:
        name = result.name
        k = 2
        while name in names:
            name = f"{result.name} ({k})"
            k += 1
        names.append(name)
    return names


def _gains_rows(base: ScenarioResult, alternatives, names: list[str]) -> pd.DataFrame:
    zones = base.tables["zones"]
    cutoffs = cutoffs_of(zones)
    beyond = [access_beyond_noise(base, result) for result in alternatives]
    rows = []
    keys: list[tuple[Literal["zones", "population"], Literal["gain", "lose"]]] = [
        ("zones", "gain"),
        ("zones", "lose"),
        ("population", "gain"),
        ("population", "lose"),
    ]
    for cutoff_min in cutoffs:
        column = f"jobs_transit_{cutoff_min:g}min"
        values: dict[tuple[str, str], list[float]] = {key: [np.nan] for key in keys}
        for alt in beyond:
            counts = gains_losses(
                zones[column].to_numpy(float),
                alt[cutoff_min],
                zones["population"].to_numpy(float),
            )
            for who, way in keys:
                values[who, way].append(counts[f"{who}_{way}"])
        for who, way in keys:
            info = access_change(cutoff_min, who, way)
            rows.append(
                {
                    "group": info.group,
                    "metric": info.name,
                    "unit": info.unit,
                    **dict(zip(names, values[who, way], strict=True)),
                }
            )
    return pd.DataFrame(rows)
