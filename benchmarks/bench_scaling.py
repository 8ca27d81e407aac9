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
own process (``bench_assignment.solve_in_process``), three times:

1. two *probes*: 1 and ``--probe-iter`` iterations (``max_iter``; every tool stops by
   itself), which give the time per iteration of every tool on every case, also where a
   tool cannot reach the gaps in reasonable time;
2. a *to-gap* run to relative gap 1e-6, stopped after ``--time-limit`` seconds
   (``--aeq-time-limit`` for AequilibraE; transitopt stops by its own ``time_limit_s``;
   AequilibraE, which has no time limit, by ending its process once its solve has run
   that long: no result, ``—``). A to-gap run is skipped when the probe shows that fewer
   than ``--min-iterations`` iterations fit in its limit (no tool reaches 1e-4 on these
   networks in so few).

Runs alternate tool by tool, ``--repeat`` times (median). Reported: ms per iteration
(median step between successive iterations of the to-gap run, or of the probe where the
to-gap run has fewer than 3), CPU ms per iteration (the difference of the two probes' CPU
seconds, all threads, per iteration: set-up and first iteration cancel; comparable
under load, where wall times are not), seconds to 1e-4 / 1e-5 / 1e-6, peak resident memory of the process, and
the growth exponent ``k`` of each tool's time per iteration, ``t ∝ links^k``
(least-squares line in log-log over the cases it completed).

Results accumulate in ``--results`` (JSON, default ``benchmarks/scaling_results.json``),
so the cases can be run in pieces (``--cases Sydney``); the table between
``<!-- BEGIN scaling -->`` and ``<!-- END scaling -->`` of ``--readme`` and the plot
``scaling.png`` beside it are rebuilt from all stored results.

    python benchmarks/bench_scaling.py                       # all four cases, ~25 min quiet
    python benchmarks/bench_scaling.py --cases Sydney --solvers "AequilibraE bfw" \
        --aeq-time-limit 7200 --no-probe                     # AequilibraE to a gap, long
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


def measure(name: str, solver: str, args, *, max_iter: int, time_limit: float) -> dict:
    run = solve_in_process(
        name,
        solver,
        GAPS[-1],
        cores=args.cores,
        time_limit_s=time_limit,
        max_iter=max_iter,
        timeout_s=time_limit + 600.0,  # loading the case comes on top
    )
    if "error" in run:
        return {"ok": False, "error": run["error"]}
    h = run["history"]
    ms = ms_per_iteration(h)
    wall = float(h["time_s"].iloc[-1]) if len(h) else None
    cpu = run.get("cpu_s")
    return {
        "ok": True,
        "ms_per_it": ms,
        "cpu_ms_per_it": None,  # set from two probes (run_case)
        "to_gap": [first_time_s(h, g) for g in GAPS],
        "iterations": int(run["iterations"]),
        "final_gap": float(h["gap"].iloc[-1]) if len(h) else None,
        "seconds": wall,
        "peak_mb": run["peak_mb"],
        "solve_mb": max(0.0, run["peak_mb"] - run["base_mb"]),
        "max_iter": max_iter,
        "time_limit": time_limit,
        "cpu_s": cpu,
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
        "cpu_ms_per_it": med([r.get("cpu_ms_per_it") for r in ok]),
        "to_gap": [med([r["to_gap"][k] for r in ok]) for k in range(len(GAPS))],
        "iterations": ok[-1]["iterations"],
        "final_gap": ok[-1]["final_gap"],
        "seconds": med([r["seconds"] for r in ok]),
        "peak_mb": med([r["peak_mb"] for r in ok]),
        "solve_mb": med([r["solve_mb"] for r in ok]),
        "max_iter": ok[-1].get("max_iter"),
        "time_limit": ok[-1].get("time_limit"),
        "cpu_s": med([r.get("cpu_s") for r in ok]),
    }


def per_iteration(entry: dict, solver: str, field: str = "ms_per_it") -> tuple[float | None, str]:
    """``(value, source)`` of a per-iteration figure: from the to-gap run where it has
    one (3 iterations or more), else from the probe (``source`` ``"probe"``)."""
    run = entry["solvers"].get(solver) or {}
    if field == "ms_per_it" and run.get("ok") and run.get("ms_per_it"):
        return run["ms_per_it"], "to-gap"
    probe = entry.get("probe", {}).get(solver) or {}
    if probe.get("ok") and probe.get(field):
        return probe[field], "probe"
    return None, ""


def exponent(results: dict, solver: str, key) -> float | None:
    """Slope of log(value) vs log(links) over the cases with a value (``key(entry)``)."""
    xs, ys = [], []
    for entry in results["cases"].values():
        value = key(entry)
        if value:
            xs.append(np.log(entry["stats"]["links"]))
            ys.append(np.log(value))
    if len(xs) < 2:
        return None
    return float(np.polyfit(xs, ys, 1)[0])


def _s(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.3g}{unit}"


def _to_gap(entry: dict, solver: str, k: int) -> float | None:
    run = entry["solvers"].get(solver) or {}
    return run["to_gap"][k] if run.get("ok") else None


def build_table(results: dict) -> str:
    lines = [
        "| case | nodes | links | zones | OD pairs > 0 | trips | solver | ms / iteration "
        "| CPU ms / iteration | to 1e-4 s | to 1e-5 s | to 1e-6 s | iterations (final gap) "
        "| peak MB (solve) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    ordered = sorted(results["cases"].items(), key=lambda kv: kv[1]["stats"]["links"])
    for name, entry in ordered:
        st = entry["stats"]
        for solver in SOLVERS:
            r = entry["solvers"].get(solver)
            probe = entry.get("probe", {}).get(solver)
            if r is None and probe is None:
                continue
            ms, source = per_iteration(entry, solver)
            cpu, _ = per_iteration(entry, solver, "cpu_ms_per_it")
            ms_cell = _s(ms) + (" (probe)" if source == "probe" else "")
            cells = (
                f"| {name} | {st['nodes']:,} | {st['links']:,} | {st['zones']:,} "
                f"| {st['pairs']:,} | {st['trips']:,.0f} | {solver} | {ms_cell} | {_s(cpu)} | "
            )
            if r is None or not r["ok"]:
                why = "not run" if r is None else r.get("error", "")
                shown = probe if probe and probe.get("ok") else None
                peak = f"{shown['peak_mb']:.0f} ({shown['solve_mb']:+.0f}), probe" if shown else "—"
                it = f"{shown['iterations']} ({shown['final_gap']:.1e}), probe; " if shown else ""
                lines.append(cells + "— | — | — | " + f"{it}to-gap: {why} | {peak} |")
                continue
            gap = "—" if r["final_gap"] is None else f"{r['final_gap']:.1e}"
            if r["iterations"] >= (r.get("max_iter") or 100_000):
                gap += f", limit {r['max_iter']} it."
            elif r["final_gap"] is not None and r["final_gap"] > GAPS[-1]:
                gap += f", limit {r.get('time_limit') or 0:.0f} s"
            lines.append(
                cells
                + " | ".join(_s(t) for t in r["to_gap"])
                + f" | {r['iterations']} ({gap}) | {r['peak_mb']:.0f} ({r['solve_mb']:+.0f}) |"
            )
    lines += [
        "",
        "Time per iteration, AequilibraE bfw ÷ transitopt bfw (issue 11's target: it does not "
        "fall as the networks grow):",
        "",
        "| case | nodes | zones | AequilibraE ms | transitopt ms | ratio | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in ordered:
        a, _ = per_iteration(entry, "AequilibraE bfw")
        b, _ = per_iteration(entry, "transitopt bfw")
        ac, _ = per_iteration(entry, "AequilibraE bfw", "cpu_ms_per_it")
        bc, _ = per_iteration(entry, "transitopt bfw", "cpu_ms_per_it")
        ratio = f"{a / b:.2f}" if a and b else "—"
        cpu_ratio = f"{ac / bc:.2f}" if ac and bc else "—"
        st = entry["stats"]
        lines.append(
            f"| {name} | {st['nodes']:,} | {st['zones']:,} | {_s(a)} | {_s(b)} | {ratio} "
            f"| {cpu_ratio} |"
        )
    lines += [
        "",
        "Growth exponent k (time ∝ links^k, least squares in log-log over the cases with a value):",
        "",
        "| solver | per iteration | CPU per iteration | to 1e-4 | to 1e-6 |",
        "|---|---:|---:|---:|---:|",
    ]
    for solver in SOLVERS:
        ks = [
            exponent(results, solver, lambda e, s=solver: per_iteration(e, s)[0]),
            exponent(results, solver, lambda e, s=solver: per_iteration(e, s, "cpu_ms_per_it")[0]),
            exponent(results, solver, lambda e, s=solver: _to_gap(e, s, 0)),
            exponent(results, solver, lambda e, s=solver: _to_gap(e, s, 2)),
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
        ("ms per iteration", lambda e, s: per_iteration(e, s)[0]),
        ("seconds to relative gap 1e-6", lambda e, s: _to_gap(e, s, 2)),
    ]
    for ax, (title, key) in zip(axes, panels, strict=True):
        for solver in SOLVERS:
            pts = sorted(
                (e["stats"]["links"], key(e, solver))
                for e in results["cases"].values()
                if key(e, solver)
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


def run_case(name: str, args, entry: dict) -> None:
    """Probe and to-gap runs of every solver on case ``name``, into ``entry``."""
    probes: dict[str, list] = {s: [] for s in args.solvers}
    runs: dict[str, list] = {s: [] for s in args.solvers}
    for r in range(args.repeat):
        k = r % len(args.solvers)
        order = args.solvers[k:] + args.solvers[:k]
        if args.probe_iter > 1:
            for solver in order:
                # a probe stops by itself: its limit only guards against a hang
                limit = args.probe_time_limit
                short = measure(name, solver, args, max_iter=1, time_limit=limit)
                one = measure(name, solver, args, max_iter=args.probe_iter, time_limit=limit)
                if short["ok"] and one["ok"] and one["iterations"] > short["iterations"]:
                    # set-up and first iteration cancel: the CPU of the iterations after it
                    extra = one["iterations"] - short["iterations"]
                    one["cpu_ms_per_it"] = (one["cpu_s"] - short["cpu_s"]) / extra * 1e3
                probes[solver].append(one)
                print(f"  {solver:16s} probe {r + 1}: {one}", flush=True)
        for solver in order:
            limit = args.aeq_time_limit if solver.startswith("AequilibraE") else args.time_limit
            probe = probes[solver][-1] if probes[solver] else None
            ms = probe.get("ms_per_it") if probe and probe.get("ok") else None
            if ms and limit * 1e3 / ms < args.min_iterations:
                one = {
                    "ok": False,
                    "error": f"skipped: about {limit * 1e3 / ms:.0f} iterations fit in {limit:.0f} s",
                }
            else:
                one = measure(name, solver, args, max_iter=args.max_iter, time_limit=limit)
            runs[solver].append(one)
            print(f"  {solver:16s} to-gap {r + 1}: {one}", flush=True)
    for solver in args.solvers:
        if probes[solver]:
            entry.setdefault("probe", {})[solver] = combine(probes[solver])
        entry["solvers"][solver] = combine(runs[solver])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=CASES, help="TNTP names, Sydney, Grid<N>[k]")
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cores", type=int, default=CORES)
    parser.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds per transitopt run (then '—')"
    )
    parser.add_argument(
        "--aeq-time-limit", type=float, default=None, help="seconds per AequilibraE run"
    )
    parser.add_argument(
        "--probe-iter",
        type=int,
        default=4,
        help="iterations of the long probe (a short one has 1; 0: no probes)",
    )
    parser.add_argument("--no-probe", dest="probe_iter", action="store_const", const=0)
    parser.add_argument(
        "--probe-time-limit", type=float, default=3600.0, help="seconds per probe (a guard)"
    )
    parser.add_argument(
        "--min-iterations",
        type=int,
        default=30,
        help="skip a to-gap run when the probe shows fewer iterations fit in its time limit",
    )
    parser.add_argument("--max-iter", type=int, default=100_000, help="iteration limit")
    parser.add_argument("--results", default=str(HERE / "scaling_results.json"))
    parser.add_argument(
        "--readme", default=None, help="file to write (default benchmarks/README.md)"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.aeq_time_limit is None:
        args.aeq_time_limit = args.time_limit

    results_path = Path(args.results)
    results = (
        json.loads(results_path.read_text()) if results_path.exists() else {"cases": {}, "runs": []}
    )
    load_start = loadavg()
    for name in args.cases:
        stats = case_stats(name)
        print(f"{name}: {stats}", flush=True)
        entry = results["cases"].setdefault(name, {"solvers": {}})
        run_case(name, args, entry)
        entry["stats"] = stats
        entry["run"] = len(results["runs"])
    load_end = loadavg()
    from importlib.metadata import version

    import numba

    results["runs"].append(
        {
            "cases": args.cases,
            "solvers": args.solvers,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_start": load_start,
            "load_end": load_end,
            "repeat": args.repeat,
            "cores": args.cores,
            "time_limit_s": args.time_limit,
            "aeq_time_limit_s": args.aeq_time_limit,
            "probe_iter": args.probe_iter,
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
        f"{', '.join(r['cases'])} ({', '.join(r.get('solvers', SOLVERS))}): {r['date']}, "
        f"{r['machine']}, {r['versions']}, {r['cores']} cores each tool, {r['repeat']} run(s) "
        f"each (median), limit {r['time_limit_s']:.0f} s (AequilibraE "
        f"{r.get('aeq_time_limit_s') or r['time_limit_s']:.0f} s), probe "
        f"{r.get('probe_iter', 0)} iterations, load average {r['load_start']} at the start "
        f"and {r['load_end']} at the end"
        for r in (results["runs"][i] for i in sorted({e["run"] for e in results["cases"].values()}))
    )
    header = (
        "## Road assignment scaling\n\n"
        "Command: `python benchmarks/bench_scaling.py` (cases may be run in pieces with "
        "`--cases`; results accumulate in `benchmarks/scaling_results.json`). Runs: "
        + runs_text
        + ".\n\nEvery run is its own process, alternating tool by tool: first two *probes* "
        "of 1 and a few iterations (`--probe-iter`, every tool stops by itself), then a run to "
        "relative gap 1e-6 within a time limit: transitopt `bfw` and `algb` (`assign`), "
        "AequilibraE `bfw` set up for assignment (no skims, progress bars off, the same cores; "
        "see the assignment section). Sydney's demand is synthesised (no demand upstream): a "
        "doubly-constrained gravity model over free-flow times, exp(−0.1/min), gamma(2) "
        "productions and attractions, seed 11, 424,670 trips (half the upstream total, which "
        "overloads the network with these trips); Grid100k is a seeded synthetic grid city "
        "(100 m blocks, arterials every 8 blocks, 1,024 zone centroids, 1,000 trips per zone by "
        "the same gravity model), see `benchmarks/_cases.py`. Both tools read the same matrix. "
        "*ms / iteration*: median step between successive iterations of the to-gap run, or of "
        "the probe (marked) where that run has no figure; *CPU ms / iteration*: the difference of the CPU "
        "seconds (all threads) of two probes, of 1 and `--probe-iter` iterations, per extra "
        "iteration (set-up cancels; comparable under load); *peak MB*: largest resident set of the process (growth during the solve "
        "in brackets). `—`: not reached within the time limit (AequilibraE's process is "
        "stopped at the limit, so none of its figures are known then), or the to-gap run was "
        "skipped because the probe showed that fewer than `--min-iterations` iterations fit in "
        "the limit.\n\n"
        "![scaling](scaling.png)\n"
    )
    write_section("scaling", header + "\n" + build_table(results), args.readme)


if __name__ == "__main__":
    main()
