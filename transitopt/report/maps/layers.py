"""The maps of a comparison as :class:`~.layer.MapLayer` data, from a result's tables.

Car flow change and v/c per road, passengers per transit corridor, change of jobs
reachable by transit per zone, and the zones that gain or lose; :func:`report_maps`
picks the maps of a report, grouped by scenario.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...metrics.equity import gains_losses
from .classes import (
    DECREASE,
    GAIN,
    INCREASE,
    LOSS,
    MapClass,
    crowding_classes,
    diverging_classes,
    load_widths,
    voc_classes,
    with_closed,
)
from .layer import LazyTexts, LineHighlight, MapLayer, MapView
from .tables import (
    access_columns,
    access_threshold,
    cells_of,
    corridors_of,
    feature_ids,
    natural_key,
    roads_of,
    segment_lines,
    street_ids_of,
    streets_of,
)

if TYPE_CHECKING:
    from ...scenario.result import ScenarioResult

#: a change of accessibility smaller than this (jobs) is "no change" (solver rounding)
_NO_CHANGE_JOBS = 1e-6


def flow_change_layer(base: ScenarioResult, alternative: ScenarioResult) -> MapLayer:
    """Change of car flow per road (veh/h, both directions), alternative − baseline."""
    b = roads_of(base)
    a = roads_of(alternative)
    roads = pd.concat(
        [b[["name", "geometry"]], a.loc[~a.index.isin(b.index), ["name", "geometry"]]]
    )
    fb = b["flow"].reindex(roads.index, fill_value=0.0).to_numpy(float)
    fa = a["flow"].reindex(roads.index, fill_value=0.0).to_numpy(float)
    closed = a["closed"].reindex(roads.index, fill_value=False).to_numpy(bool)
    added = ~roads.index.isin(b.index)
    bus_lane = a["bus_lane"].reindex(roads.index, fill_value=False).to_numpy(bool) & ~b[
        "bus_lane"
    ].reindex(roads.index, fill_value=False).to_numpy(bool)
    change = fa - fb
    classes, legend = diverging_classes(
        change, minimum=10.0, low=DECREASE, high=INCREASE, unit="veh/h"
    )
    classes, legend = with_closed(
        classes, legend, closed, label="closed in the alternative", width=2.0
    )
    names, before_flow, after_flow = roads["name"].tolist(), fb.tolist(), fa.tolist()
    deltas, shut, new_road, new_lane = (
        change.tolist(),
        closed.tolist(),
        added.tolist(),
        bus_lane.tolist(),
    )

    def hover_text(k: int) -> str:
        tag = (
            " (closed)"
            if shut[k]
            else " (new road)"
            if new_road[k]
            else " (new bus lane)"
            if new_lane[k]
            else ""
        )
        return (
            f"<b>{_street_name(names[k])}</b>{tag}<br>cars {before_flow[k]:,.0f} → "
            f"{after_flow[k]:,.0f} veh/h<br>change {deltas[k]:+,.0f} veh/h"
        )

    hover = LazyTexts(len(roads), hover_text)
    return _road_layer(
        roads,
        closed=closed,
        bus_lane=bus_lane,
        bus_lane_label="new bus lane",
        key="flow_change",
        title=f"Car flow change: {alternative.name} vs {base.name}",
        scenario=alternative.name,
        value=change,
        classes=classes,
        legend=legend,
        legend_title="change of cars per hour<br>(both directions)",
        hover=hover,
        note="Red: more cars than in the baseline; blue: fewer. Width grows with the size of the change.",
    )


def voc_layer(result: ScenarioResult, *, base: ScenarioResult | None = None) -> MapLayer:
    """Volume/capacity ratio per road (larger direction), with the baseline's value in the hover."""
    roads = roads_of(result)
    voc = roads["voc"].to_numpy(float)
    closed = roads["closed"].to_numpy(bool)
    classes, legend = voc_classes(voc, closed)
    before = roads_of(base)["voc"].reindex(roads.index).tolist() if base is not None else None
    columns = ("name", "closed", "bus_lane", "voc", "flow", "bus_vph", "capacity_vph", "lanes")
    row = {c: roads[c].tolist() for c in columns}

    def hover_text(k: int) -> str:
        text = (
            f"<b>{_street_name(row['name'][k])}</b>{' (closed)' if row['closed'][k] else ''}"
            f"{' (bus lane)' if row['bus_lane'][k] else ''}<br>v/c {row['voc'][k]:.2f}"
        )
        if before is not None and np.isfinite(before[k]):
            text += f" (baseline {before[k]:.2f})"
        return text + (
            f"<br>cars {row['flow'][k]:,.0f} veh/h, buses {row['bus_vph'][k]:,.0f}/h<br>"
            f"capacity {row['capacity_vph'][k]:,.0f} veh/h, {row['lanes'][k]:g} lane(s)"
        )

    hover = LazyTexts(len(roads), hover_text)
    return _road_layer(
        roads,
        closed=closed,
        bus_lane=roads["bus_lane"].to_numpy(bool),
        bus_lane_label="bus lane",
        key="voc",
        title=f"Volume / capacity: {result.name}",
        scenario=result.name,
        value=voc,
        classes=classes,
        legend=legend,
        legend_title="volume / capacity<br>(cars + buses as PCU)",
        hover=hover,
        note="Ratio of the peak-hour flow (cars plus buses in PCU) to the capacity, the busier direction of each street.",
    )


def _road_layer(
    roads: pd.DataFrame,
    *,
    closed: np.ndarray,
    bus_lane: np.ndarray,
    bus_lane_label: str,
    **fields: Any,
) -> MapLayer:
    """A layer of ``roads`` (a :func:`~.tables.road_table`): closed roads pinned, bus lanes marked."""
    return MapLayer(
        kind="lines",
        geometry=list(roads["geometry"]),
        ids=feature_ids("road", roads.index),
        marks=np.flatnonzero(bus_lane).tolist(),
        marks_label=bus_lane_label,
        pins=np.flatnonzero(closed).tolist(),
        pins_label="closed road",
        **fields,
    )


def _street_name(name: object) -> str:
    if (
        name is None
        or (isinstance(name, float) and not np.isfinite(name))
        or str(name) in ("", "None", "nan")
    ):
        return "unnamed street"
    return str(name).strip("[]").replace("'", "")


def line_load_layer(result: ScenarioResult, *, base: ScenarioResult | None = None) -> MapLayer:
    """Passengers per hour between consecutive stops (all lines, both directions); colour by crowding."""
    corridors = corridors_of(result)
    load = corridors["load"].to_numpy(float)
    classes, legend = crowding_classes(corridors["load_ratio"].to_numpy(float))
    width, top = load_widths(load)
    before = corridors_of(base)["load"].reindex(corridors.index) if base is not None else None
    hover = []
    for k, row in enumerate(corridors.itertuples()):
        text = f"<b>{row.lines}</b><br>{row.load:,.0f} pax/h (both directions)"
        if before is not None:
            old = before.iloc[k]
            text += (
                f"<br>baseline {old:,.0f} pax/h ({row.load - old:+,.0f})"
                if np.isfinite(old)
                else "<br>new corridor"
            )
        text += f"<br>busiest direction: load/capacity {row.load_ratio:.2f}"
        hover.append(text)
    return MapLayer(
        key="line_loads",
        title=f"Transit line loads: {result.name}",
        scenario=result.name,
        kind="lines",
        geometry=list(corridors["geometry"]),
        ids=feature_ids("corridor", corridors.index),
        value=load,
        classes=classes,
        legend=legend,
        legend_title=f"crowding (width: passengers/h,<br>max {top:,.0f})",
        hover=hover,
        width=width,
        background=streets_of(result),
        background_ids=street_ids_of(result),
        note=(
            "Bus lines along their street routes; trams, rail and segments off the streets "
            "as straight lines between stops. Width grows with passengers per hour, colour shows crowding."
        ),
    )


def access_change_layer(
    base: ScenarioResult, alternative: ScenarioResult, *, column: str | None = None
) -> MapLayer:
    """Change of jobs reachable by transit per zone (``column``, default :func:`access_threshold`)."""
    z, minutes = _zone_frame(base, alternative, column)
    change = (z["alt"] - z["base"]).to_numpy(float)
    classes, legend = diverging_classes(
        change,
        minimum=1.0,
        low=LOSS,
        high=GAIN,
        unit="jobs",
        widths=(1.0, 1.0, 1.0),
        neutral=_NO_CHANGE_JOBS,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(z["base"] > 0, 100.0 * change / z["base"], np.nan)
    hover = [
        f"<b>zone {zone}</b> ({pop:,.0f} residents)<br>jobs within {minutes} min by transit:<br>"
        + (
            f"{b:,.0f} (no change)"
            if abs(d) <= _NO_CHANGE_JOBS
            else f"{b:,.0f} → {a:,.0f} ({d:+,.0f}{'' if not np.isfinite(p) else f', {p:+.1f} %'})"
        )
        for zone, pop, b, a, d, p in zip(
            z.index, z["population"], z["base"], z["alt"], change, pct, strict=True
        )
    ]
    return _zone_layer(
        base,
        z,
        key="access_change",
        title=f"Jobs within {minutes} generalised min by transit: change, {alternative.name}",
        scenario=alternative.name,
        value=change,
        classes=classes,
        legend=legend,
        legend_title=f"change of jobs reachable<br>within {minutes} generalised min by transit",
        hover=hover,
        note="Blue: residents of the zone reach more jobs by transit than in the baseline; red: fewer.",
    )


def winners_losers_layer(
    base: ScenarioResult, alternative: ScenarioResult, *, column: str | None = None
) -> MapLayer:
    """Zones that gain, lose or keep their transit accessibility (``column``), with residents."""
    z, minutes = _zone_frame(base, alternative, column)
    b = z["base"].to_numpy(float)
    a = z["alt"].to_numpy(float)
    pop = z["population"].to_numpy(float)
    classes = np.zeros(len(z), dtype=np.int64)
    for i in range(len(z)):  # the same rule as the headline counts (metrics.equity.gains_losses)
        one = gains_losses(b[i : i + 1], a[i : i + 1], pop[i : i + 1])
        classes[i] = 0 if one["zones_gain"] else 2 if one["zones_lose"] else 1
    totals = gains_losses(b, a, pop)
    legend = (
        MapClass(
            f"gain: {_zones(totals['zones_gain'])}, {totals['population_gain']:,.0f} residents",
            "#1a9850",
        ),
        MapClass(f"no change: {_zones(totals['zones_same'])}", "#dcdcdc"),
        MapClass(
            f"lose: {_zones(totals['zones_lose'])}, {totals['population_lose']:,.0f} residents",
            "#d73027",
        ),
    )
    verdict = ("gains", "no change", "loses")
    hover = [
        f"<b>zone {zone}</b>: {verdict[c]}<br>{p:,.0f} residents<br>jobs within {minutes} min by transit "
        f"{x:,.0f} → {y:,.0f}"
        for zone, c, p, x, y in zip(z.index, classes, pop, b, a, strict=True)
    ]
    return _zone_layer(
        base,
        z,
        key="winners_losers",
        title=f"Winners and losers (transit, {minutes} min): {alternative.name}",
        scenario=alternative.name,
        value=a - b,
        classes=classes,
        legend=legend,
        legend_title=f"jobs within {minutes} generalised<br>min by transit",
        hover=hover,
        note="A zone gains (loses) when its residents reach more (fewer) jobs by transit within the time budget.",
    )


#: the zones column of the crowding-weighted transit time (runs with line capacities)
CROWDED_TIME = "transit_crowded_time_min"


def crowded_time_change_layer(base: ScenarioResult, alternative: ScenarioResult) -> MapLayer:
    """Change of the crowding-weighted transit time per zone (min per trip of its transit
    riders, ``zones.transit_crowded_time_min``), alternative − baseline."""
    zb = base.tables["zones"].set_index("zone")
    za = alternative.tables["zones"].set_index("zone").reindex(zb.index)
    z = pd.DataFrame(
        {
            "population": zb["population"],
            "base": zb[CROWDED_TIME].astype(float),
            "alt": za[CROWDED_TIME].astype(float),
        }
    )
    change = (z["alt"] - z["base"]).to_numpy(float)
    classes, legend = diverging_classes(
        change, minimum=0.5, low=GAIN, high=LOSS, unit="min", widths=(1.0, 1.0, 1.0)
    )
    hover = [
        f"<b>zone {zone}</b> ({pop:,.0f} residents)<br>crowding-weighted transit time:<br>"
        + (f"{b:,.1f} → {a:,.1f} min ({d:+,.1f})" if np.isfinite(d) else "no transit riders")
        for zone, pop, b, a, d in zip(
            z.index, z["population"], z["base"], z["alt"], change, strict=True
        )
    ]
    return _zone_layer(
        base,
        z,
        key="crowded_time_change",
        title=f"Crowding-weighted transit time: change, {alternative.name}",
        scenario=alternative.name,
        value=np.nan_to_num(change),
        classes=classes,
        legend=legend,
        legend_title="change of min per transit trip<br>(in-vehicle time × crowding)",
        hover=hover,
        note=(
            "Door-to-door time of the zone's transit riders with in-vehicle time weighted by "
            "crowding (Wardman & Whelan 2011), averaged over their trips. Blue: shorter than in "
            "the baseline; red: longer."
        ),
    )


def _zone_frame(
    base: ScenarioResult, alternative: ScenarioResult, column: str | None
) -> tuple[pd.DataFrame, str]:
    """Per zone of the baseline (index ``zone``): ``lon, lat, population`` and ``column`` of the
    baseline (``base``) and the alternative (``alt``); and the time budget of ``column`` (min)."""
    column = column or access_threshold(base.tables["zones"])
    if column is None:
        raise KeyError("the zones table has no jobs_transit_<T>min column")
    zb = base.tables["zones"].set_index("zone")
    za = alternative.tables["zones"].set_index("zone").reindex(zb.index)
    frame = pd.DataFrame(
        {
            "lon": zb["lon"],
            "lat": zb["lat"],
            "population": zb["population"],
            "base": zb[column].astype(float),
            "alt": za[column].astype(float),
        }
    )
    return frame, column.removeprefix("jobs_transit_").removesuffix("min")


def _zone_layer(base: ScenarioResult, zones: pd.DataFrame, **fields: Any) -> MapLayer:
    """A layer of the baseline's zone cells (in the order of ``zones``) over its streets."""
    return MapLayer(
        kind="zones",
        geometry=cells_of(base),
        ids=feature_ids("zone", zones.index),
        background=streets_of(base),
        background_ids=street_ids_of(base),
        **fields,
    )


def _zones(count: float) -> str:
    n = int(count)
    return f"{n} zone{'' if n == 1 else 's'}"


def _by_budget(
    make: Callable[..., MapLayer], base: ScenarioResult, alternative: ScenarioResult
) -> MapView:
    columns = access_columns(base.tables["zones"])
    layers = tuple(make(base, alternative, column=c) for c in columns)
    labels = tuple(f"{c.removeprefix('jobs_transit_').removesuffix('min')} min" for c in columns)
    return MapView(layers=layers, labels=labels, default=len(columns) // 2)


#: line edits whose targets count as changed lines (with what the hover says)
_LINE_EDITS = {
    "change_line": "changed",
    "reroute_line": "new route",
    "bus_lane": "bus lane",
}
#: lines named in a highlight's legend entry before "+ n more"
_NAMED_IN_LEGEND = 3


def line_highlights(base: ScenarioResult, alternative: ScenarioResult) -> tuple[LineHighlight, ...]:
    """The lines ``alternative`` adds, changes or removes compared with ``base``.

    Added and removed: line ids in one result only. Changed: lines in both whose stops,
    headway, vehicle capacity or fare differ, or that an edit of the alternative names
    (``change_line``, ``reroute_line``, ``bus_lane``). Each is drawn along its segments
    (the alternative's; the baseline's for removed lines).
    """
    empty = pd.DataFrame(columns=["line"])
    lines_b = base.tables.get("lines", empty).set_index("line")
    lines_a = alternative.tables.get("lines", empty).set_index("line")
    segs_b = base.tables.get("segments", empty)
    segs_a = alternative.tables.get("segments", empty)
    stops_b, stops_a = _stop_sequences(segs_b), _stop_sequences(segs_a)
    added = [i for i in lines_a.index if i not in lines_b.index]
    removed = [i for i in lines_b.index if i not in lines_a.index]
    why: dict[str, list[str]] = {}
    for line in lines_a.index.intersection(lines_b.index):
        reasons = why.setdefault(str(line), [])
        if stops_a.get(line) != stops_b.get(line):
            reasons.append("stops")
        for column, label, unit in (
            ("headway_s", "headway", "s"),
            ("vehicle_capacity", "capacity", "places"),
            ("fare", "fare", ""),
        ):
            if column in lines_a.columns and column in lines_b.columns:
                x, y = float(lines_b.at[line, column]), float(lines_a.at[line, column])
                if not (x == y or (np.isnan(x) and np.isnan(y))):
                    reasons.append(f"{label} {x:,.4g} → {y:,.4g} {unit}".rstrip())
    edits = alternative.tables.get("edits", pd.DataFrame(columns=["type", "target"]))
    for kind, target in zip(edits["type"], edits["target"], strict=True):
        if kind in _LINE_EDITS:
            for line in str(target).split(", "):
                if line in why and _LINE_EDITS[kind] not in why[line]:
                    if kind != "change_line" or not why[line]:
                        why[line].append(_LINE_EDITS[kind])
    changed = sorted((i for i, r in why.items() if r), key=natural_key)
    out = []
    for kind, ids, segs, lines in (
        ("added", added, segs_a, lines_a),
        ("changed", changed, segs_a, lines_a),
        ("removed", removed, segs_b, lines_b),
    ):
        if not ids:
            continue
        names = [_line_name(lines, i) for i in ids]
        shown = sorted(dict.fromkeys(names), key=natural_key)
        label = f"{kind} line{'s' if len(shown) > 1 else ''}: " + ", ".join(
            shown[:_NAMED_IN_LEGEND]
        )
        if len(shown) > _NAMED_IN_LEGEND:
            label += f" (+{len(shown) - _NAMED_IN_LEGEND} more)"
        mine = segs[segs["line"].isin(ids)] if len(segs) else segs
        hover = "<br>".join(
            f"<b>{kind}</b> {_line_name(lines, i, 'label')}"
            + (f": {', '.join(why[i])}" if kind == "changed" else "")
            for i in ids
        )
        out.append(
            LineHighlight(
                kind=kind,
                label=label,
                geometry=segment_lines(mine) if len(mine) else [],
                hover=hover,
            )
        )
    return tuple(out)


def _stop_sequences(segments: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Stops of each line in order, from its segments."""
    if len(segments) == 0:
        return {}
    out = {}
    for line, seg in segments.sort_values(["line", "seq"]).groupby("line", sort=False):
        out[str(line)] = (*seg["from_stop"].astype(str), str(seg["to_stop"].iloc[-1]))
    return out


def _line_name(lines: pd.DataFrame, line_id: str, column: str = "name") -> str:
    """Short name of a line, with its mode where known (``"bus X1"``; its id without a
    name); ``column="label"``: the line's full label where the table has one."""
    if line_id not in lines.index:
        return str(line_id)
    if column in lines.columns:
        value = lines.at[line_id, column]
        if isinstance(value, str) and value:
            if column == "name" and "mode" in lines.columns:
                return f"{lines.at[line_id, 'mode']} {value}"
            return value
    return _line_name(lines, line_id) if column != "name" else str(line_id)


def _highlighted(view: MapView, highlights: tuple[LineHighlight, ...]) -> MapView:
    """``view`` with ``highlights`` on each of its variants."""
    if not highlights:
        return view
    return replace(view, layers=tuple(replace(x, highlights=highlights) for x in view.layers))


#: the maps of the last comparisons, per baseline: the PNG maps and the HTML report of the
#: same results draw the same layers, built once (a city's road maps have 100,000s of roads)
_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def report_maps(
    base: ScenarioResult, alternatives: Sequence[ScenarioResult]
) -> list[tuple[str, list[MapView]]]:
    """The maps of a comparison, grouped by scenario: ``[(section title, maps), ...]``.

    The baseline gets v/c and line loads; each alternative gets car flow change, v/c,
    line loads, change of transit accessibility by zone and winners/losers (these two
    for each time budget, the middle one shown first) and, where both runs model line
    capacities, the change of the crowding-weighted transit time by zone. Maps whose tables are empty (no
    road links, no transit lines, no zones) are left out. Every map of an alternative
    highlights the lines it adds, changes or removes (:func:`line_highlights`).
    """
    alternatives = list(alternatives)
    cached = _MAPS.get(base)
    if cached is not None and [ref() for ref in cached[0]] == alternatives:
        return [(title, list(views)) for title, views in cached[1]]
    sections = _report_maps(base, alternatives)
    _MAPS[base] = ([weakref.ref(alt) for alt in alternatives], sections)
    return [(title, list(views)) for title, views in sections]


def _report_maps(
    base: ScenarioResult, alternatives: Sequence[ScenarioResult]
) -> list[tuple[str, list[MapView]]]:
    """:func:`report_maps`, built."""
    has_links = len(base.tables.get("links", ())) > 0
    has_lines = len(base.tables.get("segments", ())) > 0
    has_zones = bool(access_columns(base.tables.get("zones", pd.DataFrame())))
    maps = []
    if has_links:
        maps.append(MapView((voc_layer(base),)))
    if has_lines:
        maps.append(MapView((line_load_layer(base),)))
    sections = [(f"Baseline: {base.name}", maps)]
    for alt in alternatives:
        maps = []
        if has_links and len(alt.tables.get("links", ())) > 0:
            maps += [
                MapView((flow_change_layer(base, alt),)),
                MapView((voc_layer(alt, base=base),)),
            ]
        if len(alt.tables.get("segments", ())) > 0:
            maps.append(MapView((line_load_layer(alt, base=base if has_lines else None),)))
        if has_zones:
            maps += [
                _by_budget(access_change_layer, base, alt),
                _by_budget(winners_losers_layer, base, alt),
            ]
        if has_zones and all(
            CROWDED_TIME in r.tables["zones"].columns for r in (base, alt)
        ):  # both runs with line capacities
            maps.append(MapView((crowded_time_change_layer(base, alt),)))
        highlights = line_highlights(base, alt)
        maps = [_highlighted(view, highlights) for view in maps]
        sections.append((f"Alternative: {alt.name}", maps))
    return sections
