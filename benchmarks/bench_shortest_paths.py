"""Shortest-path benchmark: transitopt against scipy, igraph, networkx and AequilibraE.

Run from the repository root (peers: ``pip install igraph aequilibrae``)::

    python benchmarks/bench_shortest_paths.py            # full run, updates benchmarks/README.md
    python benchmarks/bench_shortest_paths.py --quick    # one repeat, README untouched

Networks: Chicago-Sketch and Berlin-Center (TNTP, free-flow time, zones as sources;
Berlin's 865 centroids are never passed through) and the largest graph of the shared OSM
extracts, the Monaco walk network without simplification (walking time, 1,000 random
sources). Times are the median (and the least) of ``--repeat`` runs (wall clock), in
milliseconds per source; the runs alternate tool by tool (one round times every tool and
measure once, the next round starts from the next one). transitopt, AequilibraE: 2 threads; scipy, igraph, networkx: 1 thread (they have
no thread setting). Preparation (compression, contraction hierarchy, AequilibraE's
``prepare_graph``) is timed separately and excluded from the per-source times.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")
# idle OpenMP threads sleep instead of spinning: on a machine shared with other jobs a
# spinning thread steals the core its partner needs (numba's default layer here is omp)
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from _readme import loadavg, write_section  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from transitopt import paths  # noqa: E402
from transitopt.kernels import shortest_paths as ksp  # noqa: E402
from transitopt.network.compiled import Network  # noqa: E402
from transitopt.settings import data_dir  # noqa: E402

THREADS = 2
WEIGHT = "free_flow_time_s"
OSM_SOURCES = 1_000
README = ROOT / "benchmarks" / "README.md"


@dataclass
class Case:
    name: str
    network: Network
    sources: np.ndarray  # compiled indices: zones, or random nodes on OSM graphs
    blocked: bool  # sources are centroids that paths may not pass through
    times: dict = field(default_factory=dict)  # (measure, tool) -> ms per source, median
    best: dict = field(default_factory=dict)  # (measure, tool) -> ms per source, least
    prep: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)


def run_jobs(case: Case, jobs: dict, repeat: int) -> None:
    """Time every job ``(fn, scale, max_repeat)`` in rounds that alternate tool by tool;
    ``case.times[key]`` = median seconds x scale, ``case.best[key]`` = least."""
    keys = list(jobs)
    samples: dict = {k: [] for k in keys}
    for r in range(repeat):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            fn, scale, cap = jobs[key]
            if len(samples[key]) >= cap:
                continue
            start = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - start) * scale)
    for key, values in samples.items():
        case.times[key] = float(np.median(values))
        case.best[key] = min(values)


# ----------------------------------------------------------------------------- cases


def load_cases(names: list[str] | None = None) -> list[Case]:
    from transitopt.network import load_network
    from transitopt.network.tntp import read_tntp_network

    def wanted(name: str) -> bool:
        return names is None or name in names

    tntp = data_dir() / "tntp"
    cases = []
    if wanted("Chicago-Sketch"):
        chicago = read_tntp_network(tntp / "Chicago-Sketch" / "ChicagoSketch_net.tntp")
        zones = np.arange(chicago.info["tntp"]["zones"])
        cases.append(Case("Chicago-Sketch", chicago, zones, blocked=bool(chicago.centroid.any())))
    if wanted("Berlin-Center"):
        berlin = read_tntp_network(tntp / "Berlin-Center" / "berlin-center_net.tntp")
        cases.append(Case("Berlin-Center", berlin, np.flatnonzero(berlin.centroid), blocked=True))
    if wanted("Monaco"):
        monaco = load_network(
            data_dir() / "osm" / "monaco-250101.osm.pbf", network_type="walk", simplify=False
        )
        rng = np.random.default_rng(0)
        sources = np.sort(rng.choice(monaco.n_nodes, OSM_SOURCES, replace=False))
        cases.append(Case("Monaco walk (OSM, unsimplified)", monaco, sources, blocked=False))
    return cases


def scipy_matrix(net: Network, w: np.ndarray) -> sp.csr_matrix:
    """CSR matrix with parallel edges reduced to their minimum (scipy would sum them)."""
    n = net.n_nodes
    key = net.tail.astype(np.int64) * n + net.head
    order = np.lexsort((w, key))
    key, w = key[order], w[order]
    first = np.r_[True, key[1:] != key[:-1]]
    return sp.csr_matrix((w[first], (key[first] // n, key[first] % n)), shape=(n, n))


# ----------------------------------------------------------------------------- runs


def run_case(case: Case, repeat: int) -> None:
    net, src = case.network, case.sources
    w = getattr(net, WEIGHT)
    n_src = src.size
    ms = 1e3 / n_src
    rng = np.random.default_rng(1)
    singles = rng.choice(net.n_nodes, 20, replace=False)
    print(
        f"\n== {case.name}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {n_src} sources",
        flush=True,
    )

    # ---- preparation
    start = time.perf_counter()
    prepared = paths.PreparedGraph(net, WEIGHT)
    case.prep["compress_s"] = time.perf_counter() - start
    case.prep["kept"] = prepared.n_kept
    hierarchy = prepared.hierarchy
    case.prep["ch_s"] = hierarchy.build_s
    case.prep["shortcuts"] = hierarchy.n_shortcuts
    start = time.perf_counter()
    matrix = scipy_matrix(net, w)
    case.prep["scipy_s"] = time.perf_counter() - start
    prepared.distances(src[:16], method="ch")  # warm: compile or load the kernels
    prepared.distances(src[:16], src[:16], method="dijkstra")
    prepared.distances(src[:16], method="dijkstra")
    prepared.distances(src[:16], src, method="ch")
    ksp.many_to_all(net.indptr, net.head, w, src[:2], net.centroid)

    # ---- one-to-all, one call per source
    def per_call(fn, sources):
        return (lambda: [fn(int(s)) for s in sources], 1e3 / len(sources), repeat)

    t: dict = {}  # (measure, tool) -> (fn, scale to ms per source, max runs)
    t["one-to-all", "transitopt CH"] = per_call(
        lambda s: prepared.distances([s], method="ch"), singles
    )
    t["one-to-all", "transitopt Dijkstra"] = per_call(
        lambda s: prepared.distances([s], method="dijkstra"), singles
    )
    t["one-to-all", "scipy"] = per_call(lambda s: dijkstra(matrix, indices=s), singles)

    # ---- many-to-all and many-to-many
    t["many-to-all", "transitopt CH"] = (lambda: prepared.distances(src, method="ch"), ms, repeat)
    t["many-to-all", "transitopt Dijkstra"] = (
        lambda: prepared.distances(src, method="dijkstra"),
        ms,
        repeat,
    )
    t["many-to-all", "scipy"] = (lambda: dijkstra(matrix, indices=src), ms, repeat)
    t["many-to-many", "transitopt CH"] = (
        lambda: prepared.distances(src, src, method="ch"),
        ms,
        repeat,
    )
    t["many-to-many", "transitopt Dijkstra"] = (
        lambda: prepared.distances(src, src, method="dijkstra"),
        ms,
        repeat,
    )
    t["many-to-many", "scipy"] = (lambda: dijkstra(matrix, indices=src)[:, src], ms, repeat)

    ours = prepared.distances(src, method="ch")
    if not case.blocked:
        ref = dijkstra(matrix, indices=src)
        case.checks["max |CH - scipy|"] = float(
            np.nanmax(np.abs(np.where(np.isinf(ref), 0, ref - ours)))
        )
        case.checks["inf pattern equal"] = bool((np.isinf(ref) == np.isinf(ours)).all())

    run_igraph(case, w, singles, repeat, t)
    run_networkx(case, w, singles[:5], t)
    aequilibrae_check = run_aequilibrae(case, w, ours[:, src], repeat, t)
    run_jobs(case, t, repeat)
    if aequilibrae_check is not None:
        aequilibrae_check()
    for (measure, tool), value in sorted(case.times.items()):
        print(f"  {measure:13s} {tool:22s} {value:9.4f} ms/source", flush=True)


def run_igraph(case: Case, w: np.ndarray, singles: np.ndarray, repeat: int, t: dict) -> None:
    try:
        import igraph as ig
    except ImportError:
        print("  igraph not installed: pip install igraph")
        return
    net, src = case.network, case.sources
    start = time.perf_counter()
    graph = ig.Graph(
        n=net.n_nodes, edges=np.column_stack([net.tail, net.head]).tolist(), directed=True
    )
    graph.es["w"] = w.tolist()
    case.prep["igraph_s"] = time.perf_counter() - start
    capped = src[:200]  # results come back as Python lists: cap the memory
    t["one-to-all", "igraph"] = (
        lambda: [graph.distances(source=[int(s)], weights="w") for s in singles],
        1e3 / len(singles),
        repeat,
    )
    t["many-to-all", "igraph"] = (
        lambda: graph.distances(source=capped.tolist(), weights="w"),
        1e3 / capped.size,
        repeat,
    )
    t["many-to-many", "igraph"] = (
        lambda: graph.distances(source=src.tolist(), target=src.tolist(), weights="w"),
        1e3 / src.size,
        repeat,
    )


def run_networkx(case: Case, w: np.ndarray, singles: np.ndarray, t: dict) -> None:
    import networkx as nx

    net = case.network
    graph = nx.DiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    for u, v, c in sorted(
        zip(net.tail.tolist(), net.head.tolist(), w.tolist(), strict=True), key=lambda e: -e[2]
    ):
        graph.add_edge(u, v, weight=c)  # the smallest of parallel edges is added last
    t["one-to-all", "networkx"] = (
        lambda: [nx.single_source_dijkstra_path_length(graph, int(s)) for s in singles],
        1e3 / len(singles),
        1,  # one run: it is slow and far behind
    )


def run_aequilibrae(case: Case, w: np.ndarray, ours: np.ndarray, repeat: int, t: dict):
    """Add AequilibraE's zone skim to the jobs ``t`` (skimming is the task here, so its graph
    is set up for skims); returns the check to run after the timings."""
    try:
        from aequilibrae.paths import Graph, NetworkSkimming
    except ImportError:
        print("  aequilibrae not installed: pip install aequilibrae")
        return None
    net, src = case.network, case.sources
    # AequilibraE indexes an array by node id: use compiled index + 1 as id
    links = pd.DataFrame({
        "link_id": np.arange(1, net.n_edges + 1),
        "a_node": net.tail.astype(np.int64) + 1,
        "b_node": net.head.astype(np.int64) + 1,
        "direction": np.ones(net.n_edges, dtype=np.int8),
        "cost": w,
    })  # fmt: skip
    graph = Graph()
    graph.network = links
    start = time.perf_counter()
    graph.prepare_graph(src.astype(np.int64) + 1)
    graph.set_graph("cost")
    graph.set_skimming(["cost"])
    graph.set_blocked_centroid_flows(case.blocked)
    case.prep["aequilibrae_s"] = time.perf_counter() - start
    holder = {}

    def skim():
        job = NetworkSkimming(graph)
        job.set_cores(THREADS)
        job.execute()
        holder["job"] = job

    # its skim grows a full tree per zone, then reads the zone columns: one timing, both rows
    t["many-to-many", "AequilibraE"] = (skim, 1e3 / src.size, repeat)

    def check() -> None:
        case.times["many-to-all", "AequilibraE"] = case.times["many-to-many", "AequilibraE"]
        case.best["many-to-all", "AequilibraE"] = case.best["many-to-many", "AequilibraE"]
        theirs = np.asarray(holder["job"].results.skims.cost)
        finite = np.isfinite(ours) & np.isfinite(theirs)
        case.checks["max |CH - AequilibraE| (zones)"] = float(
            np.abs(ours[finite] - theirs[finite]).max()
        )
        case.checks["inf pattern equal (AequilibraE)"] = bool(
            (np.isinf(ours) == ~np.isfinite(theirs)).all()
        )

    return check


# ----------------------------------------------------------------------------- compile time

_COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from transitopt import paths
from transitopt.network.compiled import Network
rng = np.random.default_rng(0)
n, m = 300, 1200
net = Network.from_edges(rng.integers(0, n, m), rng.integers(0, n, m), n_nodes=n,
    free_flow_time_s=rng.random(m), node_x=rng.random(n), node_y=rng.random(n),
    centroid=np.arange(n) < 10, crs="EPSG:4326")
t1 = time.perf_counter()
p = paths.prepare(net)
p.distances(np.arange(20), method="dijkstra"); p.distances(np.arange(20), np.arange(10), method="dijkstra")
p.distances(np.arange(20), method="ch"); p.distances(np.arange(20), np.arange(10), method="ch")
p.distances(np.arange(10, 40), method="ch")
paths.shortest_path(net, 0, 5, by_index=True); paths.snap_points(net, rng.random(5), rng.random(5))
print(time.perf_counter() - t1)
"""


def warm_up() -> None:
    """Load every kernel from the numba cache (or compile it) before anything is timed."""
    rng = np.random.default_rng(0)
    n, m = 50, 200
    net = Network.from_edges(rng.integers(0, n, m), rng.integers(0, n, m), n_nodes=n,
                             free_flow_time_s=rng.random(m), centroid=np.arange(n) < 5, crs=None)  # fmt: skip
    prepared = paths.PreparedGraph(net, WEIGHT)
    for method in ("dijkstra", "ch"):
        for sources in (np.arange(2), np.arange(n)):
            prepared.distances(sources, method=method)
            prepared.distances(sources, np.arange(5), method=method)
    ksp.many_to_all(net.indptr, net.head, net.free_flow_time_s, np.arange(2), net.centroid)


def compile_times() -> tuple[float, float, float]:
    """Seconds for the first calls in a fresh process: cold numba cache (wall and CPU of
    the whole process), then with the cache filled (wall)."""
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
            out.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return out[0], out[1], out[2]


# ----------------------------------------------------------------------------- report

TOOLS = ["transitopt CH", "transitopt Dijkstra", "scipy", "igraph", "networkx", "AequilibraE"]
MEASURES = ["one-to-all", "many-to-all", "many-to-many"]


def report(cases: list[Case], compile_s: tuple[float, float, float], args) -> str:
    lines = []
    cpu = _cpu_name()
    lines += [
        "## Shortest paths",
        "",
        f"Command: `python benchmarks/bench_shortest_paths.py` (repeat {args.repeat}, median run; "
        "runs alternate tool by tool). "
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numba {numba.__version__}, "
        f"numba threading layer {numba.threading_layer()} (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}), "
        f"scipy {scipy.__version__}{_versions()}; "
        f"load average (1 / 5 / 15 min) {args.load_start} at the start, {loadavg()} at the end.",
        "",
        "Milliseconds per source, median of the runs (lower is better); transitopt and AequilibraE with 2 threads, "
        "scipy, igraph and networkx single-threaded (they have no thread option). *one-to-all*: one call "
        "per source (20 random nodes; networkx 5). *many-to-all*: every zone (TNTP) or 1,000 random "
        "nodes (OSM) to every node in one call (igraph on the first 200 sources). *many-to-many*: "
        "the same sources to themselves. AequilibraE skims zone to zone only; its time is listed under "
        "both skims, since it grows a full tree per zone either way. Berlin-Center's centroids are "
        "blocked (never passed through) in transitopt and AequilibraE; scipy and igraph cannot block "
        "them and search the unrestricted graph (the same work).",
        "",
        "| network | measure | " + " | ".join(TOOLS) + " | CH vs scipy | CH vs AequilibraE |",
        "|---|---|" + "---:|" * (len(TOOLS) + 2),
    ]
    for case in cases:
        for measure in MEASURES:
            row = [case.name, measure]
            for tool in TOOLS:
                v = case.times.get((measure, tool))
                row.append("–" if v is None else f"{v:.3f}")
            ours = case.times.get((measure, "transitopt CH"))
            for peer in ("scipy", "AequilibraE"):
                v = case.times.get((measure, peer))
                row.append("–" if v is None or ours is None else f"{v / ours:.1f}×")
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "*transitopt CH*: the graph is compressed (degree-2 chains and dead-end trees contracted; "
        "centroids kept), a contraction hierarchy is built on the compressed graph once per network "
        "and weight, and each source is one small upward search plus a PHAST sweep over all nodes in "
        "rank order, 8 sources per sweep (one 64-byte line of float64 distances per node); results are "
        "expanded back to chain nodes through their two chain ends. *transitopt Dijkstra*: a 4-ary-heap "
        'Dijkstra per source on the compressed graph (no hierarchy; what `method="auto"` uses until '
        f"{paths.AUTO_HIERARCHY_SOURCES} sources have been searched on a network). All distances are float64.",
        "",
        "Dijkstra alone (no hierarchy), many-to-all, vs scipy / vs AequilibraE: "
        + "; ".join(
            f"{c.name} {c.times[('many-to-all', 'scipy')] / c.times[('many-to-all', 'transitopt Dijkstra')]:.1f}× / "
            f"{c.times.get(('many-to-all', 'AequilibraE'), float('nan')) / c.times[('many-to-all', 'transitopt Dijkstra')]:.1f}×"
            for c in cases
        )
        + ". "
        + _target_sentence(cases),
        "",
        "Preparation, once per network and weight (seconds; not in the times above):",
        "",
        "| network | nodes | edges | kept after compression | compress | CH build (shortcuts) "
        "| scipy matrix | igraph graph | AequilibraE prepare_graph |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        p = c.prep
        lines.append(
            f"| {c.name} | {c.network.n_nodes:,} | {c.network.n_edges:,} | {p['kept']:,} | {p['compress_s']:.3f} "
            f"| {p['ch_s']:.3f} ({p['shortcuts']:,}) | {p['scipy_s']:.3f} | {p.get('igraph_s', float('nan')):.3f} "
            f"| {p.get('aequilibrae_s', float('nan')):.3f} |"
        )
    lines += [
        "",
        "Per-source cost including preparation, for a single skim call: "
        + "; ".join(
            f"{c.name} many-to-all {(c.prep['compress_s'] + c.prep['ch_s']) * 1e3 / c.sources.size + c.times[('many-to-all', 'transitopt CH')]:.3f} ms "
            f"(scipy {c.times[('many-to-all', 'scipy')]:.3f})"
            for c in cases
        )
        + ".",
        "",
        f"numba compilation (first calls of every kernel in a fresh process, small network): "
        f"{compile_s[0]:.1f} s wall ({compile_s[1]:.1f} s CPU for the whole process, imports included) "
        f"with an empty cache, {compile_s[2]:.2f} s with the on-disk cache.",
        "",
        "Checks: "
        + "; ".join(
            f"{c.name}: "
            + ", ".join(
                f"{k} {v:.2e}" if isinstance(v, float) else f"{k} {v}" for k, v in c.checks.items()
            )
            for c in cases
        )
        + ".",
    ]
    return "\n".join(lines)


def _target_sentence(cases: list[Case]) -> str:
    """Whether the issue's targets hold: skims >= 2.5x scipy and faster than AequilibraE,
    single source no slower than scipy."""

    def met(tool: str) -> bool:
        ok = True
        for c in cases:
            for measure in ("many-to-all", "many-to-many"):
                ours = c.times[(measure, tool)]
                ok &= c.times[(measure, "scipy")] / ours >= 2.5
                ok &= c.times.get((measure, "AequilibraE"), np.inf) / ours > 1.0
            ok &= c.times[("one-to-all", tool)] <= c.times[("one-to-all", "scipy")]
        return ok

    ch, dij = met("transitopt CH"), met("transitopt Dijkstra")
    return (
        f"Targets (skims at least 2.5× scipy and faster than AequilibraE, one source no slower than scipy) "
        f"on every network: {'met' if ch else 'NOT met'} with the hierarchy, "
        f"{'met' if dij else 'not met'} by the Dijkstra alone."
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("igraph", "networkx", "aequilibrae"):
        try:
            out.append(f", {name} {version(name)}")
        except PackageNotFoundError:
            pass
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="one repeat; do not touch the README")
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=None,
        help="Chicago-Sketch, Berlin-Center, Monaco (default: all)",
    )
    args = parser.parse_args()
    args.load_start = loadavg()
    if args.quick:
        args.repeat = 1
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    compile_s = compile_times()
    print(
        f"numba compile: {compile_s[0]:.1f} s cold ({compile_s[1]:.1f} s CPU), {compile_s[2]:.2f} s cached",
        flush=True,
    )
    warm_up()
    cases = load_cases(args.cases)
    for case in cases:
        run_case(case, args.repeat)
    section = report(cases, compile_s, args)
    print("\n" + section)
    if not args.quick:
        write_section("shortest_paths", section, args.readme)
        print(f"\nwritten to {args.readme or README}")


if __name__ == "__main__":
    main()
