"""Bus lines on streets: straight-line fallbacks and routed length per direction.

Run from the repository root::

    python benchmarks/bench_street_routes.py              # the demo and the shared OSM extracts
    python benchmarks/bench_street_routes.py --markdown   # the same as a markdown table

For each case, the bus-type lines of the scenario (after its edits) are routed on its
drive network (``scenario.edits.apply_edits``, which calls
``transit.street_routes.route_lines``) and the script counts:

* *fallbacks*: segments that run the straight line × detour factor (no street route);
* *routed / straight*: vehicle path length over the straight stop-to-stop length, summed
  over the routed segments of all lines;
* *worst line*: the largest routed / straight of a line;
* *direction ratio*: for lines running both ways (one route id, two directions), the
  longer direction's routed length over the shorter's, the largest such ratio, where the
  two directions' straight stop-to-stop lengths agree within 20 % — a stop snapped to the
  wrong carriageway of a divided avenue makes one direction detour;
* *segments > 3×*: routed segments (straight line over 50 m) longer than 3 × straight.

Works on older checkouts too (``PYTHONPATH=/path/to/old python benchmarks/...``), so a
before/after comparison runs the same script. CPU time of loading and of the edits plus
routing is given per case (process time; the machine may be shared).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: shared OSM extracts measured with their OSM bus route relations
OSM_CASES = ("Liechtenstein", "Porto", "Helsinki")


def _osm_baseline(folder: Path, name: str, data: Path) -> Path:
    """A minimal baseline over an OSM extract: its bus and trolleybus route relations."""
    path = folder / f"{name.lower()}.toml"
    path.write_text(
        f"""[scenario]
name = "{name} (OSM route relations)"
[network]
source = "{data / "osm" / f"{name}.osm.pbf"}"
walk = false
[zones]
grid_cell_m = 500
weights = "uniform"
[demand.synthesis]
trips_per_hour = 1000
decay_per_km = 0.1
[transit]
osm_routes = true
route_types = ["bus", "trolleybus"]
""",
        encoding="utf-8",
    )
    return path


def measure(path: Path) -> dict:
    """Fallbacks and routed/straight ratios of the bus lines of one scenario file."""
    from transitopt.geo import haversine_m
    from transitopt.scenario.edits import apply_edits
    from transitopt.scenario.files import load_scenario
    from transitopt.scenario.inputs import load_base

    t0 = time.process_time()
    scenario = load_scenario(path)
    base = load_base(scenario)
    t1 = time.process_time()
    prepared = apply_edits(scenario, base)
    t2 = time.process_time()
    routes, supply = prepared.routes, prepared.supply
    stops = supply.stops
    straight = np.zeros(routes.seg_line.size)
    for li, line_id in enumerate(routes.lines):
        ids = list(supply.line(line_id).stop_ids)
        lon = stops.loc[ids, "lon"].to_numpy(float)
        lat = stops.loc[ids, "lat"].to_numpy(float)
        straight[routes.segments_of(li)] = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    ok = routes.seg_routed
    n_lines = len(routes.lines)
    routed_m = np.bincount(routes.seg_line[ok], routes.seg_length_m[ok], minlength=n_lines)
    straight_m = np.bincount(routes.seg_line[ok], straight[ok], minlength=n_lines)
    with np.errstate(invalid="ignore", divide="ignore"):
        line_ratio = routed_m / straight_m
        seg_ratio = np.where(ok & (straight > 50.0), routes.seg_length_m / straight, np.nan)
    # directions of one route: lines sharing a route key (OSM ``bus:70``) or route id,
    # complete (no fallback) only
    by_route: dict[str, list[int]] = {}
    fallbacks = np.bincount(routes.seg_line[~ok], minlength=n_lines)
    meta = prepared.line_meta
    for li, line_id in enumerate(routes.lines):
        route = supply.line(line_id).route_id
        if "route_key" in meta.columns and line_id in meta.index:
            route = str(meta.loc[line_id, "route_key"]) or route
        if route and fallbacks[li] == 0:
            by_route.setdefault(route, []).append(li)
    # only where both directions cover about the same stretch (straight lengths within
    # 20 %): clipped OSM relations often keep different parts of the two directions
    direction_ratio = [
        routed_m[ls].max() / routed_m[ls].min()
        for ls in by_route.values()
        if len(ls) == 2
        and routed_m[ls].min() > 0
        and straight_m[ls].max() <= 1.2 * straight_m[ls].min()
    ]
    n = routes.seg_line.size
    return {
        "case": scenario.name,
        "lines": n_lines,
        "segments": n,
        "fallbacks": int((~ok).sum()),
        "fallback_pct": 100.0 * (~ok).sum() / max(n, 1),
        "routed_over_straight": float(routed_m.sum() / max(straight_m.sum(), 1e-9)),
        "worst_line": float(np.nanmax(line_ratio)) if n_lines else np.nan,
        "direction_ratio": float(max(direction_ratio)) if direction_ratio else np.nan,
        "two_way_routes": len(direction_ratio),
        "segments_over_3x": int(np.sum(seg_ratio > 3.0)),
        "max_segment_ratio": float(np.nanmax(seg_ratio))
        if np.isfinite(seg_ratio).any()
        else np.nan,
        "cpu_load_s": t1 - t0,
        "cpu_route_s": t2 - t1,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--no-osm", action="store_true", help="the demo scenarios only")
    args = parser.parse_args(argv)
    from transitopt.settings import data_dir

    cases = [ROOT / "scenarios" / f"{n}.toml" for n in ("helsinki_base", "helsinki_new_line")]
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_osm:
            data = Path(data_dir()).resolve()
            cases += [
                _osm_baseline(Path(tmp), name, data)
                for name in OSM_CASES
                if (data / "osm" / f"{name}.osm.pbf").is_file()
            ]
        rows = [measure(path) for path in cases]
    if args.markdown:
        print(
            "| case | bus lines | segments | fallbacks | routed / straight | worst line | "
            "worst direction ratio (two-way routes) | segments > 3× straight (max) | CPU s load / route |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['case']} | {r['lines']} | {r['segments']} | {r['fallbacks']} "
                f"({r['fallback_pct']:.1f} %) | {r['routed_over_straight']:.3f} | "
                f"{r['worst_line']:.2f} | {r['direction_ratio']:.2f} ({r['two_way_routes']}) | "
                f"{r['segments_over_3x']} ({r['max_segment_ratio']:.2f}) | "
                f"{r['cpu_load_s']:.1f} / {r['cpu_route_s']:.2f} |"
            )
    else:
        for r in rows:
            print(r)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
