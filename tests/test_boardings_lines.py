"""Transit OD adjusted to boardings per line and per stop (issue 17, item 5):
:class:`~transitopt.assignment.boardings.TransitMatrixEstimation` on the Bogor angkot
feed (24 lines, every stop a zone).

Known answer: the "observed" boardings (24 lines, the 40 busiest stops) are the
optimal-strategies assignment of a known transit matrix (the truth); the prior is the
truth with each cell scaled by a factor of the line its trips board most (0.6 ... 1.4)
and by noise (0.8 ... 1.2; seed 1). The estimate must bring every counted
line within the stated tolerance (2 %) and the matrix closer to the truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from transitopt.assignment.boardings import TransitMatrixEstimation, estimate_transit_matrix
from transitopt.assignment.calibration import CalibrationError
from transitopt.demand import read_boardings
from transitopt.transit import assign_transit, build_transit_graph, read_gtfs
from transitopt.transit.assign import strategy_link_sums
from transitopt.transit.graph import BOARD


@pytest.fixture(scope="module")
def bogor(require_data, tmp_path_factory):
    supply, _ = read_gtfs(require_data("gtfs/bogor_angkot.zip"))
    graph = build_transit_graph(supply)  # every stop a zone
    z = len(graph.zone_ids)
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 2, (z, z)) * (rng.random((z, z)) < 0.3)
    np.fill_diagonal(truth, 0.0)
    # the prior: each cell scaled by a factor of the line its trips board most (0.6 ... 1.4)
    # and by cell noise (0.8 ... 1.2), so that some lines are far off
    n_lines = len(graph.line_ids)
    board = graph.kind == BOARD
    weights = np.zeros((graph.n_links, n_lines))
    weights[np.flatnonzero(board), graph.line[board]] = 1.0
    main_line = strategy_link_sums(graph, weights).argmax(axis=2)
    prior = truth * rng.uniform(0.6, 1.4, n_lines)[main_line] * rng.uniform(0.8, 1.2, (z, z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few pairs have no transit path
        observed = assign_transit(graph, truth, skims=False)
    lines = observed.line_table()
    links = observed.links_table()
    stops = links[links["kind"] == "board"].groupby("stop")["volume"].sum()
    busiest = stops.sort_values(ascending=False).head(40)
    counts = pd.concat(
        [
            pd.DataFrame({"line": lines["line"], "count": lines["boardings"]}),
            pd.DataFrame({"stop": busiest.index, "count": busiest.to_numpy()}),
        ]
    )
    path = tmp_path_factory.mktemp("bogor_lines") / "boardings.csv"
    counts.to_csv(path, index=False)
    return graph, truth, prior, observed, path


def test_strategy_link_sums_reproduce_line_boardings(require_data):
    """For fixed strategies, boardings are linear in the OD: sum_ij D_ij p_ij,line equals
    the assignment's line boardings (to rounding, rtol 1e-9), on the Coquimbo feed.

    (Not on Bogor: there the loading loses a share of a few pairs' trips that have a
    finite label, e.g. 9.5 % of zone 211 -> 180, so loads and skims differ by 1e-4 in
    all; a property of the loading kernel, not of the sums.)"""
    supply, _ = read_gtfs(require_data("gtfs/coquimbo.zip"))
    graph = build_transit_graph(supply)
    z = len(graph.zone_ids)
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 10, (z, z)) * (rng.random((z, z)) < 0.5)
    np.fill_diagonal(truth, 0.0)
    observed = assign_transit(graph, truth, skims=False)
    n_lines = len(graph.line_ids)
    board = graph.kind == BOARD
    weights = np.zeros((graph.n_links, n_lines))
    weights[np.flatnonzero(board), graph.line[board]] = 1.0
    shares = strategy_link_sums(graph, weights)
    linear = np.einsum("ij,ijc->c", truth, shares)
    np.testing.assert_allclose(linear, observed.line_table()["boardings"], rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="link_weights must have shape"):
        strategy_link_sums(graph, weights[:5])


@pytest.mark.slow
def test_line_boardings_recovered_and_matrix_closer_to_truth(bogor):
    graph, truth, prior, observed, path = bogor
    boardings = read_boardings(path)
    fit = TransitMatrixEstimation(boardings, tolerance=0.02).run(graph, prior)
    assert fit.converged and fit.stop_reason == "fit"
    table = fit.fit_table()
    lines = table["label"].str.startswith("line ")
    assert lines.sum() == len(graph.line_ids)
    before = np.abs(table["modelled_prior"] / table["count"] - 1)
    after = np.abs(table["modelled"] / table["count"] - 1)
    assert before[lines].max() > 0.05  # the prior misses some line by more than 5 %
    assert after.max() <= 0.02  # every line and stop within the stated 2 %
    assert (table["geh"] < 1.0).all()
    # the estimate's own assignment (not the linearisation) fits too: strategies are fixed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = assign_transit(graph, fit.estimate, skims=False).line_table()["boardings"]
    counted = observed.line_table()["boardings"].to_numpy()
    assert np.max(np.abs(again.to_numpy() / counted - 1)) <= 0.02
    # closer to the truth, structure kept: zeros stay zero, no cell negative
    cells = truth > 0
    rmse_prior = np.sqrt(np.mean((prior[cells] - truth[cells]) ** 2))
    rmse_estimate = np.sqrt(np.mean((fit.estimate[cells] - truth[cells]) ** 2))
    assert rmse_estimate < 0.85 * rmse_prior
    assert (fit.estimate[prior == 0] == 0).all() and (fit.estimate >= 0).all()
    change = fit.od_change()
    assert len(change) == int((prior > 0).sum())
    np.testing.assert_allclose(fit.factors()[prior > 0], fit.estimate[prior > 0] / prior[prior > 0])
    history = fit.history
    assert history["step"].iloc[0] == 0 and history["objective"].is_monotonic_decreasing
    stats = fit.statistics()
    assert stats.loc["percent_rmse", "estimate"] < stats.loc["percent_rmse", "prior"]


@pytest.mark.slow
def test_transit_estimation_errors(bogor, tmp_path):
    graph, _, prior, _, path = bogor
    boardings = read_boardings(path)
    with pytest.raises(CalibrationError, match="shape"):
        estimate_transit_matrix(graph, prior[:5, :5], boardings)
    with pytest.raises(CalibrationError, match="negative"):
        estimate_transit_matrix(graph, -prior, boardings)
    with pytest.raises(CalibrationError, match="tolerance"):
        TransitMatrixEstimation(boardings, tolerance=0).run(graph, prior)
    file = tmp_path / "none.csv"
    file.write_text("line,count\nnope,10\n", encoding="utf-8")
    with pytest.raises(CalibrationError, match="no counted line or stop.*'nope'"):
        estimate_transit_matrix(graph, prior, read_boardings(file))
