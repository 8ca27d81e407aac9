"""The report's "Crowding" section: standing and denied riders per line, crowding per zone.

Reads what :mod:`transitopt.scenario.evaluate` writes for a run with line capacities
(``[model.transit_capacity]``): the ``lines`` table's ``peak_load_factor``,
``peak_standing``, ``standing_h``, ``denied``, ``crowded_passenger_h`` and the ``zones``
table's ``transit_crowded_time_min`` (trip-weighted door-to-door time with in-vehicle
time weighted by crowding, Wardman & Whelan 2011). A run without line capacities is
named in one line ("capacities not modelled"), never shown as zeros.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..metrics.transit import has_crowding
from ..scenario.explain import (
    CAPACITY_NOISE_ITERATIONS,
    capacity_scatter,
    line_crowding_bands,
)

if TYPE_CHECKING:
    from ..scenario.result import ScenarioResult

#: per-line columns of the crowding table: (column, heading, unit, digits)
LINE_COLUMNS = (
    ("peak_load_factor", "peak load / capacity", "ratio", 2),
    ("peak_standing", "standing at the peak", "riders", 0),
    ("standing_h", "standing", "pax·h", 1),
    ("denied", "denied boarding", "riders", 0),
)
#: lines shown per table (the most crowded first, in any scenario)
MAX_LINES = 25


def capacity_modelled(result: ScenarioResult) -> bool:
    """Whether ``result`` comes from a run with line capacities."""
    info = result.summary.get("transit_capacity") or {}
    return bool(info.get("enabled")) and has_crowding(result.tables.get("lines", pd.DataFrame()))


def crowding_section(
    results: Sequence[ScenarioResult], names: Sequence[str], *, max_lines: int = MAX_LINES
) -> str:
    """HTML of the section: a note per run without capacities, then per-line standing and
    denied riders (each scenario side by side, with the change against the baseline) and
    the crowding-weighted transit time per zone. Empty when no run has lines."""
    if not any(len(r.tables.get("lines", ())) for r in results):
        return ""
    parts = []
    off = [n for r, n in zip(results, names, strict=True) if not capacity_modelled(r)]
    if off:
        parts.append(
            "<p class='hint' id='capacity-off'>Line capacities are not modelled in "
            f"{_e(', '.join(off))}: no crowding, standing or denied riders are computed there "
            "(enable <code>[model.transit_capacity]</code> in the baseline, docs/model.md).</p>"
        )
    on = [(r, n) for r, n in zip(results, names, strict=True) if capacity_modelled(r)]
    if not on:
        return "".join(parts)
    parts.append(_convergence_line(on))
    parts.append(_lines_table(on, max_lines=max_lines))
    parts.append(_zones_table(on))
    return "".join(parts)


def _convergence_line(on: list[tuple[ScenarioResult, str]]) -> str:
    items = []
    for result, name in on:
        info = result.summary["transit_capacity"]
        state = "converged" if info.get("converged") else "NOT converged"
        if info.get("stop_reason") == "stalled":
            state += " (its gap stopped falling)"
        scatter = capacity_scatter(result).get("transit_denied_boardings")
        items.append(
            f"{_e(name)}: {state} in {int(info.get('iterations', 0))} iterations "
            f"(relative gap {float(info.get('relative_gap', float('nan'))):.2%}), "
            f"{_number(info.get('denied_boardings'), 0)} riders denied boarding"
            + (f" (scatter {_number(scatter, 0)})" if scatter is not None else "")
        )
    return (
        "<p class='hint'>Capacity-constrained transit assignment (effective frequencies, "
        "Cepeda, Cominetti &amp; Florian 2006; crowding multipliers, Wardman &amp; Whelan 2011) "
        f"of the final demand: {'; '.join(items)}. Loads are riders per period of the "
        "assignment; <i>denied boarding</i> counts riders who cannot board a vehicle in the "
        "period at their stop. Near full lines it hangs on where the assignment stops: the "
        "<i>scatter</i> is its range over the assignments of the last "
        f"{CAPACITY_NOISE_ITERATIONS} feedback iterations and the final one, and a change "
        "between scenarios within the larger scatter is within noise, as is a per-line "
        "change below within that line's scatter (marked ≈).</p>"
    )


def line_crowding_table(
    results: Sequence[ScenarioResult], names: Sequence[str], *, max_lines: int = MAX_LINES
) -> pd.DataFrame:
    """Per line, the :data:`LINE_COLUMNS` of each scenario (columns ``<column> | <name>``),
    lines with the highest peak load / capacity in any scenario first, at most ``max_lines``;
    a line a scenario lacks is NaN there."""
    frames = []
    for result, name in zip(results, names, strict=True):
        lines = result.tables["lines"].set_index("line")
        frame = lines[[c for c, *_ in LINE_COLUMNS]].astype(float)
        frame.columns = [f"{c} | {name}" for c, *_ in LINE_COLUMNS]
        frames.append(frame)
        labels = lines["label"] if "label" in lines.columns else lines.index.to_series()
        frames.append(labels.rename(f"label | {name}").to_frame())
    table = pd.concat(frames, axis=1)
    label_columns = [c for c in table.columns if c.startswith("label | ")]
    table["label"] = table[label_columns].bfill(axis=1).iloc[:, 0].fillna("")
    table = table.drop(columns=label_columns)
    peak = table[[c for c in table.columns if c.startswith("peak_load_factor | ")]].max(axis=1)
    order = peak.fillna(-1.0).sort_values(ascending=False, kind="stable").index[:max_lines]
    return table.loc[order]


def _lines_table(on: list[tuple[ScenarioResult, str]], *, max_lines: int) -> str:
    results = [r for r, _ in on]
    names = [n for _, n in on]
    table = line_crowding_table(results, names, max_lines=max_lines)
    base = names[0]
    head = "<th rowspan='2'>Line</th>" + "".join(
        f"<th colspan='{len(LINE_COLUMNS)}' class='alt'>{_e(n)}</th>" for n in names
    )
    sub = "".join(
        f"<th class='num'>{_e(title)} ({_e(unit)})</th>"
        for _ in names
        for _, title, unit, _ in LINE_COLUMNS
    )
    bands = {k: line_crowding_bands(results[0], r) for k, r in enumerate(results) if k}
    rows = []
    for line, row in table.iterrows():
        cells = [f"<td title='{_e(line)}'>{_e(row['label'])}</td>"]
        for k, name in enumerate(names):
            for column, _, _, digits in LINE_COLUMNS:
                value = row[f"{column} | {name}"]
                text = _number(value, digits)
                if k and _finite(value) and _finite(row[f"{column} | {base}"]):
                    change = float(value) - float(row[f"{column} | {base}"])
                    if abs(change) >= 0.5 * 10.0**-digits:
                        band = _band(bands[k], line, column)
                        if band is not None and abs(change) <= band:
                            text += f" <span class='noise'>(≈{change:+,.{digits}f})</span>"
                        else:
                            text += f" <span class='hint'>({change:+,.{digits}f})</span>"
                cells.append(f"<td class='num'>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    note = (
        f"<p class='hint'>Per line: the busiest segment's load over the places offered, the "
        f"riders standing there (load above the seats), passenger-hours standing and riders "
        f"denied boarding over all stops; in brackets the change against {_e(base)}, "
        "marked ≈ where it is within the larger of the two runs' scatter of that line's "
        f"value over the last {CAPACITY_NOISE_ITERATIONS} feedback iterations' assignments "
        f"and the final one (within noise). The {len(table)} most crowded lines.</p>"
    )
    return (
        f"<h3>Standing and denied riders per line</h3>{note}<div class='scroll'>"
        f"<table class='headline' id='crowding-lines'><thead><tr>{head}</tr><tr>{sub}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _band(bands: pd.DataFrame, line: object, column: str) -> float | None:
    """The noise band of ``line``'s ``column`` in ``bands`` (None where unknown)."""
    if line not in bands.index or column not in bands.columns:
        return None
    value = bands.at[line, column]
    return float(value) if _finite(value) else None


def _zones_table(on: list[tuple[ScenarioResult, str]]) -> str:
    """Trip-weighted crowding-weighted transit time over the zones, and the zones whose
    time rises or falls by more than a minute against the first run."""
    column = "transit_crowded_time_min"
    if not all(column in r.tables.get("zones", pd.DataFrame()).columns for r, _ in on):
        return ""
    rows = []
    base = on[0][0].tables["zones"].set_index("zone")
    for k, (result, name) in enumerate(on):
        zones = result.tables["zones"].set_index("zone")
        values = zones[column].to_numpy(float)
        weights = zones["transit_from"].to_numpy(float)
        use = np.isfinite(values) & (weights > 0)
        mean = (
            float(np.sum(values[use] * weights[use]) / weights[use].sum()) if use.any() else np.nan
        )
        surcharge = zones["transit_crowding_min"].to_numpy(float)
        extra = (
            float(np.sum(surcharge[use] * weights[use]) / weights[use].sum())
            if use.any()
            else np.nan
        )
        cells = [f"<td>{_e(name)}</td>", f"<td class='num'>{_number(mean, 1)}</td>"]
        cells.append(f"<td class='num'>{_number(extra, 2)}</td>")
        if k:
            change = zones[column].reindex(base.index).to_numpy(float) - base[column].to_numpy(
                float
            )
            worse = int(np.sum(change > 1.0))
            better = int(np.sum(change < -1.0))
            cells.append(f"<td class='num'>{worse}</td><td class='num'>{better}</td>")
        else:
            cells.append("<td class='num'>–</td><td class='num'>–</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = (
        "<th>Scenario</th><th class='num'>crowding-weighted time (min/trip)</th>"
        "<th class='num'>of which crowding (min/trip)</th>"
        "<th class='num'>zones +1 min or more</th><th class='num'>zones −1 min or more</th>"
    )
    return (
        "<h3>Crowding-weighted transit time per zone</h3><p class='hint'>Per zone "
        "(<code>zones.transit_crowded_time_min</code>): the door-to-door time of its transit "
        "riders with the in-vehicle time weighted by crowding, averaged over their trips; "
        "here averaged over all transit trips, with the zones whose time changes by more than "
        "a minute. The maps show it per zone.</p>"
        f"<div class='scroll'><table class='headline' id='crowding-zones'><thead><tr>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _number(value: object, digits: int) -> str:
    return f"{float(value):,.{digits}f}" if _finite(value) else "–"  # type: ignore[arg-type]
