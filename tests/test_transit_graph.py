"""The transit graph builder: links per line, running times (drive paths checked with
networkx, straight lines with pyproj's geodesic), walking links (walk-network paths
checked with networkx) and the documented defaults."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from transitopt import InputFileError, Network
from transitopt.transit import GraphParameters, Line, Stop, TransitSupply, build_transit_graph
from transitopt.transit.defaults import MODE_DEFAULTS
from transitopt.transit.graph import (
    ACCESS,
    ALIGHT,
    BOARD,
    DWELL,
    EGRESS,
    RIDE,
    TRANSFER,
    WALK_ONLY,
    WALK_TRANSFER,
)

LAT0 = -6.2
DEG_PER_100M = 100.0 / 111_195.0  # 100 m of latitude (mean Earth radius 6371.0088 km)


def stop(name: str, east_m: float, north_m: float) -> Stop:
    lon = 106.8 + east_m / 100.0 * DEG_PER_100M / np.cos(np.deg2rad(LAT0))
    return Stop(name, name, lon, LAT0 + north_m / 100.0 * DEG_PER_100M)


def small_supply(**line_options) -> TransitSupply:
    # four stops on a west-east street, 400 m apart, and one 3 km north
    stops = [
        stop("a", 0, 0),
        stop("b", 400, 0),
        stop("c", 800, 0),
        stop("d", 1200, 0),
        stop("far", 0, 3000),
    ]
    lines = [
        Line("L1", "1", "bus", ("a", "b", "c", "d"), 600.0, **line_options),
        Line("T", "T", "tram", ("d", "far"), 300.0),
    ]
    return TransitSupply.from_stops(stops, lines)


def test_links_per_line_and_frequencies():
    graph = build_transit_graph(small_supply(running_times_s=(60.0, 70.0, 80.0), dwell_s=15.0))
    kinds = graph.links_table()
    assert (graph.kind == BOARD).sum() == 3 + 1
    assert (graph.kind == RIDE).sum() == 3 + 1
    assert (graph.kind == DWELL).sum() == 2  # intermediate stops b, c of L1
    assert (graph.kind == ALIGHT).sum() == 3 + 1
    assert (graph.kind == TRANSFER).sum() == 5
    board = kinds[kinds["kind"] == "board"]
    assert np.allclose(board.loc[board["line"] == "L1", "freq_hz"], 1 / 600.0)
    assert np.isinf(graph.freq_hz[graph.kind != BOARD]).all()
    ride = kinds[(kinds["kind"] == "ride") & (kinds["line"] == "L1")]
    assert ride["cost_s"].tolist() == [60.0, 70.0, 80.0]
    assert kinds.loc[kinds["kind"] == "dwell", "cost_s"].tolist() == [15.0, 15.0]
    # walking transfers between stops 400 m apart: 400 * 1.3 = 520 m > 300 m default, none
    assert (graph.kind == WALK_TRANSFER).sum() == 0
    assert graph.params.walk_speed_mps == 1.2


def test_straight_line_running_times_against_geodesic():
    from pyproj import Geod

    supply = small_supply()
    graph = build_transit_graph(supply)
    ride = graph.links_table().query("kind == 'ride'")
    geod = Geod(ellps="WGS84")
    for line in supply.lines:
        xy = supply.stops.loc[list(line.stop_ids), ["lon", "lat"]].to_numpy()
        _, _, metres = geod.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
        expected = (
            metres * GraphParameters().detour_factor / (MODE_DEFAULTS[line.mode].speed_kph / 3.6)
        )
        # spherical vs ellipsoidal distance: within 0.5 %
        np.testing.assert_allclose(ride.loc[ride["line"] == line.id, "cost_s"], expected, rtol=5e-3)
    assert graph.info["repairs"]["line segments timed on the straight line x detour_factor"] == 4


def grid_network(
    n: int = 6, spacing_m: float = 200.0, drop: tuple[int, int] | None = None
) -> Network:
    """An n x n street grid, two-way edges, with the given node pair's edge removed."""
    ids = np.arange(n * n)
    east = (ids % n) * spacing_m
    north = (ids // n) * spacing_m
    lon = 106.8 + east / 100.0 * DEG_PER_100M / np.cos(np.deg2rad(LAT0))
    lat = LAT0 + north / 100.0 * DEG_PER_100M
    tail, head = [], []
    for i in ids:
        for j in (i + 1 if (i + 1) % n else None, i + n if i + n < n * n else None):
            if j is None or (drop and {i, j} == set(drop)):
                continue
            tail += [i, j]
            head += [j, i]
    tail, head = np.array(tail), np.array(head)
    length = np.hypot(east[tail] - east[head], north[tail] - north[head])
    return Network.from_edges(tail, head, n_nodes=n * n, node_x=lon, node_y=lat, length_m=length)


def test_bus_running_times_follow_drive_paths():
    drive = grid_network(n=8, spacing_m=200.0)
    # stops exactly on grid nodes 0 (0,0), 2 (400,0), 18 (400,400) and 63 (1400, 1400)
    stops = [stop("s0", 0, 0), stop("s2", 400, 0), stop("s18", 400, 400), stop("s63", 1400, 1400)]
    supply = TransitSupply.from_stops(
        stops, [Line("B", "B", "bus", ("s0", "s2", "s18", "s63"), 600.0, speed_kph=20.0)]
    )
    graph = build_transit_graph(supply, drive_network=drive)
    rides = graph.cost_s[graph.kind == RIDE]
    G = nx.DiGraph()
    for u, v, w in zip(drive.tail, drive.head, drive.length_m, strict=True):
        G.add_edge(int(u), int(v), length=float(w))
    expected = [
        nx.shortest_path_length(G, a, b, weight="length") for a, b in [(0, 2), (2, 18), (18, 63)]
    ]
    # snapping distances are below a millimetre here (stops on the nodes)
    np.testing.assert_allclose(rides, np.array(expected) / (20.0 / 3.6), atol=1e-3)


def test_unconnected_bus_stops_fall_back_and_are_reported():
    drive = grid_network(n=2, spacing_m=300.0, drop=(0, 1))
    drive = Network.from_edges(
        drive.tail[:2],
        drive.head[:2],
        n_nodes=4,
        node_x=drive.node_x,
        node_y=drive.node_y,
        length_m=drive.length_m[:2],
    )
    stops = [stop("s0", 0, 0), stop("s1", 300, 0)]
    supply = TransitSupply.from_stops(stops, [Line("B", "B", "bus", ("s0", "s1"), 600.0)])
    graph = build_transit_graph(supply, drive_network=drive)
    key = "bus segments not connected in the drive network (straight line x detour_factor used)"
    assert graph.info["repairs"][key] == 1
    assert np.isfinite(graph.cost_s).all()


def test_walk_links_on_a_walk_network():
    walk = grid_network(n=6, spacing_m=100.0)
    stops = [stop("a", 0, 0), stop("b", 200, 100), stop("c", 500, 500)]
    supply = TransitSupply.from_stops(
        stops, [Line("L", "L", "bus", ("a", "b", "c"), 600.0, running_times_s=(60.0, 60.0))]
    )
    zones = pd.DataFrame(
        {"zone": [1, 2], "x": [stops[0].lon, stops[2].lon], "y": [stops[0].lat, stops[2].lat]}
    )
    params = GraphParameters(max_access_walk_m=350.0, max_transfer_walk_m=300.0)
    graph = build_transit_graph(supply, zones=zones, walk_network=walk, params=params)
    G = nx.Graph()
    for u, v, w in zip(walk.tail, walk.head, walk.length_m, strict=True):
        G.add_edge(int(u), int(v), length=float(w))
    table = graph.links_table()
    access = table[table["kind"] == "access"]
    # zone 1 sits on stop a (node 0): a at 0 m, b (node 8) at 300 m by the grid; c is 1000 m away
    zone1 = access[access["tail"] == graph.origin_node[0]].set_index("stop")
    assert zone1.loc["a", "walk_s"] == pytest.approx(0.0, abs=1e-3)
    assert zone1.loc["b", "walk_s"] == pytest.approx(
        nx.shortest_path_length(G, 0, 8, weight="length") / 1.2, abs=1e-3
    )
    assert "c" not in zone1.index
    # walking transfers a <-> b (300 m) within 300 m; c is farther
    transfers = table[table["kind"] == "walk_transfer"]
    assert sorted(transfers["stop"]) == ["a", "b"]
    assert (graph.kind == ACCESS).sum() == (graph.kind == EGRESS).sum()
    # the zones are 1000 m apart on the grid: no walk-only link at 350 m
    assert (graph.kind == WALK_ONLY).sum() == 0


def test_straight_walk_without_network_and_unserved_zones():
    supply = small_supply(running_times_s=(60.0, 60.0, 60.0))
    far_away = stop("z", 5000, 5000)
    zones = pd.DataFrame(
        {"zone": [10, 11], "lon": [supply.stop("b").lon, far_away.lon], "lat": [LAT0, far_away.lat]}
    )
    graph = build_transit_graph(supply, zones=zones)
    access = graph.links_table().query("kind == 'access'")
    b = access[access["stop"] == "b"].iloc[0]
    assert b["walk_s"] == pytest.approx(0.0, abs=1e-6)
    a = access[access["stop"] == "a"].iloc[0]
    assert a["walk_s"] == pytest.approx(400.0 * 1.3 / 1.2, rel=2e-3)
    assert (
        graph.info["repairs"]["zones without a stop within max_access_walk_m (transit unreachable)"]
        == 1
    )


def test_bad_supplies():
    with pytest.raises(InputFileError, match="stop 'x' has no coordinates"):
        Stop("x", "x", float("nan"), 0.0)
    with pytest.raises(InputFileError, match="line 'L' names stop"):
        TransitSupply.from_stops([stop("a", 0, 0)], [Line("L", "L", "bus", ("a", "zz"), 300.0)])
    with pytest.raises(InputFileError, match="line id 'L' appears twice"):
        line = Line("L", "L", "bus", ("a", "b"), 300.0)
        TransitSupply.from_stops([stop("a", 0, 0), stop("b", 1, 0)], [line, line])
    with pytest.raises(ValueError, match="walk_speed_mps must be positive"):
        GraphParameters(walk_speed_mps=0.0)
    supply = TransitSupply.from_stops(
        [stop("a", 0, 0), stop("b", 100, 0)],
        [Line("P", "P", "bus", ("a", "b"), {"am": 300.0, "pm": 600.0})],
    )
    with pytest.raises(KeyError, match="line 'P'.*name one"):
        build_transit_graph(supply)
    graph = build_transit_graph(supply, period="pm")
    assert graph.line_headway_s.tolist() == [600.0]


def test_street_routes_follow_fastest_bus_paths_and_fall_back_when_unconnected():
    from transitopt.transit.street_routes import buses_per_link, route_lines, segment_times

    grid = grid_network(n=6, spacing_m=200.0)
    drive = Network.from_edges(
        grid.tail, grid.head, n_nodes=grid.n_nodes, node_x=grid.node_x, node_y=grid.node_y,
        length_m=grid.length_m, free_flow_time_s=grid.length_m / 10.0,
    )  # fmt: skip
    # a bus from node 0 (0, 0) to 14 (400, 400) and on to 35 (1000, 1000); a second bus
    # to a stop 5 km away (not snapped: unrouted)
    stops = [stop("s0", 0, 0), stop("s14", 400, 400), stop("s35", 1000, 1000)]
    stops.append(stop("away", 0, 5000))
    lines = [
        Line("B", "B", "bus", ("s0", "s14", "s35"), 600.0),
        Line("C", "C", "bus", ("s35", "away"), 300.0),
        Line("T", "T", "tram", ("s0", "s35"), 300.0),
    ]
    supply = TransitSupply.from_stops(stops, lines)
    routes = route_lines(supply, drive, detour_factor=1.3)
    assert routes.lines == ("B", "C")  # bus-type lines only
    assert routes.seg_routed.tolist() == [True, True, False]
    G = nx.DiGraph()
    for k, (u, v) in enumerate(zip(drive.tail, drive.head, strict=True)):
        G.add_edge(int(u), int(v), time=float(drive.free_flow_time_s[k]), edge=k)
    for seg, (a, b) in enumerate([(0, 14), (14, 35)]):
        edges = routes.inc_edge[routes.inc_seg == seg]
        assert drive.tail[edges[0]] == a and drive.head[edges[-1]] == b
        assert np.array_equal(drive.head[edges[:-1]], drive.tail[edges[1:]])
        cost = nx.shortest_path_length(G, a, b, weight="time")
        assert drive.free_flow_time_s[edges].sum() == pytest.approx(cost, rel=1e-12)
        assert routes.seg_length_m[seg] == pytest.approx(drive.length_m[edges].sum(), abs=1e-3)
    # unrouted: straight line x detour, no links; NaN running time
    assert routes.seg_length_m[2] == pytest.approx(np.hypot(1000, 4000) * 1.3, rel=1e-3)
    assert not np.isin(2, routes.inc_seg)
    v_max = np.array([10.0, 10.0])
    times = segment_times(
        routes,
        drive,
        drive.free_flow_time_s,
        bus_free_flow=np.zeros(drive.n_edges, dtype=bool),
        v_max_mps=v_max,
    )
    assert np.isfinite(times[:2]).all() and np.isnan(times[2])
    per_link = buses_per_link(routes, drive.n_edges, np.array([600.0, 300.0]))
    assert per_link[routes.inc_edge].min() == 6.0 and per_link.sum() == 6.0 * routes.inc_edge.size
    # links without a free-flow time are not used (here: none has one)
    assert not route_lines(supply, grid).seg_routed.any()
