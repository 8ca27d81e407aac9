"""Capacity-constrained transit assignment vs the unconstrained one: time and iterations.

Run from the repository root on a quiet machine::

    python benchmarks/bench_transit_capacity.py            # updates benchmarks/README.md
    python benchmarks/bench_transit_capacity.py --quick    # one repeat, README untouched
    python benchmarks/bench_transit_capacity.py --quick --history gaps.csv  # + per iteration
    python benchmarks/bench_transit_capacity.py --quick --case Transjakarta \
        --step-rule sweeps --jitter-seeds 5   # + 5 runs with ties broken other ways

Cases, graphs and demand are those of ``bench_transit.py`` (zone grids over the stops,
gravity demand, 100 trips per zone on average, period 07:00-09:00), with the demand
scaled by ``--demand-scale`` (default 1) and read as trips in one hour. Both runs assign
the same demand on the same graph without skims: ``assign_transit`` (optimal
strategies, Spiess & Florian 1989) and ``assign_transit_capacity`` (effective
frequencies, Cepeda, Cominetti & Florian 2006, crowding on, default
``CapacityParameters`` unless ``--tolerance`` or ``--max-iter`` say otherwise) by each
method of ``--step-rule`` (default: ``msa``, averaged flows, ``columns``, strategy
columns re-balanced between full searches, ``stops``, each destination's split at
every node shifted between full searches, and ``sweeps``, block Gauss-Seidel sweeps over
the destinations) run to its stated criterion: Cepeda et al.'s relative gap at most the
tolerance (default 1 %). For ``sweeps`` an iteration is a sweep, and the relative gap is
known only where a full search confirmed it (the sweep's estimate reached the
tolerance, and the last sweep): the "to a 0.05 gap" column counts those only; the
``--history`` file has each sweep's estimate (``sweep_gap_estimate``). Times are process CPU seconds (and wall clock), median of
``--repeat`` runs after one warm-up call that compiles the kernels (a constrained run over
``LONG_RUN_CPU_S`` is made once). The target of issue
#16: the constrained Transjakarta case within 10x the unconstrained time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from _readme import loadavg, write_section  # noqa: E402
from bench_transit import _supply, gravity_demand, grid_zones  # noqa: E402

from transitopt.transit import (  # noqa: E402
    CapacityParameters,
    GraphParameters,
    assign_transit,
    assign_transit_capacity,
    build_transit_graph,
)
from transitopt.transit.capacity import STEP_RULES  # noqa: E402

CASES = [
    ("Coquimbo, 300 m grid", "coquimbo.zip", {}, 300.0),
    ("Bogor angkot, 500 m grid", "bogor_angkot.zip", {}, 500.0),
    ("Transjakarta, 2 km grid", "transjakarta.zip", {"default_headway_s": 600.0}, 2000.0),
]


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run_case(name, feed, read, cell_m, scale, repeat, params, jitter_seed=0) -> dict:
    supply = _supply(feed, tuple(sorted(read.items())))
    gp = GraphParameters()
    zones = grid_zones(supply.stops, cell_m, gp)
    graph = build_transit_graph(supply, zones=zones, params=gp)
    if jitter_seed:
        graph = jittered(graph, jitter_seed)
    demand = gravity_demand(zones) * scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = assign_transit(graph, demand, skims=False)  # warm-up (compiles)
        assign_transit_capacity(graph, demand, params=replace(params, max_iter=1), skims=False)
        free_times, capped_times = [], []
        for _ in range(repeat):
            free, wall, cpu = timed(lambda: assign_transit(graph, demand, skims=False))
            free_times.append((wall, cpu))
            if capped_times and capped_times[0][1] > LONG_RUN_CPU_S:
                continue  # a long constrained run is timed once (its CPU s vary little)
            capped, wall, cpu = timed(
                lambda: assign_transit_capacity(graph, demand, params=params, skims=False)
            )
            capped_times.append((wall, cpu))
    table = free.line_table()
    free_peak = float(table["peak_load_per_capacity_hour"].max())
    lines = capped.line_table()
    return {
        "case": name + (f", jitter seed {jitter_seed}" if jitter_seed else ""),
        "links": graph.n_links,
        "zones": len(graph.zone_ids),
        "lines": len(graph.line_ids),
        "trips": float(demand.sum()),
        "free_cpu_s": statistics.median(c for _, c in free_times),
        "free_wall_s": statistics.median(w for w, _ in free_times),
        "capped_cpu_s": statistics.median(c for _, c in capped_times),
        "capped_runs": len(capped_times),
        "capped_wall_s": statistics.median(w for w, _ in capped_times),
        "iterations": len(capped.history),
        "converged": capped.converged,
        "relative_gap": float(capped.history["relative_gap"].iloc[-1]),
        "wait_share": _wait_share(capped.history),
        "cpu_per_iteration_s": _cpu_per_iteration(capped.history),
        "to_coarse_gap": _first_below(capped.history, COARSE_GAP),
        "free_peak_load_factor": free_peak,
        "capped_peak_load_factor": float(lines["peak_load_factor"].max()),
        "lines_over_capacity_free": int((table["peak_load_per_capacity_hour"] > 1).sum()),
        "lines_over_capacity_capped": int((lines["peak_load_factor"] > 1).sum()),
        "denied": capped.denied_boardings,
        "history": capped.history,
    }


#: the largest cost jitter of ``--jitter-seeds`` (s)
JITTER_S = 0.01


def jittered(graph, seed: int):
    """``graph`` with every link cost above 0 raised by a seeded uniform draw in [0,
    ``JITTER_S``): the same network, with exact ties between strategies broken another
    way (the capacity-constrained runs' gaps after each iteration hang on that order)."""
    rng = np.random.default_rng(seed)
    bump = rng.uniform(0.0, JITTER_S, graph.cost_s.shape) * (graph.cost_s > 0)
    return replace(graph, cost_s=graph.cost_s + bump)


#: a constrained run longer than this (CPU s) is not repeated: Bogor's 100 iterations take
#: about 7 CPU minutes, three repeats would take over 20
LONG_RUN_CPU_S = 60.0

#: a coarser relative gap whose first iteration and CPU time the table also shows
COARSE_GAP = 0.05


def _wait_share(history) -> float:
    """Share of the last iteration's gap that is waiting (``wait_gap_s / gap_s``): the
    averaged flows' split over a stop's lines against the effective frequencies."""
    last = history.iloc[-1]
    return float(last["wait_gap_s"] / last["gap_s"]) if last["gap_s"] > 0 else 0.0


def _cpu_per_iteration(history) -> float:
    """CPU s per averaging iteration after the first (which includes the unconstrained
    start): about one optimal-strategies search over all destinations."""
    cpu = history["cpu_s"].to_numpy()
    return float((cpu[-1] - cpu[0]) / (len(cpu) - 1)) if len(cpu) > 1 else float(cpu[0])


def _first_below(history, gap: float) -> tuple[int, float] | None:
    """(iteration, CPU s since the start of the run) where the relative gap first fell to
    ``gap``; ``None`` if it never did."""
    below = history[history["relative_gap"] <= gap]
    if not len(below):
        return None
    return int(below["iteration"].iloc[0]), float(below["cpu_s"].iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat; do not touch the README")
    parser.add_argument("--demand-scale", type=float, default=1.0)
    parser.add_argument("--case", action="append", help="run only cases whose name has this")
    parser.add_argument("--readme", default=None)
    parser.add_argument("--tolerance", type=float, default=CapacityParameters().tolerance)
    parser.add_argument("--max-iter", type=int, default=CapacityParameters().max_iter)
    parser.add_argument(
        "--step-rule",
        action="append",
        choices=STEP_RULES,
        help="method (repeat to compare; default: msa, columns, stops and sweeps)",
    )
    parser.add_argument(
        "--history",
        metavar="CSV",
        help="write each case's convergence history (relative gap, CPU s and CPU s / the "
        "unconstrained run's per iteration) to this file",
    )
    parser.add_argument(
        "--jitter-seeds",
        type=int,
        default=0,
        metavar="N",
        help=f"also run each case with its link costs raised by up to {JITTER_S * 1000:g} ms "
        "(seeds 1..N), which breaks exact ties another way, and print the median ratio",
    )
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    rules = args.step_rule or ["msa", "columns", "stops", "sweeps"]
    rows = []
    for case in CASES:
        if args.case and not any(c.lower() in case[0].lower() for c in args.case):
            continue
        for rule in rules:
            params = CapacityParameters(
                tolerance=args.tolerance, max_iter=args.max_iter, step_rule=rule
            )
            ratios = []
            for seed in range(args.jitter_seeds + 1):
                row = run_case(*case, args.demand_scale, repeat, params, jitter_seed=seed)
                row["method"] = rule
                rows.append(row)
                _print_row(row)
                ratios.append(row["capped_cpu_s"] / row["free_cpu_s"])
            if args.jitter_seeds:
                print(
                    f"{case[0]} ({rule}): median CPU ratio over the exact costs and "
                    f"{args.jitter_seeds} jittered ones {statistics.median(ratios):.1f}x "
                    f"(each: {', '.join(f'{r:.1f}' for r in ratios)})",
                    flush=True,
                )
    if args.history and rows:
        write_history(rows, Path(args.history))
    if args.quick or not rows:
        return
    lines = [
        "## Capacity-constrained transit assignment",
        "",
        f"`python benchmarks/bench_transit_capacity.py` (demand scale {args.demand_scale:g}, "
        f"median of {repeat}, a constrained run over {LONG_RUN_CPU_S:g} CPU s once, load average "
        f"{loadavg()}). CPU seconds; ratio = constrained / "
        "unconstrained, in CPU time (in wall-clock time); the constrained run stops at a "
        f"relative gap of {args.tolerance:g} "
        f"(at most {args.max_iter} iterations). Methods: msa (averaged flows), columns "
        "(strategy columns, `transitopt/transit/capacity_columns.py`), stops (node "
        "shifts, `transitopt/transit/capacity_stops.py`) and sweeps (Gauss-Seidel sweeps "
        "over destinations, `transitopt/transit/capacity_sweeps.py`; an iteration is a "
        "sweep, its gap known where a full search confirmed it).",
        "",
        "| case | method | links | trips | unconstrained s | constrained s | ratio (wall) | iterations | "
        f"s per iteration | relative gap (waiting share) | to a {COARSE_GAP:g} gap: iterations, "
        "s, ratio | peak load factor (free → capped) | denied |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['method']} | {r['links']:,} | {r['trips']:,.0f} | "
            f"{r['free_cpu_s']:.2f} | "
            f"{r['capped_cpu_s']:.2f} | {r['capped_cpu_s'] / r['free_cpu_s']:.1f} "
            f"({r['capped_wall_s'] / r['free_wall_s']:.1f}) | "
            f"{r['iterations']}{'' if r['converged'] else ' (not converged)'} | "
            f"{r['cpu_per_iteration_s']:.2f} | {r['relative_gap']:.2g} ({r['wait_share']:.0%}) | "
            f"{_coarse(r)} | {r['free_peak_load_factor']:.2f} → "
            f"{r['capped_peak_load_factor']:.2f} | {r['denied']:,.0f} |"
        )
    write_section("transit_capacity", "\n".join(lines), args.readme)


def _print_row(row: dict) -> None:
    print(
        f"{row['case']} ({row['method']}): {row['links']:,} links, {row['trips']:,.0f} trips; unconstrained "
        f"{row['free_cpu_s']:.2f} s CPU ({row['free_wall_s']:.2f} s wall), constrained "
        f"{row['capped_cpu_s']:.2f} s CPU ({row['capped_wall_s']:.2f} s wall; "
        f"{row['capped_cpu_s'] / row['free_cpu_s']:.1f}x CPU, "
        f"{row['capped_wall_s'] / row['free_wall_s']:.1f}x wall) in {row['iterations']} "
        f"iterations (converged {row['converged']}, relative gap {row['relative_gap']:.2g}, "
        f"{row['wait_share']:.0%} of it waiting; {row['cpu_per_iteration_s']:.2f} s CPU per "
        f"iteration; "
        f"to a {COARSE_GAP:g} gap: {_coarse(row)}); "
        f"peak load factor {row['free_peak_load_factor']:.2f} -> "
        f"{row['capped_peak_load_factor']:.2f}, lines over capacity "
        f"{row['lines_over_capacity_free']} -> {row['lines_over_capacity_capped']}, "
        f"denied {row['denied']:,.0f}; load average {loadavg()}",
        flush=True,
    )


def write_history(rows: list[dict], path: Path) -> None:
    """One CSV row per case and iteration: the run's history columns and ``cpu_ratio``,
    its CPU seconds so far over the unconstrained run's."""
    tables = []
    for r in rows:
        table = r["history"].copy()
        table.insert(0, "case", r["case"])
        table.insert(1, "method", r["method"])
        table["cpu_ratio"] = table["cpu_s"] / r["free_cpu_s"]
        tables.append(table)
    pd.concat(tables).to_csv(path, index=False)
    print(f"convergence histories written to {path}")


def _coarse(row: dict) -> str:
    if row["to_coarse_gap"] is None:
        return "not reached"
    k, cpu = row["to_coarse_gap"]
    return f"{k}, {cpu:.2f}, {cpu / row['free_cpu_s']:.1f}"


if __name__ == "__main__":
    main()
