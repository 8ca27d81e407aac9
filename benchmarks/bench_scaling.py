"""Road assignment scaling: time per iteration and to a gap vs network size.

transitopt ``bfw``, transitopt ``algb`` and AequilibraE ``bfw`` (configured as in
``bench_assignment.py``: no skims, progress bars off, the same cores) on

* Chicago-Sketch and Berlin-Center (TNTP, their own demand);
* Sydney (TNTP network, 3,264 zones; demand synthesised, see ``benchmarks/_cases.py``:
  doubly-constrained gravity over free-flow times, seed 11, 424,670 trips, half the
  upstream total);
* Grid100k, a seeded synthetic grid city of about 100,000 nodes and 1,024 zones
  (``_cases.grid_city``; gravity demand, 1,000 trips per zone).

Every tool reads the same network and the same matrix. Each (case, solver) runs in its
own process (``bench_assignment.solve_in_process``), to relative gap 1e-6, stopped after
``--time-limit`` seconds (transitopt by its own ``time_limit_s``; AequilibraE, which has
no time limit, by ending its process once its solve has run that long: no result, ``—``);
runs alternate tool by tool, ``--repeat`` times (median). Reported: ms per iteration (median step between successive iterations),
seconds to 1e-4 / 1e-5 / 1e-6, peak resident memory of the process, and the growth
exponent ``k`` of each tool's time per iteration, ``t ∝ links^k`` (least-squares line in
log-log over the cases it completed).

Results accumulate in ``--results`` (JSON, default ``benchmarks/scaling_results.json``),
so the cases can be run in pieces (``--cases Sydney``); the table between
``<!-- BEGIN scaling -->`` and ``<!-- END scaling -->`` of ``--readme`` and the plot
``scaling.png`` beside it are rebuilt from all stored results.

    python benchmarks/bench_scaling.py                                  # all four cases
    python benchmarks/bench_scaling.py --cases Grid100k --time-limit 3600
    python benchmarks/bench_scaling.py --cases Sydney Grid100k --max-iter 8   # per iteration only
    python benchmarks/bench_scaling.py --cases Grid2k --readme /tmp/R.md --results /tmp/s.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _readme import loadavg, write_section  # noqa: E402
from bench_assignment import (  # noqa: E402
    CORES,
    SOLVERS,
    first_time_s,
    ms_per_iteration,
    solve_in_process,
)

CASES = ["Chicago-Sketch", "Berlin-Center", "Sydney", "Grid100k"]
GAPS = [1e-4, 1e-5, 1e-6]


def case_stats(name: str) -> dict:
    """Size of a case (and build its demand cache before the timed processes)."""
    from _cases import load_case

    case = load_case(name)
    m = case.demand.matrix
    return {
        "nodes": int(case.network.n_nodes),
        "links": int(case.network.head.size),
        "zones": int(case.demand.zones.size),
        "trips": float(m.sum()),
        "pairs": int((m > 0).sum()),
    }


def measure(name: str, solver: str, args) -> dict:
    run = solve_in_process(
        name,
        solver,
        GAPS[-1],
        cores=args.cores,
        time_limit_s=args.time_limit,
        max_iter=args.max_iter,
        timeout_s=args.time_limit + 600.0,  # loading the case comes on top
    )
    if "error" in run:
        return {"ok": False, "error": run["error"]}
    h = run["history"]
    return {
        "ok": True,
        "ms_per_it": ms_per_iteration(h),
        "to_gap": [first_time_s(h, g) for g in GAPS],
        "iterations": int(run["iterations"]),
        "final_gap": float(h["gap"].iloc[-1]) if len(h) else None,
        "seconds": float(h["time_s"].iloc[-1]) if len(h) else None,
        "peak_mb": run["peak_mb"],
        "solve_mb": max(0.0, run["peak_mb"] - run["base_mb"]),
        "max_iter": args.max_iter,
        "cpu_s": run.get("cpu_s"),
    }


def combine(runs: list[dict]) -> dict:
    """Medians over repeats; a value missing in any repeat is missing."""
    ok = [r for r in runs if r["ok"]]
    if len(ok) < len(runs) or not ok:
        errors = sorted({r["error"] for r in runs if not r["ok"]})
        return {"ok": False, "repeats": len(runs), "error": ", ".join(errors)}

    def med(values):
        return None if any(v is None for v in values) else float(np.median(values))

    return {
        "ok": True,
        "repeats": len(runs),
        "ms_per_it": med([r["ms_per_it"] for r in ok]),
        "to_gap": [med([r["to_gap"][k] for r in ok]) for k in range(len(GAPS))],
        "iterations": ok[-1]["iterations"],
        "final_gap": ok[-1]["final_gap"],
        "seconds": med([r["seconds"] for r in ok]),
        "peak_mb": med([r["peak_mb"] for r in ok]),
        "solve_mb": med([r["solve_mb"] for r in ok]),
        "max_iter": ok[-1].get("max_iter"),
        "cpu_s": med([r.get("cpu_s") for r in ok]),
    }


def exponent(results: dict, solver: str, key=lambda r: r["ms_per_it"]) -> float | None:
    """Slope of log(value) vs log(links) over the cases the solver completed."""
    xs, ys = [], []
    for entry in results["cases"].values():
        r = entry["solvers"].get(solver)
        if r and r["ok"] and key(r):
            xs.append(np.log(entry["stats"]["links"]))
            ys.append(np.log(key(r)))
    if len(xs) < 2:
        return None
    return float(np.polyfit(xs, ys, 1)[0])


def _s(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.3g}{unit}"


def build_table(results: dict) -> str:
    lines = [
        "| case | nodes | links | zones | OD pairs > 0 | trips | solver | ms / iteration "
        "| to 1e-4 s | to 1e-5 s | to 1e-6 s | iterations (final gap) | peak MB (solve) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    ordered = sorted(results["cases"].items(), key=lambda kv: kv[1]["stats"]["links"])
    for name, entry in ordered:
        st = entry["stats"]
        for solver in SOLVERS:
            r = entry["solvers"].get(solver)
            if r is None:
                continue
            head = (
                f"| {name} | {st['nodes']:,} | {st['links']:,} | {st['zones']:,} | {st['pairs']:,} "
                f"| {st['trips']:,.0f} | {solver} | "
            )
            if not r["ok"]:
                why = r.get("error", "")
                lines.append(head + " | ".join(["—"] * 5) + f" | — ({why}) |")
                continue
            gap = "—" if r["final_gap"] is None else f"{r['final_gap']:.1e}"
            if r["iterations"] >= (r.get("max_iter") or 100_000):
                gap += f", limit {r['max_iter']} it."
            lines.append(
                head
                + f"{_s(r['ms_per_it'])} | "
                + " | ".join(_s(t) for t in r["to_gap"])
                + f" | {r['iterations']} ({gap}) | {r['peak_mb']:.0f} ({r['solve_mb']:+.0f}) |"
            )
    lines += [
        "",
        "Time per iteration, AequilibraE bfw ÷ transitopt bfw (issue 11's target: it does not "
        "fall as the networks grow):",
        "",
        "| case | nodes | zones | AequilibraE ms | transitopt ms | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, entry in ordered:
        aeq = entry["solvers"].get("AequilibraE bfw") or {}
        ours = entry["solvers"].get("transitopt bfw") or {}
        a, b = aeq.get("ms_per_it"), ours.get("ms_per_it")
        ratio = f"{a / b:.2f}" if a and b else "—"
        st = entry["stats"]
        lines.append(
            f"| {name} | {st['nodes']:,} | {st['zones']:,} | {_s(a)} | {_s(b)} | {ratio} |"
        )
    lines += [
        "",
        "Growth exponent k (time ∝ links^k, least squares in log-log over the cases completed):",
        "",
        "| solver | per iteration | to 1e-4 | to 1e-6 |",
        "|---|---:|---:|---:|",
    ]
    for solver in SOLVERS:
        ks = [
            exponent(results, solver),
            exponent(results, solver, key=lambda r: r["to_gap"][0]),
            exponent(results, solver, key=lambda r: r["to_gap"][2]),
        ]
        lines.append(f"| {solver} | " + " | ".join(_s(k) for k in ks) + " |")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    styles = {"transitopt bfw": "C0o-", "transitopt algb": "C2s-", "AequilibraE bfw": "C3^--"}
    panels = [
        ("ms per iteration", lambda r: r["ms_per_it"]),
        ("seconds to relative gap 1e-6", lambda r: r["to_gap"][2]),
    ]
    for ax, (title, key) in zip(axes, panels, strict=True):
        for solver in SOLVERS:
            pts = sorted(
                (e["stats"]["links"], key(e["solvers"][solver]))
                for e in results["cases"].values()
                if e["solvers"].get(solver, {}).get("ok") and key(e["solvers"][solver])
            )
            if pts:
                x, y = zip(*pts, strict=True)
                ax.loglog(x, y, styles[solver], label=solver)
        for name, e in results["cases"].items():
            ax.annotate(name, (e["stats"]["links"], ax.get_ylim()[0]), fontsize=7, rotation=90)
        ax.set_xlabel("links (log)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=CASES, help="TNTP names, Sydney, Grid<N>[k]")
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cores", type=int, default=CORES)
    parser.add_argument(
        "--time-limit", type=float, default=1800.0, help="seconds per run (then '—')"
    )
    parser.add_argument(
        "--max-iter",
        type=int,
        default=100_000,
        help="iteration limit of every solver (e.g. 10: time per iteration only, where no "
        "tool reaches the gaps within the time limit)",
    )
    parser.add_argument("--results", default=str(HERE / "scaling_results.json"))
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    results_path = Path(args.results)
    results = (
        json.loads(results_path.read_text()) if results_path.exists() else {"cases": {}, "runs": []}
    )
    load_start = loadavg()
    for name in args.cases:
        stats = case_stats(name)
        print(f"{name}: {stats}", flush=True)
        runs: dict[str, list] = {s: [] for s in args.solvers}
        for r in range(args.repeat):
            k = r % len(args.solvers)
            for solver in args.solvers[k:] + args.solvers[:k]:
                one = measure(name, solver, args)
                runs[solver].append(one)
                print(f"  {solver:16s} run {r + 1}: {one}", flush=True)
        entry = results["cases"].setdefault(name, {"solvers": {}})
        entry["stats"] = stats
        entry["run"] = len(results["runs"])
        for solver in args.solvers:
            entry["solvers"][solver] = combine(runs[solver])
    load_end = loadavg()
    from importlib.metadata import version

    import numba

    results["runs"].append(
        {
            "cases": args.cases,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_start": load_start,
            "load_end": load_end,
            "repeat": args.repeat,
            "cores": args.cores,
            "time_limit_s": args.time_limit,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "versions": f"Python {platform.python_version()}, numba {numba.__version__}, "
            f"AequilibraE {version('aequilibrae')}",
        }
    )
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    table = build_table(results)
    print(table)
    if args.no_write:
        return
    folder = Path(args.readme).resolve().parent if args.readme else HERE
    plot(results, folder / "scaling.png")
    runs_text = "; ".join(
        f"{', '.join(r['cases'])}: {r['date']}, {r['machine']}, {r['versions']}, {r['cores']} cores "
        f"each tool, {r['repeat']} run(s) each (median), limit {r['time_limit_s']:.0f} s, "
        f"load average {r['load_start']} at the start and {r['load_end']} at the end"
        for r in (results["runs"][i] for i in sorted({e["run"] for e in results["cases"].values()}))
    )
    header = (
        "## Road assignment scaling\n\n"
        "Command: `python benchmarks/bench_scaling.py` (cases may be run in pieces with "
        "`--cases`; results accumulate in `benchmarks/scaling_results.json`). Runs: "
        + runs_text
        + ".\n\nEach (case, solver) is one process, alternating tool by tool, to relative gap "
        "1e-6: transitopt `bfw` and `algb` (`assign`), AequilibraE `bfw` set up for assignment "
        "(no skims, progress bars off, the same cores; see the assignment section). Sydney's "
        "demand is synthesised (no demand upstream): a doubly-constrained gravity model over "
        "free-flow times, exp(−0.1/min), gamma(2) productions and attractions, seed 11, 424,670 "
        "trips (half the upstream total, which overloads the network with these trips); Grid100k is a seeded synthetic grid city (100 m blocks, arterials every 8 blocks, "
        "1,024 zone centroids, 1,000 trips per zone by the same gravity model), see "
        "`benchmarks/_cases.py`. Both tools read the same matrix. *ms / iteration*: median step "
        "between successive iterations; *peak MB*: largest resident set of the process (growth "
        "during the solve in brackets). `—`: not reached within the time limit (AequilibraE's "
        "process is stopped at the limit, so none of its figures are known then) or within "
        "the iteration limit (`--max-iter`, marked *limit N it.*: such a run measures the time "
        "per iteration only).\n\n"
        "![scaling](scaling.png)\n"
    )
    write_section("scaling", header + "\n" + build_table(results), args.readme)


if __name__ == "__main__":
    main()
