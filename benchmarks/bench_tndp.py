"""Transit route design (UTRP) benchmark: Mandl and Mumford0-2 against published results.

Run from the repository root::

    python benchmarks/bench_tndp.py                          # every case, 60 s per run, seed 0
    python benchmarks/bench_tndp.py --budget 300 --seeds 0 1 --cases Mumford1
    python benchmarks/bench_tndp.py --table-only             # rebuild the README table

Each run designs a route set for the passenger objective (ATT) with
:func:`transitopt.optimise.design_routes` in the given wall-clock budget (start
construction included), one process, one thread. Runs are appended to
``benchmarks/tndp_results/runs.csv`` (a rerun of the same case, seed and budget replaces
its row) and the table between ``<!-- BEGIN tndp -->`` / ``<!-- END tndp -->`` in
``benchmarks/README.md`` is rebuilt from all rows; the best route set of every case goes
to ``benchmarks/tndp_results/best_routes.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import pandas as pd  # noqa: E402
from _readme import loadavg, write_section  # noqa: E402

from transitopt.optimise import evaluate_route_set, read_tndp_instance  # noqa: E402
from transitopt.optimise.benchmark import (  # noqa: E402
    STANDARD_CASES,
    published_results,
    run_case,
    standard_cases,
)

RESULTS = ROOT / "benchmarks" / "tndp_results"
RUNS = RESULTS / "runs.csv"
BEST = RESULTS / "best_routes.json"
README = ROOT / "benchmarks" / "README.md"
KEY = ["case", "seed", "budget_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=60.0, help="CPU seconds per run (default 60)"
    )
    parser.add_argument(
        "--clock", choices=["cpu", "wall"], default="cpu", help="what --budget counts (default cpu)"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one run per seed (default 0)"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=None,
        help="instances to run: Mandl, Mumford0, Mumford1, Mumford2 (default all)",
    )
    parser.add_argument(
        "--routes", type=int, nargs="+", default=None, help="only these route counts"
    )
    parser.add_argument(
        "--table-only", action="store_true", help="rebuild the README table from runs.csv"
    )
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument(
        "--runs", default=str(RUNS), help="results CSV (default tndp_results/runs.csv)"
    )
    args = parser.parse_args()
    set_paths(args.runs, args.readme)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        cases = (
            STANDARD_CASES
            if args.cases is None
            else [c for name in args.cases for c in standard_cases(name)]
        )
        if args.routes:
            cases = [c for c in cases if c.n_routes in args.routes]
        for case in cases:
            for seed in args.seeds:
                t0 = time.perf_counter()
                load_start = loadavg()
                runs = run_case(case, budget_s=args.budget, seeds=[seed], clock=args.clock)
                runs = runs.assign(load_start=load_start, load_end=loadavg())
                row = runs.iloc[0]
                print(
                    f"{case.label:32s} seed {seed}: ATT {row.att:.4f} TRT {row.trt:.0f} "
                    f"({row.evaluations} evaluations, {row.seconds:.0f} {args.clock} s, {time.perf_counter() - t0:.0f} s wall)",
                    flush=True,
                )
                _store(runs)
    write_table()


def set_paths(runs: str, readme: str | None) -> None:
    """Results CSV and README to use (a trial run writes to scratch copies)."""
    global RUNS, BEST, README
    RUNS = Path(runs)
    BEST = RUNS.parent / "best_routes.json"
    README = Path(readme) if readme else README


def _store(runs: pd.DataFrame) -> None:
    runs = runs.assign(
        routes=runs["routes"].map(json.dumps), finished=time.strftime("%Y-%m-%d %H:%M")
    )
    if RUNS.exists():
        old = pd.read_csv(RUNS)
        merged = old.merge(runs[KEY], on=KEY, how="left", indicator=True)
        old = old[(merged["_merge"] == "left_only").to_numpy()]
        runs = pd.concat([old, runs], ignore_index=True)
    runs.to_csv(RUNS, index=False, float_format="%.6f")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_text(runs: pd.DataFrame) -> str:
    """The load averages recorded with the runs (1-minute figure, least and most)."""
    if "load_start" not in runs:
        return ""
    values = [
        float(v.split("/")[0])
        for v in pd.concat([runs["load_start"], runs["load_end"]]).dropna().astype(str)
    ]
    if not values:
        return ""
    return f"; 1-minute load average from {min(values):.1f} to {max(values):.1f} at the runs' start and end"


def _fmt(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}f}"


def write_table() -> None:
    if not RUNS.exists():
        raise SystemExit(f"no runs yet: {RUNS}")
    runs = pd.read_csv(RUNS)
    lines = [
        "## Transit route design (UTRP): Mandl and Mumford0-2",
        "",
        "Command: `python benchmarks/bench_tndp.py --budget SECONDS --seeds ...` (rows of "
        "`benchmarks/tndp_results/runs.csv`; best route sets in `benchmarks/tndp_results/best_routes.json`). "
        f"Machine: {_cpu()}, {os.cpu_count()} cores shared with other jobs, "
        f"Python {platform.python_version()}, numba {numba.__version__}; one process, one thread per run; "
        "budgets and times are CPU seconds of the run's process (the machine was shared, so wall time was longer)"
        + _load_text(runs)
        + ".",
        "",
        "Passenger objective: ATT = demand-weighted mean travel time in minutes with 5 min per transfer "
        "(Mandl 1979; Mumford 2013), TRT = total one-way route time in minutes. Our figures are re-evaluated "
        "from the stored route set with `evaluate_route_set` (which reproduces all 122 published Mandl route "
        "sets, see `tests/test_tndp_evaluation.py`). *Published best*: least published ATT for the same "
        "number of routes and node limit; *verified* = recomputed here from the published route set "
        "(Mandl literature file), otherwise as published in `tndp/literature/*_Results_all_best_passenger.csv` "
        "(no route set available). *Gap* = (ours − published best) / published best; negative = better.",
        "",
        "| case | our best ATT | median ATT (runs) | TRT | d0 / d1 / d2 / dun % | runs × budget (CPU) | CPU time used "
        "| seeds | evaluations (best run) "
        "| published best ATT / TRT (source) | gap | Mumford (2013) | John et al. (2014) |",
        "|---|---:|---:|---:|---|---|---:|---|---:|---|---:|---:|---:|",
    ]
    best_sets = {}
    order = [c.label for c in STANDARD_CASES]
    for case in sorted(runs["case"].unique(), key=lambda c: order.index(c) if c in order else 99):
        sub = runs[runs["case"] == case]
        best = sub.loc[sub["att"].idxmin()]
        spec = next(c for c in STANDARD_CASES if c.label == case)
        inst = read_tndp_instance(spec.instance)
        routes = json.loads(best["routes"])
        ev = evaluate_route_set(inst, routes)  # re-evaluate what is stored
        _check_constraints(spec, inst, routes, ev)
        best_sets[case] = {
            "att": ev.att,
            "trt": ev.trt,
            "seed": int(best["seed"]),
            "routes": routes,
        }
        pub = published_results(spec)
        top = pub.iloc[0]
        mark = "verified" if top["verified"] else "as published"
        top_txt = f"{_fmt(top['att'], 4 if top['verified'] else 2)} / {top['trt']:.0f} ({top['source']}, {mark})"
        if not top["verified"] and pub["verified"].any():
            ver = pub[pub["verified"]].iloc[0]
            top_txt += f"; best verified {_fmt(ver['att'], 4)} / {ver['trt']:.0f} ({ver['source']})"
        gap = 100.0 * (ev.att - top["att"]) / top["att"]
        gap_txt = f"{gap:+.2f} %"
        if not top["verified"] and round(ev.att, 2) == round(top["att"], 2):
            gap_txt = "0 (equal at the published 2 decimals)"

        def ref(name: str, pub=pub, ev=ev) -> str:
            hit = pub[pub["source"].str.startswith(name) & ~pub["source"].str.contains("operator")]
            if hit.empty:
                return "–"
            value = hit["att"].min()
            return f"{value:.2f} ({'beaten' if ev.att < value else 'not beaten'})"

        budgets = ", ".join(f"{n} × {b:.0f} s" for b, n in sub.groupby("budget_s").size().items())
        lines.append(
            f"| {case} | **{ev.att:.4f}** | {sub['att'].median():.4f} ({len(sub)}) | {ev.trt:.0f} | {ev.d0:.2f} / {ev.d1:.2f} / {ev.d2:.2f} / {ev.dun:.2f} "
            f"| {budgets} | {sub['seconds'].sum() / 60:.1f} min | {', '.join(str(s) for s in sorted(sub['seed'].unique()))} "
            f"| {int(best['evaluations']):,} | {top_txt} | {gap_txt} | {ref('Mumford (2013)')} | {ref('John et al. (2014)')} |"
        )
    lines += [
        "",
        "Targets (issue 7): match the best published ATT on Mandl (4/6/7/8 routes: 10.50 / 10.18–10.21 / "
        "10.14 / 10.09 under the 8-node limit) and come within 3 % of the best published ATT on Mumford0–2 "
        "(14.09 / 21.69 / 25.19, Ahmed et al. 2019) while beating Mumford (2013) and John et al. (2014). "
        "Mandl route sets with routes of more than 8 nodes (Nayeem et al. 2014: 9–13 nodes) are excluded "
        "from the comparison. The issue allows up to an hour of 2-core time per instance; the runs above "
        "used the budgets shown (one core each), on a machine shared with other jobs.",
        "",
        "Checks: before a route set is reported, the script re-evaluates it and refuses it unless it has the "
        "case's number of routes, every route a simple path of min..max nodes along links, no duplicates, every "
        "node covered and all demand served. The published Mumford figures could not be recomputed (their route "
        "sets are not in the shared data), so a model difference there cannot be excluded; the evaluator "
        "reproduces every published Mandl route set exactly. Other published ATTs for comparison: Kilic & Gok "
        "(2014) 10.29 / 14.99 / 23.25 / 26.82 and Holliday & Dudek (2024, NEA, secondary source) "
        "10.37 / 15.26 / 22.85 / 25.25 (Mandl 6 / Mumford0 / 1 / 2). The operator objective and the Pareto "
        "sweep of `design_routes` are not benchmarked here.",
    ]
    BEST.write_text(json.dumps(best_sets, indent=1) + "\n")
    write_section("tndp", "\n".join(lines), README)


def _check_constraints(spec, inst, routes, ev) -> None:
    """Refuse to report a route set that breaks the case's constraints."""
    problems = []
    if len(routes) != spec.n_routes:
        problems.append(f"{len(routes)} routes")
    if any(not spec.min_nodes <= len(r) <= spec.max_nodes or len(set(r)) != len(r) for r in routes):
        problems.append("a route is outside the node limits or visits a node twice")
    if len({min(tuple(r), tuple(reversed(r))) for r in routes}) != len(routes):
        problems.append("duplicate routes")
    if {v for r in routes for v in r} != set(inst.node_id.tolist()) or ev.d_nopath > 0:
        problems.append("not every node covered / demand without a path")
    if problems:
        raise SystemExit(
            f"{spec.label}: stored best route set is infeasible: {'; '.join(problems)}"
        )


if __name__ == "__main__":
    main()
