"""Write the Helsinki boardings case of docs/calibration.md (run from the repository root).

"Observed" boardings are NOT real counts: they are the boardings of the Helsinki baseline
(scenarios/helsinki_base.toml) run with ``asc_transit = -0.5`` instead of its 0, on the
20 lines with the most boardings and at the 5 busiest stops (all lines together). The
case file docs/calibration/helsinki_boardings.toml is the baseline (constant 0) with
``[calibration] counts`` naming them: the calibration should find -0.5 again.

    PYTHONPATH=$PWD python docs/calibration/make_boardings_case.py
"""

import warnings
from pathlib import Path

import pandas as pd

from transitopt.scenario import load_scenario
from transitopt.scenario.evaluate import apply_edits, build_model, load_base

TRUE_ASC_TRANSIT = -0.5
here = Path(__file__).parent
scenario = load_scenario(here.parent.parent / "scenarios" / "helsinki_base.toml")
model = build_model(apply_edits(scenario, load_base(scenario)))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    truth = model.with_constants(asc_transit=TRUE_ASC_TRANSIT).run()
lines = truth.transit.line_table().nlargest(20, "boardings")
links = truth.transit.links_table()
stops = links[links["kind"] == "board"].groupby("stop")["volume"].sum().nlargest(5)
rows = [
    {"line": line, "stop": "", "count": round(float(b), 1)}
    for line, b in zip(lines["line"], lines["boardings"], strict=True)
]
rows += [{"line": "", "stop": s, "count": round(float(b), 1)} for s, b in stops.items()]
rows.append({"line": "bus:999", "stop": "", "count": 100.0})  # unmatched on purpose
pd.DataFrame(rows).to_csv(here / "helsinki_boardings.csv", index=False)
print(
    f"{len(rows)} rows; lines {lines['boardings'].sum():,.0f}, stops {stops.sum():,.0f} boardings/h"
)
