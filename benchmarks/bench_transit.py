"""Transit assignment benchmark: transitopt's optimal strategies against AequilibraE's.

Run from the repository root (peer: ``pip install aequilibrae``)::

    python benchmarks/bench_transit.py            # full run, updates benchmarks/README.md
    python benchmarks/bench_transit.py --quick    # one repeat, README untouched

Both tools assign the same demand on the same graph, built once by transitopt from a
GTFS feed (``read_gtfs`` + ``build_transit_graph``): transitopt with ``assign_transit``,
AequilibraE with ``HyperpathGenerating.assign`` (the optimal-strategies kernel behind its
``TransitAssignment``), both on 2 threads. AequilibraE's expected wait is ``1 / f`` where
transitopt's is ``WAIT_FACTOR / f`` (0.5, half the headway), so AequilibraE gets the
frequencies divided by ``WAIT_FACTOR``. Every link cost is raised by 1 s (AequilibraE
orders its loading by ``u_j + c_a``, and ties between zero-cost links lose flow) plus a
seeded jitter uniform in [0, 10 ms): stops at identical coordinates and regular zone grids
make several strategies exactly optimal, and each tool would keep a different one (the
load differences without the jitter are reported too). Times are wall clock and process
CPU, median (and least) of ``--repeat`` interleaved runs (the tool that goes first
alternates from one run to the next), demand to every destination, no skims.

Cases (feeds in ``data_dir()/gtfs``, default period 07:00-09:00 of the busiest day):

* Coquimbo (AequilibraE's example feed), every stop a zone, demand uniform in [0, 10)
  trips on a random half of the stop pairs (seed 1);
* Coquimbo, Transjakarta (feed without times: 10 min default headway, running times on
  the straight line x 1.2) and Bogor angkot: square zone grids over the stops' bounding
  box, keeping cells whose centre has a stop within the 800 m access walk; gravity demand
  ``T_ij ~ P_i A_j exp(-d_ij / 3 km)`` with lognormal(0, 1) ``P`` and ``A`` (seed 0),
  100 trips per zone on average, no intrazonal trips.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")
# numba's OpenMP layer and AequilibraE's bundled libgomp are two thread pools in one process;
# idle OpenMP threads spin by default and then take the cores from the other tool's workers
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _readme import loadavg, write_section  # noqa: E402

from transitopt.settings import data_dir  # noqa: E402
from transitopt.transit import (  # noqa: E402
    WAIT_FACTOR,
    GraphParameters,
    TransitGraph,
    TransitSupply,
    assign_transit,
    build_transit_graph,
    read_gtfs,
)

THREADS = 2
COST_SHIFT_S = 1.0
JITTER_S = 0.01
RTOL = ATOL = 1e-9
README = ROOT / "benchmarks" / "README.md"


@dataclass
class Case:
    name: str
    feed: str
    read: dict  # read_gtfs keywords
    cell_m: float | None  # zone grid cell size; None: every stop a zone
    graph: TransitGraph | None = None  # costs + 1 s + jitter: the timed graph
    tied: TransitGraph | None = None  # costs + 1 s only
    demand: np.ndarray | None = None
    times: dict = field(default_factory=dict)  # tool -> list of (wall s, cpu s)
    results: dict = field(default_factory=dict)


CASES = [
    Case("Coquimbo, stops as zones", "coquimbo.zip", {}, None),
    Case("Coquimbo, 300 m grid", "coquimbo.zip", {}, 300.0),
    Case("Bogor angkot, 500 m grid", "bogor_angkot.zip", {}, 500.0),
    Case("Transjakarta, 2 km grid", "transjakarta.zip", {"default_headway_s": 600.0}, 2000.0),
]


# ----------------------------------------------------------------------------- set-up


def local_xy(lon: np.ndarray, lat: np.ndarray, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres around latitude ``lat0``."""
    r = 6_371_008.8
    return np.deg2rad(lon) * r * np.cos(np.deg2rad(lat0)), np.deg2rad(lat) * r


def grid_zones(stops: pd.DataFrame, cell_m: float, params: GraphParameters) -> pd.DataFrame:
    """Square cells over the stops' bounding box whose centre has a stop within the
    access walk (straight line x walk detour factor), as ``zone, lon, lat``."""
    from scipy.spatial import cKDTree

    lon, lat = stops["lon"].to_numpy(float), stops["lat"].to_numpy(float)
    lat0 = float(lat.mean())
    x, y = local_xy(lon, lat, lat0)
    gx, gy = np.meshgrid(
        np.arange(x.min(), x.max() + cell_m, cell_m), np.arange(y.min(), y.max() + cell_m, cell_m)
    )
    gx, gy = gx.ravel(), gy.ravel()
    dist, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([gx, gy]))
    keep = dist * params.walk_detour_factor <= params.max_access_walk_m
    scale = np.deg2rad(1.0) * 6_371_008.8
    return pd.DataFrame({
        "zone": np.arange(keep.sum()),
        "lon": gx[keep] / (scale * np.cos(np.deg2rad(lat0))),
        "lat": gy[keep] / scale,
    })  # fmt: skip


def gravity_demand(zones: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """``P_i A_j exp(-d_ij / 3 km)``, lognormal ``P``, ``A``; 100 trips per zone on average."""
    rng = np.random.default_rng(seed)
    lon, lat = zones["lon"].to_numpy(float), zones["lat"].to_numpy(float)
    x, y = local_xy(lon, lat, float(lat.mean()))
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    z = len(zones)
    trips = (
        rng.lognormal(0.0, 1.0, z)[:, None]
        * rng.lognormal(0.0, 1.0, z)[None, :]
        * np.exp(-d / 3000.0)
    )
    np.fill_diagonal(trips, 0.0)
    return trips * (100.0 * z / trips.sum())


def random_demand(z: int, seed: int = 1) -> np.ndarray:
    """Uniform in [0, 10) trips on a random half of the pairs (as tests/test_transit_assign.py)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (z, z)) * (rng.random((z, z)) < 0.5)
    np.fill_diagonal(demand, 0.0)
    return demand


@functools.cache
def _supply(feed: str, read: tuple) -> TransitSupply:
    return read_gtfs(data_dir() / "gtfs" / feed, **dict(read))[0]


def load_case(case: Case) -> None:
    supply = _supply(case.feed, tuple(sorted(case.read.items())))
    params = GraphParameters()
    if case.cell_m is None:
        graph = build_transit_graph(supply, params=params)
        demand = random_demand(len(graph.zone_ids))
    else:
        zones = grid_zones(supply.stops, case.cell_m, params)
        graph = build_transit_graph(supply, zones=zones, params=params)
        demand = gravity_demand(zones)
    cost = graph.cost_s + COST_SHIFT_S
    case.tied = TransitGraph(**{**vars(graph), "cost_s": cost})
    cost = cost + np.random.default_rng(2).uniform(0.0, JITTER_S, graph.n_links)
    case.graph = TransitGraph(**{**vars(graph), "cost_s": cost})
    case.demand = demand


# ----------------------------------------------------------------------------- runs


def timed(fn):
    """(result, wall s, process CPU s) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def ours_assign(graph: TransitGraph, demand: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unassigned trips are counted in the report
        return assign_transit(graph, demand, skims=False)


def aequilibrae_setup(graph: TransitGraph, demand: np.ndarray):
    """AequilibraE's hyperpath object for ``graph`` and a function assigning ``demand`` with it."""
    from aequilibrae.paths.public_transport import HyperpathGenerating

    g = graph
    edges = pd.DataFrame(
        {"tail": g.tail, "head": g.head, "trav_time": g.cost_s, "freq": g.freq_hz / WAIT_FACTOR}
    )
    nodes = np.arange(g.n_nodes, dtype=np.int64)
    hp = HyperpathGenerating(
        edges, nodes_to_indices=nodes, o_vert_ids=g.origin_node, d_vert_ids=g.destination_node
    )
    o, d = np.nonzero(demand)
    o, d, v = (
        g.origin_node[o].astype(np.uint32),
        g.destination_node[d].astype(np.uint32),
        demand[o, d],
    )

    def assign() -> np.ndarray:
        hp.assign(o, d, v, threads=THREADS)
        return hp._edges["volume"].to_numpy().copy()

    return assign


def run_case(case: Case, repeat: int) -> None:
    g, demand = case.graph, case.demand
    print(f"\n== {case.name}: {g!r}, {demand.sum():,.0f} trips", flush=True)
    theirs, setup_s, _ = timed(lambda: aequilibrae_setup(g, demand))
    case.results["aequilibrae setup s"] = setup_s
    ours_assign(g, demand)  # load the compiled kernel (on-disk numba cache) before timing
    case.times = {"transitopt": [], "AequilibraE": []}
    for r in range(repeat):  # interleaved, so both see the same background load
        for tool in ("transitopt", "AequilibraE")[:: 1 if r % 2 == 0 else -1]:
            if tool == "transitopt":
                result, wall, cpu = timed(lambda: ours_assign(g, demand))
            else:
                volume, wall, cpu = timed(theirs)
            case.times[tool].append((wall, cpu))
    diff = np.abs(result.link_volume - volume)
    case.results.update({
        "max abs": float(diff.max()),
        "max rel": float(diff.max() / max(np.abs(volume).max(), 1e-300)),
        "allclose": bool(np.allclose(result.link_volume, volume, rtol=RTOL, atol=ATOL)),
        "unassigned": result.unassigned,
    })  # fmt: skip
    # the same without the jitter: ties between equally good strategies, broken differently
    reference = aequilibrae_setup(case.tied, demand)()
    tied = np.abs(ours_assign(case.tied, demand).link_volume - reference)
    case.results["max abs tied"] = float(tied.max())
    case.results["links tied"] = int((tied > ATOL + RTOL * np.abs(reference)).sum())
    for tool, runs in case.times.items():
        walls = [w for w, _ in runs]
        print(
            f"  {tool:12s} median {float(np.median(walls)):8.3f} s  runs "
            + " ".join(f"{w:.3f}" for w in walls)
            + f"  cpu {min(c for _, c in runs):.3f} s",
            flush=True,
        )
    print(
        f"  max |load diff| {case.results['max abs']:.3g} (relative to max load {case.results['max rel']:.3g}); "
        f"without jitter {case.results['max abs tied']:.3g} on {case.results['links tied']} links"
    )


# ----------------------------------------------------------------------------- compile time

_COMPILE_SNIPPET = """
import time, numpy as np
from transitopt.transit import Line, Stop, TransitSupply, assign_transit, build_transit_graph
stops = [Stop(s, s, 106.8 + 0.01 * k, -6.2) for k, s in enumerate("AXYB")]
lines = [Line("1", "1", "bus", ("A", "B"), 720.0), Line("2", "2", "bus", ("A", "X", "Y", "B"), 360.0)]
graph = build_transit_graph(TransitSupply.from_stops(stops, lines))
demand = np.ones((4, 4))
t = time.perf_counter()
assign_transit(graph, demand, skims=False)
print(time.perf_counter() - t)
"""


def compile_times() -> tuple[float, float, float]:
    """Wall seconds of the first ``assign_transit`` call in a fresh process with a cold numba
    cache, then with the cache it wrote; and the CPU seconds of the cold process (all of it)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        out = []
        for _ in range(2):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = subprocess.run(
                [sys.executable, "-c", _COMPILE_SNIPPET],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out.append(float(res.stdout.strip().splitlines()[-1]))
            if len(out) == 1:
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out[0], out[1], cpu


# ----------------------------------------------------------------------------- report


def report(cases: list[Case], compile_s: tuple[float, float, float], args, load: str) -> str:
    lines = [
        "## Transit assignment (optimal strategies)",
        "",
        f"Command: `python benchmarks/bench_transit.py` (median and best of {args.repeat} interleaved runs, the "
        f"first tool alternating). Machine: {_cpu_name()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numba {numba.__version__} (threading layer "
        f"{numba.threading_layer()}), aequilibrae {version('aequilibrae')}, numpy {np.__version__}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; load average (1 / 5 / 15 min) {load} at the "
        f"start, {loadavg()} at the end.",
        "",
        "Same graph, same demand (every zone is a destination), link loads only (no skims), 2 threads each. "
        "The graph comes from transitopt (`read_gtfs`, `build_transit_graph`); costs +1 s plus a "
        "seeded 0-10 ms jitter for both tools, AequilibraE's frequencies divided by the wait factor 0.5 "
        "(see the script's docstring for the cases and the demand). transitopt's time is `assign_transit` "
        "from the dense matrix (validation included); AequilibraE's is `HyperpathGenerating.assign` on COO "
        "arrays prepared beforehand (its set-up, from the edge table to its CSC graph, is listed apart). "
        "*ratio* = AequilibraE / transitopt of the medians (above 1: transitopt is faster). *CPU*: process "
        "CPU time (both threads) of the run with the least, the steadier measure on a shared machine. The "
        "gap between best and median wall time is the noise from other jobs on the cores. Loads agree when `np.allclose(ours, theirs, "
        f"rtol={RTOL:g}, atol={ATOL:g})` holds on every link.",
        "",
        "| case | nodes | links | zones | trips | wall s, median: transitopt / AequilibraE | wall ratio "
        "| wall s, best | CPU s, best | CPU ratio | AequilibraE set-up s "
        "| max abs load diff | max diff / max load | loads agree | without jitter: max abs diff (links) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for c in cases:
        g, r = c.graph, c.results
        best = {tool: min(w for w, _ in runs) for tool, runs in c.times.items()}
        median = {tool: float(np.median([w for w, _ in runs])) for tool, runs in c.times.items()}
        cpu = {tool: min(u for _, u in runs) for tool, runs in c.times.items()}
        ours, theirs = "transitopt", "AequilibraE"
        lines.append(
            f"| {c.name} | {g.n_nodes:,} | {g.n_links:,} | {len(g.zone_ids):,} | {c.demand.sum():,.0f} "
            f"| {median[ours]:.3f} / {median[theirs]:.3f} | {median[theirs] / median[ours]:.2f} "
            f"| {best[ours]:.3f} / {best[theirs]:.3f} "
            f"| {cpu[ours]:.3f} / {cpu[theirs]:.3f} | {cpu[theirs] / cpu[ours]:.2f} "
            f"| {r['aequilibrae setup s']:.3f} "
            f"| {r['max abs']:.1e} | {r['max rel']:.1e} | {'yes' if r['allclose'] else 'NO'} "
            f"| {r['max abs tied']:.2g} ({r['links tied']:,}) |"
        )
    unassigned = "; ".join(
        f"{c.name} {c.results['unassigned']:,.1f}" for c in cases if c.results["unassigned"]
    )
    lines += [
        "",
        "*Without jitter*: costs +1 s only; where several strategies are exactly optimal (identical stop "
        "coordinates, overlapping lines with equal running times, regular zone grids) each tool keeps its "
        "own, so loads differ on those links (count in brackets); the jitter makes the optimum unique.",
        "",
        "Trips with no transit path (loaded by neither tool): " + (unassigned or "none") + ". "
        f"numba compilation, not in the times above (AequilibraE is compiled ahead of time): the first "
        f"`assign_transit` call in a fresh process takes {compile_s[0]:.1f} s wall with an empty cache "
        f"({compile_s[2]:.1f} s CPU for the whole process, imports included) and {compile_s[1]:.2f} s "
        "loading the on-disk cache.",
    ]
    return "\n".join(lines)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="one repeat; do not touch the README")
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument("--cases", type=int, nargs="+", help="case numbers (0-3; default all)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    try:
        import aequilibrae  # noqa: F401
    except ImportError:
        sys.exit("this benchmark needs AequilibraE: pip install aequilibrae")
    load = loadavg()
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    compile_s = compile_times()
    print(
        f"numba compile: {compile_s[0]:.1f} s cold ({compile_s[2]:.1f} s CPU), {compile_s[1]:.2f} s cached",
        flush=True,
    )
    cases = CASES if args.cases is None else [CASES[k] for k in args.cases]
    for case in cases:
        load_case(case)
        run_case(case, args.repeat)
    section = report(cases, compile_s, args, load)
    print("\n" + section)
    if not args.quick:
        write_section("transit", section, args.readme)
        print(f"\nwritten to {args.readme or README}")


if __name__ == "__main__":
    main()
