"""The whole crowding scenario: how the feedback loop's capacity-constrained transit
assignments are solved, against its time and convergence.

Run from the repository root on a quiet machine (each variant takes 3-35 minutes on
2 cores)::

    python benchmarks/bench_crowding_scenario.py                 # updates benchmarks/README.md
    python benchmarks/bench_crowding_scenario.py --quick --variant 3 --variant 1

``scenarios/bogor_crowding_base.toml`` (Bogor's angkots with line capacities; 40
feedback iterations, each re-solving the capacity-constrained assignment of the
averaged transit demand, then the final state's) is evaluated once per variant, each in
its own process, the variants alternating when ``--repeat`` is above 1:

* an integer ``n``: ``[model.feedback] transit_sweeps = n`` (the default 3; 0: every
  iteration solved to its tolerance or stall);
* ``msa``: ``[model.transit_capacity] step_rule = "msa"`` (100 averaging iterations
  each time; about 35 minutes).

Every call of ``assign_transit_capacity`` is timed (process CPU s) by a wrapper. The
table gives, per variant, the process CPU and wall seconds of the evaluation (median of
the repeats; the kernels load from numba's cache, compiled by a first call), the range
of CPU s and of confirmed relative gap over the calls with demand before the final
one, the mode gap of the last feedback iteration, the final state's relative gap,
denied boardings and transit share, and the load average. There is no peer: no other
open tool assigns transit with capacities inside a mode-choice feedback loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from _readme import loadavg, write_section  # noqa: E402

SCENARIO = ROOT.parent / "scenarios" / "bogor_crowding_base.toml"


def _scenario(path: Path, variant: str):
    """The scenario of ``path`` with the variant's model settings."""
    from transitopt.scenario import load_scenario

    scenario = load_scenario(path)
    model = scenario.baseline.model
    if variant == "msa":
        capacity = model.transit_capacity.model_copy(update={"step_rule": "msa"})
        model = model.model_copy(update={"transit_capacity": capacity})
    else:
        feedback = model.feedback.model_copy(update={"transit_sweeps": int(variant)})
        model = model.model_copy(update={"feedback": feedback})
    baseline = scenario.baseline.model_copy(update={"model": model})
    return dataclasses.replace(scenario, baseline=baseline)


def run_variant(path: Path, variant: str) -> dict:
    """Evaluate the scenario once with ``variant``; its figures (module docstring)."""
    import transitopt.transit as transit
    from transitopt.scenario import evaluate

    real = transit.assign_transit_capacity
    calls: list[dict] = []

    def timed(graph, demand, **kwargs):
        started = time.process_time()
        result = real(graph, demand, **kwargs)
        confirmed = result.history["relative_gap"].dropna()
        calls.append(
            {
                "cpu_s": time.process_time() - started,
                "trips": float(demand.sum()),
                "gap": float(confirmed.iloc[-1]) if len(confirmed) else float("nan"),
            }
        )
        return result

    transit.assign_transit_capacity = timed
    scenario = _scenario(path, variant)
    cpu, wall = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(scenario)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    middle = [c for c in calls[:-1] if c["trips"] > 0]
    capacity = result.summary["transit_capacity"]
    convergence = result.tables["convergence"]
    shares = result.tables["mode_shares"].set_index("mode")["share"]
    return {
        "variant": variant,
        "cpu_s": cpu,
        "wall_s": wall,
        "calls": len(calls),
        "call_cpu": (min(c["cpu_s"] for c in middle), max(c["cpu_s"] for c in middle)),
        "call_gap": (min(c["gap"] for c in middle), max(c["gap"] for c in middle)),
        "iterations": int(convergence["iteration"].iloc[-1]),
        "mode_gap": float(convergence["mode_gap"].iloc[-1]),
        "final_gap": float(capacity["relative_gap"]),
        "final_stop": str(capacity.get("stop_reason", "")),
        "denied": float(capacity["denied_boardings"]),
        "transit_share": float(shares["transit"]),
        "load": loadavg(),
    }


def _row(runs: list[dict]) -> str:
    med = statistics.median
    r = runs[0]
    name = "msa, every iteration in full" if r["variant"] == "msa" else (
        "sweeps, every iteration to its stall" if r["variant"] == "0"
        else f"sweeps, {r['variant']} per iteration"
    )  # fmt: skip
    lo_c = min(x["call_cpu"][0] for x in runs)
    hi_c = max(x["call_cpu"][1] for x in runs)
    lo_g = min(x["call_gap"][0] for x in runs)
    hi_g = max(x["call_gap"][1] for x in runs)
    return (
        f"| {name} | {med(x['cpu_s'] for x in runs):,.0f} | {med(x['wall_s'] for x in runs):,.0f} "
        f"| {lo_c:.1f}–{hi_c:.1f} | {100 * lo_g:.1f}–{100 * hi_g:.1f} % "
        f"| {med(x['mode_gap'] for x in runs):.4f} | {100 * med(x['final_gap'] for x in runs):.1f} % "
        f"({r['final_stop']}) | {med(x['denied'] for x in runs):,.0f} "
        f"| {100 * med(x['transit_share'] for x in runs):.2f} % | {len(runs)} "
        f"| {', '.join(x['load'] for x in runs)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument(
        "--variant", action="append", help="transit_sweeps n or 'msa' (default: 3, 1, 0)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="print only; README untouched")
    parser.add_argument("--readme", default=None, help="write to this file instead")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_variant(args.scenario, args.child)))
        return
    variants = args.variant or ["3", "1", "0"]
    for v in variants:
        if v != "msa" and not (v.isdigit()):
            parser.error(f"--variant {v!r}: expected a number of sweeps or 'msa'")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(args.repeat):
        for v in variants:  # one process per run, the variants alternating
            out = subprocess.run(
                [sys.executable, __file__, "--scenario", str(args.scenario), "--child", v],
                capture_output=True, text=True, check=True, env=os.environ.copy(),
            )  # fmt: skip
            run = json.loads(out.stdout.strip().splitlines()[-1])
            runs[v].append(run)
            print(json.dumps(run), flush=True)
    lines = [
        f"`python benchmarks/bench_crowding_scenario.py` ({started}, {os.cpu_count()} cores): "
        f"`{args.scenario.name}` evaluated once per variant and repeat, each in its own "
        "process (no cache). CPU and wall s of the evaluation; per call: the "
        "capacity-constrained assignments with demand before the final one (CPU s, "
        "confirmed relative gap); mode gap of the last feedback iteration (tolerance "
        "0.002); the final state's relative gap (why it stopped), denied boardings and "
        "transit share; load average (1 / 5 / 15 min) after each run.",
        "",
        "| variant | CPU s | wall s | per call, CPU s | gap per call | mode gap | final gap "
        "| denied | transit share | runs | load |",
        "|---|---:|---:|---|---|---:|---|---:|---:|---:|---|",
    ]
    lines += [_row(runs[v]) for v in variants]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_section("crowding_scenario", text, args.readme)


if __name__ == "__main__":
    main()
