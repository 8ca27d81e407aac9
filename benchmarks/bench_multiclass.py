"""Multi-class road equilibrium: transitopt bfw vs AequilibraE's multi-class bfw.

Three classes on each TNTP network, exactly as in ``tests/test_assign_multiclass_aeq.py``
(imported from there, so the benchmark and the validation share their inputs): the TNTP
demand split 70 / 20 / 10 % into cars (PCE 1), motorcycles (PCE 0.5, barred from the
highest-capacity links where that leaves every OD pair a path) and trucks (PCE 2.5, a
distance cost). Both tools run to the same relative gap (AequilibraE's rgap and ours are
the same PCU-weighted measure), on ``--cores`` threads, after a warm-up on SiouxFalls in
the same process (numba and AequilibraE compiled/cached). Each cell is the median of
``--repeat`` runs, tools alternating. Reported: wall and CPU seconds of the solve (set-up
included, file loading excluded), iterations, and how far apart the two equilibria are
(objective, PCU totals, class flows; relative to the largest PCU total).

Usage (the lead reruns it on a quiet machine)::

    python benchmarks/bench_multiclass.py                       # SiouxFalls, Anaheim, Chicago-Sketch
    python benchmarks/bench_multiclass.py --networks SiouxFalls --repeat 1 --readme /tmp/R.md
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _readme import loadavg, write_section  # noqa: E402
from test_assign_multiclass_aeq import (  # noqa: E402
    objective_s,
    run_aequilibrae,
    three_classes,
)

from transitopt.assignment import assign  # noqa: E402
from transitopt.network.tntp import load_tntp  # noqa: E402

NETWORKS = ["SiouxFalls", "Anaheim", "Chicago-Sketch"]


def _data() -> Path:
    return Path(os.environ.get("TRANSITOPT_DATA", HERE.parent.parent / "shared" / "data"))


def run_ours(case, classes, gap: float, algorithm: str = "bfw") -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign(
            case.network, classes=classes, algorithm=algorithm, gap=gap, max_iter=100_000
        )
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "iterations": result.iterations,
        "gap": result.relative_gap,
        "class_flow": dict(result.class_flow),
    }


def run_theirs(case, classes, gap: float, cores: int) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run_aequilibrae(case, classes, gap, cores=cores)
    out.update(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu)
    out["gap"] = out["rgap"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=NETWORKS)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--readme", default=None)
    args = parser.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.cores))
    start_load = loadavg()
    warm = load_tntp(_data() / "tntp" / "SiouxFalls")
    run_ours(warm, three_classes(warm), 1e-4)
    run_ours(warm, three_classes(warm), 1e-4, "algb")
    run_theirs(warm, three_classes(warm), 1e-4, args.cores)
    rows = []
    for name in args.networks:
        case = load_tntp(_data() / "tntp" / name)
        classes = three_classes(case)
        pce = {c.name: c.pce for c in classes}
        runs: dict[str, list[dict]] = {
            "transitopt bfw": [],
            "transitopt algb": [],
            "AequilibraE bfw": [],
        }
        for r in range(args.repeat):
            order = list(runs) if r % 2 == 0 else list(runs)[::-1]
            for tool in order:
                if tool.startswith("transitopt"):
                    runs[tool].append(run_ours(case, classes, args.gap, tool.split()[1]))
                else:
                    runs[tool].append(run_theirs(case, classes, args.gap, args.cores))
                print(name, tool, {k: runs[tool][-1][k] for k in ("wall", "cpu", "iterations")})
        ref = runs["AequilibraE bfw"][-1]
        total_ref = sum(pce[k] * f for k, f in ref["class_flow"].items())
        scale = float(total_ref.max())
        obj_ref = objective_s(case, classes, ref["class_flow"])
        for tool, tool_runs in runs.items():
            ours = tool_runs[-1]
            total_ours = sum(pce[k] * f for k, f in ours["class_flow"].items())
            obj = objective_s(case, classes, ours["class_flow"])
            worst_class = max(
                float(np.abs(ours["class_flow"][k] - ref["class_flow"][k]).max()) for k in pce
            )
            agreement = (
                "reference"
                if tool.startswith("AequilibraE")
                else f"{(obj - obj_ref) / obj_ref:.1e} / "
                f"{float(np.abs(total_ours - total_ref).max()) / scale:.1e} / "
                f"{worst_class / scale:.1e}"
            )
            rows.append(
                f"| {name} | {tool} | {statistics.median(r['wall'] for r in tool_runs):.3g} "
                f"({min(r['wall'] for r in tool_runs):.3g}) | "
                f"{statistics.median(r['cpu'] for r in tool_runs):.3g} | "
                f"{tool_runs[-1]['iterations']} | {tool_runs[-1]['gap']:.2e} | "
                f"{obj / 60:.10g} | "
                f"{agreement} |"
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        "## Multi-class road equilibrium (car, motorcycle, truck)\n\n"
        f"Measured by `benchmarks/bench_multiclass.py --repeat {args.repeat} --cores {args.cores} "
        f"--gap {args.gap:g}` on {when}; load average {start_load} at the start, {loadavg()} at "
        f"the end. AequilibraE {version('aequilibrae')}: one `TrafficClass` per class with "
        "`set_pce` and `set_fixed_cost`, bfw, `set_cores`; transitopt: "
        "`assign(network, classes=[VehicleClass(...), ...], algorithm='bfw' or 'algb')` (per-class bushes). Classes: the "
        "TNTP demand 70 / 20 / 10 % as cars (PCE 1), motorcycles (PCE 0.5, barred from the "
        "highest-capacity links) and trucks (PCE 2.5, a distance cost), as in "
        "`tests/test_assign_multiclass_aeq.py`. Cells: median seconds of the solve over the "
        "runs (least in brackets), median CPU seconds, the last run's iterations and final "
        "gap; *agreement* with AequilibraE: relative objective difference (negative: ours "
        "lower) / largest difference of PCU totals / "
        "largest difference of one class's flows (both relative to the largest PCU total; "
        "class flows are not unique at equilibrium, totals and objective are).\n\n"
        "| network | solver | wall s | CPU s | iterations | final gap | objective (veh·min/h) "
        "| agreement |\n|---|---|---|---|---:|---|---|---|\n" + "\n".join(rows)
    )
    write_section("multiclass", section, args.readme)


if __name__ == "__main__":
    main()
