"""Write the SiouxFalls calibration case of docs/calibration.md (run from the repository root).

"Observed" counts are NOT real counts: they are the TNTP best-known equilibrium flows
(``SiouxFalls_flow.tntp``) on a third of the links (seed 7), plus one screenline (the
two links 10 -> 15 and 10 -> 16 counted together). The prior is the true trip table
multiplied cell by cell by uniform noise in 0.7 .. 1.3 (seed 7).

    PYTHONPATH=$PWD python docs/calibration/make_case.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.network.tntp import load_tntp

here = Path(__file__).parent
case = load_tntp("SiouxFalls")
net = case.network
best = case.best_edge_flows()
rng = np.random.default_rng(7)
counted = np.sort(rng.choice(net.n_edges, size=net.n_edges // 3, replace=False))
ids = net.node_id
rows = [
    {"from_node": int(ids[net.tail[e]]), "to_node": int(ids[net.head[e]]),
     "count": round(float(best[e]), 1), "screenline": ""}
    for e in counted
]  # fmt: skip
screen = [
    e for e in range(net.n_edges) if (ids[net.tail[e]], ids[net.head[e]]) in ((10, 15), (10, 16))
]
total = round(float(best[screen].sum()), 1)
for k, e in enumerate(screen):
    rows.append({"from_node": int(ids[net.tail[e]]), "to_node": int(ids[net.head[e]]),
                 "count": total if k == 0 else "", "screenline": "east of 10"})  # fmt: skip
rows.append(
    {"from_node": 99, "to_node": 100, "count": 500.0, "screenline": ""}
)  # unmatched on purpose
pd.DataFrame(rows).to_csv(here / "siouxfalls_counts.csv", index=False)

truth = case.demand.matrix
prior = truth * rng.uniform(0.7, 1.3, truth.shape)
i, j = np.nonzero(prior)
zones = case.demand.zones
pd.DataFrame(
    {"origin": zones[i], "destination": zones[j], "trips": np.round(prior[i, j], 3)}
).to_csv(here / "siouxfalls_prior.csv", index=False)
print(f"{len(rows)} count rows, {i.size} prior cells, {prior.sum():.1f} trips")
