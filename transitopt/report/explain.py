"""The report's "Why it changed" section: :mod:`transitopt.scenario.explain` as HTML and CSV.

For each alternative: the narrative, the headline changes with their noise band, the
per-zone "why" table, the threshold crossings with their seconds and components, the
lines and road links that changed. :func:`write_explanations` writes the same tables as
CSV next to the report.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import atomic_path, write_table
from ..scenario.explain import COMPONENT_WORDS, COMPONENTS, Explanation, explain, street_name
from ..scenario.result import ScenarioResult

#: rows shown per table in the report (the CSV files hold all)
ROWS_SHOWN = 12
#: explanations by (baseline key, alternative key), least recently used first: the report
#: and the CSV files of one comparison take them apart once
_EXPLAINED: dict[tuple[str, str], Explanation] = {}
EXPLANATIONS_KEPT = 8


def explanations(
    base: ScenarioResult, alternatives: Sequence[ScenarioResult]
) -> list[Explanation | None]:
    """:func:`~transitopt.scenario.explain.explain` of each alternative against ``base``
    (``None`` for a result without the pair skims, e.g. one of an older version)."""
    out: list[Explanation | None] = []
    for alt in alternatives:
        key = (base.key, alt.key)
        if key in _EXPLAINED:
            _EXPLAINED[key] = _EXPLAINED.pop(key)  # most recently used last
            out.append(_EXPLAINED[key])
            continue
        try:
            why = explain(base, alt)
        except KeyError:  # tables of an older result version: nothing to take apart
            out.append(None)
            continue
        _EXPLAINED[key] = why
        while len(_EXPLAINED) > EXPLANATIONS_KEPT:
            _EXPLAINED.pop(next(iter(_EXPLAINED)))
        out.append(why)
    return out


def write_explanations(
    base: ScenarioResult,
    alternatives: Sequence[ScenarioResult],
    folder: str | os.PathLike,
    labels: Sequence[str],
) -> list[Path]:
    """Write why each alternative differs as ``<folder>/<label>_<table>.csv`` (``metrics``,
    ``zones``, ``pairs``, ``lines``, ``links``) and ``<label>_narrative.txt``; returns the paths."""
    folder = Path(folder)
    paths = []
    for why, label in zip(explanations(base, alternatives), labels, strict=True):
        if why is None:
            continue
        for name in ("metrics", "zones", "pairs", "attribution", "lines", "links"):
            path = folder / f"{label}_{name}.csv"
            write_table(getattr(why, name), path)
            paths.append(path)
        path = folder / f"{label}_narrative.txt"
        with atomic_path(path) as tmp:
            tmp.write_text(why.narrative + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def explain_section(base: ScenarioResult, alternatives: Sequence[ScenarioResult]) -> str:
    """The HTML of the section (empty when there is nothing to compare)."""
    explained = [why for why in explanations(base, alternatives) if why is not None]
    if not explained:
        return ""
    cutoffs = _cutoffs(explained[0].zones)
    intro = (
        "<p class='hint'>Transit accessibility in this report counts jobs within each budget "
        "of <b>generalised time</b>: the cost transit route choice minimises (in-vehicle time, "
        "walking and waiting weighted, boarding and transfer penalties; fares left out), so a "
        "new line can only lower it. The <b>fastest-time</b> variant (the quickest strategy, "
        "unweighted) and a smooth <b>time-decay</b> measure (each job weighted by "
        "exp(−|β| × generalised min), β of the mode choice) are given beside it. A change "
        f"within the model's convergence noise ({_e(explained[0].noise.describe())}) is "
        "labelled as such, not counted as a gain or a loss. Seconds below are generalised "
        "seconds of the strategy route choice takes; its components add up to the change.</p>"
    )
    parts = [intro]
    for why in explained:
        parts.append(f"<h3>{_e(why.name)}</h3><p class='narrative'>{_e(why.narrative)}</p>")
        if why.notes:
            parts.append(
                "<ul class='notes'>" + "".join(f"<li>{_e(n)}</li>" for n in why.notes) + "</ul>"
            )
        parts.append(_metrics_html(why))
        parts.append(_zones_html(why, cutoffs))
        parts.append(_pairs_html(why))
        parts.append(_lines_html(why))
        parts.append(_links_html(why))
    return "".join(parts)


def _metrics_html(why: Explanation) -> str:
    table = why.metrics[why.metrics["verdict"] != "no change"]
    if not len(table):
        return "<p>No headline metric changed.</p>"
    rows = []
    for r in table.itertuples():
        scale, unit = (100.0, "%") if r.unit == "share" else (1.0, r.unit)
        digits = 2 if r.unit == "share" else 0
        rows.append(
            [
                _e(r.label),
                _e(unit),
                _num(scale * r.base, digits),
                _num(scale * r.alt, digits),
                _signed(scale * r.delta, digits),
                "–" if not _finite(r.noise) else "±" + _num(scale * r.noise, digits),
                _verdict(r.verdict),
                _e(getattr(r, "why", "")),
            ]
        )
    return _details(
        f"Headline changes against the noise band ({(table['verdict'] == 'within noise').sum()} "
        f"of {len(table)} within noise)",
        ["Metric", "Unit", "Baseline", "Alternative", "Δ", "Noise band", "Verdict", "Why"],
        rows,
        numeric={2, 3, 4, 5},
    )


def _zones_html(why: Explanation, cutoffs: list[str]) -> str:
    zones = why.zones
    if not len(zones):
        return "<p>No zone's transit accessibility changed.</p>"
    head = ["Zone", "Residents"]
    head += [f"Δ jobs {c} min (noise)" for c in cutoffs]
    head += [
        "Δ jobs, time decay",
        "Verdict",
        "Top reasons (generalised s, jobs-weighted)",
        "Lines (in-vehicle s)",
        "Largest crossing",
    ]
    rows = []
    for r in zones.head(ROWS_SHOWN).to_dict("records"):
        cells = [_e(r["zone"]), _num(r["population"])]
        for c in cutoffs:
            delta, noise = r[f"d_jobs_{c}min"], r[f"d_jobs_{c}min_noise"]
            text = _signed(delta)
            if _finite(noise) and noise != 0:
                text += f" ({_signed(noise)})"
            cells.append(text)
        cells += [
            _signed(r["d_jobs_decay"]),
            _verdict(r["verdict"]),
            _e(r["reasons"]),
            _e(r["lines"]),
            _e(r["example"]),
        ]
        rows.append(cells)
    more = (
        f" (the {ROWS_SHOWN} largest of {len(zones)}; all in the CSV)"
        if len(zones) > ROWS_SHOWN
        else ""
    )
    return _details(
        f"Why each zone's accessibility changed{more}",
        head,
        rows,
        numeric={1, *range(2, 3 + len(cutoffs))},
        open_=True,
    )


def _pairs_html(why: Explanation) -> str:
    pairs = why.pairs
    if not len(pairs):
        return "<p>No zone pair crosses an accessibility cutoff.</p>"
    head = [
        "From → to",
        "Jobs",
        "Cutoffs crossed",
        "Generalised s (base → alt)",
        "Δ s",
        *[COMPONENT_WORDS[c] for c in COMPONENTS],
        "Lines (in-vehicle s)",
        "Boardings",
        "Travel time s (base → alt)",
        "Noise",
        "Fastest time s (base → alt)",
        "Fastest: cutoffs crossed",
    ]
    rows = []
    for r in pairs.head(ROWS_SHOWN).to_dict("records"):
        rows.append(
            [
                f"{_e(r['origin'])} → {_e(r['destination'])}",
                _num(r["jobs"]),
                _e(r["crossings"]),
                f"{_num(r['base_s'])} → {_num(r['alt_s'])}",
                _signed(r["delta_s"], 1),
                *[_signed(r[f"d_{c}_s"], 1) for c in COMPONENTS],
                _e(r.get("lines", "")),
                f"{_num(r['base_boardings'], 2)} → {_num(r['alt_boardings'], 2)}",
                f"{_num(r['base_time_s'])} → {_num(r['alt_time_s'])}",
                "within noise (±" + _num(r["noise_s"], 1) + " s)"
                if r["within_noise"]
                else "beyond",
                f"{_num(r['base_fastest_s'])} → {_num(r['alt_fastest_s'])}",
                _e(r["fastest_crossings"]),
            ]
        )
    return _details(
        f"Threshold crossings: {len(pairs)} zone pairs cross a cutoff by generalised or fastest "
        "time (largest by jobs first; −T leaves, +T enters the T-minute set)",
        head,
        rows,
        numeric={1, 3, 4, 5, 6, 7, 8, 10, 11, 13},
    )


def _lines_html(why: Explanation) -> str:
    lines = why.lines
    if not len(lines):
        return ""
    rows = [
        [
            _e(r.label),
            _e(r.status),
            f"{_num(r.base_one_way_s)} → {_num(r.alt_one_way_s)}",
            _signed(r.d_one_way_s, 1),
            f"{_num(r.base_headway_s / 60, 2)} → {_num(r.alt_headway_s / 60, 2)}",
            _signed(r.d_boardings, 1),
            _signed(r.d_length_m),
            _e(getattr(r, "links", "")),
        ]
        for r in lines.head(ROWS_SHOWN).itertuples()
    ]
    return _details(
        f"Lines whose running time or headway changed ({len(lines)})",
        [
            "Line",
            "Status",
            "One-way s",
            "Δ s",
            "Headway min",
            "Δ boardings/h",
            "Δ route m",
            "Links on its route that changed (car time)",
        ],
        rows,
        numeric={2, 3, 4, 5, 6},
    )


def _links_html(why: Explanation) -> str:
    links = why.links
    if not len(links):
        return ""
    rows = [
        [
            _e(r.edge),
            _e(street_name(r.name, r.edge)),
            f"{_num(r.base_time_s, 1)} → {_num(r.alt_time_s, 1)}",
            _signed(r.d_time_s, 1),
            _e(r.cause),
        ]
        for r in links.head(ROWS_SHOWN).itertuples()
    ]
    return _details(
        f"Road links whose time changed beyond noise ({len(links)}; largest change of "
        "vehicle-hours first)",
        ["Edge", "Street", "Car time s", "Δ s", "What changed on it"],
        rows,
        numeric={2, 3},
    )


# ---------------------------------------------------------------------------- helpers
def _details(
    summary: str, head: list[str], rows: list[list[str]], *, numeric: set[int], open_: bool = False
) -> str:
    th = "".join(
        f"<th class='{'num' if k in numeric else ''}'>{_e(h)}</th>" for k, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'num' if k in numeric else 'wrap'}'>{c}</td>" for k, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<details{' open' if open_ else ''}><summary>{_e(summary)}</summary><div class='scroll'>"
        f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div></details>"
    )


def _cutoffs(zones: pd.DataFrame) -> list[str]:
    return [
        c.removeprefix("d_jobs_").removesuffix("min")
        for c in zones.columns
        if c.startswith("d_jobs_") and c.endswith("min")
    ]


def _verdict(text: str) -> str:
    kind = {"loss": "worse", "gain": "better"}.get(text, "")
    return f"<span class='{kind}'>{_e(text)}</span>" if kind else _e(text)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, digits: int = 0) -> str:
    if not _finite(value):
        return "–"
    v = float(value)
    if digits == 0 and abs(v) < 10 and v != round(v):
        return f"{v:.3g}"
    return f"{v:,.{digits}f}"


def _signed(value: Any, digits: int = 0) -> str:
    if not _finite(value):
        return (
            {math.inf: "unreachable", -math.inf: "newly reachable"}.get(float(value), "–")
            if _is_number(value)
            else "–"
        )
    v = float(value)
    if v == 0:
        return "0"
    return ("+" if v > 0 else "−") + _num(abs(v), digits)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
