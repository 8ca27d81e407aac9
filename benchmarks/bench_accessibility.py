"""Accessibility benchmark: transitopt against a plain scipy-skim computation and pandana.

Run from the repository root (peer: ``pip install pandana``, optional)::

    python benchmarks/bench_accessibility.py            # updates benchmarks/README.md
    python benchmarks/bench_accessibility.py --quick    # one repeat, README untouched

Cases: the walk networks of the embedded central-Helsinki extract and of Monaco (shared
data), 250 m hexagon zones over each (origins at the node nearest each zone centre), and
every node of the Helsinki walk network as an origin (the Pandana setting).
Opportunities sit at nodes: OSM buildings' jobs estimate and POI counts
(:mod:`transitopt.demand.landuse`), each at its nearest node. Measures: cumulative
opportunities within 15/30/45/60 min of walking and a gravity sum with decay 0.08/min.

Timed (median wall clock of ``--repeat`` or more runs, numba compilation excluded; the runs
alternate tool by tool, one round timing every tool once, quick ones repeated for about a
second):

* **scipy**: ``scipy.sparse.csgraph.dijkstra`` from the origin nodes (a dense origin x
  node matrix), then ``(D <= T) @ opportunities`` per cutoff and
  ``exp(-decay D) @ opportunities`` (1 thread; scipy has no thread setting);
* **transitopt**: :func:`transitopt.accessibility.accessibility` (1 thread, and the
  faster method again on 2 numba threads) with ``method="dijkstra"`` (a Dijkstra per
  origin on the compressed graph, then the numba sums), ``method="ch"`` (contraction
  hierarchy sweeps; the hierarchy is built before timing) and ``method="bounded"``
  (fused search-and-sum kernel); "cold" is the first ``method="auto"`` call on a fresh
  network, including compressing it and, from 256 origins, building the hierarchy;
* **pandana** (all-node case only, when installed): ``precompute`` + ``aggregate`` with
  ``decay="flat"`` per cutoff; it stores edge weights as truncated scaled integers, so
  its sums differ slightly; differences are reported, not hidden.

"identical" compares transitopt's cumulative sums with scipy's exactly (integer
opportunity counts, POIs); gravity sums are compared by the largest relative difference.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from _readme import loadavg, write_section  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from transitopt.accessibility import accessibility  # noqa: E402
from transitopt.demand.landuse import node_totals, read_landuse  # noqa: E402
from transitopt.network import load_network  # noqa: E402
from transitopt.network.compiled import Network  # noqa: E402
from transitopt.settings import data_dir  # noqa: E402
from transitopt.zones import attach_zones, grid_zones  # noqa: E402

THREADS = 2
CUTOFFS_MIN = (15.0, 30.0, 45.0, 60.0)
DECAY_PER_MIN = 0.08
COLUMNS = ["pois", "jobs"]
README = ROOT / "benchmarks" / "README.md"


@dataclass
class Case:
    name: str
    network: Network
    zones: pd.DataFrame  # zone, node (compiled index)
    opportunities: np.ndarray  # (n_nodes, 2): pois, jobs
    pandana: bool = False
    times: dict = field(default_factory=dict)  # tool -> seconds, median
    best: dict = field(default_factory=dict)  # tool -> seconds, least
    runs: dict = field(default_factory=dict)  # tool -> number of timed runs
    checks: dict = field(default_factory=dict)


def run_jobs(case: Case, jobs: dict, repeat: int) -> None:
    """Time the jobs ``{label: (fn, numba threads)}`` in rounds that alternate tool by tool:
    each at least ``repeat`` times, quick ones for about a second (at most 50 times), so
    that a busy machine's noise averages out. ``case.times[label]`` = median seconds,
    ``case.best[label]`` = least."""
    samples: dict = {k: [] for k in jobs}

    def wants(key: str) -> bool:
        runs = samples[key]
        return len(runs) < repeat or (sum(runs) < 1.0 and len(runs) < 50)

    keys = list(jobs)
    r = 0
    while any(wants(k) for k in keys):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            if not wants(key):
                continue
            fn, threads = jobs[key]
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            start = time.perf_counter()
            fn()
            samples[key].append(time.perf_counter() - start)
        r += 1
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    for key, values in samples.items():
        case.times[key] = float(np.median(values))
        case.best[key] = min(values)
        case.runs[key] = len(values)


def load_cases() -> list[Case]:
    osm = data_dir() / "osm"
    cases = []
    for label, name in (
        ("Helsinki walk", "Helsinki.osm.pbf"),
        ("Monaco walk", "monaco-250101.osm.pbf"),
    ):
        path = osm / name
        net = load_network(path, network_type="walk")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # building outlines cut by the extract's edge
            land = read_landuse(path)
        opp = node_totals(net, land.points(), columns=COLUMNS)
        zones = attach_zones(
            net, grid_zones(net, cell_size_m=250.0, shape="hexagon", geometry=True)
        )
        cases.append(Case(f"{label}, 250 m hexagons", net, zones[["zone", "node"]], opp))
        if label.startswith("Helsinki"):
            every = pd.DataFrame({"zone": np.arange(net.n_nodes), "node": np.arange(net.n_nodes)})
            cases.append(Case(f"{label}, every node", net, every, opp, pandana=True))
    return cases


def scipy_reference(network: Network, nodes: np.ndarray, opp: np.ndarray):
    graph = sp.csr_matrix(
        (network.free_flow_time_s, network.head, network.indptr), shape=(network.n_nodes,) * 2
    )

    def run():
        dist = dijkstra(graph, indices=nodes) / 60.0
        cum = np.stack([(dist <= c).astype(np.float64) @ opp for c in CUTOFFS_MIN], axis=1)
        grav = np.exp(-DECAY_PER_MIN * dist) @ opp
        return cum, grav

    return run


def ours(network: Network, zones: pd.DataFrame, opp: np.ndarray, method: str):
    def run():
        return accessibility(network, zones, opp, columns=COLUMNS, cutoffs_min=CUTOFFS_MIN,
                             decay_per_min=DECAY_PER_MIN, method=method)  # fmt: skip

    return run


def as_arrays(table: pd.DataFrame):
    cum = np.stack(
        [np.column_stack([table[f"{c}_{t:g}min"] for c in COLUMNS]) for t in CUTOFFS_MIN], axis=1
    )
    grav = np.column_stack([table[f"{c}_gravity"] for c in COLUMNS])
    return cum, grav


def run_case(case: Case, repeat: int) -> None:
    net, nodes, opp = case.network, case.zones["node"].to_numpy(), case.opportunities
    print(f"{case.name}: {len(nodes):,} origins, {net.n_nodes:,} nodes", flush=True)
    ref = scipy_reference(net, nodes, opp)
    ref_cum, ref_grav = ref()
    jobs = {"scipy": (ref, 1)}
    numba.set_num_threads(1)
    # cold: a fresh Network object has no prepared graph cached
    fresh = net.replace()
    start = time.perf_counter()
    ours(fresh, case.zones, opp, "auto")()
    case.times["cold"] = time.perf_counter() - start
    runs = {method: ours(net, case.zones, opp, method) for method in ("dijkstra", "ch", "bounded")}
    runs["ch"]()  # builds the hierarchy once (timed in "cold" for the all-node case)
    for method, fn in runs.items():
        jobs[method] = (fn, 1)
    # the faster method on 1 thread (by one untimed-order probe each) again on THREADS threads
    probe = {}
    for method in ("dijkstra", "ch"):
        start = time.perf_counter()
        runs[method]()
        probe[method] = time.perf_counter() - start
    fastest = min(("dijkstra", "ch"), key=probe.get)
    jobs["threads"] = (runs[fastest], THREADS)
    case.checks["threads_method"] = fastest
    pandana = make_pandana(case, ref_cum) if case.pandana else None
    if pandana is not None:
        jobs["pandana"] = (pandana, THREADS)
    run_jobs(case, jobs, repeat)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    for label, fn in runs.items():
        cum, grav = as_arrays(fn())
        case.checks[f"{label}_identical"] = bool(np.array_equal(cum[:, :, 0], ref_cum[:, :, 0]))
        case.checks[f"{label}_jobs_rel"] = float(
            np.max(np.abs(cum[:, :, 1] - ref_cum[:, :, 1]) / np.maximum(ref_cum[:, :, 1], 1.0))
        )
        case.checks[f"{label}_gravity_rel"] = float(
            np.max(np.abs(grav - ref_grav) / np.maximum(np.abs(ref_grav), 1e-300))
        )


def make_pandana(case: Case, ref_cum: np.ndarray):
    """pandana's network for ``case`` (build time recorded) and its timed run, or None."""
    try:
        import pandana
    except ImportError:
        case.checks["pandana"] = "not installed"
        return None
    net = case.network
    start = time.perf_counter()
    pnet = pandana.Network(pd.Series(net.node_x), pd.Series(net.node_y), pd.Series(net.tail.astype(np.int64)),
                           pd.Series(net.head.astype(np.int64)), pd.DataFrame({"minutes": net.free_flow_time_s / 60.0}),
                           twoway=False)  # fmt: skip
    case.times["pandana_build"] = time.perf_counter() - start
    pnet.set(
        pd.Series(np.arange(net.n_nodes)), variable=pd.Series(case.opportunities[:, 0]), name="pois"
    )

    def run():
        pnet.precompute(max(CUTOFFS_MIN))
        return np.column_stack(
            [
                pnet.aggregate(c, type="sum", decay="flat", name="pois").to_numpy()
                for c in CUTOFFS_MIN
            ]
        )

    got = run()
    diff = np.abs(got - ref_cum[:, :, 0])
    case.checks["pandana"] = (
        f"{int((diff > 0).sum()):,} of {diff.size:,} sums differ, by up to {diff.max():g}"
    )
    return run


def report(cases: list[Case], args) -> str:
    ms = lambda s: f"{s * 1000:,.1f}"  # noqa: E731
    lines = [
        "## Accessibility (cumulative 15/30/45/60 min + gravity, walk networks)",
        "",
        f"`python benchmarks/bench_accessibility.py` — median of {args.repeat} or more runs (quick "
        "ones repeated for about 1 s), alternating tool by tool, milliseconds; load average "
        f"(1 / 5 / 15 min) {args.load_start} at the start, {loadavg()} at the end. "
        "scipy and transitopt on 1 thread (the speed-up compares these), transitopt also on "
        f"{THREADS} numba threads; pandana (its documented use: `precompute` to the largest cutoff, "
        "then `aggregate` per cutoff, both timed) uses its own OpenMP threads (all cores unless "
        "`OMP_NUM_THREADS` is set). Two opportunity columns "
        "(POI counts, building-based jobs) at the network nodes. *dijkstra*: one Dijkstra per "
        "origin on the compressed graph; *ch*: sweeps of the contraction hierarchy, built "
        'beforehand; *cold*: first `method="auto"` call on a fresh network (compressing it and, '
        "from 256 origins, building the hierarchy); *bounded*: the fused search-and-sum kernel. "
        "*identical counts*: POI sums of every method equal scipy's exactly.",
        "",
        "| case | origins | nodes | scipy skim + sums | transitopt dijkstra | transitopt ch | speed-up "
        f"(dijkstra, ch) | transitopt, {THREADS} threads | transitopt cold | transitopt bounded | pandana | "
        "identical counts | max rel. diff jobs, gravity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    methods = ("dijkstra", "ch", "bounded")
    for c in cases:
        t = c.times
        pandana = (
            ms(t["pandana"]) + f" (+{t['pandana_build']:.1f} s build)" if "pandana" in t else "—"
        )
        ident = "yes" if all(c.checks[f"{m}_identical"] for m in methods) else "NO"
        jobs = max(c.checks[f"{m}_jobs_rel"] for m in methods)
        grav = max(c.checks[f"{m}_gravity_rel"] for m in methods)
        lines.append(
            f"| {c.name} | {len(c.zones):,} | {c.network.n_nodes:,} | {ms(t['scipy'])} | {ms(t['dijkstra'])} | "
            f"{ms(t['ch'])} | {t['scipy'] / t['dijkstra']:.1f}x, {t['scipy'] / t['ch']:.1f}x | "
            f"{ms(t['threads'])} ({c.checks['threads_method']}) | {ms(t['cold'])} | {ms(t['bounded'])} | "
            f"{pandana} | {ident} | {jobs:.1e}, {grav:.1e} |"
        )
    notes = [c for c in cases if "pandana" in c.checks]
    lines.append("")
    for c in notes:
        lines.append(f"pandana on {c.name}: {c.checks['pandana']} (it stores edge weights as truncated "
                     "scaled integers, so its path lengths come out slightly short and sums near a "
                     "cutoff change).")  # fmt: skip
    lines.append("")
    lines.append(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numba {numba.__version__}, scipy {scipy.__version__}{_versions()}. "
        "Timings on a shared machine are noisy; rerun before quoting. Least times (ms): "
        + "; ".join(
            f"{c.name}: " + ", ".join(f"{k} {v * 1000:,.1f}" for k, v in c.best.items())
            for c in cases
        )
        + "."
    )
    return "\n".join(lines)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f", pandana {version('pandana')}"
    except PackageNotFoundError:
        return ", pandana not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="one repeat; do not touch the README")
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument("--cases", type=int, nargs="+", help="case numbers (0-2; default all)")
    args = parser.parse_args()
    args.load_start = loadavg()
    if args.quick:
        args.repeat = 1
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    cases = load_cases()
    # compile (or load from numba's cache) every kernel once, outside the timings
    warm = cases[0]
    for method in ("dijkstra", "ch", "bounded"):
        ours(warm.network.replace(), warm.zones.iloc[:2], warm.opportunities, method)()
    if args.cases is not None:
        cases = [cases[k] for k in args.cases]
    for case in cases:
        run_case(case, args.repeat)
    section = report(cases, args)
    print("\n" + section)
    if not args.quick:
        write_section("accessibility", section, args.readme)
        print(f"\nwritten to {args.readme or README}")


if __name__ == "__main__":
    main()
