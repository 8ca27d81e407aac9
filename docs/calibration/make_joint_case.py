"""Write the Helsinki case of docs/calibration.md with traffic counts AND boardings per
line (run from the repository root).

The "observed" counts are NOT real counts: they are the Helsinki baseline
(scenarios/helsinki_base.toml) run with the total demand of each origin zone scaled by
a factor drawn in 0.6 ... 1.4 (seed 11), ``asc_transit = -0.5`` instead of 0 and
``car_terminal_min = 6`` instead of 3 (so cars lose more on short trips than the
baseline says: a difference by mode and zone pair that one factor per zone pair cannot
carry). Counted: the car flow on every 4th drive link with traffic (from_node, to_node)
and the boardings of the 20 busiest lines. The case file
docs/calibration/helsinki_joint.toml is the baseline (demand as synthesised, constant 0,
terminal time 3 min) with ``[calibration] counts = "helsinki_joint.csv"`` and
``transit_od = true``.

    PYTHONPATH=$PWD python docs/calibration/make_joint_case.py
"""

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.assignment.multimodal import MultimodalModel, MultimodalResult
from transitopt.scenario import load_scenario
from transitopt.scenario.evaluate import apply_edits, build_model, load_base

TRUE_ASC_TRANSIT = -0.5
TRUE_CAR_TERMINAL_MIN = 6.0
here = Path(__file__).parent


def baseline_model() -> MultimodalModel:
    """The Helsinki baseline's model as synthesised (constant 0, terminal time 3 min)."""
    scenario = load_scenario(here.parent.parent / "scenarios" / "helsinki_base.toml")
    return build_model(apply_edits(scenario, load_base(scenario)))


def truth_run(model: MultimodalModel) -> MultimodalResult:
    """The run that makes the counts (module docstring)."""
    z = np.shape(model.demand)[0]
    origin_factor = np.random.default_rng(11).uniform(0.6, 1.4, (z, 1))
    truth_model = replace(
        model,
        demand=np.asarray(model.demand, dtype=float) * origin_factor,
        parameters=replace(model.parameters, car_terminal_min=TRUE_CAR_TERMINAL_MIN),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return truth_model.with_constants(asc_transit=TRUE_ASC_TRANSIT).run()


def main() -> None:
    model = baseline_model()
    truth = truth_run(model)
    drive = model.drive
    flow = np.asarray(truth.road.flow, dtype=float)
    used = np.flatnonzero(flow > 1.0)[::4]
    traffic = pd.DataFrame(
        {
            "from_node": drive.node_id[drive.tail[used]],
            "to_node": drive.node_id[drive.head[used]],
            "count": np.round(flow[used], 1),
        }
    )
    lines = truth.transit.line_table().nlargest(20, "boardings")
    boardings = pd.DataFrame({"line": lines["line"], "count": lines["boardings"].round(1)})
    counts = pd.concat([traffic, boardings], ignore_index=True)
    counts["from_node"] = counts["from_node"].astype("Int64")
    counts["to_node"] = counts["to_node"].astype("Int64")
    counts.to_csv(here / "helsinki_joint.csv", index=False)
    print(
        f"{len(traffic)} links ({traffic['count'].sum():,.0f} veh/h), {len(boardings)} lines "
        f"({boardings['count'].sum():,.0f} boardings/h); {np.shape(model.demand)[0]} zones; "
        "truth by mode: "
        + ", ".join(f"{m} {np.asarray(truth.demand[m]).sum():,.0f}" for m in truth.modes)
    )


if __name__ == "__main__":
    main()
