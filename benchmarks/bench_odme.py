"""ODME validation on TNTP networks with best-known flows (issue 17, item 3).

For each case: counts = the best-known flows (``*_flow.tntp``) on a share of the links
(random, seed 7); prior = the true trip table times uniform noise in 0.7 .. 1.3 per cell
(same generator). The estimate (Spiess 1990, :func:`transitopt.assignment.estimate_matrix`)
is compared with the truth on the counted and the uncounted links and on the OD cells.
Times are process CPU seconds (rerun on a quiet machine for timings to quote).

    PYTHONPATH=$PWD python benchmarks/bench_odme.py SiouxFalls Anaheim [Chicago-Sketch]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from transitopt.assignment import estimate_matrix
from transitopt.demand import ODMatrix, link_counts
from transitopt.metrics import count_statistics
from transitopt.network.tntp import load_tntp

#: share of the links counted
COUNTED_SHARE = 1 / 3
#: equilibrium settings per case: (algorithm, relative gap)
SETTINGS = {"Chicago-Sketch": ("bfw", 1e-4)}


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def validate(name: str, seed: int = 7) -> dict:
    case = load_tntp(name)
    net = case.network
    best = case.best_edge_flows()
    rng = np.random.default_rng(seed)
    counted = np.sort(rng.choice(net.n_edges, size=int(net.n_edges * COUNTED_SHARE), replace=False))
    uncounted = np.setdiff1d(np.arange(net.n_edges), counted)
    truth = case.demand.matrix
    prior = ODMatrix(case.demand.zones, truth * rng.uniform(0.7, 1.3, truth.shape))
    algorithm, gap = SETTINGS.get(name, ("bfw", 1e-5))
    start = time.process_time()
    result = estimate_matrix(
        net,
        prior,
        link_counts(net, counted, best[counted]),
        assignment={"algorithm": algorithm, "gap": gap},
    )
    cpu = time.process_time() - start
    before = count_statistics(result.modelled_prior, best[counted])
    after = count_statistics(result.modelled, best[counted])
    flow = result.assignment.flow
    cells = truth > 0
    return {
        "case": name,
        "links": net.n_edges,
        "counted": counted.size,
        "geh<5 prior %": 100 * before["share_geh_below_5"],
        "geh<5 est %": 100 * after["share_geh_below_5"],
        "rmse counted prior": rmse(result.prior_flow[counted], best[counted]),
        "rmse counted est": rmse(flow[counted], best[counted]),
        "rmse uncounted prior": rmse(result.prior_flow[uncounted], best[uncounted]),
        "rmse uncounted est": rmse(flow[uncounted], best[uncounted]),
        "od rmse prior": rmse(prior.matrix[cells], truth[cells]),
        "od rmse est": rmse(result.estimate.matrix[cells], truth[cells]),
        "outer": int(result.history["outer"].max()),
        "stop": result.stop_reason,
        "cpu s": cpu,
    }


if __name__ == "__main__":
    names = sys.argv[1:] or ["SiouxFalls", "Anaheim"]
    table = pd.DataFrame([validate(name) for name in names])
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.round(2).T.to_string())
