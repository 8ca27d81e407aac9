"""Transit OD from boardings per line and stop (issue 17, item 5): the Bogor angkot case
of tests/test_boardings_lines.py, with CPU time, for a quiet machine.

Truth: a random transit matrix over the feed's 346 stops (30 % of cells, 0 ... 2 trips,
seed 1); counts: its boardings on all 24 lines and at the 40 busiest stops; prior: each
cell scaled by a factor of the line its trips board most (0.6 ... 1.4) and by noise
(0.8 ... 1.2). Prints the fit before and after, the gradient steps, the OD RMSE against
the truth and the CPU seconds of the strategies and the steps.

    TRANSITOPT_DATA=../shared/data PYTHONPATH=$PWD python benchmarks/bench_odme_lines.py
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.assignment.boardings import TransitMatrixEstimation
from transitopt.demand import read_boardings
from transitopt.transit import assign_transit, build_transit_graph, read_gtfs
from transitopt.transit.assign import strategy_link_sums
from transitopt.transit.graph import BOARD


def main() -> None:
    data = Path(os.environ.get("TRANSITOPT_DATA", "../shared/data"))
    supply, _ = read_gtfs(data / "gtfs" / "bogor_angkot.zip")
    graph = build_transit_graph(supply)
    z = len(graph.zone_ids)
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 2, (z, z)) * (rng.random((z, z)) < 0.3)
    np.fill_diagonal(truth, 0.0)
    n_lines = len(graph.line_ids)
    board = graph.kind == BOARD
    weights = np.zeros((graph.n_links, n_lines))
    weights[np.flatnonzero(board), graph.line[board]] = 1.0
    main_line = strategy_link_sums(graph, weights).argmax(axis=2)
    prior = truth * rng.uniform(0.6, 1.4, n_lines)[main_line] * rng.uniform(0.8, 1.2, (z, z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        observed = assign_transit(graph, truth, skims=False)
    lines = observed.line_table()
    links = observed.links_table()
    stops = links[links["kind"] == "board"].groupby("stop")["volume"].sum().nlargest(40)
    counts = pd.concat(
        [
            pd.DataFrame({"line": lines["line"], "count": lines["boardings"]}),
            pd.DataFrame({"stop": stops.index, "count": stops.to_numpy()}),
        ]
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "boardings.csv"
        counts.to_csv(path, index=False)
        boardings = read_boardings(path)
    start = time.process_time()
    fit = TransitMatrixEstimation(boardings).run(graph, prior)
    cpu = time.process_time() - start
    cells = truth > 0

    def rmse(matrix: np.ndarray) -> float:
        return float(np.sqrt(np.mean((matrix[cells] - truth[cells]) ** 2)))

    table = fit.fit_table()
    error_before = np.abs(table["modelled_prior"] / table["count"] - 1).max()
    error_after = np.abs(table["modelled"] / table["count"] - 1).max()
    print(f"Bogor: {z} zones, {n_lines} lines, {fit.observations.n_observations} counts")
    print(f"  stop: {fit.stop_reason} after {len(fit.history) - 1} steps, {cpu:.2f} CPU s")
    print(f"  largest error {100 * error_before:.1f} % -> {100 * error_after:.1f} %")
    print(fit.statistics().loc[["share_geh_below_5", "r2", "percent_rmse"]].to_string())
    print(f"  OD RMSE against the truth: {rmse(prior):.3f} -> {rmse(fit.estimate):.3f} trips")


if __name__ == "__main__":
    main()
