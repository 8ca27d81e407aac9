"""Counts, fit statistics and OD matrix estimation (Spiess 1990).

References: GEH and TAG criteria computed by hand; a one-link case where one gradient
step of Spiess's method lands exactly on the count (derivation in the test); SiouxFalls
with counts from its best-known flows (the issue's validation, small).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transitopt._errors import InputFileError
from transitopt.assignment import MatrixEstimation, assign, estimate_matrix
from transitopt.demand import ODMatrix, link_counts, read_counts
from transitopt.metrics import count_statistics, geh, meets_flow_criterion, rmse_by_band
from transitopt.network.compiled import Network


def test_geh_and_flow_criterion_by_hand():
    # GEH(110, 90) = sqrt(2 * 20^2 / 200) = 2; GEH(0, 0) = 0; GEH(150, 50) = sqrt(2*1e4/200) = 10
    assert geh(np.array([110.0, 0.0, 150.0]), np.array([90.0, 0.0, 50.0])) == pytest.approx(
        [2.0, 0.0, 10.0]
    )
    # TAG M3.1: <700 within 100; 700..2700 within 15 %; >2700 within 400
    ok = meets_flow_criterion(
        np.array([599.0, 800.0, 1000.0, 3400.0, 3000.0]),
        np.array([500.0, 700.0, 1200.0, 3000.0, 3500.0]),
    )
    assert ok.tolist() == [True, True, False, True, False]


def test_count_statistics_and_bands_by_hand():
    m = np.array([110.0, 90.0, 1000.0, 3000.0])
    c = np.array([100.0, 100.0, 1100.0, 3000.0])
    stats = count_statistics(m, c)
    assert stats["rmse"] == pytest.approx(np.sqrt((100 + 100 + 100**2) / 4))
    assert stats["share_geh_below_5"] == 1.0  # GEH(1000, 1100) = 3.09
    assert stats["slope"] == pytest.approx((m @ c) / (c @ c))
    bands = rmse_by_band(m, c)
    assert bands["n"].tolist() == [2, 1, 1]
    assert bands["rmse"].tolist() == pytest.approx([10.0, 100.0, 0.0])


def _line_network():
    """0 -> 1 -> 2 (1 s each) and a slow 0 -> 2 (50 s): uncongested, every OD has one path."""
    return Network.from_edges(
        [0, 1, 0],
        [1, 2, 2],
        n_nodes=3,
        centroid=np.ones(3, bool),
        free_flow_time_s=[1.0, 1.0, 50.0],
        crs=None,
    )


def test_one_step_lands_on_the_count():
    # one OD (0 -> 1, g = 10) on one link counted 20: grad = v - c = -10, direction
    # -g * grad = 100, v' = 100, lambda* = -(100 * -10) / 100^2 = 0.1, g = 10 (1 + 0.1 * 10) = 20
    net = _line_network()
    prior = ODMatrix(np.array([0, 1, 2]), np.array([[0, 10.0, 0], [0, 0, 0], [0, 0, 0]]))
    e01 = int(np.flatnonzero((net.tail == 0) & (net.head == 1))[0])
    counts = link_counts(net, [e01], [20.0])
    result = MatrixEstimation(
        net, prior, counts, inner_iterations=1, assignment={"algorithm": "fw", "gap": 1e-9}
    ).run()
    assert result.estimate.matrix[0, 1] == pytest.approx(20.0, rel=1e-12)
    assert result.modelled == pytest.approx([20.0])
    assert result.stop_reason == "fit"
    assert result.history["step"].iloc[1] == pytest.approx(0.1)


def test_fits_two_counts_and_keeps_the_prior_structure():
    net = _line_network()
    zones = np.array([0, 1, 2])
    # truth: 0->1 30, 1->2 20, 0->2 10: link 0-1 carries 40, link 1-2 carries 30
    prior = ODMatrix(zones, np.array([[0, 20.0, 20.0], [0, 0, 20.0], [0, 0, 0]]))
    edge = {(int(a), int(b)): e for e, (a, b) in enumerate(zip(net.tail, net.head, strict=True))}
    counts = link_counts(net, [edge[0, 1], edge[1, 2]], [40.0, 30.0])
    result = estimate_matrix(
        net, prior, counts, target_percent_rmse=0.01, max_outer=20, assignment={"gap": 1e-9}
    )
    assert result.modelled == pytest.approx([40.0, 30.0], rel=1e-3)
    est = result.estimate.matrix
    assert (est[prior.matrix == 0] == 0).all()  # zeros stay zero
    assert (est[prior.matrix > 0] > 0).all()
    change = result.od_change()
    assert len(change) == 3 and change["ratio"].notna().all()
    assert result.history["objective"].iloc[-1] < 1e-3 * result.history["objective"].iloc[0]


def _write(tmp_path, text):
    path = tmp_path / "counts.csv"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def sioux(require_data):
    from transitopt.network.tntp import load_tntp

    return load_tntp(require_data("tntp/SiouxFalls"))


def test_read_counts_keys_screenlines_and_unmatched_rows(sioux, tmp_path):
    net = sioux.network
    by_link = read_counts(_write(tmp_path, "tntp_link,count\n1,4494.6\n3,8119\n999,5\n"), net)
    assert by_link.n_observations == 2
    assert by_link.unmatched["row"].tolist() == [3]
    assert "999" in by_link.unmatched["reason"].iloc[0]
    e = int(by_link.edges[0])
    assert (net.node_id[net.tail[e]], net.node_id[net.head[e]]) == (1, 2)  # TNTP link 1: 1 -> 2

    pairs = read_counts(
        _write(
            tmp_path,
            "from_node,to_node,count,screenline,class,period\n"
            "1,2,,north,car,am\n1,3,100,north,car,am\n2,1,50,,car,am\n7,7,5,,car,am\n",
        ),
        net,
    )
    assert pairs.labels.tolist() == ["screenline north", "2 -> 1"]
    assert pairs.observed.tolist() == [100.0, 50.0]
    flow = np.arange(net.n_edges, dtype=float)
    e12, e13 = pairs.edges[:2]
    assert pairs.modelled(flow)[0] == flow[e12] + flow[e13]
    assert pairs.unmatched["row"].tolist() == [4]
    assert pairs.select(period="am").n_observations == 2
    assert pairs.select(period="pm").n_observations == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("tntp_link,volume\n1,5\n", "no 'count' column"),
        ("link,count\n1,5\n", "expected columns naming the link"),
        ("tntp_link,count\n1,-5\n", "row 1: count"),
        ("tntp_link,count\n999,5\n", "none of its 1 rows matches"),
        ("tntp_link,count,screenline\n1,5,a\n3,6,a\n", "screenline 'a' count 6"),
    ],
)
def test_bad_counts_files(sioux, tmp_path, text, message):
    with pytest.raises(InputFileError, match=message):
        read_counts(_write(tmp_path, text), sioux.network)


def test_siouxfalls_estimate_is_closer_to_the_truth(sioux):
    """A third of the links counted from the best-known flows, the true OD perturbed by
    +-30 % (seed 7): the estimate fits the counts (GEH < 5 on all) and its flows on the
    uncounted links and its OD are closer to the truth than the prior's."""
    net = sioux.network
    best = sioux.best_edge_flows()
    rng = np.random.default_rng(7)
    counted = np.sort(rng.choice(net.n_edges, size=net.n_edges // 3, replace=False))
    counts = link_counts(net, counted, best[counted])
    truth = sioux.demand.matrix
    prior = ODMatrix(sioux.demand.zones, truth * rng.uniform(0.7, 1.3, truth.shape))
    result = estimate_matrix(net, prior, counts, assignment={"algorithm": "bfw", "gap": 1e-5})
    stats = result.statistics()
    assert stats.loc["share_geh_below_5", "estimate"] == 1.0
    assert stats.loc["percent_rmse", "estimate"] < 0.5 * stats.loc["percent_rmse", "prior"]
    uncounted = np.setdiff1d(np.arange(net.n_edges), counted)
    prior_flow = assign(net, prior, algorithm="bfw", gap=1e-5).flow

    def rmse(a, b):
        return float(np.sqrt(np.mean((a - b) ** 2)))

    assert rmse(result.assignment.flow[uncounted], best[uncounted]) < rmse(
        prior_flow[uncounted], best[uncounted]
    )
    assert rmse(result.estimate.matrix, truth) < rmse(prior.matrix, truth)


def test_calibrate_cli_on_the_docs_case(require_data, tmp_path):
    """docs/calibration: counts from SiouxFalls's best-known flows, a +-30 % prior."""
    import pandas as pd
    from typer.testing import CliRunner

    from transitopt.cli import app

    docs = Path(__file__).resolve().parents[1] / "docs" / "calibration"
    out = tmp_path / "calibration"
    args = [
        "calibrate", str(require_data("tntp/SiouxFalls")),
        "--demand", str(docs / "siouxfalls_prior.csv"),
        "--counts", str(docs / "siouxfalls_counts.csv"),
        "-o", str(out),
    ]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "unmatched row 28" in run.output
    stats = pd.read_csv(out / "statistics.csv").set_index("statistic")
    assert stats.loc["share_geh_below_5", "estimate"] == 1.0
    assert stats.loc["share_geh_below_5", "prior"] < 0.85
    for name in ("estimate.omx", "fit.csv", "od_change.csv", "scatter.png", "geh_map.png"):
        assert (out / name).stat().st_size > 0
    assert "screenline east of 10" in pd.read_csv(out / "fit.csv")["label"].tolist()
    assert "Unmatched count rows (1)" in (out / "calibration.html").read_text()


def test_read_counts_by_osm_way_and_direction(town_osm, tmp_path):
    """The town's way 101 runs 1 -> 2 -> 3 (two links each way): a count on it needs
    from_node; way 101 backward from node 2 is the link 2 -> 1."""
    from transitopt.network import load_network

    net = load_network(town_osm, network_type="drive", cache=False)
    counts = read_counts(
        _write(
            tmp_path,
            "way,direction,from_node,count\n101,forward,1,300\n101,backward,2,200\n"
            "101,forward,,100\n101,sideways,1,5\n999,forward,1,5\n",
        ),
        net,
    )
    ends = [(int(net.node_id[net.tail[e]]), int(net.node_id[net.head[e]])) for e in counts.edges]
    assert ends == [(1, 2), (2, 1)]
    assert counts.observed.tolist() == [300.0, 200.0]
    reasons = dict(counts.unmatched.itertuples(index=False))
    assert "has 2 links; give from_node" in reasons[3]
    assert "expected forward or backward" in reasons[4]
    assert "not (the first way of) a network link" in reasons[5]
