"""Charts of scenario results for the HTML report, as plotly figure dicts.

Every function takes the results to show, baseline first, and returns a plotly figure
as a plain ``{"data": [...], "layout": {...}}`` dict (JSON-able; drawn in the page by
plotly.js, so building one is cheap and needs no plotly Python objects). None
recomputes anything beyond sums of result tables. Scenario colours are fixed by
position: the baseline grey, alternatives in the D3 palette, the same in every chart
and table of a report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..metrics.registry import metric

if TYPE_CHECKING:
    from ..scenario.result import ScenarioResult

#: the baseline's colour, then one per alternative (cycled)
SCENARIO_COLOURS = (
    "#6b6b6b",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)
#: colours of the modes in the mode-share chart
MODE_COLOURS = {
    "car": "#e6550d",
    "motorcycle": "#fd8d3c",
    "ojek": "#fdae6b",
    "transit": "#3182bd",
    "walk": "#31a354",
    "bike": "#756bb1",
}

_FONT = {"family": "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", "size": 12}
_AXIS = {
    "showline": True,
    "linecolor": "#bbbbbb",
    "gridcolor": "#eeeeee",
    "zerolinecolor": "#bbbbbb",
}


def scenario_colour(index: int) -> str:
    """Colour of the ``index``-th scenario of a report (0 = baseline)."""
    if index == 0:
        return SCENARIO_COLOURS[0]
    return SCENARIO_COLOURS[1 + (index - 1) % (len(SCENARIO_COLOURS) - 1)]


def unique_names(results: Sequence[ScenarioResult]) -> list[str]:
    """Scenario names made unique with `` (2)``, `` (3)``... (as in ``scenario.compare``)."""
    names: list[str] = []
    for result in results:
        name, k = result.name, 2
        while name in names:
            name = f"{result.name} ({k})"
            k += 1
        names.append(name)
    return names


def _plain(text: str) -> str:
    """Text for plotly labels, which read a subset of HTML: escape the tag characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _layout(title: str, *, height: int = 420, **extra) -> dict:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}, "x": 0.01, "xanchor": "left"},
        "height": height,
        "font": _FONT,
        "margin": {"l": 60, "r": 20, "t": 96, "b": 50},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": 1.0,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _list(values, digits: int = 4) -> list:
    """A JSON-able list: floats rounded, NaN and inf as ``None``."""
    out = []
    for v in np.asarray(values, dtype=float):
        out.append(round(float(v), digits) if math.isfinite(v) else None)
    return out


def mode_share_figure(results: Sequence[ScenarioResult]) -> dict:
    """Mode shares per scenario as stacked horizontal bars (percent of trips)."""
    names = [_plain(n) for n in unique_names(results)]
    tables = [r.tables["mode_shares"].set_index("mode") for r in results]
    modes = list(dict.fromkeys(m for t in tables for m in t.index))
    data = []
    for mode in modes:
        share = [100.0 * float(t["share"].get(mode, 0.0)) for t in tables]
        trips = [float(t["trips"].get(mode, 0.0)) for t in tables]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": _list(share, 3),
                "name": mode,
                "marker": {"color": MODE_COLOURS.get(mode, "#999999")},
                "text": [f"{v:.1f} %" for v in share],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "customdata": _list(trips, 1),
                "hovertemplate": f"{mode}: %{{x:.2f}} %<br>%{{customdata:,.0f}} trips/h<extra>%{{y}}</extra>",
            }
        )
    layout = _layout(
        "Mode shares (share of all trips)",
        height=max(280, 170 + 48 * len(names)),
        barmode="stack",
        xaxis={"title": {"text": "percent of trips"}, "range": [0, 100]},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return {"data": data, "layout": layout}


def voc_distribution_figure(results: Sequence[ScenarioResult]) -> dict:
    """Share of the road network's lane-km in each volume/capacity class, per scenario."""
    data = []
    for i, (result, name) in enumerate(zip(results, unique_names(results), strict=True)):
        table = result.tables.get("voc_distribution")
        if table is None or len(table) == 0:
            continue
        custom = np.column_stack(
            [
                table["lane_km"].to_numpy(float).round(2),
                table["links"].to_numpy(float),
                table["car_veh_km"].to_numpy(float).round(0),
            ]
        )
        data.append(
            {
                "type": "bar",
                "x": [str(c) for c in table["voc_class"]],
                "y": _list(100.0 * table["share_lane_km"], 3),
                "name": _plain(name),
                "marker": {"color": scenario_colour(i)},
                "customdata": custom.tolist(),
                "hovertemplate": "v/c %{x}: %{y:.1f} % of lane-km<br>%{customdata[0]:,.1f} lane-km, %{customdata[1]:.0f} "
                "links<br>%{customdata[2]:,.0f} car veh-km/h<extra>" + _plain(name) + "</extra>",
            }
        )
    layout = _layout(
        "Volume / capacity distribution (share of lane-km)",
        barmode="group",
        height=460,
        xaxis={"title": {"text": "volume / capacity class"}, "type": "category"},
        yaxis={"title": {"text": "percent of lane-km"}, "rangemode": "tozero"},
        legend={"y": -0.22, "yanchor": "top"},
        margin={"t": 60, "b": 110},
    )
    if not data:
        layout["annotations"] = [_empty("no road network")]
    return {"data": data, "layout": layout}


def _empty(text: str) -> dict:
    return {"text": text, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}


def _line_label(line: str, segments: pd.DataFrame, stops: dict[str, str]) -> str:
    first = segments.iloc[0]
    last = segments.iloc[-1]
    name = str(first["name"]) if "name" in segments.columns else line
    mode = str(first["mode"]) if "mode" in segments.columns else ""
    start = stops.get(str(first["from_stop"]), str(first["from_stop"]))
    end = stops.get(str(last["to_stop"]), str(last["to_stop"]))
    return f"{mode} {name}: {start} → {end}".strip()


def load_profile_figure(results: Sequence[ScenarioResult], *, max_lines: int = 80) -> dict:
    """Passengers per hour on each segment of a line, per scenario, with the capacity offered
    (dashed) and the seats offered (dotted; ``segments.seats_per_hour``).

    A menu selects the line; lines are listed by their highest segment load in any
    scenario (busiest first), at most ``max_lines`` of them.
    """
    names = unique_names(results)
    per_scenario = []
    peak: dict[str, float] = {}
    labels: dict[str, str] = {}
    for result in results:
        segments = result.tables.get("segments", pd.DataFrame())
        stops = result.tables.get("stops", pd.DataFrame(columns=["stop_id", "name"]))
        stop_names = dict(zip(stops["stop_id"].astype(str), stops["name"].astype(str), strict=True))
        grouped = (
            {str(k): g.sort_values("seq") for k, g in segments.groupby("line", sort=False)}
            if len(segments)
            else {}
        )
        for line, g in grouped.items():
            peak[line] = max(
                peak.get(line, 0.0), float(np.nan_to_num(g["load"].to_numpy(float)).max())
            )
            labels.setdefault(line, _line_label(line, g, stop_names))
        per_scenario.append((grouped, stop_names))
    order = sorted(peak, key=lambda k: (-peak[k], _natural(labels[k])))[:max_lines]

    def line_data(line: str) -> tuple[dict, tuple[list, list]]:
        """Per scenario: bar, capacity and seat values of ``line`` (empty where the scenario lacks it)."""
        columns: dict[str, list] = {"x": [], "y": [], "hovertext": []}
        tick: tuple[list, list] | None = None
        for grouped, stop_names in per_scenario:
            g = grouped.get(line)
            if g is None:
                for key in columns:
                    columns[key] += [[], [], []]
                continue
            seq = g["seq"].to_numpy(int).tolist()
            frm = [stop_names.get(str(s), str(s)) for s in g["from_stop"]]
            to = [stop_names.get(str(s), str(s)) for s in g["to_stop"]]
            capacity = g["capacity_per_hour"].to_numpy(float)
            ratio = g["load_ratio"].to_numpy(float)
            if tick is None:
                tick = (seq, [_plain(f) for f in frm])
            seats = (
                g["seats_per_hour"].to_numpy(float)
                if "seats_per_hour" in g.columns
                else np.full(len(g), np.nan)
            )
            standing = (
                g["standing"].to_numpy(float)
                if "standing" in g.columns
                else np.full(len(g), np.nan)
            )
            text = [
                f"{_plain(a)} → {_plain(b)}<br>capacity {c:,.0f} pax/h, load/capacity {r:.2f}"
                + (f"<br>seats {st:,.0f} pax/h" if np.isfinite(st) else "")
                + (f", standing {sd:,.0f}" if np.isfinite(sd) else "")
                for a, b, c, r, st, sd in zip(
                    frm, to, capacity, ratio, seats, standing, strict=True
                )
            ]
            columns["x"] += [seq, seq, seq if np.isfinite(seats).any() else []]
            columns["y"] += [
                _list(g["load"], 1),
                _list(capacity, 1),
                _list(seats, 1) if np.isfinite(seats).any() else [],
            ]
            columns["hovertext"] += [text, [], []]
        return columns, tick or ([], [])

    data: list[dict] = []
    first, first_tick = (
        line_data(order[0]) if order else ({"x": [], "y": [], "hovertext": []}, ([], []))
    )
    for i, name in enumerate(names):
        data.append(
            {
                "type": "bar",
                "name": _plain(name),
                "legendgroup": str(i),
                "marker": {"color": scenario_colour(i)},
                "x": first["x"][3 * i] if order else [],
                "y": first["y"][3 * i] if order else [],
                "hovertext": first["hovertext"][3 * i] if order else [],
                "hovertemplate": "%{y:,.0f} pax/h<br>%{hovertext}<extra>"
                + _plain(name)
                + "</extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"capacity, {_plain(name)}",
                "legendgroup": str(i),
                "showlegend": False,
                "x": first["x"][3 * i + 1] if order else [],
                "y": first["y"][3 * i + 1] if order else [],
                "hoverinfo": "skip",
                "line": {"color": scenario_colour(i), "dash": "dash", "width": 1.5, "shape": "hvh"},
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"seats, {_plain(name)}",
                "legendgroup": str(i),
                "showlegend": False,
                "x": first["x"][3 * i + 2] if order else [],
                "y": first["y"][3 * i + 2] if order else [],
                "hoverinfo": "skip",
                "line": {"color": scenario_colour(i), "dash": "dot", "width": 1.5, "shape": "hvh"},
            }
        )
    layout = _layout(
        "Load profile per line (passengers per hour between stops; dashed: capacity offered, "
        "dotted: seats)",
        height=500,
        barmode="group",
        yaxis={"title": {"text": "passengers per hour"}, "rangemode": "tozero"},
        xaxis={"tickangle": -40, "automargin": True},
    )
    if order:
        layout["xaxis"].update(
            {"tickmode": "array", "tickvals": first_tick[0], "ticktext": first_tick[1]}
        )
        buttons = []
        for k, line in enumerate(order):
            columns, (vals, text) = (first, first_tick) if k == 0 else line_data(line)
            buttons.append(
                {
                    "label": _plain(labels[line][:70]),
                    "method": "update",
                    "args": [columns, {"xaxis.tickvals": vals, "xaxis.ticktext": text}],
                }
            )
        layout["updatemenus"] = [
            {
                "type": "dropdown",
                "buttons": buttons,
                "active": 0,
                "x": 0.0,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": 4},
                "font": {"size": 11},
            }
        ]
        layout["legend"] = {**layout["legend"], "x": 1.0, "xanchor": "right"}
    else:
        layout["annotations"] = [_empty("no transit lines")]
    return {"data": data, "layout": layout}


def _natural(text: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text))


def convergence_figure(results: Sequence[ScenarioResult]) -> dict:
    """The feedback loop of each run: change of mode shares and of link times per iteration (log scale)."""
    panels = (
        ("mode_gap", "change of mode shares"),
        ("link_time_change", "relative change of link times"),
    )
    data = []
    tolerance = None
    for i, (result, name) in enumerate(zip(results, unique_names(results), strict=True)):
        history = result.tables.get("convergence", pd.DataFrame())
        tolerance = result.summary.get("tolerance", tolerance)
        state = "" if result.converged else " (NOT converged)"
        for col, (column, _) in enumerate(panels, start=1):
            if column not in history.columns:
                continue
            values = history[column].to_numpy(float)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": history["iteration"].to_numpy(int).tolist(),
                    "y": _list(np.where(values > 0, values, np.nan), 8),
                    "name": _plain(name + state),
                    "legendgroup": str(i),
                    "showlegend": col == 1,
                    "xaxis": "x" if col == 1 else "x2",
                    "yaxis": "y" if col == 1 else "y2",
                    "line": {"color": scenario_colour(i), "width": 2},
                    "marker": {"symbol": "circle" if result.converged else "x", "size": 7},
                    "hovertemplate": f"iteration %{{x}}: %{{y:.3g}}<extra>{_plain(name)}</extra>",
                }
            )
    axis_x = {**_AXIS, "title": {"text": "iteration"}, "dtick": 1}
    axis_y = {**_AXIS, "type": "log", "exponentformat": "power"}
    layout = _layout(
        "Convergence of the feedback loop (road ⇄ transit ⇄ mode choice)",
        height=430,
        xaxis={**axis_x, "domain": [0.0, 0.45]},
        yaxis={**axis_y, "anchor": "x"},
    )
    layout["legend"] = {**layout["legend"], "y": -0.2, "yanchor": "top"}
    layout["margin"] = {**layout["margin"], "t": 70, "b": 80}
    layout["xaxis2"] = {**axis_x, "domain": [0.55, 1.0], "anchor": "y2"}
    layout["yaxis2"] = {**axis_y, "anchor": "x2"}
    layout["annotations"] = [
        {
            "text": title,
            "showarrow": False,
            "x": x,
            "xref": "paper",
            "y": 1.0,
            "yref": "paper",
            "yanchor": "bottom",
            "xanchor": "center",
            "font": {"size": 13},
        }
        for (_, title), x in zip(panels, (0.225, 0.775), strict=True)
    ]
    if tolerance is not None and math.isfinite(float(tolerance)):
        layout["shapes"] = [
            {
                "type": "line",
                "xref": f"{ax} domain",
                "x0": 0,
                "x1": 1,
                "yref": ay,
                "y0": float(tolerance),
                "y1": float(tolerance),
                "line": {"color": "#444444", "dash": "dot", "width": 1},
            }
            for ax, ay in (("x", "y"), ("x2", "y2"))
        ]
        layout["annotations"] += [
            {
                "text": f"tolerance {float(tolerance):g}",
                "showarrow": False,
                "xref": f"{ax} domain",
                "x": 1,
                "xanchor": "right",
                "yref": ay,
                "y": math.log10(float(tolerance)),
                "yanchor": "bottom",
                "font": {"size": 10, "color": "#444444"},
            }
            for ax, ay in (("x", "y"), ("x2", "y2"))
        ]
    return {"data": data, "layout": layout}


def change_figure(
    table: pd.DataFrame,
    names: Sequence[str],
    *,
    metrics: Sequence[str],
) -> dict:
    """Percent change against the baseline of the chosen headline metrics, one bar per alternative.

    ``table`` is ``scenario.compare``'s output; ``names`` are its scenario columns
    (baseline first); the axis shows the metrics' labels (:mod:`transitopt.metrics.registry`).
    """
    present = set(table["metric"])
    rows = (
        table.drop_duplicates("metric")
        .set_index("metric")
        .reindex([m for m in metrics if m in present])
    )
    axis = [_plain(metric(m).label) for m in rows.index]
    data = []
    for i, name in enumerate(names[1:], start=1):
        pct = rows[f"{name} Δ%"].to_numpy(float)
        delta = rows[f"{name} Δ"].to_numpy(float)
        text = [
            f"Δ {d:+,.4g} {_plain(u)}" if math.isfinite(d) else ""
            for d, u in zip(delta, rows["unit"].astype(str), strict=True)
        ]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": axis,
                "x": _list(np.nan_to_num(pct), 3),
                "name": _plain(name),
                "marker": {"color": scenario_colour(i)},
                "hovertext": text,
                "hovertemplate": "%{y}: %{x:+.2f} %<br>%{hovertext}<extra>"
                + _plain(name)
                + "</extra>",
            }
        )
    height = 160 + len(rows) * (8 + 10 * max(1, len(names) - 1))
    layout = _layout(
        "Change against the baseline (percent)",
        height=min(max(height, 320), 1000),
        barmode="group",
        bargap=0.25,
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={
            "title": {"text": "percent change vs baseline"},
            "zeroline": True,
            "zerolinecolor": "#888888",
        },
    )
    return {"data": data, "layout": layout}
