"""Terminal tables that stay readable at 80 columns: short headers, a legend for them.

A scenario comparison has a column per scenario and a row per metric; scenario names and
metric labels are long, so the table shows codes (``base``, ``A``, ``B`` ...) and short
metric names, and a legend below it gives the full names. Tables with more alternatives
than fit the terminal are split, each part repeating the baseline. Cells are never cut
(``…``); the CSV files hold every value and full name.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..metrics.registry import metric

#: headline metrics shown on the terminal and their short names there (the files and the
#: report hold all of them under their full labels); names checked against the registry
TERMINAL_METRICS: Mapping[str, str] = {
    "share_car": "car share",
    "share_transit": "transit shr",
    "share_walk": "walk share",
    "share_motorcycle": "moto share",
    "share_ojek": "ojek share",
    "car_veh_h": "car veh·h",
    "car_delay_veh_h": "car delay",
    "car_avg_speed_kph": "car speed",
    "lane_km_voc_over_1_0": "v/c>1 ln·km",
    "pcu_km": "PCU·km",
    "car_pcu_km": "car PCU·km",
    "motorcycle_pcu_km": "moto PCU·km",
    "ojek_pcu_km": "ojek PCU·km",
    "transit_boardings": "boardings",
    "transit_avg_time_min": "transit time",
    "transit_max_load_ratio": "max load/cap",
    "transit_denied_boardings": "denied brd",
    "transit_crowded_time_min": "crowded time",
    "transit_fleet": "fleet",
    "co2_total": "CO₂",
}
#: rows shown only where a scenario of the table has a value (motorcycle modes)
_WHERE_GIVEN = {
    "share_motorcycle",
    "share_ojek",
    "pcu_km",
    "car_pcu_km",
    "motorcycle_pcu_km",
    "ojek_pcu_km",
}
#: characters a value column takes besides its text (padding and the rule)
_CELL_EXTRA = 3
#: width of a value cell: "1.234e+06", "(+111.1%)", "(+0.03 pt)"
_VALUE_WIDTH = 10
_METRIC_WIDTH = 12


def scenario_codes(names: Sequence[str]) -> list[str]:
    """``base`` for the first name, then ``A``, ``B``, ... (``A1`` ... after ``Z``)."""
    letters = string.ascii_uppercase
    codes = ["base"]
    for k in range(len(names) - 1):
        codes.append(letters[k] if k < len(letters) else f"A{k - len(letters) + 1}")
    return codes


def print_headline(
    console: Console,
    table: pd.DataFrame,
    *,
    title: str,
    within_noise: Sequence[set[str]] = (),
) -> None:
    """Print a metrics table (``group, metric, unit`` and one value column per scenario, with
    ``<name> Δ`` and ``<name> Δ%`` change columns per alternative, as
    :func:`transitopt.scenario.compare` makes) in at most ``console.width`` columns.
    ``within_noise``: per alternative, the metrics whose change is within the model's
    convergence noise (:func:`transitopt.scenario.explain.metric_changes`), shown as
    ``≈+1.2%`` instead of ``(+1.2%)``."""
    names = [
        str(c)
        for c in table.columns
        if c not in ("group", "metric", "unit")
        and not str(c).endswith(" Δ")
        and not str(c).endswith(" Δ%")
    ]
    wanted = {metric(name).name for name in TERMINAL_METRICS}
    shown = table[table["metric"].isin(wanted)]
    values = shown[names].apply(pd.to_numeric, errors="coerce")
    given = values.notna().any(axis=1) & ~(
        shown["metric"].isin(_WHERE_GIVEN) & (values.fillna(0.0) == 0.0).all(axis=1)
    )
    shown = shown[given]
    if shown.empty:
        shown = table
    codes = scenario_codes(names) if len(names) > 1 else ["value"]
    fits = (console.width - _METRIC_WIDTH - _CELL_EXTRA) // (_VALUE_WIDTH + _CELL_EXTRA)
    per_part = max(1, fits - 1)  # the baseline's column is in every part
    alternatives = list(range(1, len(names)))
    parts = [alternatives[i : i + per_part] for i in range(0, len(alternatives), per_part)] or [[]]
    for k, part in enumerate(parts):
        suffix = f" ({k + 1} of {len(parts)})" if len(parts) > 1 else ""
        console.print(f"{title}{suffix}", style="bold", highlight=False)
        view = Table(show_edge=False, pad_edge=False)
        view.add_column("metric", overflow="fold", max_width=_METRIC_WIDTH)
        for j in [0, *part]:
            view.add_column(codes[j], justify="right", overflow="fold", no_wrap=False)
        for _, row in shown.iterrows():
            unit = str(row["unit"])
            cells: list[str | Text] = [
                Text.assemble(_short(str(row["metric"])), "\n", (_unit(unit), "dim"))
            ]
            cells.append(_value(row[names[0]], unit))
            for j in part:
                change = _change(row.get(f"{names[j]} Δ"), row.get(f"{names[j]} Δ%"), unit)
                noisy = j <= len(within_noise) and row["metric"] in within_noise[j - 1]
                if noisy and change:
                    change = "≈" + change[1:-1]
                cells.append(f"{_value(row[names[j]], unit)}\n{change}")
            view.add_row(*cells)
        console.print(view)
    if len(names) > 1:
        for code, name in zip(codes, names, strict=True):
            console.print(f"{code:>4} = {name}", highlight=False, markup=False)
    labels = [
        f"{short} = {metric(name).label}"
        for name, short in TERMINAL_METRICS.items()
        if metric(name).name in set(shown["metric"]) and short != metric(name).label.lower()
    ]
    changes = " Changes vs base: % (points for shares)." if len(names) > 1 else ""
    if any(within_noise):
        changes += " ≈: within the model's convergence noise (the report gives each band)."
    if labels:
        console.print("; ".join(labels) + "." + changes, style="dim", highlight=False)


def _short(name: str) -> str:
    """The terminal name of a metric (its id where it has none)."""
    return TERMINAL_METRICS.get(name, name)


def _unit(unit: str) -> str:
    return "%" if unit == "share" else unit


def _value(value: object, unit: str) -> str:
    number = _number(value)
    if math.isnan(number):
        return ""
    if unit == "share":
        return f"{100.0 * number:.1f}%"
    return f"{number:,.4g}"


def _change(delta: object, pct: object, unit: str) -> str:
    """``(+0.5%)``; for a share the change in points (``+0.03 pt``)."""
    if unit == "share":
        d = _number(delta)
        return "" if math.isnan(d) else f"({100.0 * d:+.2f} pt)"
    p = _number(pct)
    return "" if math.isnan(p) else f"({p:+.1f}%)"


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
