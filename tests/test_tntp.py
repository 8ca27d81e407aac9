"""TNTP reader: every shared case parses to the counts measured in ../shared/data/README.md §1."""

from __future__ import annotations

import numpy as np
import pytest

from transitopt import InputFileError
from transitopt.network.tntp import (
    load_tntp,
    read_tntp_flows,
    read_tntp_network,
    read_tntp_trips,
)

# reference: /work/shared/data/README.md section 1, "Measured" table
# (name, nodes, links, zones, first thru node, OD pairs > 0, total demand)
MEASURED = [
    ("SiouxFalls", 24, 76, 24, 1, 528, 360_600.0),
    ("Anaheim", 416, 914, 38, 39, 1_406, 104_694.40),
    ("Chicago-Sketch", 933, 2_950, 387, 1, 93_513, 1_260_907.44),
    ("Eastern-Massachusetts", 74, 258, 74, 1, 1_113, 65_576.38),
    ("Braess-Example", 4, 5, 2, 1, 1, 6.0),
    ("Berlin-Mitte-Center", 398, 871, 36, 37, 1_260, 11_481.92),
    ("Berlin-Center", 12_981, 28_376, 865, 866, 49_688, 168_222.30),
]


@pytest.mark.parametrize(
    ("name", "nodes", "links", "zones", "first_thru", "pairs", "total"), MEASURED
)
def test_case_counts_match_measured_table(
    shared_data, name, nodes, links, zones, first_thru, pairs, total
):
    case = load_tntp(shared_data / "tntp" / name)
    net = case.network
    assert net.n_nodes == nodes
    assert net.n_edges == links
    assert case.metadata["zones"] == zones
    assert case.metadata["first_thru_node"] == first_thru
    assert case.demand.n_zones == zones
    assert np.count_nonzero(case.demand.matrix) == pairs
    # the table rounds totals to 2 decimals
    assert case.demand.total() == pytest.approx(total, abs=0.006)
    # centroids: zones numbered below the first thru node, and only those
    expected = (net.node_id <= zones) & (net.node_id < first_thru)
    assert np.array_equal(net.centroid, expected)
    # node k is compiled node k - 1
    assert np.array_equal(net.node_id, np.arange(1, nodes + 1))
    # CSR edges map back to the file's links in order
    edges = net.edges
    assert np.array_equal(net.node_id[net.tail], edges["init_node"].to_numpy())
    assert np.array_equal(net.node_id[net.head], edges["term_node"].to_numpy())
    assert sorted(edges["tntp_link"]) == list(range(1, links + 1))


def test_berlin_mitte_keeps_the_node_without_links(shared_data):
    # README §1: "Berlin-Mitte-Center's links touch 397 distinct nodes (one header node has no link)"
    net = load_tntp(shared_data / "tntp" / "Berlin-Mitte-Center").network
    assert net.n_nodes == 398
    assert net.info["tntp"]["nodes_without_links"] == 1
    degree = np.diff(net.indptr) + np.bincount(net.head, minlength=net.n_nodes)
    assert np.count_nonzero(degree == 0) == 1


def test_siouxfalls_attributes_and_units(shared_data):
    case = load_tntp(shared_data / "tntp" / "SiouxFalls")
    net = case.network
    e = net.edges.set_index("tntp_link").loc[1]  # first line: 1 2 25900.20064 6 6 0.15 4 0 0 1
    k = int(np.flatnonzero(net.edges["tntp_link"].to_numpy() == 1)[0])
    assert (e["init_node"], e["term_node"]) == (1, 2)
    assert net.capacity_vph[k] == 25900.20064
    assert net.free_flow_time_s[k] == 6 * 60.0  # minutes -> seconds, exact
    assert (net.alpha[k], net.beta[k], net.toll[k]) == (0.15, 4.0, 0.0)
    # coordinates from SiouxFalls_node.tntp: node 1 at (-96.77041974, 43.61282792)
    assert (net.node_x[0], net.node_y[0]) == (-96.77041974, 43.61282792)
    assert case.metadata["best_objective"] == pytest.approx(42.31335287107440)
    assert len(case.best_flows) == 76
    assert case.best_edge_flows()[k] == pytest.approx(4494.6576464564205)


def test_units_from_header_and_readme(shared_data):
    anaheim = load_tntp(shared_data / "tntp" / "Anaheim").network
    # Anaheim header: Length (ft), Free Flow Time (min); first link 5280 ft, 1.090458488 min
    assert anaheim.info["tntp"]["length_unit"] == "ft"
    assert anaheim.length_m[0] == pytest.approx(5280 * 0.3048)
    assert anaheim.free_flow_time_s[0] == pytest.approx(1.090458488 * 60)
    ema = load_tntp(shared_data / "tntp" / "Eastern-Massachusetts").network
    # EMA README: "Time: hours"; first link free-flow time 0.238965 h
    assert ema.info["tntp"]["time_unit"] == "hours"
    assert ema.free_flow_time_s[0] == pytest.approx(0.238965 * 3600)
    chicago = load_tntp(shared_data / "tntp" / "Chicago-Sketch").network
    # Chicago README: Toll 0.02 minutes/cent, Distance 0.04 minutes/mile
    assert chicago.info["tntp"]["toll_factor"] == 0.02
    assert chicago.info["tntp"]["distance_factor"] == 0.04


def test_flow_files_have_one_row_per_link(shared_data):
    # README §1: SiouxFalls 76, Anaheim 914, Chicago-Sketch 2,950 rows
    for name, rows in [("SiouxFalls", 76), ("Anaheim", 914), ("Chicago-Sketch", 2_950)]:
        folder = shared_data / "tntp" / name
        flows = read_tntp_flows(next(folder.glob("*_flow.tntp")))
        assert list(flows.columns) == ["from_node", "to_node", "volume", "cost"]
        assert len(flows) == rows
        assert (flows["volume"] >= 0).all()


# ---------------------------------------------------------------------------- bad input
NET_HEADER = """<NUMBER OF ZONES> 2
<NUMBER OF NODES> 3
<FIRST THRU NODE> 1
<NUMBER OF LINKS> {links}
<END OF METADATA>

~ init_node term_node capacity length free_flow_time b power speed toll link_type ;
"""
GOOD_LINKS = "\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n\t2\t3\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_small_network_parses(tmp_path):
    net = read_tntp_network(_write(tmp_path, "x_net.tntp", NET_HEADER.format(links=2) + GOOD_LINKS))
    assert (net.n_nodes, net.n_edges) == (3, 2)
    assert net.info["tntp"]["nodes_without_links"] == 0


def test_sydney_columns_are_read_by_the_header(shared_data):
    # Sydney's net file (data/README.md) has 10 fields per line but not the standard ten:
    # "~ init_node term_node capacity length free_flow_time b power speed critical_speed
    # lanes ;" -- no toll or link type; read by position, critical_speed became a toll
    folder = shared_data / "tntp" / "Sydney"
    net = read_tntp_network(folder / "Sydney_net.tntp", node_file=folder / "Sydney_node.tntp")
    tntp = net.info["tntp"]
    assert tntp["columns"][-2:] == ["critical_speed", "lanes"]
    assert tntp["missing_columns"] == ["toll", "link_type"]
    assert (net.toll == 0).all() and (net.edges["link_type"] == 1).all()
    # first link line: 1 6706 2880 0.904 2.26 0.25 4 24 19.2 2
    assert net.edges["critical_speed"].iloc[0] == 19.2
    assert net.lanes[0] == 2.0
    # measured on the file: whole lane counts 1..28, 62,890 of the 75,379 links with one lane
    assert (net.lanes == np.round(net.lanes)).all() and net.lanes.min() == 1.0
    assert (net.lanes == 1.0).sum() == 62_890
    assert net.length_m[0] == pytest.approx(904.0)  # "length (km)" in the original header


def test_columns_in_another_order_and_a_header_missing_one(tmp_path):
    header = NET_HEADER.replace(
        "init_node term_node capacity length free_flow_time b power speed toll link_type",
        "term_node init_node length capacity free_flow_time power b lanes",
    )
    links = "\t2\t1\t5\t100\t1\t4\t0.15\t3\t;\n\t3\t2\t7\t200\t1\t4\t0.15\t1\t;\n"
    net = read_tntp_network(_write(tmp_path, "x_net.tntp", header.format(links=2) + links))
    assert net.tail.tolist() == [0, 1] and net.head.tolist() == [1, 2]
    assert net.capacity_vph.tolist() == [100.0, 200.0]
    assert net.lanes.tolist() == [3.0, 1.0]
    bad = header.replace(" capacity", "")
    with pytest.raises(InputFileError, match="lacks capacity"):
        read_tntp_network(_write(tmp_path, "y_net.tntp", bad.format(links=2) + links))


def test_link_count_disagreeing_with_metadata(tmp_path):
    path = _write(tmp_path, "x_net.tntp", NET_HEADER.format(links=3) + GOOD_LINKS)
    with pytest.raises(InputFileError, match=r"x_net\.tntp.*says 3 but the file has 2"):
        read_tntp_network(path)


def test_malformed_link_line_names_file_and_line(tmp_path):
    text = (
        NET_HEADER.format(links=2)
        + "\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n\t2\t3\t100\tx\t1\t0.15\t4\t0\t0\t1\t;\n"
    )
    with pytest.raises(InputFileError, match=r"x_net\.tntp, line 9: non-numeric"):
        read_tntp_network(_write(tmp_path, "x_net.tntp", text))
    text = (
        NET_HEADER.format(links=2) + "\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n\t2\t3\t100\t1\t;\n"
    )
    with pytest.raises(InputFileError, match=r"line 9: expected 10 columns"):
        read_tntp_network(_write(tmp_path, "x_net.tntp", text))


def test_node_outside_header_range(tmp_path):
    text = (
        NET_HEADER.format(links=2)
        + "\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n\t2\t4\t100\t1\t1\t0.15\t4\t0\t0\t1\t;\n"
    )
    with pytest.raises(InputFileError, match=r"line 9: node numbers must be integers in 1\.\.3"):
        read_tntp_network(_write(tmp_path, "x_net.tntp", text))


def test_negative_capacity_rejected(tmp_path):
    text = (
        NET_HEADER.format(links=2)
        + "\t1\t2\t-100\t1\t1\t0.15\t4\t0\t0\t1\t;\n"
        + GOOD_LINKS.splitlines()[1]
        + "\n"
    )
    with pytest.raises(InputFileError, match=r"line 8: capacity must be finite and >= 0"):
        read_tntp_network(_write(tmp_path, "x_net.tntp", text))


def test_missing_metadata_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="NUMBER OF LINKS"):
        read_tntp_network(
            _write(
                tmp_path,
                "x_net.tntp",
                "<NUMBER OF ZONES> 1\n<NUMBER OF NODES> 2\n<END OF METADATA>\n",
            )
        )
    with pytest.raises(InputFileError, match="not found"):
        read_tntp_network(tmp_path / "missing_net.tntp")
    with pytest.raises(InputFileError, match="END OF METADATA"):
        read_tntp_network(_write(tmp_path, "y_net.tntp", "<NUMBER OF ZONES> 1\n"))


TRIPS = """<NUMBER OF ZONES> 2
<TOTAL OD FLOW> {total}
<END OF METADATA>

Origin 1
    1 :      0.0;     2 :     6.0;
Origin 2
    1 :      4.5;
"""


def test_trips_parse_and_total_check(tmp_path):
    od = read_tntp_trips(_write(tmp_path, "x_trips.tntp", TRIPS.format(total="10.5")))
    assert np.array_equal(od.zones, [1, 2])
    assert np.array_equal(od.matrix, [[0.0, 6.0], [4.5, 0.0]])
    with pytest.raises(
        InputFileError, match=r"<TOTAL OD FLOW> says 11\.5 but the OD pairs sum to 10\.5"
    ):
        read_tntp_trips(_write(tmp_path, "y_trips.tntp", TRIPS.format(total="11.5")))
    assert read_tntp_trips(tmp_path / "y_trips.tntp", check_total=False).total() == 10.5


def test_malformed_trips(tmp_path):
    bad = TRIPS.format(total="10.5").replace("2 :     6.0;", "2 ;     6.0;")
    with pytest.raises(
        InputFileError, match=r"x_trips\.tntp, line 6: expected 'destination : flow;'"
    ):
        read_tntp_trips(_write(tmp_path, "x_trips.tntp", bad))
    bad = TRIPS.format(total="10.5").replace("Origin 2", "Origin 3")
    with pytest.raises(InputFileError, match=r"line 7: origin 3 is not a zone in 1\.\.2"):
        read_tntp_trips(_write(tmp_path, "x_trips.tntp", bad))
    bad = TRIPS.format(total="10.5").replace("4.5", "-4.5")
    with pytest.raises(InputFileError, match=r"line 8: demand 2 -> 1 is -4\.5"):
        read_tntp_trips(_write(tmp_path, "x_trips.tntp", bad))
    bad = TRIPS.format(total="16.5").replace("2 :     6.0;", "2 :     6.0; 2 : 6.0;")
    with pytest.raises(InputFileError, match=r"OD pair 1 -> 2 listed twice"):
        read_tntp_trips(_write(tmp_path, "x_trips.tntp", bad))


def test_load_tntp_by_name_and_missing_case(shared_data, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_DATA", str(shared_data))
    assert load_tntp("Braess-Example").network.n_edges == 5
    with pytest.raises(InputFileError, match="TNTP case not found"):
        load_tntp("No-Such-Case")
