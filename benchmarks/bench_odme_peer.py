"""ODME side by side with an open peer: Path4GMNS's ``conduct_odme`` (issue 17, item 3).

AequilibraE 1.7.2 (the installed peer of the road benchmarks) has no ODME: its package has
no matrix-estimation module (only ``distribution.gravity_calibration``, gravity models),
and its ODME pull requests (AequilibraE/aequilibrae #475, #509) were closed unmerged.
Path4GMNS (pip ``path4gmns``, 0.10.0, Apache-2.0; not a dependency of transitopt: install
it into any folder and give that folder in ``PATH4GMNS``) has a Python API for ODME: a
path-flow gradient method on the column pool of its path-based user equilibrium (per
iteration each path's volume moves by ``0.01 * (sum of its counted links' modelled minus
counted)``, capped at 5 % of the path's volume; the paths are not re-equilibrated).

The case is :mod:`bench_odme`'s: counts = the best-known flows on a third of the links
(seed 7), prior = the true trip table times uniform noise in 0.7 .. 1.3. Both start from
the same prior and counts. Path4GMNS: UE by column generation (20 column-generation and
20 column-update iterations, BPR with the TNTP ``b``, ``power``, free-flow time and
capacity), then ``ODME_ITERATIONS`` ODME iterations. Its estimate is judged twice: by its
own link volumes (the path flows it adjusted) and by the user equilibrium of its matrix
(transitopt bfw, same gap as transitopt's run) — a matrix whose flows fit only while the
paths are held fixed does not keep that fit once travellers re-choose their routes.
Times are process CPU seconds (Path4GMNS is pure Python around a C++ path engine).

    pip install --target /tmp/p4g path4gmns==0.10.0
    PATH4GMNS=/tmp/p4g PYTHONPATH=$PWD python benchmarks/bench_odme_peer.py SiouxFalls Anaheim
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from transitopt.assignment import assign, estimate_matrix
from transitopt.demand import ODMatrix, link_counts
from transitopt.network.tntp import load_tntp

#: Path4GMNS settings (its tutorial's order of magnitude)
COLUMN_GEN, COLUMN_UPDATE, ODME_ITERATIONS = 20, 20, 100
COUNTED_SHARE = 1 / 3


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _write_gmns(folder: Path, net, zones, prior, counted, counts) -> None:
    ids = net.node_id
    zone_set = {int(z) for z in zones}
    pd.DataFrame(
        {
            "node_id": ids,
            "zone_id": [int(i) if int(i) in zone_set else "" for i in ids],
            "x_coord": np.nan_to_num(np.asarray(net.node_x, dtype=float)),  # Anaheim has none
            "y_coord": np.nan_to_num(np.asarray(net.node_y, dtype=float)),
        }
    ).to_csv(folder / "node.csv", index=False)
    edges = net.edges
    fft_min = np.asarray(net.free_flow_time_s) / 60.0
    pd.DataFrame(
        {
            "link_id": np.arange(1, net.n_edges + 1),
            "from_node_id": ids[net.tail],
            "to_node_id": ids[net.head],
            # miles at 60 mph = the free-flow time in minutes; never 0: Path4GMNS stops its
            # link loops at the first link of length 0 (its centroid connectors, appended
            # last), so Chicago-Sketch's 774 zero-time links would cut them short
            "length": np.maximum(fft_min, 1e-6),
            "lanes": 1,
            "free_speed": 60.0,
            "capacity": np.maximum(edges["capacity"].round(), 1).astype(int),
            "link_type": 1,
            "VDF_alpha1": edges["b"],
            "VDF_beta1": edges["power"],
            "VDF_fftt1": fft_min,
            "VDF_cap1": edges["capacity"],
        }
    ).to_csv(folder / "link.csv", index=False)
    i, j = np.nonzero(prior)
    pd.DataFrame({"o_zone_id": zones[i], "d_zone_id": zones[j], "volume": prior[i, j]}).to_csv(
        folder / "demand.csv", index=False
    )
    pd.DataFrame(
        {
            "measurement_type": "link",
            "from_node_id": ids[net.tail[counted]],
            "to_node_id": ids[net.head[counted]],
            "count": counts,
        }
    ).to_csv(folder / "measurement.csv", index=False)


def path4gmns_odme(net, zones, prior, counted, counts) -> dict:
    """Path4GMNS UE + ODME on the case; link volumes (before, after) and the matrix."""
    import path4gmns as pg

    ids = net.node_id
    where = {(int(ids[net.tail[k]]), int(ids[net.head[k]])): k for k in range(net.n_edges)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_gmns(folder, net, zones, prior, counted, counts)
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.process_time()
            ui = pg.read_network(input_dir=str(folder))
            pg.read_demand(ui, input_dir=str(folder))
            pg.find_ue(ui, COLUMN_GEN, COLUMN_UPDATE)
            ue_s = time.process_time() - start
            assignment = ui._base_assignment

            def volumes() -> np.ndarray:
                out = np.zeros(net.n_edges)
                for link in assignment.get_links():
                    if link.length:
                        key = (int(link.from_node_id), int(link.to_node_id))
                        out[where[key]] = link.get_period_flow_vol(0)
                return out

            before = volumes()
            pg.read_measurements(ui, input_dir=str(folder))
            start = time.process_time()
            pg.conduct_odme(ui, ODME_ITERATIONS)
            odme_s = time.process_time() - start
            # conduct_odme leaves the link volumes of its last-but-one update: refresh them
            from path4gmns.odme import _update_link_volume

            _update_link_volume(
                {k: v for k, v in assignment.get_column_pool().items() if k[1] == 0},
                assignment.get_links(),
                assignment.network.zones,
                0,
                ODME_ITERATIONS,
            )
            after = volumes()
    index = {int(z): k for k, z in enumerate(zones)}
    matrix = np.zeros_like(prior)
    for key, pool in assignment.get_column_pool().items():
        matrix[index[int(key[2])], index[int(key[3])]] += sum(
            c.get_volume() for c in pool.get_columns()
        )
    return {"before": before, "after": after, "matrix": matrix, "ue_s": ue_s, "odme_s": odme_s}


def compare(name: str, seed: int = 7) -> list[dict]:
    case = load_tntp(name)
    net = case.network
    best = case.best_edge_flows()
    rng = np.random.default_rng(seed)
    counted = np.sort(rng.choice(net.n_edges, size=int(net.n_edges * COUNTED_SHARE), replace=False))
    uncounted = np.setdiff1d(np.arange(net.n_edges), counted)
    truth, zones = case.demand.matrix, case.demand.zones
    prior = truth * rng.uniform(0.7, 1.3, truth.shape)
    gap = 1e-4 if name == "Chicago-Sketch" else 1e-5
    cells = truth > 0

    def row(tool: str, flows_from: str, flow_prior, flow_est, matrix, cpu) -> dict:
        return {
            "case": name,
            "tool": tool,
            "flows": flows_from,
            "rmse counted prior": rmse(flow_prior[counted], best[counted]),
            "rmse counted est": rmse(flow_est[counted], best[counted]),
            "rmse uncounted prior": rmse(flow_prior[uncounted], best[uncounted]),
            "rmse uncounted est": rmse(flow_est[uncounted], best[uncounted]),
            "od rmse prior": rmse(prior[cells], truth[cells]),
            "od rmse est": rmse(matrix[cells], truth[cells]),
            "trips est": float(matrix.sum()),
            "cpu s": cpu,
        }

    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = estimate_matrix(
            net,
            ODMatrix(zones, prior),
            link_counts(net, counted, best[counted]),
            assignment={"algorithm": "bfw", "gap": gap},
        )
    cpu = time.process_time() - start
    rows = [
        row("transitopt (Spiess 1990)", "equilibrium", ours.prior_flow, ours.assignment.flow,
            ours.estimate.matrix, cpu)
    ]  # fmt: skip
    peer = path4gmns_odme(net, zones, prior, counted, best[counted])
    rows.append(
        row("Path4GMNS 0.10.0", "its path flows", peer["before"], peer["after"], peer["matrix"],
            peer["ue_s"] + peer["odme_s"])
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flow = assign(net, ODMatrix(zones, peer["matrix"]), algorithm="bfw", gap=gap).flow
    rows.append(
        row("Path4GMNS 0.10.0", "equilibrium of its matrix", ours.prior_flow, flow,
            peer["matrix"], np.nan)
    )  # fmt: skip
    return rows


if __name__ == "__main__":
    if os.environ.get("PATH4GMNS"):
        sys.path.insert(0, os.environ["PATH4GMNS"])
    names = sys.argv[1:] or ["SiouxFalls", "Anaheim"]
    table = pd.DataFrame([r for name in names for r in compare(name)])
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.round(2).to_string(index=False))
