"""Write the Helsinki per-line case of docs/calibration.md (run from the repository root).

"Observed" boardings are NOT real counts: they are the boardings of the Helsinki baseline
(scenarios/helsinki_base.toml) run with ``asc_transit = -0.5`` instead of its 0 AND with
the total demand of each origin zone scaled by a factor drawn in 0.6 ... 1.4 (seed 11),
on the 20 lines with the most boardings. One constant cannot match them all: the lines
that serve the zones with more trips are busier than the model's split says. The case
file docs/calibration/helsinki_lines.toml is the baseline (constant 0, demand as
synthesised) with ``[calibration] counts`` naming them and ``transit_od = true``.

    PYTHONPATH=$PWD python docs/calibration/make_lines_case.py
"""

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.scenario import load_scenario
from transitopt.scenario.evaluate import apply_edits, build_model, load_base

TRUE_ASC_TRANSIT = -0.5
here = Path(__file__).parent
scenario = load_scenario(here.parent.parent / "scenarios" / "helsinki_base.toml")
model = build_model(apply_edits(scenario, load_base(scenario)))
z = np.shape(model.demand)[0]
origin_factor = np.random.default_rng(11).uniform(0.6, 1.4, (z, 1))
truth_model = replace(model, demand=np.asarray(model.demand, dtype=float) * origin_factor)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    truth = truth_model.with_constants(asc_transit=TRUE_ASC_TRANSIT).run()
lines = truth.transit.line_table().nlargest(20, "boardings")
rows = [
    {"line": line, "count": round(float(b), 1)}
    for line, b in zip(lines["line"], lines["boardings"], strict=True)
]
pd.DataFrame(rows).to_csv(here / "helsinki_lines.csv", index=False)
print(f"{len(rows)} lines, {lines['boardings'].sum():,.0f} boardings/h; {z} zones")
