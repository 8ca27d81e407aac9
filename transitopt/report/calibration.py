"""The calibration report of an OD matrix estimation: tables, a scatter plot, a GEH map.

:func:`write_calibration` writes into one folder:

* ``estimate.omx`` and ``estimate.csv`` (origin, destination, trips): the estimated matrix;
* ``fit.csv``: per observation count, modelled before and after, GEH before and after;
* ``statistics.csv``: GEH < 5 share, TAG flow criterion, R², slope, RMSE, %RMSE;
* ``bands.csv``: RMSE by flow band (TAG M3.1 bands), before and after;
* ``od_change.csv``: per OD cell prior, estimate, change, ratio;
* ``history.csv``: the estimation's convergence history;
* ``scatter.png`` (modelled against counted), ``geh_map.png`` (counted links by GEH);
* ``calibration.html``: all of it on one page.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path, write_table
from ..assignment.odme import ODMEResult
from ..demand.od import write_omx
from ..metrics.counts import geh, rmse_by_band

#: GEH classes of the map: edges and colours
GEH_CLASSES = ((0.0, 5.0, "#1a9850"), (5.0, 10.0, "#fee08b"), (10.0, np.inf, "#d73027"))


def plot_scatter(result: ODMEResult, path: str | os.PathLike) -> Path:
    """Modelled against counted flow per observation, prior and estimate, with y = x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counted = result.counts.observed
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(counted, result.modelled_prior, s=12, alpha=0.6, label="prior", color="#999999")
    ax.scatter(counted, result.modelled, s=12, alpha=0.8, label="estimate", color="#1f77b4")
    top = float(max(counted.max(), result.modelled.max(), result.modelled_prior.max())) * 1.05
    ax.plot([0, top], [0, top], color="black", lw=0.8, label="y = x")
    stats = result.statistics()
    ax.set_title(
        f"R² {stats.loc['r2', 'prior']:.3f} -> {stats.loc['r2', 'estimate']:.3f}, GEH<5 "
        f"{100 * stats.loc['share_geh_below_5', 'prior']:.0f}% -> "
        f"{100 * stats.loc['share_geh_below_5', 'estimate']:.0f}%",
        fontsize=10,
    )
    ax.set_xlabel("counted flow (veh per period)")
    ax.set_ylabel("modelled flow (veh per period)")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)


def plot_geh_map(result: ODMEResult, path: str | os.PathLike) -> Path:
    """The network in grey, counted links coloured by GEH of the estimate (< 5, 5-10, > 10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    net = result.assignment.network
    x, y = np.asarray(net.node_x, dtype=float), np.asarray(net.node_y, dtype=float)
    segments = np.stack(
        [np.column_stack([x[net.tail], y[net.tail]]), np.column_stack([x[net.head], y[net.head]])],
        axis=1,
    )
    value = geh(result.modelled, result.counts.observed)
    per_edge = np.repeat(value, np.diff(result.counts.indptr))
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.add_collection(LineCollection(list(segments), colors="#cccccc", linewidths=0.6))
    for lo, hi, colour in GEH_CLASSES:
        inside = (per_edge >= lo) & (per_edge < hi)
        label = f"GEH {lo:g}+" if not np.isfinite(hi) else f"GEH {lo:g}-{hi:g}"
        ax.add_collection(
            LineCollection(
                list(segments[result.counts.edges[inside]]),
                colors=colour,
                linewidths=2.2,
                label=f"{label} ({int(inside.sum())})",
            )
        )
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("counted links by GEH (estimate)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)


def write_calibration(result: ODMEResult, folder: str | os.PathLike) -> Path:
    """Write the estimated matrix, the fit tables, the figures and ``calibration.html``
    into ``folder`` (created); returns the HTML page's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    est = result.estimate
    write_omx(folder / "estimate.omx", {"trips": est.matrix}, est.zones)
    i, j = np.nonzero(est.matrix)
    write_table(
        pd.DataFrame(
            {"origin": est.zones[i], "destination": est.zones[j], "trips": est.matrix[i, j]}
        ),
        folder / "estimate.csv",
    )
    fit = result.fit_table()
    write_table(fit, folder / "fit.csv")
    stats = result.statistics().rename_axis("statistic").reset_index()
    write_table(stats, folder / "statistics.csv")
    counted = result.counts.observed
    bands = rmse_by_band(result.modelled_prior, counted).merge(
        rmse_by_band(result.modelled, counted)[
            ["band", "rmse", "percent_rmse", "share_geh_below_5"]
        ],
        on="band",
        suffixes=("_prior", "_estimate"),
    )
    write_table(bands, folder / "bands.csv")
    write_table(result.od_change(), folder / "od_change.csv")
    write_table(result.history, folder / "history.csv")
    plot_scatter(result, folder / "scatter.png")
    plot_geh_map(result, folder / "geh_map.png")
    page = folder / "calibration.html"
    worst = fit.assign(abs_geh=fit["geh"]).sort_values("abs_geh", ascending=False).head(15)
    unmatched = result.counts.unmatched
    body = [
        "<h1>Calibration to counts</h1>",
        f"<pre>{html.escape(result.summary())}</pre>",
        "<h2>Fit statistics</h2>",
        stats.to_html(index=False, float_format=lambda v: f"{v:.3f}"),
        "<p>GEH &lt; 5 on at least 85 % of counted links, and the flow criterion, are the UK "
        "TAG unit M3.1 (table 3) acceptability guidelines.</p>",
        "<h2>RMSE by flow band</h2>",
        bands.to_html(index=False, float_format=lambda v: f"{v:.2f}", na_rep=""),
        '<h2>Modelled against counted</h2><img src="scatter.png" width="480">',
        '<h2>GEH map</h2><img src="geh_map.png" width="620">',
        "<h2>Worst fitted observations</h2>",
        worst.drop(columns="abs_geh").to_html(index=False, float_format=lambda v: f"{v:.1f}"),
        f"<h2>Unmatched count rows ({len(unmatched)})</h2>",
        unmatched.to_html(index=False) if len(unmatched) else "<p>none</p>",
        "<h2>Convergence</h2>",
        result.history.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""),
    ]
    with atomic_path(page) as tmp:
        Path(tmp).write_text(
            "<!doctype html><meta charset='utf-8'><title>Calibration</title>"
            "<style>body{font-family:sans-serif;max-width:980px;margin:auto}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
            "padding:2px 6px}</style>" + "\n".join(body),
            encoding="utf-8",
        )
    return page
