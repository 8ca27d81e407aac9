"""The batch summary: one row per city × scenario, and a PNG ranking cities by each policy's effect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import write_table
from ..metrics import registry

#: columns before the metrics, in order
COLUMNS = (
    "city",
    "scenario",
    "policy",
    "status",
    "reused",
    "key",
    "converged",
    "iterations",
    "stop_reason",
    "noise_relative",
    "noise_share",
    "run_time_s",
    "error_type",
    "error",
    "result_dir",
    "warnings",
)
#: metrics shown in the overview: (metric, relative change? (else: in points of a share))
OVERVIEW = (
    ("composite_cost_min", True),
    ("share_transit", False),
)
#: bar colours in the overview: an improvement, a deterioration, a change of no clear direction
_BETTER, _WORSE, _NEUTRAL = "#2a7", "#c44", "#888"


def summary_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows from the workers → the table: fixed columns, then one column per headline metric."""
    records = []
    metrics: list[str] = []
    for row in rows:
        record = {c: row.get(c) for c in COLUMNS}
        for name, value in (row.get("headline") or {}).items():
            if name in COLUMNS:  # iterations, converged: already columns
                continue
            if name not in metrics:
                metrics.append(name)
            record[name] = np.nan if value is None else float(value)
        records.append(record)
    table = pd.DataFrame.from_records(records, columns=[*COLUMNS, *metrics])
    table["reused"] = table["reused"].fillna(False).astype(bool)
    table["converged"] = table["converged"].astype("boolean")
    table["iterations"] = pd.to_numeric(table["iterations"], errors="coerce").astype("Int64")
    for column in ("run_time_s", "noise_relative", "noise_share"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    for column in ("key", "stop_reason", "error_type", "error", "result_dir", "warnings"):
        table[column] = table[column].astype("string")
    return table


def write_summary(table: pd.DataFrame, parquet: Path, csv: Path) -> None:
    """Write the summary as Parquet and CSV, each atomically."""
    write_table(table, parquet)
    write_table(table, csv)


def policy_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Change of the overview metrics against each city's baseline: ``city, scenario, metric,
    change, within_noise``.

    ``change`` is in percent of the baseline's magnitude for a relative metric (so that its
    sign is the sign of the change, also for a negative cost), else in points (100 × Δ).
    ``within_noise``: the change is within the two runs' convergence noise (their
    ``noise_relative`` and ``noise_share``, the band of
    :class:`~transitopt.scenario.explain.NoiseFloor`; False where they are unknown).
    """
    from ..scenario.explain import NoiseFloor

    ok = table[table["status"].isin(["ok", "no_effect"])]
    for column in ("noise_relative", "noise_share"):  # absent in older summaries
        if column not in ok.columns:
            ok = ok.assign(**{column: np.nan})
    base = ok[ok["policy"] == "baseline"].set_index("city")
    rows = []
    for r in ok[ok["policy"] != "baseline"].itertuples(index=False):
        if r.city not in base.index:
            continue
        for metric, relative in OVERVIEW:
            if metric not in table.columns:
                continue
            before, after = float(base.loc[r.city, metric]), float(getattr(r, metric))
            change = (after - before) / abs(before) * 100 if relative else (after - before) * 100
            floor = NoiseFloor(
                relative=_larger(base.loc[r.city, "noise_relative"], r.noise_relative),
                share=_larger(base.loc[r.city, "noise_share"], r.noise_share),
            )
            rows.append(
                {
                    "city": r.city,
                    "scenario": r.scenario,
                    "metric": metric,
                    "change": change,
                    "within_noise": bool(abs(after - before) <= floor.band(metric, before, after)),
                }
            )
    return pd.DataFrame(rows, columns=["city", "scenario", "metric", "change", "within_noise"])


def _larger(a: Any, b: Any) -> float:
    """The larger of two noise figures; NaN when either is unknown (no verdict then)."""
    a, b = float(a), float(b)
    return max(a, b) if np.isfinite(a) and np.isfinite(b) else float("nan")


def write_overview(table: pd.DataFrame, path: Path, *, title: str = "") -> Path:
    """A PNG: per policy (rows) and overview metric (columns), cities ranked by the change."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    effects = policy_effects(table)
    scenarios = list(dict.fromkeys(effects["scenario"]))
    n = max(1, len(scenarios))
    fig, axes = plt.subplots(
        n,
        len(OVERVIEW),
        figsize=(5 * len(OVERVIEW), 0.6 + 0.35 * n * max(2, table["city"].nunique())),
        squeeze=False,
    )
    for i in range(n):
        for j, (metric, relative) in enumerate(OVERVIEW):
            ax = axes[i][j]
            if not scenarios:
                ax.text(0.5, 0.5, "no policy to compare with a baseline", ha="center", va="center")
                ax.set_axis_off()
                continue
            part = effects[(effects["scenario"] == scenarios[i]) & (effects["metric"] == metric)]
            part = part.sort_values("change")
            ax.barh(
                part["city"],
                part["change"],
                color=_colours(metric, part["change"], part["within_noise"]),
            )
            ax.axvline(0, color="black", linewidth=0.8)
            label = (
                f"{registry.metric(metric).label}, {'% change' if relative else 'change in points'}"
            )
            ax.set_title(f"{scenarios[i]}: {label}", fontsize=9)
            ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.text(
        0.01,
        0.005,
        "green: better, red: worse, grey: no clear direction or within the runs' convergence noise",
        fontsize=7,
        va="bottom",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _colours(metric: str, changes: pd.Series, within_noise: pd.Series) -> list[str]:
    """Bar colours by the metric's better direction (:mod:`transitopt.metrics.registry`);
    grey for a change within the runs' convergence noise."""
    sign = registry.metric(metric).sign
    return [
        _NEUTRAL if sign == 0 or c == 0 or noisy else _BETTER if np.sign(c) == sign else _WORSE
        for c, noisy in zip(changes, within_noise, strict=True)
    ]
