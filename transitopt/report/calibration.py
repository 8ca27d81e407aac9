"""The calibration report of an OD matrix estimation: tables, a scatter plot, a GEH map.

:func:`write_calibration` writes into one folder:

* ``estimate.omx`` and ``estimate.csv`` (origin, destination, trips): the estimated matrix
  (with several vehicle classes: one OMX core and a ``vehicle_class`` column per class,
  the core ``trips`` their vehicle sum);
* ``fit.csv``: per observation count, modelled before and after, GEH before and after;
* ``statistics.csv``: GEH < 5 share, TAG flow criterion, R², slope, RMSE, %RMSE;
* ``class_statistics.csv``: the fit and the trips per counted vehicle class;
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
from typing import Any

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
    by_class = result.class_estimates or {"": est}
    write_omx(
        folder / "estimate.omx",
        {"trips": est.matrix} | {name: m.matrix for name, m in result.class_estimates.items()},
        est.zones,
    )
    parts = []
    for name, matrix in by_class.items():
        i, j = np.nonzero(matrix.matrix)
        part = pd.DataFrame(
            {
                "origin": matrix.zones[i],
                "destination": matrix.zones[j],
                "trips": matrix.matrix[i, j],
            }
        )
        parts.append(part.assign(vehicle_class=name) if name else part)
    write_table(pd.concat(parts, ignore_index=True), folder / "estimate.csv")
    fit = result.fit_table()
    write_table(fit, folder / "fit.csv")
    stats = result.statistics().rename_axis("statistic").reset_index()
    write_table(stats, folder / "statistics.csv")
    class_stats = result.class_statistics()
    write_table(class_stats, folder / "class_statistics.csv")
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
        "<h3>By counted vehicle class</h3>",
        class_stats.to_html(index=False, float_format=lambda v: f"{v:.3f}"),
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


# ------------------------------------------------------------------ scenario reports
def _fits(results: list, names: list[str]) -> list[tuple[str, pd.DataFrame]]:
    return [
        (name, r.tables["counts_fit"])
        for r, name in zip(results, names, strict=True)
        if "counts_fit" in r.tables and len(r.tables["counts_fit"])
    ]


def counts_statistics_html(results: list, names: list[str]) -> str:
    """A table of the fit to counts per scenario (the baseline also before estimation),
    and the baseline's RMSE by flow band; empty when no result has counts."""
    from ..metrics.counts import count_statistics

    boardings = boardings_statistics_html(results, names)
    fits = _fits(results, names)
    if not fits:
        return boardings
    rows = []
    for k, (name, fit) in enumerate(fits):
        runs = (
            [(f"{name} (before estimation)", fit["modelled_before"])]
            if k == 0 and ("modelled_before" in fit)
            else []
        )
        for label, modelled in [*runs, (name, fit["modelled"])]:
            s = count_statistics(modelled.to_numpy(float), fit["count"].to_numpy(float))
            rows.append(
                f"<tr><td>{html.escape(label)}</td><td>{int(s['n'])}</td>"
                f"<td>{100 * s['share_geh_below_5']:.1f} %</td><td>{100 * s['share_flow_criterion']:.1f} %</td>"
                f"<td>{s['r2']:.3f}</td><td>{s['slope']:.3f}</td><td>{s['rmse']:,.1f}</td>"
                f"<td>{s['percent_rmse']:.1f}</td></tr>"
            )
    name, fit = fits[0]
    bands = rmse_by_band(fit["modelled"].to_numpy(float), fit["count"].to_numpy(float))
    band_rows = "".join(
        f"<tr><td>{html.escape(str(b.band))}</td><td>{int(b.n)}</td>"
        + (
            f"<td>{b.rmse:,.1f}</td><td>{b.percent_rmse:.1f}</td><td>{100 * b.share_geh_below_5:.0f} %</td>"
            if b.n
            else "<td></td><td></td><td></td>"
        )
        + "</tr>"
        for b in bands.itertuples()
    )
    return (
        "<p class='hint'>GEH &lt; 5 on more than 85 % of counted links and the flow criterion "
        "(within 100 veh/h below 700, 15 % to 2,700, 400 veh/h above) are the UK TAG unit "
        "M3.1 guidelines. The baseline's matrix is estimated from the counts (Spiess 1990); "
        "alternatives keep it.</p>"
        "<table><thead><tr><th>scenario</th><th>counts</th><th>GEH &lt; 5</th><th>flow criterion</th>"
        "<th>R²</th><th>slope</th><th>RMSE</th><th>%RMSE</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + f"<h3>RMSE by flow band ({html.escape(name)})</h3><table><thead><tr><th>counted flow, veh/h"
        "</th><th>counts</th><th>RMSE</th><th>%RMSE</th><th>GEH &lt; 5</th></tr></thead><tbody>"
        + band_rows
        + "</tbody></table>"
        + boardings
    )


def boardings_statistics_html(results: list, names: list[str]) -> str:
    """A table of the fit to counted transit boardings per scenario (the baseline also
    before its constant was fitted); empty when no result has boardings counts."""
    from ..metrics.counts import count_statistics

    fits = [
        (name, r.tables["boardings_fit"])
        for r, name in zip(results, names, strict=True)
        if "boardings_fit" in r.tables and len(r.tables["boardings_fit"])
    ]
    if not fits:
        return ""
    rows = []
    for name, fit in fits:
        runs = (
            [(f"{name} (before calibration)", fit["modelled_before"])]
            if "modelled_before" in fit
            else []
        )
        for label, modelled in [*runs, (name, fit["modelled"])]:
            m, c = modelled.to_numpy(float), fit["count"].to_numpy(float)
            s = count_statistics(m, c)
            rows.append(
                f"<tr><td>{html.escape(label)}</td><td>{int(s['n'])}</td>"
                f"<td>{c.sum():,.0f}</td><td>{m.sum():,.0f}</td>"
                f"<td>{100 * s['share_geh_below_5']:.1f} %</td><td>{s['r2']:.3f}</td>"
                f"<td>{s['rmse']:,.1f}</td><td>{s['percent_rmse']:.1f}</td></tr>"
            )
    return (
        "<h3>Transit boardings</h3><p class='hint'>Boardings per counted line and stop "
        "(passengers per period). A baseline without target shares has its transit constant "
        "fitted so that the counted total is matched within 1 %; how the boardings split "
        "between lines stays the model's, unless <code>transit_od</code> also adjusts the "
        "transit OD so that each counted line and stop is within 2 %.</p>"
        "<table><thead><tr><th>scenario</th><th>counts</th><th>counted</th><th>modelled</th>"
        "<th>GEH &lt; 5</th><th>R²</th><th>RMSE</th><th>%RMSE</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def counts_scatter_figure(results: list, names: list[str]) -> dict | None:
    """Plotly figure: modelled against counted flow per count and scenario, with y = x."""
    fits = _fits(results, names)
    if not fits:
        return None
    data: list[dict] = []
    top = 0.0
    first_name, first = fits[0]
    series = []
    if "modelled_before" in first:
        series.append((f"{first_name} (before estimation)", first, "modelled_before", "#aaaaaa"))
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    for k, (name, fit) in enumerate(fits):
        series.append((name, fit, "modelled", palette[k % len(palette)]))
    for name, fit, column, colour in series:
        top = max(top, float(fit["count"].max()), float(fit[column].max()))
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": fit["count"].round(1).tolist(),
                "y": fit[column].round(1).tolist(),
                "text": [str(v) for v in fit["label"]],
                "marker": {"color": colour, "size": 7, "opacity": 0.8},
                "hovertemplate": "%{text}<br>counted %{x:,.0f}, modelled %{y:,.0f}<extra>"
                + html.escape(name)
                + "</extra>",
            }
        )
    top *= 1.05
    data.append(
        {"type": "scatter", "mode": "lines", "name": "y = x", "x": [0, top], "y": [0, top],
         "line": {"color": "#000000", "width": 1}, "hoverinfo": "skip"}
    )  # fmt: skip
    layout = {
        "title": {"text": "Modelled against counted flow (veh/h)", "font": {"size": 15}},
        "height": 480,
        "xaxis": {"title": {"text": "counted"}, "range": [0, top]},
        "yaxis": {"title": {"text": "modelled"}, "range": [0, top]},
        "legend": {"orientation": "h", "y": -0.2},
        "margin": {"l": 60, "r": 20, "t": 60, "b": 100},
    }
    return {"data": data, "layout": layout}


def counts_geh_map_figure(result: Any) -> dict | None:
    """Plotly map of the street network with counted links coloured by GEH (< 5, 5-10, > 10)."""
    fit = result.tables.get("counts_fit")
    links = result.tables.get("links")
    if fit is None or links is None or not len(fit) or "edges" not in fit:
        return None
    x0, y0 = links["x0"].to_numpy(float), links["y0"].to_numpy(float)
    x1, y1 = links["x1"].to_numpy(float), links["y1"].to_numpy(float)
    row_of = {int(e): k for k, e in enumerate(links["edge"].to_numpy())}

    def lines(rows: list[int]) -> tuple[list, list]:
        xs: list = []
        ys: list = []
        for k in rows:
            xs += [round(x0[k], 6), round(x1[k], 6), None]
            ys += [round(y0[k], 6), round(y1[k], 6), None]
        return xs, ys

    bx, by = lines(list(range(len(links))))
    data: list[dict] = [
        {"type": "scatter", "mode": "lines", "x": bx, "y": by, "name": "streets",
         "line": {"color": "#cccccc", "width": 1}, "hoverinfo": "skip"}
    ]  # fmt: skip
    for lo, hi, colour in GEH_CLASSES:
        inside = fit[(fit["geh"] >= lo) & (fit["geh"] < hi)]
        rows = [
            row_of[int(e)]
            for text in inside["edges"]
            for e in str(text).split()
            if int(e) in row_of
        ]
        xs, ys = lines(rows)
        label = f"GEH {lo:g}+" if not np.isfinite(hi) else f"GEH {lo:g}-{hi:g}"
        data.append(
            {"type": "scatter", "mode": "lines", "x": xs, "y": ys,
             "name": f"{label} ({len(inside)})", "line": {"color": colour, "width": 4},
             "hoverinfo": "skip"}
        )  # fmt: skip
    layout = {
        "title": {"text": f"Counted links by GEH ({result.name})", "font": {"size": 15}},
        "height": 480,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "scaleanchor": "x"},
        "legend": {"orientation": "h", "y": -0.05},
        "margin": {"l": 10, "r": 10, "t": 60, "b": 40},
    }
    return {"data": data, "layout": layout}
