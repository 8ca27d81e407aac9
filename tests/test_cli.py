"""The command line: real runs on shared extracts, outputs checked, one-line errors."""

from __future__ import annotations

import re

import numpy as np
import openmatrix as omx
import pandas as pd
import pytest
from typer.testing import CliRunner

import transitopt as to
import transitopt.cli
from transitopt.cli import app
from transitopt.paths import skim

runner = CliRunner()


@pytest.fixture(scope="module")
def surabaya(require_data):
    return require_data("osm/Surabaya-Sukolilo.osm")


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_is_available_everywhere():
    for args in ([], ["network"], ["network", "info"], ["network", "export"], ["skim"], ["demo"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0, args
        assert "Usage" in result.output


def test_network_info_reports_size_classes_and_imputation(surabaya):
    result = invoke("network", "info", surabaya)
    assert result.exit_code == 0, result.output
    network = to.load_network(surabaya)
    # data/README.md: the drive graph of this extract has 559 nodes in its largest weak
    # component (of 563); reverse connectors keep all of it strongly connected
    assert f"{network.n_nodes:,} nodes" in result.output
    assert network.n_nodes == 559
    assert "kept 559 of 563 drive nodes; dropped 4 in 2 islands, largest 2 nodes" in " ".join(
        result.output.split()
    )
    assert "residential" in result.output
    assert "speed_kph" in result.output


@pytest.mark.parametrize("suffix", [".graphml", ".gpkg", ".parquet"])
def test_network_export_writes_a_file_that_reads_back(surabaya, tmp_path, suffix):
    out = tmp_path / f"net{suffix}"
    result = invoke("network", "export", surabaya, "-o", out)
    assert result.exit_code == 0, result.output
    network = to.load_network(surabaya)
    if suffix == ".graphml":
        again = to.load_network(out)
        np.testing.assert_allclose(
            np.sort(again.free_flow_time_s), np.sort(network.free_flow_time_s)
        )
    else:
        import geopandas as gpd

        edges = gpd.read_file(out, layer="edges") if suffix == ".gpkg" else gpd.read_parquet(out)
        assert len(edges) == network.n_edges
        assert edges["length_m"].sum() == pytest.approx(network.length_m.sum())


def test_skim_on_a_grid_matches_scipy(surabaya, tmp_path):
    out = tmp_path / "skim.omx"
    result = invoke("skim", surabaya, "--grid", "500", "-o", out)
    assert result.exit_code == 0, result.output
    network = to.load_network(surabaya)
    zones = to.zones.grid_zones(network, cell_size_m=500)
    with omx.open_file(str(out)) as handle:
        matrix = np.array(handle["free_flow_time_s"])
        ids = np.array(handle.map_entries("zones"), dtype=np.int64)
    assert matrix.shape == (len(zones), len(zones))
    np.testing.assert_array_equal(np.sort(ids), zones["zone"].to_numpy())
    # reference: scipy's Dijkstra between the same snapped nodes
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    node, _ = to.paths.snap_points(network, zones["x"].to_numpy(), zones["y"].to_numpy())
    weights = (
        pd.DataFrame({"t": network.tail, "h": network.head, "w": network.free_flow_time_s})
        .groupby(["t", "h"])["w"]
        .min()
        .reset_index()
    )
    graph = sp.coo_matrix(
        (weights["w"], (weights["t"], weights["h"])), shape=(network.n_nodes,) * 2
    ).tocsr()
    reference = dijkstra(graph, indices=node)[:, node]
    np.testing.assert_allclose(matrix, reference, rtol=1e-9)


def test_skim_from_zone_points_csv(surabaya, tmp_path):
    points = tmp_path / "zones.csv"
    pd.DataFrame(
        {"zone": [1, 2, 3], "lon": [112.770, 112.780, 112.785], "lat": [-7.29, -7.30, -7.295]}
    ).to_csv(points, index=False)
    out = tmp_path / "skim.csv"
    result = invoke("skim", surabaya, "--zones", points, "-o", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 9
    network = to.load_network(surabaya)
    node, _ = to.paths.snap_points(network, np.array([112.770, 112.780]), np.array([-7.29, -7.30]))
    expected = skim(network, network.node_id[node[:1]], network.node_id[node[1:]])[0, 0]
    got = table.query("origin == 1 and destination == 2")["free_flow_time_s"].item()
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["network", "info", "no/such/file.osm.pbf"], "no/such/file.osm.pbf"),
        (["network", "info", "{tmp}/roads.shp"], ".shp"),
        (["network", "info", "{tmp}/broken.osm"], "broken.osm"),
    ],
)
def test_bad_sources_give_one_line_errors(tmp_path, args, message):
    (tmp_path / "roads.shp").write_text("not a shapefile")
    (tmp_path / "broken.osm").write_text("<osm><node id='1' lat=")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = invoke(*args)
    assert result.exit_code == 1
    assert "error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_zones_far_from_the_network_fail_and_write_nothing(surabaya, tmp_path):
    points = tmp_path / "zones.csv"
    pd.DataFrame({"zone": [1, 2], "lon": [112.775, 106.8], "lat": [-7.295, -6.2]}).to_csv(
        points, index=False
    )
    out = tmp_path / "skim.csv"
    result = invoke("skim", surabaya, "--zones", points, "--max-snap", "1000", "-o", out)
    assert result.exit_code == 1
    assert "error:" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [points]


def test_unknown_output_format_is_refused_before_any_file_is_written(surabaya, tmp_path):
    out = tmp_path / "net.xlsx"
    result = invoke("network", "export", surabaya, "-o", out)
    assert result.exit_code == 1
    assert ".xlsx" in result.output
    assert not any(tmp_path.iterdir())


def test_assign_tntp_folder_writes_links_and_plot(require_data, tmp_path):
    folder = require_data("tntp/SiouxFalls")
    out, png = tmp_path / "flows.csv", tmp_path / "gap.png"
    result = invoke("assign", folder, "--gap", "1e-4", "-o", out, "--plot", png)
    assert result.exit_code == 0, result.output
    assert "converged" in result.output
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["edge", "from_node", "to_node", "flow"]
    assert {"time_s", "voc"} <= set(table.columns)
    # SiouxFalls_flow.tntp (best-known UE): at gap 1e-4 link flows are within a few
    # percent of it; total vehicle flow within 0.5 %
    best = to.network.tntp.read_tntp_flows(folder / "SiouxFalls_flow.tntp")
    merged = table.merge(best, on=["from_node", "to_node"])
    assert len(merged) == 76
    assert merged["flow"].sum() == pytest.approx(merged["volume"].sum(), rel=5e-3)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_assign_with_an_od_naming_unknown_nodes_fails_cleanly(require_data, tmp_path):
    folder = require_data("tntp/SiouxFalls")
    od = tmp_path / "od.csv"
    pd.DataFrame({"origin": [1, 999], "destination": [2, 3], "trips": [10.0, 5.0]}).to_csv(
        od, index=False
    )
    out = tmp_path / "flows.parquet"
    result = invoke("assign", folder, "--demand", od, "-o", out)
    assert result.exit_code == 1
    assert "999" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_assign_and_calibrate_without_demand_ask_for_it(town_osm, tmp_path):
    """Without ``--demand`` only a TNTP folder has a default OD matrix (its trips file)."""
    for command, what in (("assign", "the OD matrix"), ("calibrate", "the prior OD matrix")):
        extra = ["--counts", tmp_path / "counts.csv"] if command == "calibrate" else []
        result = invoke(command, town_osm, *extra, "-o", tmp_path / "out.csv")
        assert result.exit_code == 2  # a usage error (click's code), in one line
        assert f"give {what} with --demand FILE" in result.output, result.output
        assert not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_demo_compares_the_example_scenarios_offline(tmp_path, monkeypatch):
    from transitopt.cli._common import console

    monkeypatch.setattr(console, "width", 80)
    out = tmp_path / "demo"
    result = invoke("demo", "-o", out)
    assert result.exit_code == 0, result.output
    # readable at 80 columns: no cell cut short, scenario codes explained
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "Headline metrics: change vs Helsinki baseline" in result.output
    assert "D = New bus line X1" in result.output
    comparison = pd.read_csv(out / "comparison.csv")
    scenario_files = sorted(to.example_scenarios())
    # one value column per scenario, plus a change and a % change per alternative
    assert len(comparison.columns) == 3 + 1 + 3 * (len(scenario_files) - 1)
    shares = comparison[comparison["metric"].str.startswith("share_")].iloc[:, 3:]
    values = shares[[c for c in shares.columns if not c.endswith("Δ") and not c.endswith("Δ%")]]
    np.testing.assert_allclose(
        values.sum(axis=0), 1.0, atol=1e-9
    )  # mode shares add up in every scenario
    html = (out / "report.html").read_text()
    assert "<script" in html
    assert not re.search(
        r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", html
    )  # self-contained
    assert "report:" in result.output
    assert len(list((out / "maps").glob("*.png"))) >= len(scenario_files)
    # lines and streets by name in the edit table, links with geometry per scenario
    assert "relation/" not in html
    assert "way 15466245 (Keskuskatu)" in html
    for folder in (out / "scenarios").iterdir():
        assert (folder / "links.gpkg").is_file(), folder


def test_transit_import_summarises_gtfs_and_reports_repairs(require_data, tmp_path):
    feed = require_data("gtfs/bogor_angkot.zip")
    out = tmp_path / "lines.csv"
    result = invoke("transit", "import", feed, "-o", out)
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(out)
    # data/README.md: 24 routes, one trip every 10 minutes, direction_id empty
    assert len(lines) == 24
    np.testing.assert_allclose(lines["headway_s"], 600.0)
    assert "frequencies.txt" in result.output  # the orphaned frequencies are reported, not used
    assert "[skip]" in result.output or "[repair]" in result.output


def test_transit_import_of_osm_route_relations(require_data):
    result = invoke("transit", "import", require_data("osm/Helsinki.osm.pbf"))
    assert result.exit_code == 0, result.output
    assert "route relations read: 216" in result.output  # data/README.md: 216 PT route relations
    assert "tram" in result.output


def test_access_walk_table_and_map(tmp_path):
    out, png = tmp_path / "access.csv", tmp_path / "map.png"
    result = invoke(
        "access", "helsinki", "--mode", "walk", "--cutoffs", "5,10", "-o", out, "--map", png
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert {"zone", "population", "jobs", "jobs_5min", "jobs_10min", "jobs_gravity"} <= set(
        table.columns
    )
    assert (table["jobs_10min"] >= table["jobs_5min"]).all()
    # every zone reaches at least the jobs of its own cell's node neighbourhood, never more than all jobs
    assert (table["jobs_10min"] <= table["jobs"].sum() + 1e-6).all()
    # the printed city average is the population-weighted mean of the table
    weighted = (table["jobs_10min"] * table["population"]).sum() / table["population"].sum()
    assert f"{weighted:,.0f}" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_transit_assign_conserves_trips(tmp_path):
    zones = pd.DataFrame(
        {
            "zone": [1, 2, 3, 4],
            "lon": [24.940, 24.950, 24.945, 24.938],
            "lat": [60.168, 60.172, 60.176, 60.170],
        }
    )
    zones.to_csv(tmp_path / "zones.csv", index=False)
    od = pd.DataFrame(
        [(a, b, 100.0) for a in zones.zone for b in zones.zone if a != b],
        columns=["origin", "destination", "trips"],
    )
    od.to_csv(tmp_path / "od.csv", index=False)
    out = tmp_path / "lines.csv"
    result = invoke(
        "transit",
        "assign",
        "helsinki",
        "--demand",
        tmp_path / "od.csv",
        "--zones",
        tmp_path / "zones.csv",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(out)
    assert "1,200 trips assigned, 0 without a transit path" in result.output
    # every boarding is followed by exactly one alighting on the same line
    np.testing.assert_allclose(lines["boardings"], lines["alightings"], rtol=1e-9, atol=1e-9)
    assert lines["boardings"].sum() > 0
    # lines by name (mode, ref, termini), not by OSM relation id; full names in the file
    assert "relation/" not in result.output
    for row in lines.itertuples():
        assert row.label.startswith(f"{row.mode} {row.name}")
    assert {"long_name", "operator"} <= set(lines.columns)
    assert "…" not in result.output


def test_optimise_routes_writes_a_route_set_that_evaluates_to_the_printed_att(
    require_data, tmp_path
):
    require_data("tndp/Mandl")
    out = tmp_path / "routes.txt"
    result = invoke(
        "optimise", "routes", "Mandl1", "--routes", "6", "--budget", "2", "--seed", "1", "-o", out
    )
    assert result.exit_code == 0, result.output
    from transitopt.optimise import evaluate_route_set, read_route_set, read_tndp_instance

    routes = read_route_set(out)
    assert len(routes) == 6 and all(2 <= len(r) <= 8 for r in routes)
    ev = evaluate_route_set(read_tndp_instance("Mandl1"), routes)
    assert f"ATT {ev.att:.2f} min" in result.output
    assert ev.dun == 0.0 and ev.att < 11.0  # published best 10.18 min (data/README.md)


@pytest.mark.slow
def test_bench_tndp_prints_the_gap_to_published_results(require_data):
    require_data("tndp/Mandl")
    result = invoke("bench", "tndp", "Mandl", "--evaluations", "3000", "--seeds", "0,1")
    assert result.exit_code == 0, result.output
    assert result.output.count("best published") == 4  # Mandl with 4, 6, 7 and 8 routes
    # not a terminal: plain progress lines (first report and the end of every run)
    assert result.output.count("(3,000 evaluations): done, ") == 8
    assert result.output.count("CPU s") == 8  # one line per run with its CPU seconds


def test_optimise_routes_with_an_evaluation_budget_matches_the_api(require_data, tmp_path):
    """Issue 14 item 4: the same seed and evaluation budget give the same route set from the
    CLI and from design_routes (no time limit; the schedule follows the evaluation count)."""
    require_data("tndp/Mandl")
    from transitopt.optimise import design_routes, read_route_set, read_tndp_instance

    out = tmp_path / "routes.txt"
    args = ("--routes", "6", "--evaluations", "4000", "--seed", "5", "-o", out)
    result = invoke("optimise", "routes", "Mandl1", *args)
    assert result.exit_code == 0, result.output
    api = design_routes(
        read_tndp_instance("Mandl1"),
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        max_evaluations=4000,
        seed=5,
    )
    assert read_route_set(out) == api.routes
    assert api.stopped_by == "max_evaluations"
    assert (
        "4,000 evaluations" in result.output
        or f"{api.n_evaluations:,} evaluations" in result.output
    )
    other = design_routes(
        read_tndp_instance("Mandl1"),
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        max_evaluations=4000,
        seed=6,
    )
    assert other.routes != api.routes  # the seed matters: the test can fail
