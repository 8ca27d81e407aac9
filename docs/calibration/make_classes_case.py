"""Write the two-class SiouxFalls case of docs/calibration.md (run from the repository root).

"Observed" counts are NOT real counts. The true matrices are cars = 75 % and trucks
(PCE 2.5) = 10 % of the TNTP trip table; their multi-class equilibrium (bfw, relative
gap 1e-6) gives car counts (vehicles) on 20 links, truck counts on 20 others and PCU
counts (all traffic) on 10 more (seed 3). The priors are the true matrices times
uniform noise in 0.7 .. 1.3 per cell, with 15 % too few cars and 30 % too many trucks
in all (same generator): the case of tests/test_odme_classes.py.

    PYTHONPATH=$PWD python docs/calibration/make_classes_case.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.assignment import assign
from transitopt.assignment.classes import VehicleClass
from transitopt.demand import ODMatrix
from transitopt.network.tntp import load_tntp

here = Path(__file__).parent
case = load_tntp("SiouxFalls")
net = case.network
zones, table = case.demand.zones, case.demand.matrix
truth = {"car": 0.75 * table, "truck": 0.10 * table}
pce = {"car": 1.0, "truck": 2.5}
eq = assign(
    net,
    classes=[VehicleClass(n, ODMatrix(zones, m), pce=pce[n]) for n, m in truth.items()],
    algorithm="bfw",
    gap=1e-6,
)
rng = np.random.default_rng(3)
order = rng.permutation(net.n_edges)
ids = net.node_id
rows = []
for name, (a, b), flow in (
    ("car", (0, 20), eq.class_flow["car"]),
    ("truck", (20, 40), eq.class_flow["truck"]),
    ("pcu", (40, 50), eq.flow),
):
    for e in np.sort(order[a:b]):
        rows.append({"from_node": int(ids[net.tail[e]]), "to_node": int(ids[net.head[e]]),
                     "class": name, "count": round(float(flow[e]), 1)})  # fmt: skip
pd.DataFrame(rows).to_csv(here / "siouxfalls_classes_counts.csv", index=False)
scale = {"car": 0.85, "truck": 1.3}
for name, matrix in truth.items():
    prior = matrix * scale[name] * rng.uniform(0.7, 1.3, matrix.shape)
    i, j = np.nonzero(prior)
    pd.DataFrame(
        {"origin": zones[i], "destination": zones[j], "trips": np.round(prior[i, j], 3)}
    ).to_csv(here / f"siouxfalls_{name}_prior.csv", index=False)
    print(f"{name}: truth {matrix.sum():,.1f}, prior {prior.sum():,.1f} trips")
print(f"{len(rows)} count rows")
