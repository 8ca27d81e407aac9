"""A self-contained HTML report comparing scenario results with a baseline.

The page holds everything it needs: plotly.js once, inline, every figure's data, the
styles and a few lines of script. It makes no network request (no CDN, no web fonts,
no map tiles), so it opens offline and can be sent by e-mail. It is written to a
temporary file next to the target and renamed into place only when complete.

Sections: a warning at the top for any run that did not converge; the headline metrics
with absolute and percent change (``scenario.compare``); why each alternative differs
(:mod:`.explain`: narrative, noise, per-zone reasons, crossings); the scenarios and their edits;
maps per scenario (:mod:`.maps`); charts (:mod:`.charts`); the convergence of each run;
the assumptions and parameters.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._io import atomic_path, plain_json
from ..metrics.registry import GROUPS, metric
from ..scenario.explain import within_noise
from . import charts
from .calibration import (
    counts_geh_map_figure,
    counts_scatter_figure,
    counts_statistics_html,
)
from .crowding import crowding_section
from .explain import explain_section
from .maps.interactive import GeometryStore, map_figure
from .maps.layer import slug
from .maps.layers import report_maps
from .maps.tables import access_columns

if TYPE_CHECKING:
    from ..scenario.result import ScenarioResult

#: plotly.js options: nothing that talks to a server (plotly.js 4 shows a "Share chart" button by default)
_CONFIG_BASE = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "plotlyServerURL": "",
}
_CONFIG_MAP = {
    **_CONFIG_BASE,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}
_CONFIG_CHART = {**_CONFIG_BASE, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def write_report(
    base: ScenarioResult,
    alternatives: Sequence[ScenarioResult],
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML report comparing ``alternatives`` with ``base``.

    Parameters
    ----------
    base
        The baseline result.
    alternatives
        Results to compare with it (may be empty: a report of the baseline alone).
    path
        The ``.html`` file to write (its folder is created). Written atomically: a
        failure leaves no file, or the previous one, in place.
    title
        Page title; default names the baseline and the number of alternatives.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    The page needs no network: plotly.js is inlined once (about 4.7 MB) and the maps
    are drawn on plain longitude/latitude axes without tiles. A run that did not
    converge is named in a warning at the top of the page and marked in every table.
    """
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # pragma: no cover - plotly is a dependency
        raise ImportError(
            "the HTML report needs plotly (for plotly.js): pip install plotly"
        ) from exc

    from ..scenario.compare import compare

    alternatives = list(alternatives)
    results = [base, *alternatives]
    names = charts.unique_names(results)
    title = title or (
        f"{base.name}: {len(alternatives)} alternative{'s' if len(alternatives) != 1 else ''} compared"
        if alternatives
        else f"{base.name}: scenario report"
    )
    table = compare(base, *alternatives)
    figures = _Figures()
    store = GeometryStore()

    body = [_header(title, results, names)]
    body.append(
        _section(
            "headline",
            "Headline metrics",
            _headline_table(table, names, results)
            + (
                figures.add(
                    charts.change_figure(table, names, metrics=_key_metrics(base)),
                    "chart",
                )
                if alternatives
                else ""
            ),
        )
    )
    why = explain_section(base, alternatives)
    if why:
        body.append(_section("why", "Why it changed", why))
    body.append(_section("scenarios", "Scenarios and edits", _scenarios_html(results, names)))
    map_html = []
    for section_title, views in report_maps(base, alternatives):
        if not views:
            continue
        cells = "".join(
            figures.add(
                map_figure(view, store=store), "map", name=view.layer.key, note=view.layer.note
            )
            for view in views
        )
        map_html.append(f"<h3>{_e(section_title)}</h3><div class='grid'>{cells}</div>")
    body.append(
        _section(
            "maps",
            "Maps",
            "<p class='hint'>Drag to pan, scroll to zoom, double-click to reset; hover "
            "for details; click a legend entry to hide or show it. No background map: streets are "
            "drawn from the model's network.</p>" + "".join(map_html),
        )
    )
    counts_html = counts_statistics_html(results, names)
    if counts_html:
        figs = [counts_scatter_figure(results, names), counts_geh_map_figure(base)]
        cells = "".join(figures.add(f, "chart") for f in figs if f is not None)
        body.append(
            _section("counts", "Fit to counts", counts_html + f"<div class='grid'>{cells}</div>")
        )
    chart_cells = [
        figures.add(charts.mode_share_figure(results), "chart"),
        figures.add(charts.voc_distribution_figure(results), "chart"),
    ]
    chart_html = f"<div class='grid'>{''.join(chart_cells)}</div>"
    if any(len(r.tables.get("segments", ())) for r in results):
        chart_html += figures.add(charts.load_profile_figure(results), "chart wide")
    body.append(_section("charts", "Charts", chart_html))
    crowding = crowding_section(results, names)
    if crowding:
        body.append(_section("crowding", "Crowding", crowding))
    body.append(
        _section(
            "convergence",
            "Convergence of each run",
            figures.add(charts.convergence_figure(results), "chart wide")
            + _convergence_tables(results, names),
        )
    )
    body.append(
        _section("assumptions", "Assumptions and parameters", _assumptions_html(results, names))
    )
    body.append(_footer())

    page = _PAGE.format(
        title=_e(title),
        css=_CSS,
        plotlyjs=get_plotlyjs(),
        script=_SCRIPT,
        body="\n".join(body),
        geometry=store.to_json() or _json(store.to_dict()),
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- figures
class _Figures:
    """Figure dicts to ``<figure>`` blocks: a ``<div>`` and a call of the page's ``transitoptPlot``, stable ids."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, fig: dict, kind: str, *, name: str = "figure", note: str = "") -> str:
        self.count += 1
        div_id = f"fig{self.count}-{slug(name)}"
        config = dict(_CONFIG_MAP if kind == "map" else _CONFIG_CHART)
        config["toImageButtonOptions"] = {"format": "png", "scale": 2, "filename": div_id}
        height = int(fig.get("layout", {}).get("height") or 450)
        spec = _json({"data": fig["data"], "layout": fig["layout"], "config": config})
        caption = f"<p class='note'>{_e(note)}</p>" if note else ""
        return (
            f"<figure class='figure {kind}'><div id='{div_id}' class='plot' style='height:{height}px'></div>"
            f"<script>transitoptPlot('{div_id}', {spec});</script>{caption}</figure>"
        )


def _json(value: Any) -> str:
    """Compact JSON safe to place inside a ``<script>`` element."""
    text = json.dumps(plain_json(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# ---------------------------------------------------------------------------- formatting
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _number(value: Any, unit: str = "") -> str:
    """A value for a table cell: shares in percent, large numbers with separators."""
    if not _finite(value):
        return "–"
    value = float(value)
    if unit == "share":
        return f"{100.0 * value:.1f} %"
    if unit == "bool":
        return "yes" if value else "no"
    size = abs(value)
    if size >= 100 or (size > 0 and value == round(value)):
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:,.1f}"
    if size == 0:
        return "0"
    return f"{value:.3g}"


def _signed(text: str, value: float) -> str:
    return ("+" if value > 0 else "−") + text


def _delta(value: Any, unit: str = "") -> str:
    """A change: explicit sign (a true minus), shares in percentage points."""
    if not _finite(value):
        return "–"
    value = float(value)
    if value == 0:
        return "0"
    if unit == "share":
        return _signed(f"{100.0 * abs(value):.2f} pp", value)
    return _signed(_number(abs(value), unit), value)


def _percent(value: Any) -> str:
    if not _finite(value):
        return "–"
    value = float(value)
    if value == 0:
        return "0 %"
    return _signed(f"{abs(value):.1f} %" if abs(value) >= 0.05 else "<0.1 %", value)


def _key_metrics(base: ScenarioResult) -> list[str]:
    columns = access_columns(base.tables.get("zones", pd.DataFrame()))
    access = [columns[len(columns) // 2]] if columns else []
    return [
        "share_car",
        "share_transit",
        "car_veh_h",
        "car_delay_veh_h",
        "car_avg_speed_kph",
        "transit_trips",
        "transit_avg_time_min",
        "transit_avg_wait_min",
        "transit_fleet",
        "transit_veh_km",
        *access,
        "co2_total",
    ]


# ---------------------------------------------------------------------------- sections
def _section(anchor: str, title: str, content: str) -> str:
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{content}</section>"


def _header(title: str, results: list[ScenarioResult], names: list[str]) -> str:
    from .. import __version__

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed = [(r, n) for r, n in zip(results, names, strict=True) if not r.converged]
    banner = ""
    if failed:
        items = "".join(
            f"<li><b>{_e(n)}</b> did not converge: after {_e(r.summary.get('iterations', '?'))} iterations the "
            f"change of mode shares is {_number(r.summary.get('mode_gap'))} and of link times "
            f"{_number(r.summary.get('link_time_change'))} (tolerance {_number(r.summary.get('tolerance'))}).</li>"
            for r, n in failed
        )
        banner = (
            f"<div class='banner bad' id='not-converged' role='alert'><b>Warning: "
            f"{len(failed)} of {len(results)} runs did NOT converge.</b> Their numbers are not at equilibrium; "
            f"differences against them may be artefacts of the model, not effects of the scenario."
            f"<ul>{items}</ul></div>"
        )
    else:
        banner = (
            f"<div class='banner good' id='all-converged'>All {len(results)} runs converged.</div>"
        )
    who = ", ".join(
        f"<span class='swatch' style='background:{charts.scenario_colour(i)}'></span>{_e(n)}"
        f"{'' if i else ' (baseline)'}"
        for i, n in enumerate(names)
    )
    nav = "".join(
        f"<a href='#{a}'>{t}</a>"
        for a, t in (
            ("headline", "Headline"),
            ("why", "Why"),
            ("scenarios", "Scenarios"),
            ("maps", "Maps"),
            ("charts", "Charts"),
            ("crowding", "Crowding"),
            ("convergence", "Convergence"),
            ("assumptions", "Assumptions"),
        )
    )
    return (
        f"<header><h1>{_e(title)}</h1><p class='meta'>{who}</p><p class='meta'>Generated {stamp} by "
        f"transitopt {_e(__version__)}.</p><nav>{nav}</nav></header>{banner}"
        f"{_plausibility_html(results, names)}"
    )


def _plausibility_html(results: list[ScenarioResult], names: list[str]) -> str:
    """A banner with the runs' plausibility warnings (one shared by every run once)."""
    from ..scenario.plausibility import grouped_warnings

    pairs = grouped_warnings([r.summary for r in results], names)
    if not pairs:
        return ""
    items = "".join(
        f"<li><b>{_e(who)}</b>: <code>{_e(w.code)}</code> {_e(w.message)}</li>" for who, w in pairs
    )
    return (
        f"<div class='banner warn' id='plausibility' role='note'><b>{len(pairs)} plausibility "
        f"warning{'s' if len(pairs) != 1 else ''}</b> (inputs or edits that may not describe the "
        f"city; docs/model.md, Plausibility checks)<ul>{items}</ul></div>"
    )


def _headline_table(table: pd.DataFrame, names: list[str], results: list[ScenarioResult]) -> str:
    alts = names[1:]
    head = [
        "<th rowspan='2'>Metric</th><th rowspan='2'>Unit</th>",
        f"<th rowspan='2' class='num'>{_scenario_head(names[0], results[0], 0)}</th>",
    ]
    head += [
        f"<th colspan='3' class='alt'>{_scenario_head(n, r, i)}</th>"
        for i, (n, r) in enumerate(zip(alts, results[1:], strict=True), start=1)
    ]
    sub = "".join(
        "<th class='num'>value</th><th class='num'>Δ</th><th class='num'>Δ %</th>" for _ in alts
    )
    legend = (
        "<p class='hint'>Δ: alternative − baseline; Δ %: relative to the baseline; shares change in "
        "percentage points (pp). <span class='better'>Green</span>: an improvement, "
        "<span class='worse'>red</span>: a deterioration, where the direction is clear (less delay, "
        "emissions, cost, waiting and inequality; more accessibility and speed). "
        "<span class='noise'>≈ Grey</span>: within the model's convergence noise, neither "
        "(the band of each is under <i>Why it changed</i>). Hover a metric for its id.</p>"
    )
    within = [within_noise(results[0], r) for r in results[1:]]
    return legend + _table_html(head, sub, _headline_rows(table, names, within))


def _headline_rows(
    table: pd.DataFrame, names: list[str], within: Sequence[set[str]] = ()
) -> list[str]:
    alts = names[1:]
    rows = []
    for group, block in table.groupby("group", sort=False):
        rows.append(
            f"<tr class='group'><td colspan='{3 + 3 * len(alts)}'>{_e(GROUPS[group])}</td></tr>"
        )
        for _, values in block.iterrows():
            entry, unit = metric(str(values["metric"])), str(values["unit"])
            unit_text = "%" if unit == "share" else unit
            cells = [
                f"<td title='{_e(entry.name)}'>{_e(entry.label)}</td><td class='unit'>{_e(unit_text)}</td>",
                f"<td class='num'>{_number(values[names[0]], unit)}</td>",
            ]
            for k, name in enumerate(alts):
                delta, pct = values[f"{name} Δ"], values[f"{name} Δ%"]
                if _finite(delta) and abs(float(delta)) <= 1e-9 * max(
                    1.0, abs(float(values[names[0]]))
                ):
                    delta, pct = 0.0, 0.0  # rounding noise of the solvers, not a change
                if unit == "bool":
                    delta = pct = float("nan")
                mark, approx = "", ""
                if k < len(within) and values["metric"] in within[k]:
                    mark, approx = " noise", "≈"
                elif entry.sign and _finite(delta) and float(delta) != 0:
                    mark = " better" if np.sign(float(delta)) == entry.sign else " worse"
                cells.append(
                    f"<td class='num'>{_number(values[name], unit)}</td>"
                    f"<td class='num{mark}'>{approx}{_delta(delta, unit)}</td>"
                    f"<td class='num{mark}'>{approx}{_percent(pct)}</td>"
                )
            rows.append(f"<tr>{''.join(cells)}</tr>")
    return rows


def _table_html(head: list[str], sub: str, rows: list[str]) -> str:
    second = f"<tr>{sub}</tr>" if sub else ""
    return (
        f"<div class='scroll'><table class='headline'><thead><tr>{''.join(head)}</tr>{second}</thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _scenario_head(name: str, result: ScenarioResult, index: int) -> str:
    swatch = f"<span class='swatch' style='background:{charts.scenario_colour(index)}'></span>"
    flag = "" if result.converged else "<br><span class='flag'>NOT converged</span>"
    return f"{swatch}{_e(name)}{flag}"


def _scenarios_html(results: list[ScenarioResult], names: list[str]) -> str:
    rows = []
    for i, (result, name) in enumerate(zip(results, names, strict=True)):
        s = result.summary
        timings = s.get("timings") or {}
        total = timings.get("total_s") if isinstance(timings, Mapping) else None
        state = "yes" if result.converged else "<span class='flag'>NO</span>"
        rows.append(
            f"<tr><td>{_scenario_head(name, result, i)}</td><td>{_e(s.get('kind', ''))}</td>"
            f"<td>{_e(s.get('description') or '')}</td><td class='path'>{_e(Path(str(s.get('file', ''))).name)}</td>"
            f"<td class='num'>{_e(s.get('iterations', '?'))}</td><td>{state}</td>"
            f"<td class='num'>{_number(total) + ' s' if _finite(total) else '–'}</td></tr>"
        )
    out = (
        "<div class='scroll'><table><thead><tr><th>Scenario</th><th>Kind</th><th>Description</th><th>File</th>"
        "<th>Iterations</th><th>Converged</th><th>Run time</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    edit_rows = []
    for result, name in zip(results[1:], names[1:], strict=True):
        edits = result.tables.get("edits", pd.DataFrame())
        for row in edits.to_dict("records"):
            edit_rows.append(
                f"<tr><td>{_e(name)}</td><td>{_e(row.get('file', ''))}</td><td>{_e(row.get('type', ''))}"
                f"</td><td class='wrap'>{_e(row.get('target', ''))}</td><td>{_e(row.get('effect', ''))}</td></tr>"
            )
    if edit_rows:
        out += (
            "<h3>Edits applied</h3><div class='scroll'><table><thead><tr><th>Scenario</th><th>File</th>"
            "<th>Edit</th><th>Target</th><th>Effect</th></tr></thead>"
            f"<tbody>{''.join(edit_rows)}</tbody></table></div>"
        )
    return out


#: convergence log columns shown as plain numbers (counts), not to three digits
_COUNT_COLUMNS = (
    "iteration",
    "road_iterations",
    "transit_iterations",
    "transit_denied",
    "transit_standing_h",
)


def _convergence_tables(results: list[ScenarioResult], names: list[str]) -> str:
    show = [
        "iteration",
        "mode_gap",
        "link_time_change",
        "share_car",
        "share_transit",
        "share_walk",
        "road_gap",
        "road_iterations",
        "transit_gap",
        "transit_iterations",
        "transit_denied",
        "transit_standing_h",
        "seconds",
    ]
    parts = []
    for i, (result, name) in enumerate(zip(results, names, strict=True)):
        history = result.tables.get("convergence", pd.DataFrame())
        columns = [c for c in show if c in history.columns] + [
            c for c in history.columns if c not in show
        ]
        s = result.summary
        verdict = (
            f"converged in {_e(s.get('iterations', '?'))} iterations"
            if result.converged
            else f"<span class='flag'>did NOT converge</span> in {_e(s.get('iterations', '?'))} iterations"
        )
        head = "".join(f"<th class='num'>{_e(c.replace('_', ' '))}</th>" for c in columns)
        body = []
        for row in history[columns].to_dict("records"):
            cells = []
            for c in columns:
                v = row[c]
                unit = "share" if c.startswith("share_") else ""
                text = (
                    _number(v, unit)
                    if c in _COUNT_COLUMNS or unit
                    else (f"{float(v):.3g}" if _finite(v) else "–")
                )
                cells.append(f"<td class='num'>{text}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        parts.append(
            f"<details{' open' if not result.converged else ''}><summary>"
            f"{_scenario_head(name, result, i).replace('<br>', ' ')}: {verdict} (tolerance "
            f"{_number(s.get('tolerance'))})</summary><div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div></details>"
        )
    return (
        "<p class='hint'>Each iteration runs the road equilibrium (buses as a preload), the bus running times, "
        "the transit assignment and the mode choice, and averages the result with the previous iterations. "
        "The loop stops when both the change of mode shares and the relative change of link times fall "
        "below the tolerance.</p>" + "".join(parts)
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def _show(value: Any) -> str:
    if isinstance(value, float):
        return _number(value) if value != 0 else "0"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def _assumptions_html(results: list[ScenarioResult], names: list[str]) -> str:
    flat = [_parameters(result.summary) for result in results]
    keys: dict[str, None] = {}
    for record in flat:
        keys.update(dict.fromkeys(record))
    head = "".join(
        f"<th>{_scenario_head(n, r, i)}</th>"
        for i, (n, r) in enumerate(zip(names, results, strict=True))
    )
    rows = []
    for key in keys:
        values = [_show(record.get(key)) for record in flat]
        cells = "".join(
            f"<td class='{'changed' if i and v != values[0] else ''}'>{_e(v)}</td>"
            for i, v in enumerate(values)
        )
        rows.append(f"<tr><td class='key'>{_e(key)}</td>{cells}</tr>")
    notes = _notes_html(results, names)
    model = (
        "<p>The evaluation joins a road equilibrium for cars (buses enter as a PCU preload on the links they use, "
        "none on bus lanes), bus running times from congested link times (free flow on bus lanes) plus dwell, a "
        "frequency-based transit assignment (optimal strategies) with walk access and egress, and a multinomial "
        "logit mode choice over car, transit and walk generalised costs, in a feedback loop with averaging. "
        "Accessibility is the number of jobs a zone's residents reach door to door within each time budget "
        "(by transit: of generalised time, the cost route choice minimises; the fastest-time variant and a "
        "time-decay measure beside it), averaged over zones weighted by population; Gini and Palma measure how unevenly transit accessibility "
        "is spread over residents. CO₂ follows from vehicle-km and the fuel and electricity factors below. "
        "Volume/capacity counts buses as PCU. Metrics are per hour of the analysis period.</p>"
    )
    return (
        model + "<p class='hint'>Highlighted: a value that differs from the baseline's.</p>"
        f"<div class='scroll'><table class='params'><thead><tr><th>Parameter</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        + (f"<h3>Notes from the runs</h3>{notes}" if notes else "")
        + _inputs_html(results, names)
    )


def _parameters(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A run's assumptions as flat ``key: value`` pairs (period, network, zones, fares, model)."""
    record = {}
    period = summary.get("period") or {}
    if isinstance(period, Mapping):
        record["period"] = (
            f"{period.get('name', '')} {period.get('start', '')}–{period.get('end', '')}".strip()
        )
    record.update(_flatten(summary.get("network") or {}, "network."))
    for key in ("zones", "lines", "tolerance"):
        if key in summary:
            record[key] = summary[key]
    record.update(_flatten(summary.get("transit_fares") or {}, "fares."))
    record.update(_flatten(summary.get("parameters") or {}, "model."))
    return record


def _notes_html(results: list[ScenarioResult], names: list[str]) -> str:
    """The runs' notes: those of every run once, then each run's own."""
    notes = []
    every = [list(r.summary.get("notes") or []) for r in results]
    common = [n for n in every[0] if all(n in other for other in every[1:])]
    if common:
        notes.append(
            "<h4>All runs</h4><ul class='notes'>"
            + "".join(f"<li>{_e(n)}</li>" for n in common)
            + "</ul>"
        )
    for own, name in zip(every, names, strict=True):
        items = "".join(f"<li>{_e(n)}</li>" for n in own if n not in common)
        if items:
            notes.append(f"<h4>{_e(name)}</h4><ul class='notes'>{items}</ul>")
    return "".join(notes)


def _inputs_html(results: list[ScenarioResult], names: list[str]) -> str:
    rows = []
    for result, name in zip(results, names, strict=True):
        chain = result.summary.get("chain") or []
        rows.append(
            f"<tr><td>{_e(name)}</td><td class='path'>{_e(' ← '.join(Path(str(c)).name for c in chain))}</td>"
            f"<td class='path'>{_e(str(result.key)[:16])}</td></tr>"
        )
    return (
        "<h3>Scenario files</h3><div class='scroll'><table><thead><tr><th>Scenario</th><th>File chain "
        "(alternative ← baseline)</th><th>Result key</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _footer() -> str:
    return (
        "<footer>Self-contained report: all data, scripts (plotly.js, MIT licence) and styles are in this "
        "file; it opens offline and makes no network request.</footer>"
    )


_CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#d0d7de; --soft:#f6f8fa; --good:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif; color:var(--ink);
       font-size:14px; line-height:1.45; background:#fff; }
header, section, footer, .banner { max-width:1560px; margin:0 auto; padding:0 24px; }
header { padding-top:18px; }
h1 { font-size:24px; margin:0 0 6px; }
h2 { font-size:20px; margin:34px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line); }
h3 { font-size:16px; margin:22px 0 8px; }
h4 { font-size:14px; margin:12px 0 4px; }
.meta { color:var(--muted); margin:2px 0; }
nav { margin:10px 0 14px; display:flex; gap:14px; flex-wrap:wrap; }
nav a { color:#0969da; text-decoration:none; font-weight:600; }
.banner { margin-top:8px; padding:12px 18px; border-radius:6px; }
.banner.bad { background:#ffebe9; border:2px solid var(--bad); color:#82071e; font-size:15px; }
.banner.good { background:#dafbe1; border:1px solid #4ac26b; color:#116329; }
.banner.warn { background:#fff8c5; border:1px solid #d4a72c; color:#7d4e00; }
.banner ul { margin:6px 0 0; }
.flag { color:var(--bad); font-weight:700; }
.swatch { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; margin:6px 0 12px; font-size:13px; }
th, td { padding:4px 9px; border-bottom:1px solid #eaeef2; text-align:left; vertical-align:top; }
thead th { background:var(--soft); border-bottom:2px solid var(--line); position:sticky; top:0; }
th.alt { text-align:center; border-left:2px solid var(--line); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.headline td:nth-child(3n+4) { border-left:2px solid var(--line); }
tr.group td { background:#eef1f4; font-weight:700; padding-top:7px; }
td.unit, .hint, .note { color:var(--muted); }
.better { color:var(--good); font-weight:600; }
.worse { color:var(--bad); font-weight:600; }
.noise { color:var(--muted); }
td.changed { background:#fff8c5; font-weight:600; }
td.key, td.path { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
td.wrap { max-width:420px; word-break:break-word; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(640px, 1fr)); gap:18px; }
figure.figure { margin:0; border:1px solid var(--line); border-radius:6px; padding:6px; background:#fff;
                min-width:0; }
figure.wide { margin-top:18px; }
.note { font-size:12px; margin:4px 6px 2px; }
details { margin:6px 0; }
summary { cursor:pointer; }
ul.notes { margin:2px 0 8px; color:var(--muted); }
footer { color:var(--muted); font-size:12px; margin:40px auto 30px; border-top:1px solid var(--line); padding-top:10px; }
#draw-errors { display:none; }
"""

_SCRIPT = """
var transitoptGeometry = null;
function transitoptPlot(id, spec) {
  if (transitoptGeometry === null) {
    var node = document.getElementById("transitopt-geometry");
    transitoptGeometry = node ? JSON.parse(node.textContent) : {x: [], y: []};
  }
  var G = transitoptGeometry;
  spec.data.forEach(function (trace) {
    if (!trace._geo) { return; }
    var x = [], y = [];
    trace._geo.forEach(function (i, k) {
      if (k > 0) { x.push(null); y.push(null); }
      var gx = G.x[i], gy = G.y[i];
      for (var j = 0; j < gx.length; j++) { x.push(gx[j]); y.push(gy[j]); }
    });
    trace.x = x; trace.y = y; delete trace._geo;
  });
  Plotly.newPlot(id, spec.data, spec.layout, spec.config);
}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="transitopt">
<title>{title}</title>
<style>{css}</style>
<script>
window.addEventListener("error", function (event) {{
  var box = document.getElementById("draw-errors");
  if (box) {{ box.style.display = "block"; box.textContent += " " + event.message; }}
}});
</script>
<script type="text/javascript">{plotlyjs}</script>
<script>{script}</script>
<script type="application/json" id="transitopt-geometry">{geometry}</script>
</head>
<body>
<div class="banner bad" id="draw-errors" role="alert">Part of this report failed to draw:</div>
{body}
</body>
</html>
"""
