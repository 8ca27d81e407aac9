"""Diagonalisation at city scale: the Surabaya baseline's road equilibrium (cars,
motorcycles and ojek with MKJI PCE by road type, through and external-internal traffic at
the extract's gateways) solved by bfw and by Algorithm B inside the diagonalisation loop.

The demand is the baseline's final mode split (``scenarios/surabaya_base.toml``, one run
of the multimodal model); then the road equilibrium of that demand alone is solved to
each gap with each algorithm. Reported per run: outer rounds, the sub-problems'
iterations summed over classes, the final relative gap, CPU seconds of the solve
(``time.process_time``, set-up of the classes included; the model run and a warm-up
solve that compiles the kernels excluded) and
whether the two algorithms reach the same flows (largest PCU difference over links,
relative to the largest link PCU).

Usage (the lead reruns it on a quiet machine)::

    PYTHONPATH=$PWD python benchmarks/bench_diagonalisation.py
    PYTHONPATH=$PWD python benchmarks/bench_diagonalisation.py --gaps 1e-4 --json /tmp/d.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from transitopt._errors import ConvergenceWarning
from transitopt.assignment.multimodal import _road
from transitopt.scenario import load_scenario
from transitopt.scenario.edits import apply_edits
from transitopt.scenario.evaluate import build_model
from transitopt.scenario.inputs import load_base

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "surabaya_base.toml"


def road_runs(gaps: list[float], algorithms: list[str], max_iter: int = 200) -> list[dict]:
    """Solve the Surabaya baseline's road equilibrium with each algorithm to each gap."""
    scenario = load_scenario(SCENARIO)
    model = build_model(apply_edits(scenario, load_base(scenario)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        demand = model.run().demand
    rows, flows = [], {}
    for algorithm in algorithms:  # warm-up: numba compiles each solver's kernels once
        road = replace(model.parameters.road, algorithm=algorithm, gap=1e-2, max_iter=5)
        m = replace(model, parameters=replace(model.parameters, road=road))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _road(m._setup, m._setup.drive, demand)
    for gap in gaps:
        for algorithm in algorithms:
            road = replace(model.parameters.road, algorithm=algorithm, gap=gap, max_iter=max_iter)
            m = replace(model, parameters=replace(model.parameters, road=road))
            setup = m._setup
            cpu = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result, _, _ = _road(setup, setup.drive, demand)
            cpu = time.process_time() - cpu
            history = result.history
            flows[(gap, algorithm)] = result.flow
            rows.append(
                {
                    "algorithm": algorithm,
                    "target_gap": gap,
                    "outer_rounds": int(history["iteration"].iloc[-1]),
                    "inner_iterations": int(history["inner_iterations"].iloc[-1]),
                    "relative_gap": float(history["relative_gap"].iloc[-1]),
                    "converged": bool(history["relative_gap"].iloc[-1] <= gap),
                    "cpu_s": round(cpu, 2),
                    "links": int(result.flow.size),
                }
            )
        if len(algorithms) == 2:
            a, b = (flows[(gap, alg)] for alg in algorithms)
            rows[-1]["max_pcu_difference_share"] = float(np.max(np.abs(a - b)) / np.max(a))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gaps", type=float, nargs="+", default=[1e-4, 1e-5, 1e-6])
    parser.add_argument("--algorithms", nargs="+", default=["bfw", "algb"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = road_runs(args.gaps, args.algorithms)
    for r in rows:
        print(
            f"{r['algorithm']:5} gap {r['target_gap']:.0e}: {r['outer_rounds']} outer rounds, "
            f"{r['inner_iterations']} inner iterations, gap {r['relative_gap']:.2e}, "
            f"CPU {r['cpu_s']:.1f} s"
            + (
                f", max |PCU bfw - algb| / max PCU {r['max_pcu_difference_share']:.1e}"
                if "max_pcu_difference_share" in r
                else ""
            )
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
