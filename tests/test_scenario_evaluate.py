"""The integrated evaluation on the hand-written town: conservation, the logit by hand, bus
lanes in the model, convergence warnings, atomic writing, the result cache and compare."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import ConvergenceWarning, InputFileError
from transitopt.assignment.multimodal import logit_choice
from transitopt.paths import snap_points
from transitopt.scenario import (
    ScenarioResult,
    clear_results,
    compare,
    evaluate,
    evaluate_file,
    load_scenario,
    read_result,
    write_result,
)
from transitopt.scenario.edits import apply_edits
from transitopt.scenario.evaluate import build_model
from transitopt.scenario.inputs import load_base
from transitopt.scenario.parameters import model_parameters


@pytest.fixture(scope="module")
def folder(tmp_path_factory, town_toml) -> Path:
    path = tmp_path_factory.mktemp("town_eval")
    zones = {"population_total": 9000, "jobs_total": 9000}
    base = town_toml(12000, zones=zones, transit={"line_fare": 1.0, "trip_fare": 0.5})
    (path / "base.toml").write_text(base, encoding="utf-8")
    (path / "lane.toml").write_text(
        '[scenario]\nname = "Lane"\nbaseline = "base.toml"\n\n[[edits]]\ntype = "bus_lane"\n'
        'line = "bus:1"\n\n[[edits]]\ntype = "change_line"\nline = "bus:1"\nheadway_min = 5\n',
        encoding="utf-8",
    )
    return path


def prepared(result):
    scenario = load_scenario(Path(result.summary["file"]))
    return apply_edits(scenario, load_base(scenario))


@pytest.fixture(scope="module")
def results(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return evaluate(folder / "base.toml"), evaluate(folder / "lane.toml")


def test_trips_are_conserved(results):
    base, _ = results
    od = base.table("od")
    total = load_base(load_scenario(Path(base.summary["file"]))).demand.sum()
    assert od["trips"].sum() == pytest.approx(total, rel=1e-12)
    assert (
        od["car"] + od["transit"] + od["walk"] + od["unserved"] + od["intrazonal"]
    ).sum() == pytest.approx(total)
    shares = base.table("mode_shares")
    assert shares["share"].sum() == pytest.approx(1.0)
    assert base["share_car"] == pytest.approx(od["car"].sum() / total)


def test_car_flows_conserve_at_nodes(results):
    base, _ = results
    links = base.table("links")
    od = base.table("od")
    p = prepared(base)
    occupancy = p.scenario.baseline.model.car_occupancy
    node, _ = snap_points(p.drive, p.zones["lon"].to_numpy(), p.zones["lat"].to_numpy())
    node_of_zone = dict(zip(p.zones["zone"], p.drive.node_id[node], strict=True))
    veh = od.assign(
        o=od["origin"].map(node_of_zone),
        d=od["destination"].map(node_of_zone),
        v=od["car"] / occupancy,
    )
    veh = veh[veh["o"] != veh["d"]]
    net = veh.groupby("d")["v"].sum().sub(veh.groupby("o")["v"].sum(), fill_value=0.0)
    inflow = (
        links.groupby("to_node")["flow"]
        .sum()
        .sub(links.groupby("from_node")["flow"].sum(), fill_value=0.0)
    )
    joined = pd.concat([net, inflow], axis=1).fillna(0.0)
    np.testing.assert_allclose(joined.iloc[:, 0], joined.iloc[:, 1], atol=1e-6 * veh["v"].sum())


def test_transit_loads_follow_boardings(results):
    base, _ = results
    seg = base.table("segments")
    for _, group in seg.groupby("line"):
        load = group["load"].to_numpy()
        change = group["boardings"].to_numpy()[1:] - group["alightings"].to_numpy()[:-1]
        np.testing.assert_allclose(load[1:], load[:-1] + change, atol=1e-9)
        assert load[0] == pytest.approx(group["boardings"].iloc[0])
    assert seg["boardings"].sum() == pytest.approx(base["transit_boardings"])
    lines = base.table("lines")
    # revenue = boardings x line fare + transit trips x trip fare (1.0 and 0.5 in the file)
    assert base["transit_fare_revenue"] == pytest.approx(
        lines["boardings"].sum() * 1.0 + base["transit_trips"] * 0.5
    )


def test_logit_by_hand(results):
    base, _ = results
    baseline = prepared(base).scenario.baseline
    mc = baseline.model.mode_choice
    skims = {
        "car_gc_min": np.array([[0.0, 10.0]]),
        "transit_gc_min": np.array([[0.0, 20.0]]),
        "walk_gc_min": np.array([[0.0, np.inf]]),
    }
    probs, logsum = logit_choice(skims, np.zeros((1, 2)), model_parameters(baseline).mode_choice)
    v_car, v_pt = mc.asc_car + mc.beta_per_min * 10.0, mc.asc_transit + mc.beta_per_min * 20.0
    expected = math.exp(v_car) / (math.exp(v_car) + math.exp(v_pt))
    assert probs["car"][0, 1] == pytest.approx(expected, rel=1e-12)
    assert probs["walk"][0, 1] == 0.0  # unavailable (infinite cost)
    assert logsum[0, 1] == pytest.approx(math.log(math.exp(v_car) + math.exp(v_pt)))


def test_bus_lane_in_the_model(results):
    base, lane = results
    links = lane.table("links")
    on_lane = links[links["bus_lane"]]
    assert len(on_lane) == 2
    assert (on_lane["preload"] == 0).all() and (on_lane["bus_vph"] == 12).all()  # 5-min headway
    assert (on_lane["capacity_vph"] == 1000).all()
    mixed = links[(links["bus_vph"] > 0) & ~links["bus_lane"]]
    assert (mixed["preload"] == 24).all()  # 12 buses/h x 2 PCU
    # buses run at free flow on the lane: the first segment (1 -> 2, on the lane) takes its free-flow time
    seg = lane.table("segments").set_index("seq")
    free = on_lane.set_index(["from_node", "to_node"]).loc[(1, 2), "free_flow_time_s"]
    routes = prepared(lane).routes
    assert routes.inc_share[routes.inc_seg == 0].sum() == pytest.approx(1.0)  # the whole link
    v_max = 40.0 / 3.6
    assert seg.loc[0, "run_time_s"] == pytest.approx(max(free, on_lane["length_m"].iloc[0] / v_max))
    assert lane["transit_avg_wait_min"] < base["transit_avg_wait_min"]


def test_convergence_log(results):
    base, _ = results
    log = base.convergence
    assert base.converged and base.summary["converged"]
    tol = base.summary["tolerance"]
    assert log["mode_gap"].iloc[-1] <= tol and log["link_time_change"].iloc[-1] <= tol
    assert list(log["iteration"]) == list(range(1, len(log) + 1))


def test_no_convergence_warns(folder):
    path = folder / "short.toml"
    base = (folder / "base.toml").read_text(encoding="utf-8")
    path.write_text(base + "\n[model.feedback]\nmax_iter = 1\n", encoding="utf-8")
    with pytest.warns(ConvergenceWarning, match=r"feedback loop stopped after 1 iterations"):
        result = evaluate(path)
    assert not result.converged
    assert any("not at equilibrium" in n for n in result.summary["notes"])
    assert result["converged"] == 0.0


def test_progress_can_cancel(folder):
    rows = []

    def progress(row):
        rows.append(row)
        return False

    with pytest.warns(ConvergenceWarning, match="was cancelled after 1 iterations"):
        result = evaluate(folder / "base.toml", progress=progress)
    assert len(rows) == 1 and rows[0]["iteration"] == 1
    assert result.summary["stop_reason"] == "cancelled" and not result.converged


def test_write_read_round_trip_and_atomicity(results, tmp_path, monkeypatch):
    base, _ = results
    target = write_result(base, tmp_path / "out")
    assert (
        (target / "summary.json").is_file()
        and (target / "links.parquet").is_file()
        and (target / "od.csv").is_file()
    )
    back = read_result(target)
    pd.testing.assert_frame_equal(back.metrics, base.metrics)
    pd.testing.assert_frame_equal(back.table("zones"), base.table("zones"), check_dtype=False)
    assert back.key == base.key and back.converged
    summary = json.loads((target / "summary.json").read_text())
    assert summary["headline"]["share_car"] == pytest.approx(base["share_car"])
    # a failure half-way leaves neither a partial folder nor a damaged previous result
    import transitopt._io

    original = transitopt._io._csv_rows  # the CSV writer's formatting of each block of rows

    def failing(chunk):
        if "jobs" in chunk.columns:  # zones.csv
            raise OSError("disk full")
        return original(chunk)

    monkeypatch.setattr(transitopt._io, "_csv_rows", failing)
    with pytest.raises(OSError, match="disk full"):
        write_result(base, tmp_path / "fresh")
    with pytest.raises(OSError, match="disk full"):
        write_result(base, target)
    monkeypatch.undo()
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    pd.testing.assert_frame_equal(read_result(target).metrics, base.metrics)
    # a folder that is not a result is never overwritten
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputFileError, match="not a result folder"):
        write_result(base, other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_cache_reuses_results(folder, tmp_path):
    cache = tmp_path / "cache"
    first = evaluate_file(folder / "base.toml", cache_folder=cache)
    assert evaluate_file(folder / "base.toml", cache_folder=cache) is first
    clear_results()
    again = evaluate_file(folder / "base.toml", cache_folder=cache)
    assert again.outcome is None and again.key == first.key  # read back from disk
    pd.testing.assert_frame_equal(again.metrics, first.metrics)
    changed = folder / "base_changed.toml"
    base = (folder / "base.toml").read_text(encoding="utf-8")
    changed.write_text(
        base.replace("trips_per_hour = 12000", "trips_per_hour = 11000"), encoding="utf-8"
    )
    assert load_scenario(changed).digest() != first.key


def test_compare_by_hand(results):
    base, lane = results
    table = compare(base, lane).set_index("metric")
    assert list(table.columns) == ["group", "unit", "Town", "Lane", "Lane Δ", "Lane Δ%"]
    for metric in ("share_transit", "car_delay_veh_h", "transit_fleet"):
        b, a = base[metric], lane[metric]
        assert table.loc[metric, "Lane Δ"] == pytest.approx(a - b)
        if b:
            assert table.loc[metric, "Lane Δ%"] == pytest.approx(100 * (a - b) / abs(b))
    assert table.loc["transit_fleet", "Lane"] >= table.loc["transit_fleet", "Town"]
    gain = (
        table.loc["transit_access_30min_zones_gain", "Lane"]
        + table.loc["transit_access_30min_zones_lose", "Lane"]
    )
    assert gain <= len(base.table("zones"))
    assert isinstance(lane, ScenarioResult)


def test_accessibility_matches_the_plain_sum(results):
    from transitopt.metrics import cumulative_opportunities

    base, _ = results
    zones = base.table("zones")
    # transit by generalised time (the cost route choice minimises), its fastest-time
    # variant, car by door-to-door time; a zone's own jobs count (time 0)
    skims = {
        "transit": "transit_generalised_s",
        "transit_fastest": "transit_fastest_s",
        "car": "car_time_s",
    }
    for mode, skim in skims.items():
        times = base.outcome.skims[skim].copy()
        np.fill_diagonal(times, 0.0)
        expected = cumulative_opportunities(
            times, zones["jobs"].to_numpy(), cutoffs_min=(30, 45, 60)
        )
        np.testing.assert_allclose(
            zones[[f"jobs_{mode}_{t}min" for t in (30, 45, 60)]].to_numpy(), expected
        )


def test_deterministic(results, folder):
    base, _ = results
    again = evaluate(folder / "base.toml")
    pd.testing.assert_frame_equal(again.metrics, base.metrics)
    pd.testing.assert_frame_equal(again.table("links"), base.table("links"))


def test_model_keeps_the_prepared_inputs(results):
    base, _ = results
    p = prepared(base)
    build_model(p).run()
    again = apply_edits(p.scenario, load_base(p.scenario))
    np.testing.assert_array_equal(again.drive.capacity_vph, p.drive.capacity_vph)


def test_files_written_side_by_side_equal_those_written_one_by_one(results, tmp_path, monkeypatch):
    """``write_result`` writes its files on several threads: every table file is the same
    bytes as written on one thread, the GeoPackage reads back the same."""
    import geopandas as gpd

    import transitopt.scenario.result as result_module

    base, _ = results
    side = write_result(base, tmp_path / "side")
    monkeypatch.setattr(result_module, "WRITE_THREADS", 1)
    monkeypatch.setattr(result_module, "_LINK_LINES", type(result_module._LINK_LINES)())
    single = write_result(base, tmp_path / "single")
    names = sorted(p.name for p in side.iterdir())
    assert names == sorted(p.name for p in single.iterdir())
    assert "links.gpkg" in names and "od.csv" in names
    for name in names:
        if name != "links.gpkg":
            assert (side / name).read_bytes() == (single / name).read_bytes(), name
    a = gpd.read_file(side / "links.gpkg", layer="links")
    b = gpd.read_file(single / "links.gpkg", layer="links")
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all()
