"""Evaluating scenarios: the multimodal model on the edited inputs, then tables and metrics.

>>> result = evaluate_file("scenarios/helsinki_base.toml")  # doctest: +SKIP
>>> result.metrics  # doctest: +SKIP

:func:`evaluate` validates and loads everything (raising :class:`ScenarioError` before
any computation when a file is wrong), converts the edited scenario into the inputs of
:class:`~transitopt.assignment.multimodal.MultimodalModel` (:func:`build_model`), runs it
and assembles the :class:`~.result.ScenarioResult`. :func:`evaluate_file` adds a cache
of finished results keyed by a hash of the scenario content and its input files, so that
comparing reuses earlier evaluations; :func:`final_state` rebuilds the model and its
final state from any result, cached ones included.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics as M
from .._progress import ProgressCallback
from ..assignment.multimodal import MODES, MultimodalModel, MultimodalResult, vehicle_demand
from ..demand.external import external_summary
from ..geo import haversine_m
from ..metrics.operator import route_fleet
from ..metrics.registry import Metric, inequality_of_access, jobs_decay, jobs_within, metric
from ..settings import cache_dir
from ..transit.graph import ALIGHT, BOARD, RIDE
from ..transit.hail_and_ride import cut_polyline, line_pieces
from ..transit.street_routes import segment_table
from .calibration import add_to_result, demand_as_calibrated, run_with_calibration
from .edits import Prepared, apply_edits
from .files import Scenario, load_scenario
from .inputs import load_base
from .parameters import model_parameters
from .plausibility import check_plausibility
from .result import ScenarioResult, read_result, write_result
from .schema import ScenarioError

#: in-process results by cache key, least recently used first; each holds the model's
#: arrays (zone matrices, link and transit loads), so at most ``RESULTS_KEPT`` are kept
#: (older ones are read back from the on-disk cache when asked for again)
_RESULTS: dict[str, ScenarioResult] = {}
RESULTS_KEPT = 16


def validate_scenario(path: str | os.PathLike | Scenario) -> Scenario:
    """Check a scenario completely without running the model: the files (schema, paths,
    baselines) and every reference of its edits to the loaded data (lines, stops, roads).

    Loaded inputs are memoised, so a following :func:`evaluate` does not load them again.
    Call it on every file first to fail before any computation when one of several is wrong.

    Raises
    ------
    ScenarioError
        Naming the file, the line, the field and what was expected.
    """
    scenario = path if isinstance(path, Scenario) else load_scenario(path)
    apply_edits(scenario, load_base(scenario))
    return scenario


def build_model(
    prepared: Prepared, *, constants: dict[str, float] | None = None
) -> MultimodalModel:
    """The multimodal model of an edited scenario: its networks, transit supply with street
    routes and per-line fares, zones, demand and ``[model]`` parameters (with calibrated
    mode ``constants``, ``asc_<mode>``, when given)."""
    scenario = prepared.scenario
    model = MultimodalModel(
        zones=prepared.zones,
        demand=prepared.demand,
        drive=prepared.drive,
        walk=prepared.walk,
        supply=prepared.supply,
        routes=prepared.routes,
        line_fares=prepared.line_meta["fare"].to_dict(),
        period=scenario.baseline.period.name,
        parameters=model_parameters(scenario.baseline, prepared.model_changes),
        name=f"scenario {scenario.name!r}",
        external=prepared.external,
    )
    return model.with_constants(**constants) if constants else model


@dataclass(frozen=True, eq=False)
class FinalState:
    """The model of an evaluated scenario and the state its feedback loop ended in.

    Attributes
    ----------
    model : MultimodalModel
    link_time_s : (e,) float64 or None
        Final car link times (s) as in the ``links`` table (``inf`` on closed links,
        free flow on other links without cars: the same bus running times as in the
        run), ``None`` without a drive network.
    transit_demand : (z, z) float64
        Final transit trips/h in zone order.
    """

    model: MultimodalModel
    link_time_s: np.ndarray | None
    transit_demand: np.ndarray


def final_state(result: ScenarioResult) -> FinalState:
    """Rebuild the model of ``result`` from its scenario files and its final state from its
    tables (``links.time_s``, ``od.transit``): works the same for results read from the
    on-disk cache, without evaluating again.

    Raises
    ------
    ScenarioError
        The scenario's files or inputs changed since ``result`` was evaluated.
    """
    scenario = load_scenario(result.summary["file"])
    if scenario.digest() != result.key:
        raise ScenarioError(
            f"{scenario.path}: the scenario or its inputs changed since this result was "
            "evaluated; evaluate it again"
        )
    calibration = result.summary.get("calibration") or {}
    model = build_model(
        apply_edits(scenario, load_base(scenario)), constants=calibration.get("constants")
    )
    model = demand_as_calibrated(scenario, model, result.tables)
    link_time = None
    if model.drive is not None:
        time_s = result.tables["links"]["time_s"].to_numpy(float)
        link_time = np.where(np.isnan(time_s), np.inf, time_s)  # closed links carry no cars
    z = len(model.zones)
    transit = result.tables["od"]["transit"].to_numpy(float).reshape(z, z)
    return FinalState(
        model=model,
        link_time_s=link_time,
        transit_demand=np.where(np.isfinite(transit), transit, 0.0),
    )


def evaluate(
    scenario: Scenario | str | os.PathLike,
    *,
    progress: ProgressCallback | None = None,
) -> ScenarioResult:
    """Evaluate one scenario (no cache).

    Parameters
    ----------
    scenario
        A scenario file path or a :class:`Scenario` from :func:`load_scenario`.
    progress
        Called with each feedback iteration's row of the convergence log (a dict);
        returning ``False`` cancels the loop (the result is then marked not converged).

    Raises
    ------
    ScenarioError
        Before any computation, when a file is malformed or an edit names something
        that does not exist.

    Warns
    -----
    ConvergenceWarning
        The feedback loop did not reach its tolerance (the result says so too).
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    base = load_base(scenario)
    prepared = apply_edits(scenario, base)
    load_s = time.perf_counter() - started
    outcome, calibrated = run_with_calibration(
        scenario, build_model(prepared), base, progress=progress
    )
    result = _assemble(prepared, outcome)
    summary, tables = dict(result.summary), dict(result.tables)
    if calibrated is not None:
        add_to_result(calibrated, summary, tables)
    summary["timings"] = {
        "load_s": load_s,
        **outcome.timings,
        "total_s": time.perf_counter() - started,
    }
    return ScenarioResult(
        name=result.name, key=result.key, tables=tables, summary=summary, outcome=outcome
    )


def evaluate_file(
    path: str | os.PathLike,
    *,
    cache: bool = True,
    cache_folder: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
) -> ScenarioResult:
    """Evaluate a scenario file, reusing a cached result of identical content and inputs.

    Parameters
    ----------
    path
        Scenario file (baseline or alternative).
    cache
        Reuse and store results. The key is :meth:`Scenario.digest`: the validated
        content of every file in the baseline chain, the bytes of every input file, the
        transitopt version and the model version.
    cache_folder
        Where cached results live; default ``<TRANSITOPT_CACHE>/scenarios``.
    progress
        As in :func:`evaluate`.
    """
    scenario = load_scenario(path)
    if not cache:
        return evaluate(scenario, progress=progress)
    key = scenario.digest()
    if key in _RESULTS:
        _RESULTS[key] = _RESULTS.pop(key)  # most recently used last
        return _RESULTS[key]
    folder = Path(cache_folder) if cache_folder is not None else cache_dir() / "scenarios"
    target = folder / key[:24]
    if (target / "summary.json").is_file():
        try:
            result = read_result(target)
            if result.key == key:
                _remember(key, result)
                return result
        except (OSError, ValueError):
            pass
    result = evaluate(scenario, progress=progress)
    if result.summary.get("stop_reason") != "cancelled":
        try:
            write_result(result, target, csv=False)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written only costs time
            warnings.warn(
                f"could not cache the result of {scenario.name!r} in {target}: {exc}", stacklevel=2
            )
    _remember(key, result)
    return result


def _remember(key: str, result: ScenarioResult) -> None:
    _RESULTS[key] = result
    while len(_RESULTS) > RESULTS_KEPT:
        _RESULTS.pop(next(iter(_RESULTS)))


def clear_results() -> None:
    """Forget the results evaluated in this process (the on-disk cache is kept)."""
    _RESULTS.clear()


# ---------------------------------------------------------------------------- tables
def _assemble(p: Prepared, out: MultimodalResult) -> ScenarioResult:
    scenario = p.scenario
    params = scenario.baseline.model
    tables: dict[str, pd.DataFrame] = {}
    links = _links_table(p, out)
    tables["links"] = links
    segments, stops = _segments_tables(p, out)
    tables["segments"] = segments
    tables["stops"] = stops
    lines = _lines_table(p, out, segments)
    tables["lines"] = lines
    tables["routes"] = (
        route_fleet(lines)
        if len(lines)
        else pd.DataFrame(
            columns=["route_key", "mode", "lines", "vehicles", "veh_km", "veh_h", "fleet"]
        )
    )
    od = _od_table(p, out)
    tables["od"] = od
    zones, access = _zones_table(p, out)
    tables["zones"] = zones
    trips = {m: float(out.demand[m].sum()) for m in out.modes}
    trips["walk"] += float(out.intrazonal.sum())
    tables["mode_shares"] = M.mode_shares(trips)
    tables["voc_distribution"] = M.voc_distribution(links) if len(links) else pd.DataFrame()
    tables["convergence"] = out.convergence
    if out.line_crowding_log is not None:
        tables["line_crowding_log"] = out.line_crowding_log
    tables["edits"] = p.log
    tables["metrics"] = _metrics_table(p, out, tables, access, trips)
    warnings_found = check_plausibility(p, tables)
    history = out.history[-1]
    summary = {
        "name": scenario.name,
        "description": scenario.description,
        "file": str(scenario.path),
        "kind": "baseline" if scenario.is_baseline else "alternative",
        "parent": str(scenario.parent) if scenario.parent else None,
        "baseline_file": str(scenario.baseline_path),
        "chain": [str(c) for c in scenario.chain],
        "converged": out.converged,
        "stop_reason": out.stop_reason,
        "iterations": int(history["iteration"]),
        "mode_gap": history["mode_gap"],
        "link_time_change": history["link_time_change"],
        "tolerance": params.feedback.tolerance,
        "period": scenario.baseline.period.model_dump(),
        "parameters": params.model_dump(mode="json"),
        "transit_fares": {
            "trip_fare": scenario.baseline.transit.trip_fare,
            "line_fare": scenario.baseline.transit.line_fare,
        },
        "network": scenario.baseline.network.model_dump(mode="json"),
        "zones": len(p.zones),
        "zones_grid_cell_m": None
        if scenario.baseline.zones.file
        else scenario.baseline.zones.grid_cell_m,
        "lines": len(p.supply.lines),
        "crs": p.drive.crs if p.drive is not None else None,
        "headline": {r.metric: r.value for r in tables["metrics"].itertuples()},
        "notes": list(p.notes) + list(out.notes),
        "warnings": [w.to_dict() for w in warnings_found],
        "transit_capacity": _capacity_summary(out),
        "external": external_summary(p.external),
    }
    return ScenarioResult(name=scenario.name, key=scenario.digest(), tables=tables, summary=summary)


def _capacity_summary(out: MultimodalResult) -> dict[str, Any]:
    """Whether line capacities were modelled and how the final capacity-constrained
    transit assignment converged (the report says so instead of showing zeros)."""
    capacity = out.transit_capacity
    if capacity is None:
        return {"enabled": False}
    last = capacity.history.iloc[-1]
    return {
        "enabled": True,
        "iterations": int(last["iteration"]),
        "converged": bool(capacity.converged),
        "stop_reason": str(capacity.info.get("stop_reason", "")),
        "method": str(capacity.assignment.info.get("method", "")),
        "relative_gap": float(last["relative_gap"]),
        "denied_boardings": float(capacity.denied_boardings),
        "period_h": float(capacity.params.period_h),
    }


def _links_table(p: Prepared, out: MultimodalResult) -> pd.DataFrame:
    drive = p.drive
    if drive is None:
        return pd.DataFrame(
            columns=[
                "edge",
                "from_node",
                "to_node",
                "length_m",
                "lanes",
                "capacity_vph",
                "free_flow_time_s",
                "time_s",
                "flow",
                "preload",
                "bus_vph",
                "closed",
            ]
        )
    edges = drive.edges
    flow = M.class_flows(out.road, drive.n_edges)
    link_time = out.link_time_s
    assert link_time is not None  # the model keeps link times whenever it has a drive network
    time_s = np.where(np.isfinite(link_time), link_time, drive.free_flow_time_s)
    closed = edges["closed"].to_numpy(bool)

    def column(name: str, default: Any = None) -> Any:
        return edges[name].to_numpy(object) if name in edges.columns else default

    streets = drive.street_table()
    table = pd.DataFrame(
        {
            "edge": np.arange(drive.n_edges),
            "from_node": drive.node_id[drive.tail],
            "to_node": drive.node_id[drive.head],
            "way": streets["way"].to_numpy(object),
            "name": streets["name"].to_numpy(object),
            "highway": streets["highway"].to_numpy(object),
            "road_id": column("road_id"),
            "length_m": drive.length_m,
            "lanes": drive.lanes,
            "capacity_vph": drive.capacity_vph,
            "speed_kph": drive.speed_kph,
            "free_flow_time_s": drive.free_flow_time_s,
            "time_s": np.where(closed, np.nan, time_s),
            **flow,
            "preload": out.preload,
            "bus_vph": out.bus_vph,
            "bus_lane": edges["bus_lane"].to_numpy(bool),
            "bus_only": (drive.modes & 1) == 0,
            "closed": closed,
            "connector": np.asarray(column("connector", np.zeros(drive.n_edges)), dtype=bool),
            "x0": drive.node_x[drive.tail],
            "y0": drive.node_y[drive.tail],
            "x1": drive.node_x[drive.head],
            "y1": drive.node_y[drive.head],
        }
    )
    table["voc"] = M.congestion.voc(table)
    table["speed_loaded_kph"] = np.where(
        table["time_s"] > 0, table["length_m"] / table["time_s"] * 3.6, np.nan
    )
    if "geometry" in edges.columns:
        table["geometry_wkt"] = _wkt(edges["geometry"].to_numpy(object))
    return table


def _wkt(geometry: np.ndarray) -> list[str | None]:
    """WKT of each shapely geometry (``g.wkt``, in one call), ``None`` for anything else."""
    import shapely

    is_geom = np.array([isinstance(g, shapely.Geometry) for g in geometry], dtype=bool)
    out: list[str | None] = [None] * geometry.size
    if is_geom.any():
        text = shapely.to_wkt(geometry[is_geom], rounding_precision=-1)
        for i, w in zip(np.flatnonzero(is_geom).tolist(), text.tolist(), strict=True):
            out[i] = w
    return out


def _segments_tables(p: Prepared, out: MultimodalResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    stops = p.supply.stops
    seg_cols = [
        "line",
        "name",
        "label",
        "mode",
        "seq",
        "from_stop",
        "to_stop",
        "from_lon",
        "from_lat",
        "to_lon",
        "to_lat",
        "length_m",
        "run_time_s",
        "load",
        "boardings",
        "alightings",
        "capacity_per_hour",
        "seats_per_hour",
        "load_ratio",
        "hail_and_ride",
        "route_seq",
    ]
    stop_table = pd.DataFrame(
        {
            "stop_id": stops.index,
            "name": stops["name"].to_numpy(),
            "lon": stops["lon"].to_numpy(),
            "lat": stops["lat"].to_numpy(),
        }
    )
    if out.transit is None:
        stop_table["boardings"] = 0.0
        stop_table["alightings"] = 0.0
        return pd.DataFrame(columns=seg_cols), stop_table
    g = out.transit.graph
    volume = out.transit.link_volume
    crowding = (
        M.crowding_by_link(out.transit_capacity) if out.transit_capacity is not None else None
    )
    rows = [_line_segments(p, g, volume, li, crowding) for li in range(len(g.line_ids))]
    segments = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=seg_cols)
    segments = _with_street_routes(segments, p)
    if g.hail_points is not None:  # boarding points along hail-and-ride lines
        points = g.hail_points.reset_index()
        stop_table = pd.concat([stop_table, points[["stop_id", "name", "lon", "lat"]]])
        stop_table = stop_table.reset_index(drop=True)
    board = g.kind == BOARD
    alight = g.kind == ALIGHT
    n = len(g.stop_ids)
    stop_index = {sid: k for k, sid in enumerate(g.stop_ids)}
    b = np.bincount(g.stop[board], weights=volume[board], minlength=n)
    a = np.bincount(g.stop[alight], weights=volume[alight], minlength=n)
    order = np.array([stop_index[str(s)] for s in stop_table["stop_id"]])
    stop_table["boardings"] = b[order]
    stop_table["alightings"] = a[order]
    return segments, stop_table


def _line_segments(
    p: Prepared,
    g: Any,
    volume: np.ndarray,
    li: int,
    crowding: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Segment rows of line ``li`` of the final transit graph ``g``: one per pair of
    consecutive stops, or for a hail-and-ride line one per piece between consecutive
    boarding points (``route_seq``: the stop-to-stop segment it is part of;
    ``route_from``/``route_to``: where along that segment, shares of its length); with
    line capacities the ``crowding`` columns per link (:func:`metrics.crowding_by_link`)."""
    supply, stops, routes = p.supply, p.supply.stops, p.routes
    line_id = g.line_ids[li]
    line = supply.line(line_id)
    mask = g.line == li
    rides = np.flatnonzero(mask & (g.kind == RIDE))
    s = list(line.stop_ids)
    lon = stops.loc[s, "lon"].to_numpy(float)
    lat = stops.loc[s, "lat"].to_numpy(float)
    if line_id in routes.lines:
        length = routes.seg_length_m[routes.segments_of(routes.lines.index(line_id))]
    else:
        length = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]) * g.params.detour_factor
    n_seg = len(s) - 1
    segment, share = np.arange(n_seg), np.ones(n_seg)
    ids = s
    if line.hail_and_ride:
        segment, share, _ = line_pieces(g, line)
        ids = [*g.stop_ids[g.stop[rides]].tolist(), s[-1]]
        points = g.hail_points
        where = {
            **{sid: (x, y) for sid, x, y in zip(s, lon, lat, strict=True)},
            **(
                {}
                if points is None
                else dict(
                    zip(points.index, zip(points["lon"], points["lat"], strict=True), strict=True)
                )
            ),
        }
        lon = np.array([where[sid][0] for sid in ids])
        lat = np.array([where[sid][1] for sid in ids])
    first = np.r_[True, segment[1:] != segment[:-1]]
    start = np.arange(segment.size) - np.maximum.accumulate(
        np.where(first, np.arange(segment.size), 0)
    )
    capacity = line.vehicle_capacity * 3600.0 / g.line_headway_s[li]
    load = volume[rides]
    boards = np.flatnonzero(mask & (g.kind == BOARD))
    table = pd.DataFrame(
        {
            "line": line_id,
            "name": line.name,
            "label": line.label,
            "mode": line.mode,
            "seq": np.arange(len(ids) - 1),
            "from_stop": ids[:-1],
            "to_stop": ids[1:],
            "from_lon": lon[:-1],
            "from_lat": lat[:-1],
            "to_lon": lon[1:],
            "to_lat": lat[1:],
            "length_m": length[segment] * share,
            "run_time_s": g.in_vehicle_s[rides],
            "load": load,
            "boardings": volume[boards],
            "alightings": volume[np.flatnonzero(mask & (g.kind == ALIGHT))],
            "capacity_per_hour": capacity,
            "seats_per_hour": line.vehicle_seats * 3600.0 / g.line_headway_s[li],
            "load_ratio": load / capacity,
            "hail_and_ride": line.hail_and_ride,
            "route_seq": segment,
            "route_from": start * share,
            "route_to": (start + 1) * share,
        }
    )
    if crowding is not None:  # denied boardings sit at the piece's first stop or point
        for name, values in crowding.items():
            table[name] = values[boards if name == "denied" else rides]
    return table


def _with_street_routes(segments: pd.DataFrame, p: Prepared) -> pd.DataFrame:
    """Segments with ``on_streets``, ``fallback_reason`` and the street path ``geometry_wkt``
    of bus-type lines (lines off the streets: False, and empty texts); pieces of
    hail-and-ride segments get their piece of the segment's street path."""
    routed = segment_table(p.routes, p.drive).rename(columns={"seq": "route_seq"})
    out = segments.merge(routed, on=["line", "route_seq"], how="left")
    out["on_streets"] = out["on_streets"].fillna(False).astype(bool)
    for column in ("fallback_reason", "geometry_wkt"):
        out[column] = out[column].astype(object).fillna("").astype(str)
    piece = (out["route_from"] > 0) | (out["route_to"] < 1)
    piece &= out["geometry_wkt"].str.startswith("LINESTRING")
    if piece.any():
        import shapely

        paths = shapely.from_wkt(out.loc[piece, "geometry_wkt"].to_numpy(object))
        out.loc[piece, "geometry_wkt"] = [
            "LINESTRING (" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in cut_polyline(xy, a, b)) + ")"
            for xy, a, b in zip(
                [shapely.get_coordinates(path) for path in paths],
                out.loc[piece, "route_from"],
                out.loc[piece, "route_to"],
                strict=True,
            )
        ]
    return out.drop(columns=["route_from", "route_to"])


def _lines_table(p: Prepared, out: MultimodalResult, segments: pd.DataFrame) -> pd.DataFrame:
    params = p.scenario.baseline.model
    if out.transit is None or not p.supply.lines:
        return pd.DataFrame(
            columns=[
                "line",
                "name",
                "label",
                "long_name",
                "operator",
                "route_key",
                "mode",
                "headway_s",
                "length_km",
                "one_way_time_s",
            ]
        )
    meta = p.line_meta
    g = out.transit.graph
    rows = []
    for li, line_id in enumerate(g.line_ids):
        line = p.supply.line(line_id)
        seg = segments[segments["line"] == line_id]
        rows.append(
            {
                "line": line_id,
                "name": line.name,
                "label": line.label,
                "long_name": line.long_name,
                "operator": line.operator,
                "mode": line.mode,
                "route_key": meta.loc[line_id, "route_key"],
                "source": meta.loc[line_id, "source"],
                "headway_s": float(g.line_headway_s[li]),
                "vehicle_capacity": line.vehicle_capacity,
                "n_stops": len(line.stop_ids),
                "hail_and_ride": line.hail_and_ride,
                "length_km": float(seg["length_m"].sum()) / 1000.0,
                "one_way_time_s": out.line_one_way_s.get(line_id, float(seg["run_time_s"].sum())),
                "loop": line.stop_ids[0] == line.stop_ids[-1],
                "fare": float(meta.loc[line_id, "fare"]),
            }
        )
    table = pd.DataFrame(rows)
    use = M.line_summary(segments) if len(segments) else pd.DataFrame(columns=["line"])
    table = table.merge(use, on="line", how="left")
    table = M.line_operations(table, layover_share=params.layover_share)
    table["revenue_per_h"] = table["boardings"] * table["fare"]
    return table


def _od_table(p: Prepared, out: MultimodalResult) -> pd.DataFrame:
    zones = p.zones["zone"].to_numpy()
    z = zones.size
    s = out.skims
    table = pd.DataFrame(
        {
            "origin": np.repeat(zones, z),
            "destination": np.tile(zones, z),
            "trips": (_all_modes(out.demand) + out.unserved + np.diag(out.intrazonal)).ravel(),
            **{m: out.demand[m].ravel() for m in out.modes},
            "unserved": out.unserved.ravel(),
            "intrazonal": np.diag(out.intrazonal).ravel(),
        }
    )
    for name in (
        "car_time_s",
        "car_gc_min",
        "transit_time_s",
        "transit_gc_min",
        "transit_generalised_s",
        "transit_fastest_s",
        "transit_wait_s",
        "transit_ivt_s",
        "transit_walk_s",
        "transit_boardings",
        "walk_time_s",
        "walk_gc_min",
        "transit_crowding_s",  # with line capacities only
    ):
        if name in s:
            table[name] = np.where(np.isfinite(s[name]), s[name], np.nan).ravel()
    table["logsum"] = np.where(np.isfinite(out.logsum), out.logsum, np.nan).ravel()
    return table


def _all_modes(demand: dict[str, np.ndarray]) -> np.ndarray:
    """Trips/h by all modes: the matrices of ``demand`` added in ``MODES`` order."""
    return sum((demand[m] for m in MODES if m in demand), np.zeros_like(demand[MODES[0]]))


def _zones_table(p: Prepared, out: MultimodalResult) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    thresholds = sorted(set(p.scenario.baseline.model.accessibility_min))
    zones = p.zones.copy()
    demand = {m: out.demand[m] for m in out.modes}
    all_modes = _all_modes(demand)
    total_from = all_modes.sum(axis=1) + out.intrazonal
    zones["trips_from"] = total_from
    zones["trips_to"] = all_modes.sum(axis=0) + out.intrazonal
    for m in out.modes:
        zones[f"{m}_from"] = demand[m].sum(axis=1) + (out.intrazonal if m == "walk" else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        zones["transit_share_from"] = np.where(
            total_from > 0, zones["transit_from"] / total_from, np.nan
        )
    params = p.scenario.baseline.model
    columns = M.zone_access(
        {variant: out.skims[skim] for variant, (skim, _) in M.ACCESS_VARIANTS.items()},
        zones["jobs"].to_numpy(float),
        cutoffs_min=thresholds,
        decay_per_min=abs(params.mode_choice.beta_per_min),
    )
    crowded = M.crowded_access(
        out.skims,
        zones["jobs"].to_numpy(float),
        cutoffs_min=thresholds,
        decay_per_min=abs(params.mode_choice.beta_per_min),
    )
    if crowded:  # with line capacities: crowding-weighted times and access per zone
        columns.update(crowded)
        columns.update(
            M.zone_crowding(
                out.demand["transit"], out.skims["transit_time_s"], out.skims["transit_crowding_s"]
            )
        )
    for name, values in columns.items():
        zones[name] = values
    access = {
        variant: np.column_stack([columns[f"jobs_{variant}_{t:g}min"] for t in thresholds])
        for variant in M.ACCESS_VARIANTS
    }
    if crowded:
        access[M.CROWDED_VARIANT] = np.column_stack(
            [crowded[f"jobs_{M.CROWDED_VARIANT}_{t:g}min"] for t in thresholds]
        )
    for variant in ("transit", "car"):
        access[f"{variant}_decay"] = columns[f"jobs_{variant}_decay"]
    served = np.isfinite(out.skims["transit_time_s"])
    np.fill_diagonal(served, False)
    zones["transit_reachable_zones"] = served.sum(axis=1)
    return zones, access


def _metrics_table(
    p: Prepared,
    out: MultimodalResult,
    tables: dict[str, pd.DataFrame],
    access: dict[str, np.ndarray],
    trips: dict[str, float],
) -> pd.DataFrame:
    """The headline metrics: ``group, metric, unit, value``, group and unit from the registry."""
    params = p.scenario.baseline.model
    trip_fare = p.scenario.baseline.transit.trip_fare
    rows: list[tuple[str, str, str, float]] = []

    def add(name: str | Metric, value: float, *, unit: str | None = None) -> None:
        entry = name if isinstance(name, Metric) else metric(name)
        rows.append((entry.group, entry.name, unit or entry.unit, float(value)))

    served = sum(trips.values())
    add("trips", served + float(out.unserved.sum()))
    add("trips_unserved", float(out.unserved.sum()))
    for m in out.modes:
        add(f"share_{m}", trips[m] / served if served > 0 else np.nan)
    total = p.demand.sum() - np.trace(p.demand)
    weights = _all_modes(out.demand)
    finite = np.isfinite(out.logsum) & (weights > 0)
    beta = params.mode_choice.beta_per_min
    composite = (
        float(
            np.sum(weights[finite] * out.logsum[finite] / beta) / max(weights[finite].sum(), 1e-300)
        )
        if total > 0
        else np.nan
    )
    add("composite_cost_min", composite)

    links = tables["links"]
    if len(links):
        road = M.road_summary(links)
        for key, value in road.items():
            add(key, value)
        car_km = road["car_veh_km"]
    else:
        car_km = float(np.sum(out.demand["car"] / params.car_occupancy * _car_km(p)))
        add("car_veh_km", car_km)

    lines = tables["lines"]
    od = tables["od"]
    if len(lines):
        summary = M.transit_summary(lines, od)
        for key, value in summary.items():
            add(f"transit_{key}", value)
        revenue = float(lines["revenue_per_h"].sum()) + trip_fare * summary["trips"]
        add("transit_fare_revenue", revenue, unit=f"{params.currency}/h")
        ops = M.operator_summary(lines)
        add("transit_fleet", ops["fleet"])
        add("transit_veh_km", ops["veh_km"])
        add("transit_veh_h", ops["veh_h"])
        transit_km = lines.groupby("mode")["veh_km"].sum().to_dict()
    else:
        transit_km = {}

    zones = tables["zones"]
    pop = zones["population"].to_numpy(float)
    thresholds = sorted(set(params.accessibility_min))
    for mode in ("transit", "transit_fastest", M.CROWDED_VARIANT, "car"):
        if mode not in access:  # the crowded variant: with line capacities only
            continue
        mean = M.population_weighted_mean(access[mode], pop)
        for k, t in enumerate(thresholds):
            add(jobs_within(mode, t), np.atleast_1d(mean)[k])
    for mode in ("transit", "car"):
        add(jobs_decay(mode), float(M.population_weighted_mean(access[f"{mode}_decay"], pop)))
    for k, t in enumerate(thresholds):
        add(inequality_of_access("gini", t), M.gini(access["transit"][:, k], pop))
        add(inequality_of_access("palma", t), M.palma(access["transit"][:, k], pop))

    e = params.emissions
    factors = M.EmissionFactors(**e.model_dump())
    co2 = M.co2_kg_per_hour(car_km, transit_km, factors=factors)
    motorcycle_kg = _motorcycle_metrics(p, out, links, factors, add)
    add("co2_car", co2["car_kg"])
    add("co2_transit", co2["transit_kg"])
    if motorcycle_kg is not None:
        add("co2_motorcycle", motorcycle_kg)
    add("co2_total", co2["total_kg"] + (motorcycle_kg or 0.0))
    add("iterations", out.history[-1]["iteration"])
    add("converged", float(out.converged))
    return pd.DataFrame(rows, columns=["group", "metric", "unit", "value"])


def _motorcycle_metrics(
    p: Prepared,
    out: MultimodalResult,
    links: pd.DataFrame,
    factors: M.EmissionFactors,
    add: Any,
) -> float | None:
    """Vehicle-km of the motorcycle classes and PCU-km (added with ``add``); returns their
    CO2 (kg/h), ``None`` when the model has no motorcycle modes."""
    classes = [m for m in ("motorcycle", "ojek") if m in out.modes]
    if not classes:
        return None
    if len(links):
        km = M.vehicle_km(links)
    else:
        parameters = model_parameters(p.scenario.baseline, p.model_changes)
        veh = vehicle_demand(out.demand, parameters)
        km = {f"{c}_veh_km": float(np.sum(veh[c] * _car_km(p))) for c in ("car", *classes)}
        km["car_pcu_km"] = km["car_veh_km"]
        for c in classes:
            km[f"{c}_pcu_km"] = parameters.motorcycle_pcu * km[f"{c}_veh_km"]
        km["pcu_km"] = sum(km[f"{name}_pcu_km"] for name in ("car", *classes))
    for c in classes:
        add(f"{c}_veh_km", km.get(f"{c}_veh_km", 0.0))
    add("pcu_km", km["pcu_km"])
    for name in ("car", *classes):
        add(f"{name}_pcu_km", km.get(f"{name}_pcu_km", 0.0))
    veh_km = {k: v for k, v in km.items() if k.endswith("_veh_km") and k != "car_veh_km"}
    return M.class_co2_kg(veh_km, factors=factors).get("motorcycle", 0.0)


def _car_km(p: Prepared) -> np.ndarray:
    """Car distance per zone pair (km) without a street network."""
    params = p.scenario.baseline.model
    lon = p.zones["lon"].to_numpy(float)
    lat = p.zones["lat"].to_numpy(float)
    return (
        haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
        * params.car_detour_factor
        / 1000.0
    )
