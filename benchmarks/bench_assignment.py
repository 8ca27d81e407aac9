"""Road user-equilibrium benchmark: transitopt vs AequilibraE on the TNTP networks.

Runs, side by side in one process on the same machine and the same BPR data:

* transitopt ``bfw`` (bi-conjugate Frank-Wolfe) to relative gap 1e-6;
* transitopt ``algb`` (bush-based Algorithm B) to 1e-10;
* AequilibraE ``bfw`` (its best algorithm), 2 cores, to 1e-6 by its own gap measure.

and writes the table between ``<!-- BEGIN assignment -->`` and ``<!-- END assignment -->``
in ``benchmarks/README.md`` plus ``benchmarks/assignment_gap_vs_time.png``.

Usage::

    python benchmarks/bench_assignment.py                      # all five networks
    python benchmarks/bench_assignment.py --networks SiouxFalls Anaheim --no-aequilibrae

Times include the solver's set-up after the network and matrix are in memory
(transitopt: input checks and the connectivity search; AequilibraE: everything inside
``TrafficAssignment.execute``) and exclude numba compilation (a warm-up run first).
AequilibraE rejects zero free-flow times, so the Berlin networks' zero-time
connectors get 1e-8 min there (a change below 1e-9 of any path cost).
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # idle OpenMP threads must not spin on a shared machine

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from transitopt.assignment import assign, fixed_cost_s  # noqa: E402
from transitopt.assignment._problem import build_problem  # noqa: E402
from transitopt.kernels.assignment import aon_load  # noqa: E402
from transitopt.kernels.vdf import costs_into  # noqa: E402
from transitopt.network.tntp import load_tntp  # noqa: E402

HERE = Path(__file__).resolve().parent
NETWORKS = ["SiouxFalls", "Anaheim", "Chicago-Sketch", "Berlin-Mitte-Center", "Berlin-Center"]
GAPS = [1e-4, 1e-5, 1e-6]
TIGHT = 1e-10
CORES = 2


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


# ---------------------------------------------------------------------------- solvers
def run_transitopt(case, algorithm: str, gap: float, time_limit_s: float) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign(
            case.network,
            case.demand,
            algorithm=algorithm,
            gap=gap,
            max_iter=100_000,
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


def run_aequilibrae(case, gap: float, max_iter: int) -> dict:
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
    graph.set_skimming(["free_flow_time"])
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
    assignment.set_cores(CORES)
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
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


# ---------------------------------------------------------------------------- report
def _fmt_time(hit) -> str:
    return "—" if hit is None else f"{hit[0]:.3g} s ({hit[1]})"


def _fmt_ratio(ref, hit) -> str:
    if ref is None or hit is None:
        return "—"
    return f"{ref[0] / hit[0]:.1f}×"


def build_table(rows: list[dict]) -> str:
    lines = [
        "| network | solver | to 1e-4 | to 1e-5 | to 1e-6 | to 1e-10 | iterations | true final gap | objective (veh·min/h) | max \\|Δflow\\| vs best-known (veh/h) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['network']} | {row['solver']} | "
            + " | ".join(_fmt_time(h) for h in row["hits"])
            + f" | {row['iterations']} | {row['true_gap']:.2e} | {row['objective']:.10g} | "
            + ("—" if row["flow_diff"] is None else f"{row['flow_diff']:.2e}")
            + " |"
        )
    lines += [
        "",
        "Speed-up over AequilibraE bfw (its time to a gap / ours; bush = transitopt algb):",
        "",
        "| network | bfw 1e-4 | bfw 1e-5 | bfw 1e-6 | bush 1e-4 | bush 1e-5 | bush 1e-6 | bush 1e-10 vs AequilibraE 1e-6 |",
        "|---|---|---|---|---|---|---|---|",
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
                cells.append(_fmt_ratio(ref["hits"][k], ours["hits"][k] if ours else None))
        bush = solvers.get("transitopt algb")
        cells.append(_fmt_ratio(ref["hits"][2], bush["hits"][3] if bush else None))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_readme_section(text: str) -> None:
    path = HERE / "README.md"
    begin, end = "<!-- BEGIN assignment -->", "<!-- END assignment -->"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{text}\n{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        _, tail = rest.split(end, 1)
        updated = head + block + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(updated)
    os.replace(tmp, path)


def plot(runs: dict[str, list[dict]], path: Path) -> None:
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
    parser.add_argument("--no-aequilibrae", action="store_true")
    parser.add_argument(
        "--bfw-time-limit", type=float, default=600.0, help="seconds for transitopt bfw"
    )
    parser.add_argument("--aeq-max-iter", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()

    numba.set_num_threads(min(CORES, numba.config.NUMBA_NUM_THREADS))
    warm = load_tntp("SiouxFalls")
    for algorithm in ("bfw", "algb"):  # compile the kernels outside the timings
        run_transitopt(warm, algorithm, 1e-4, 60.0)

    rows: list[dict] = []
    runs: dict[str, list[dict]] = {}
    for name in args.networks:
        case = load_tntp(name)
        solved = [
            run_transitopt(case, "bfw", GAPS[-1], args.bfw_time_limit),
            run_transitopt(case, "algb", TIGHT, 600.0),
        ]
        if not args.no_aequilibrae:
            solved.append(run_aequilibrae(case, GAPS[-1], args.aeq_max_iter))
        runs[name] = solved
        for run in solved:
            row = {
                "network": name,
                "solver": run["solver"],
                "hits": [first_time(run["history"], g) for g in [*GAPS, TIGHT]],
                "iterations": run["iterations"],
                "true_gap": true_relative_gap(case, run["flow"]),
                "objective": objective_minutes(case, run["flow"]),
                "flow_diff": flow_difference(case, run["flow"]),
            }
            rows.append(row)
            print(
                f"{name:20s} {run['solver']:18s} "
                + "  ".join(_fmt_time(h) for h in row["hits"])
                + f"  gap {row['true_gap']:.2e}  obj {row['objective']:.10g}",
                flush=True,
            )

    table = build_table(rows)
    print(table)
    if args.no_write:
        return
    figure = HERE / "assignment_gap_vs_time.png"
    plot(runs, figure)
    from importlib.metadata import version

    header = (
        f"Road user equilibrium, measured by `benchmarks/bench_assignment.py` on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numba {numba.__version__} ({CORES} threads), AequilibraE {version('aequilibrae')} "
        f"({CORES} cores), {time.strftime('%Y-%m-%d')}. Times in seconds with the iteration count at which the gap "
        "was first reached; AequilibraE's by its own reported gap (which uses the costs of the previous iteration), "
        "transitopt's by the exact relative gap (TSTT − SPTT)/TSTT. The *true final gap* recomputes every solver's "
        "final flows with the same exact definition. `—`: not reached in the run.\n\n"
        f"![gap vs time]({figure.name})\n"
    )
    write_readme_section(header + "\n" + table)


if __name__ == "__main__":
    main()
