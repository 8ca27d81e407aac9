"""Road user-equilibrium benchmark: transitopt vs AequilibraE on the TNTP networks.

Solvers, on the same machine and the same BPR data:

* transitopt ``bfw`` (bi-conjugate Frank-Wolfe) to relative gap 1e-6;
* transitopt ``algb`` (bush-based Algorithm B) to 1e-10;
* AequilibraE ``bfw`` (its best algorithm) to 1e-6 by its own gap measure, configured for
  assignment as its documentation describes: a graph with ``set_graph`` on the free-flow
  time and blocked centroid flows, **no skims** (``set_skimming`` is for when the task
  needs skims; asking for them makes every iteration skim and turns off its early exit
  in the path search), progress bars off (``AEQ_SHOW_PROGRESS=FALSE``), the same number
  of cores as transitopt (``set_cores``).

Every run is its own process (``--worker``): it loads the case, warms up on SiouxFalls
(numba's on-disk cache for transitopt, the same for AequilibraE), then solves once and
reports its history, flows and peak resident memory (``ru_maxrss`` of the process).
Runs alternate tool by tool (the tool order rotates from one repeat to the next); each
cell is the median of ``--repeat`` runs (least in brackets). The load average is
recorded at the start and at the end. Writes the table between ``<!-- BEGIN assignment -->``
and ``<!-- END assignment -->`` of ``--readme`` (default ``benchmarks/README.md``) plus
``benchmarks/assignment_gap_vs_time.png``.

Usage::

    python benchmarks/bench_assignment.py                      # all five networks, 3 repeats
    python benchmarks/bench_assignment.py --networks SiouxFalls --repeat 1 --readme /tmp/R.md

Times include the solver's set-up after the network and matrix are in memory
(transitopt: input checks and the connectivity search; AequilibraE: everything inside
``TrafficAssignment.execute``) and exclude numba compilation and loading the files.
AequilibraE rejects zero free-flow times, so the Berlin networks' zero-time
connectors get 1e-8 min there (a change below 1e-9 of any path cost).
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # idle OpenMP threads must not spin on a shared machine
os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")  # AequilibraE's progress bars off

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _readme import current_rss_mb, loadavg, peak_rss_mb, write_section  # noqa: E402

from transitopt.assignment import assign, fixed_cost_s  # noqa: E402
from transitopt.assignment._problem import build_problem  # noqa: E402
from transitopt.kernels.assignment import aon_load  # noqa: E402
from transitopt.kernels.vdf import costs_into  # noqa: E402

NETWORKS = ["SiouxFalls", "Anaheim", "Chicago-Sketch", "Berlin-Mitte-Center", "Berlin-Center"]
GAPS = [1e-4, 1e-5, 1e-6]
TIGHT = 1e-10
CORES = 2
SOLVERS = ("transitopt bfw", "transitopt algb", "AequilibraE bfw")
SETUP = (
    "*transitopt*: `assign(network, demand, algorithm=..., gap=..., max_iter=100_000, "
    "time_limit_s=...)`, numba on {cores} threads (`NUMBA_NUM_THREADS`). *AequilibraE* {aeq}: "
    "`Graph.prepare_graph(zones)`, `set_graph('free_flow_time')`, `set_blocked_centroid_flows` "
    "where the network has centroids, no skims, `TrafficAssignment` with `set_algorithm('bfw')`, "
    "BPR `alpha`/`beta`, fixed costs where the network has tolls or distance costs, "
    "`set_cores({cores})`, `rgap_target`, progress bars off (`AEQ_SHOW_PROGRESS=FALSE`)."
)


# ---------------------------------------------------------------------------- helpers
def true_relative_gap(case, flow: np.ndarray) -> float:
    """(TSTT - SPTT) / TSTT of ``flow`` under transitopt's generalised cost (for any solver's flows)."""
    p = build_problem(case.network, case.demand)
    cost = np.empty_like(flow)
    costs_into(flow, *p.vdf_args, cost)
    _, sptt, _ = aon_load(
        p.indptr, p.head, p.tail, cost, p.no_through, p.origin_nodes, p.dest_nodes, p.demand, False
    )
    tstt = float(flow @ cost)
    return (tstt - sptt) / tstt


def objective_minutes(case, flow: np.ndarray) -> float:
    """Beckmann objective (veh·min/h) by the closed-form BPR integral plus the fixed cost."""
    net = case.network
    t0 = net.free_flow_time_s / 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(net.capacity_vph > 0, flow / net.capacity_vph, 0.0)
    integral = t0 * (flow + net.alpha * net.capacity_vph / (net.beta + 1) * ratio ** (net.beta + 1))
    return float(integral.sum() + (fixed_cost_s(net) / 60.0 * flow).sum())


def flow_difference(case, flow: np.ndarray) -> float | None:
    """Largest |flow - best-known| (veh/h) over links with a unique equilibrium flow (b > 0, fft > 0)."""
    if case.best_flows is None:
        return None
    net = case.network
    unique = (net.alpha > 0) & (net.free_flow_time_s > 0)
    return float(np.abs(flow - case.best_edge_flows())[unique].max())


def first_time(history: pd.DataFrame, gap: float) -> tuple[float, int] | None:
    """(seconds, iteration) when ``history.gap`` first reaches ``gap``."""
    hit = history[history["gap"] <= gap]
    if hit.empty:
        return None
    row = hit.iloc[0]
    return float(row["time_s"]), int(row["iteration"])


def first_time_s(history: pd.DataFrame, gap: float) -> float | None:
    hit = first_time(history, gap)
    return None if hit is None else hit[0]


def ms_per_iteration(history: pd.DataFrame) -> float | None:
    """Median wall time of one iteration (ms), from the history's time stamps."""
    t = history["time_s"].to_numpy()
    if t.size < 3:
        return None
    return float(np.median(np.diff(t[1:]))) * 1e3  # the first step includes the set-up


# ---------------------------------------------------------------------------- processes
def worker(spec: dict) -> None:
    """One solve in this process (``--worker``); writes ``spec['out']`` (.npz) and .json."""
    from _cases import load_case

    from transitopt.network.tntp import load_tntp

    warm = load_tntp("SiouxFalls")
    if spec["solver"] == "AequilibraE bfw":
        run_aequilibrae(warm, 1e-4, 100, spec["cores"])
    else:
        run_transitopt(warm, spec["solver"].split()[-1], 1e-4, 60.0)
        _warm_hierarchy(warm)  # compiled (or read from numba's cache) outside the timing
    case = load_case(spec["case"])
    base = current_rss_mb()
    cpu_start = time.process_time()
    if spec["solver"] == "AequilibraE bfw":
        if spec["time_limit_s"] > 0:  # AequilibraE has no time limit: end the process (no result)
            import threading

            timer = threading.Timer(spec["time_limit_s"], os._exit, args=(3,))
            timer.daemon = True
            timer.start()
        run = run_aequilibrae(case, spec["gap"], spec["max_iter"], spec["cores"])
        if spec["time_limit_s"] > 0:
            timer.cancel()
    else:
        run = run_transitopt(
            case, spec["solver"].split()[-1], spec["gap"], spec["time_limit_s"], spec["max_iter"]
        )
    h = run["history"]
    np.savez(
        spec["out"],
        flow=run["flow"],
        iteration=h["iteration"].to_numpy(),
        gap=h["gap"].to_numpy(),
        time_s=h["time_s"].to_numpy(),
    )
    info = {
        "iterations": run["iterations"],
        "base_mb": base,
        "peak_mb": peak_rss_mb(),
        "cpu_s": time.process_time() - cpu_start,  # all threads, the solve only
    }
    Path(spec["out"] + ".json").write_text(json.dumps(info))


def _warm_hierarchy(case) -> None:
    """Run the hierarchy AON once on ``case`` (large dense problems use it)."""
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._hierarchy import HierarchyAON

    p = build_problem(case.network, case.demand)
    cost = np.empty(p.head.size)
    costs_into(np.zeros(p.head.size), *p.vdf_args, cost)
    HierarchyAON(CompressedAON.of_problem(p)).load(cost)


def solve_in_process(
    case: str,
    solver: str,
    gap: float,
    *,
    cores: int,
    time_limit_s: float,
    max_iter: int = 100_000,
    timeout_s: float | None = None,
) -> dict | None:
    """Run one solve in a fresh process; ``{"error": why}`` when it failed or ran out of time.

    Returns ``{"solver", "history", "flow", "iterations", "base_mb", "peak_mb"}``:
    ``peak_mb`` is the process's largest resident set, ``base_mb`` its resident set
    just before the solve (imports, warm-up and the loaded case).
    """
    with tempfile.TemporaryDirectory(prefix="bench-assign-") as tmp:
        out = str(Path(tmp) / "run.npz")
        spec = {
            "case": case,
            "solver": solver,
            "gap": gap,
            "cores": cores,
            "time_limit_s": time_limit_s,
            "max_iter": max_iter,
            "out": out,
        }
        env = dict(os.environ, NUMBA_NUM_THREADS=str(cores), AEQ_SHOW_PROGRESS="FALSE")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        try:
            done = subprocess.run(cmd, env=env, timeout=timeout_s, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            print(f"  {case} {solver}: no result within {timeout_s:.0f} s", flush=True)
            return {"error": "time limit"}
        if done.returncode == 3:  # the worker's own time limit (AequilibraE)
            return {"error": "time limit"}
        if done.returncode != 0 or not Path(out + ".json").exists():
            print(f"  {case} {solver}: failed\n{done.stderr[-2000:]}", flush=True)
            killed = done.returncode < 0 or done.returncode == 137
            return {"error": f"exit {done.returncode}" + (" (killed: memory?)" if killed else "")}
        info = json.loads(Path(out + ".json").read_text())
        with np.load(out) as data:
            history = pd.DataFrame(
                {"iteration": data["iteration"], "gap": data["gap"], "time_s": data["time_s"]}
            )
            flow = data["flow"].copy()
    return {"solver": solver, "history": history, "flow": flow, **info}


# ---------------------------------------------------------------------------- solvers
def run_transitopt(
    case, algorithm: str, gap: float, time_limit_s: float, max_iter: int = 100_000
) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign(
            case.network,
            case.demand,
            algorithm=algorithm,
            gap=gap,
            max_iter=max_iter,
            time_limit_s=time_limit_s,
        )
    history = pd.DataFrame(
        {
            "iteration": result.history["iteration"],
            "gap": result.history["relative_gap"],
            "time_s": result.history["time_s"] + result.setup_s,
        }
    )
    return {
        "solver": f"transitopt {algorithm}",
        "history": history,
        "flow": result.flow.copy(),
        "iterations": result.iterations,
    }


def run_aequilibrae(case, gap: float, max_iter: int, cores: int) -> dict:
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    net = case.network
    edges = net.edges
    fixed_min = fixed_cost_s(net) / 60.0
    links = pd.DataFrame(
        {
            "link_id": edges["tntp_link"].to_numpy(),
            "a_node": edges["init_node"].to_numpy(),
            "b_node": edges["term_node"].to_numpy(),
            "direction": 1,
            "free_flow_time": np.maximum(net.free_flow_time_s / 60.0, 1e-8),
            "capacity": net.capacity_vph,
            "alpha": net.alpha,
            "beta": net.beta,
            "fixed_cost": fixed_min,
        }
    )
    links["id"] = links["link_id"]
    links = links.sort_values("link_id").reset_index(drop=True)
    zones = case.demand.zones
    graph = Graph()
    graph.network = links
    graph.network_ok = True
    graph.status = "OK"
    graph.prepare_graph(zones.astype(np.int64))
    graph.set_graph("free_flow_time")
    graph.set_blocked_centroid_flows(bool(net.centroid.any()))
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=zones.size, matrix_names=["matrix"], memory_only=True)
    matrix.index = zones
    matrix.matrices[:, :, 0] = case.demand.matrix
    matrix.computational_view(["matrix"])
    car = TrafficClass("car", graph, matrix)
    if fixed_min.any():
        car.set_fixed_cost("fixed_cost")
    assignment = TrafficAssignment()
    assignment.set_classes([car])
    assignment.set_vdf("BPR")
    assignment.set_vdf_parameters({"alpha": "alpha", "beta": "beta"})
    assignment.set_capacity_field("capacity")
    assignment.set_time_field("free_flow_time")
    assignment.set_algorithm("bfw")
    assignment.max_iter = max_iter
    assignment.rgap_target = gap
    assignment.set_cores(cores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assignment.execute()
    report = pd.DataFrame(assignment.assignment.convergence_report)
    history = pd.DataFrame(
        {"iteration": report["iteration"], "gap": report["rgap"], "time_s": report["time"]}
    )
    loads = car.results.get_load_results()["matrix_tot"]
    flow = loads.reindex(edges["tntp_link"].to_numpy()).to_numpy(dtype=np.float64)
    return {
        "solver": "AequilibraE bfw",
        "history": history,
        "flow": flow,
        "iterations": int(report["iteration"].iloc[-1]),
    }


def _fmt_time(hit) -> str:
    return "—" if hit is None else f"{hit[0]:.3g} s ({hit[1]})"


# ---------------------------------------------------------------------------- report
def _median_cell(times: list[float | None], iterations: int | None) -> str:
    if not times or any(t is None for t in times):
        return "—"
    values = [t for t in times if t is not None]
    return f"{np.median(values):.3g} s ({min(values):.3g}; {iterations})"


def _ratio(ref: float | None, ours: float | None) -> str:
    if ref is None or ours is None:
        return "—"
    return f"{ref / ours:.1f}×"


def summarise(name: str, solver: str, runs: list[dict | None], case) -> dict:
    """Medians over the repeats of one (network, solver); the final flows of the last run."""
    ok = [r for r in runs if r is not None]
    row: dict = {"network": name, "solver": solver, "runs": len(runs), "ok": len(ok)}
    targets = [*GAPS, TIGHT]
    row["times"] = [
        None
        if len(ok) < len(runs) or not ok
        else (
            None
            if any(first_time_s(r["history"], g) is None for r in ok)
            else float(np.median([first_time_s(r["history"], g) for r in ok]))
        )
        for g in targets
    ]
    row["cells"] = []
    for g in targets:
        hits = [first_time(r["history"], g) for r in ok] if len(ok) == len(runs) else []
        times = [h[0] if h else None for h in hits]
        row["cells"].append(_median_cell(times, hits[-1][1] if hits and hits[-1] else None))
    if not ok:
        return row
    last = ok[-1]
    per_it = [ms_per_iteration(r["history"]) for r in ok]
    row["ms_per_it"] = None if None in per_it else float(np.median(per_it))
    row["iterations"] = last["iterations"]
    row["peak_mb"] = float(np.median([r["peak_mb"] for r in ok]))
    row["solve_mb"] = float(np.median([max(0.0, r["peak_mb"] - r["base_mb"]) for r in ok]))
    row["true_gap"] = true_relative_gap(case, last["flow"])
    row["objective"] = objective_minutes(case, last["flow"])
    row["flow_diff"] = flow_difference(case, last["flow"])
    row["history"] = last["history"]
    return row


def build_table(rows: list[dict]) -> str:
    lines = [
        "| network | solver | to 1e-4 | to 1e-5 | to 1e-6 | to 1e-10 | ms / iteration | iterations "
        "| peak MB (solve) | true final gap | objective (veh·min/h) | max \\|Δflow\\| vs best-known (veh/h) |",
        "|---|---|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        if "iterations" not in row:
            lines.append(f"| {row['network']} | {row['solver']} | " + " | ".join(["—"] * 10) + " |")
            continue
        ms = "—" if row["ms_per_it"] is None else f"{row['ms_per_it']:.3g}"
        lines.append(
            f"| {row['network']} | {row['solver']} | "
            + " | ".join(row["cells"])
            + f" | {ms} | {row['iterations']} | {row['peak_mb']:.0f} ({row['solve_mb']:+.0f}) "
            + f"| {row['true_gap']:.2e} | {row['objective']:.10g} | "
            + ("—" if row["flow_diff"] is None else f"{row['flow_diff']:.2e}")
            + " |"
        )
    lines += [
        "",
        "Speed-up over AequilibraE bfw (its median time to a gap / ours; bush = transitopt algb):",
        "",
        "| network | bfw 1e-4 | bfw 1e-5 | bfw 1e-6 | bush 1e-4 | bush 1e-5 | bush 1e-6 "
        "| bush 1e-10 vs AequilibraE 1e-6 | ms/iteration AequilibraE / bfw / algb |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_net: dict[str, dict] = {}
    for row in rows:
        by_net.setdefault(row["network"], {})[row["solver"]] = row
    for name, solvers in by_net.items():
        ref = solvers.get("AequilibraE bfw")
        if ref is None:
            continue
        cells = []
        for key in ("transitopt bfw", "transitopt algb"):
            ours = solvers.get(key)
            for k in range(3):
                cells.append(_ratio(ref["times"][k], ours["times"][k] if ours else None))
        bush = solvers.get("transitopt algb")
        cells.append(_ratio(ref["times"][2], bush["times"][3] if bush else None))
        per_it = [solvers.get(k, {}).get("ms_per_it") for k in ("AequilibraE bfw", *SOLVERS[:2])]
        cells.append(" / ".join("—" if v is None else f"{v:.3g}" for v in per_it))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(runs: dict[str, list[dict]], path: Path) -> None:
    """Gap vs time per network (the last run of each solver)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(runs)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    styles = {"transitopt bfw": "C0-", "transitopt algb": "C2-", "AequilibraE bfw": "C3--"}
    for ax, name in zip(axes[0], names, strict=True):
        for run in runs[name]:
            h = run["history"]
            ax.loglog(
                h["time_s"],
                h["gap"].clip(lower=1e-14),
                styles.get(run["solver"], "k-"),
                label=run["solver"],
            )
        ax.set_title(name)
        ax.set_xlabel("wall time (s, log)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("relative gap")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=NETWORKS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per solver (median reported)")
    parser.add_argument("--cores", type=int, default=CORES, help="threads / cores for every tool")
    parser.add_argument("--no-aequilibrae", action="store_true")
    parser.add_argument(
        "--bfw-time-limit", type=float, default=600.0, help="seconds for transitopt bfw"
    )
    parser.add_argument("--aeq-max-iter", type=int, default=5000)
    parser.add_argument(
        "--aeq-time-limit",
        type=float,
        default=1800.0,
        help="seconds for an AequilibraE solve (then no result)",
    )
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    from _cases import load_case

    solvers = [s for s in SOLVERS if not (args.no_aequilibrae and s.startswith("AequilibraE"))]
    load_start = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows: list[dict] = []
    for name in args.networks:
        case = load_case(name)  # TNTP names, Sydney or Grid<N> (see _cases.py)
        runs: dict[str, list] = {s: [] for s in solvers}
        for r in range(args.repeat):
            order = solvers[r % len(solvers) :] + solvers[: r % len(solvers)]
            for solver in order:
                if solver == "AequilibraE bfw":
                    run = solve_in_process(
                        name,
                        solver,
                        GAPS[-1],
                        cores=args.cores,
                        time_limit_s=args.aeq_time_limit,
                        max_iter=args.aeq_max_iter,
                        timeout_s=args.aeq_time_limit + 300.0,
                    )
                else:
                    limit = args.bfw_time_limit if solver.endswith("bfw") else 600.0
                    gap = GAPS[-1] if solver.endswith("bfw") else TIGHT
                    run = solve_in_process(
                        name,
                        solver,
                        gap,
                        cores=args.cores,
                        time_limit_s=limit,
                        timeout_s=limit + 300.0,
                    )
                runs[solver].append(None if "error" in run else run)
                if "error" not in run:
                    hits = [first_time(run["history"], g) for g in [*GAPS, TIGHT]]
                    print(
                        f"{name:20s} {solver:16s} run {r + 1}: "
                        + "  ".join(_fmt_time(h) for h in hits)
                        + f"  peak {run['peak_mb']:.0f} MB",
                        flush=True,
                    )
        rows += [summarise(name, s, runs[s], case) for s in solvers]
    load_end = loadavg()

    table = build_table(rows)
    print(table)
    if args.no_write:
        return
    from importlib.metadata import version

    import numba

    figure = (
        Path(args.readme).resolve().parent if args.readme else HERE
    ) / "assignment_gap_vs_time.png"
    plot(
        {
            name: [r for r in rows if r["network"] == name and "history" in r]
            for name in args.networks
        },
        figure,
    )
    setup = SETUP.format(cores=args.cores, aeq=version("aequilibrae"))
    header = (
        f"Road user equilibrium, measured by `benchmarks/bench_assignment.py --repeat {args.repeat} "
        f"--cores {args.cores}` on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numba {numba.__version__}, {started} UTC; load average "
        f"(1 / 5 / 15 min) {load_start} at the start, {load_end} at the end. Each run is a fresh "
        "process (files loaded and kernels warmed up on SiouxFalls before the clock starts); runs "
        "alternate tool by tool. Set-up: " + setup + "\n\n"
        f"Cells: median seconds over {args.repeat} runs (least; iteration at which the gap was first "
        "reached). AequilibraE's gap is its own reported one (which uses the costs of the previous "
        "iteration), transitopt's the exact relative gap (TSTT − SPTT)/TSTT. The *true final gap* "
        "recomputes every solver's final flows with the same exact definition. *ms / iteration*: "
        "median time between successive iterations. *peak MB*: largest resident set of the run's "
        "process (median over runs); in brackets its growth during the solve (peak minus the "
        "resident set after imports, warm-up and loading the case). `—`: not reached in the run, or no result (run stopped at its time limit, `--bfw-time-limit` / `--aeq-time-limit`, or failed).\n\n"
        f"![gap vs time]({figure.name})\n"
    )
    write_section("assignment", header + "\n" + table, args.readme)


if __name__ == "__main__":
    main()
