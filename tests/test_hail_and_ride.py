"""Hail-and-ride lines: boarding anywhere along the route (angkot)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from transitopt.geo import haversine_m
from transitopt.transit import (
    GraphParameters,
    Line,
    Stop,
    TransitSupply,
    assign_transit,
    build_transit_graph,
    read_gtfs,
)
from transitopt.transit.graph import ACCESS
from transitopt.transit.gtfs import is_hail_and_ride_route
from transitopt.transit.hail_and_ride import boarding_points

#: metres per degree of longitude on the equator and of latitude, as geo.haversine_m
#: measures them (so that the hand computation is in exact metres)
M_PER_DEG = float(haversine_m(0.0, 0.0, 1.0, 0.0))


def _deg(metres: float) -> float:
    return metres / M_PER_DEG


def _supply(hail_and_ride: bool) -> TransitSupply:
    """Stops A (x = 0), B (1 km) and C (3 km) on a straight east-west line; 10 m/s."""
    stops = [Stop(name, name, _deg(x), 0.0) for name, x in (("A", 0), ("B", 1000), ("C", 3000))]
    line = Line(
        "L",
        "L",
        "minibus",
        ("A", "B", "C"),
        headway_s=600.0,
        speed_kph=36.0,
        dwell_s=0.0,
        hail_and_ride=hail_and_ride,
    )
    return TransitSupply.from_stops(stops, [line])


#: zone Z 200 m off the middle of A-B, zone W 150 m off C
ZONES = pd.DataFrame(
    {"zone": ["Z", "W"], "lon": [_deg(500), _deg(3000)], "lat": [_deg(200), _deg(150)]}
)

#: crow-fly walks (walk_detour_factor 1) and vehicles on the straight line (detour_factor 1)
PARAMS = GraphParameters(walk_detour_factor=1.0, detour_factor=1.0, max_transfer_walk_m=0.0)


def _shortest_access_m(graph) -> float:
    table = graph.links_table()
    access = table[(table["kind"] == "access") & (table["tail"] == graph.origin_node[0])]
    return float(access["walk_s"].min() * PARAMS.walk_speed_mps)


@pytest.mark.parametrize(
    ("spacing_m", "expected_m"),
    [
        # 10 pieces of 100 m: a point at x = 500 m, straight beside Z
        (100.0, 200.0),
        # ceil(1000 / 400) = 3 pieces: points at x = 333.3 and 666.7, 166.7 m along from Z
        (400.0, math.hypot(1000 / 6, 200.0)),
    ],
)
def test_access_walks_to_the_nearest_point_of_the_route(spacing_m, expected_m):
    # hand computation: stops only, the nearest stop is A or B, hypot(500, 200) = 538.5 m
    stops_only = build_transit_graph(_supply(False), zones=ZONES, params=PARAMS)
    assert _shortest_access_m(stops_only) == pytest.approx(math.hypot(500, 200), abs=0.5)
    params = GraphParameters(**{**vars(PARAMS), "hail_and_ride_spacing_m": spacing_m})
    hail = build_transit_graph(_supply(True), zones=ZONES, params=params)
    access = _shortest_access_m(hail)
    # 0.5 m: haversine on the sphere vs the plane hypotenuse over 1 km near the equator
    assert access == pytest.approx(expected_m, abs=0.5)
    assert access <= 200.0 + spacing_m / 2  # the documented bound
    assert hail.info["hail_and_ride_points"] == (math.ceil(1000 / spacing_m) - 1) + (
        math.ceil(2000 / spacing_m) - 1
    )


def test_trip_boards_beside_the_zone_and_rides_the_rest():
    """Z to W. Stops only: walk 538.5 m to B, ride 2 km (200 s at 10 m/s), walk 150 m.
    Hail-and-ride: walk 200 m, ride 2.5 km from x = 500 m (250 s), walk 150 m; both wait
    half the 600 s headway (wait factor 0.5). Boarding 100 m further on (x = 600 m) walks
    223.6 m: 19.7 s more walking for 10 s less riding, so x = 500 m is the best point."""
    speed, walk = 10.0, PARAMS.walk_speed_mps
    stops_only = assign_transit(
        build_transit_graph(_supply(False), zones=ZONES, params=PARAMS), np.zeros((2, 2))
    )
    hail = assign_transit(
        build_transit_graph(_supply(True), zones=ZONES, params=PARAMS), np.zeros((2, 2))
    )
    assert stops_only.skim("in_vehicle_s")[0, 1] == pytest.approx(2000 / speed, rel=1e-6)
    assert stops_only.skim("walk_s")[0, 1] == pytest.approx(
        (math.hypot(500, 200) + 150) / walk, abs=0.5
    )
    assert hail.skim("in_vehicle_s")[0, 1] == pytest.approx(2500 / speed, rel=1e-6)
    assert hail.skim("walk_s")[0, 1] == pytest.approx((200 + 150) / walk, abs=0.5)
    assert hail.skim("wait_s")[0, 1] == pytest.approx(300.0)
    assert hail.skim("total_s")[0, 1] == pytest.approx(300 + 2500 / speed + 350 / walk, abs=0.5)
    assert hail.skim("total_s")[0, 1] < stops_only.skim("total_s")[0, 1]


def test_boarding_points_keep_end_to_end_time_and_dwell():
    line = Line(
        "L", "L", "minibus", ("A", "B", "C"), headway_s=600.0, dwell_s=20.0, hail_and_ride=True
    )
    coords = np.array([[0.0, 0.0], [_deg(1000), 0.0], [_deg(3000), 0.0]])
    dense, points = boarding_points(line, coords, np.array([200.0, 400.0]), spacing_m=250.0)
    assert dense.stop_ids[0] == "A" and dense.stop_ids[4] == "B" and dense.stop_ids[-1] == "C"
    assert len(points) == 3 + 7 and dense.dwell_s == 0.0
    times = np.asarray(dense.running_times_s)
    np.testing.assert_allclose(times[:4], 50.0)
    np.testing.assert_allclose(times[4], 50.0 + 20.0)  # the dwell at B, paid leaving it
    assert times.sum() == pytest.approx(200 + 400 + 20)
    gaps = haversine_m(*coords[0], points["lon"].to_numpy(), points["lat"].to_numpy())
    np.testing.assert_allclose(
        np.sort(gaps), [250, 500, 750, 1250, 1500, 1750, 2000, 2250, 2500, 2750], atol=0.01
    )


def test_stop_to_stop_graph_ignores_the_flag():
    graph = build_transit_graph(_supply(True), zones="stops", params=PARAMS)
    assert len(graph.stop_ids) == 3 and graph.info["hail_and_ride_points"] == 0
    assert not (graph.kind == ACCESS).any()


def test_gtfs_rule_names_angkot_and_share_taxis():
    bogor = {"operator": "Pemerintah Kota Bogor angkotan kota", "route_type": 3}
    assert is_hail_and_ride_route(bogor)
    assert is_hail_and_ride_route({"route_short_name": "T01", "route_desc": "Angkutan Kota"})
    assert is_hail_and_ride_route({"route_type": "1501"})  # communal taxi
    assert not is_hail_and_ride_route({"operator": "Transjakarta", "route_type": 3})
    assert not is_hail_and_ride_route({"route_type": float("nan"), "route_long_name": None})


def test_walk_transfers_reach_the_nearest_point_of_each_other_line():
    """Two parallel 1 km hail-and-ride lines 50 m apart, points every 100 m: from each
    stop or point one walk transfer to the nearest point or stop of the other line (no
    transfer between points of one line)."""
    stops = [
        Stop(sid, sid, _deg(x), _deg(y))
        for sid, x, y in (("A", 0, 0), ("B", 1000, 0), ("C", 0, 50), ("D", 1000, 50))
    ]
    lines = [
        Line(lid, lid, "minibus", ids, headway_s=600.0, hail_and_ride=True)
        for lid, ids in (("L1", ("A", "B")), ("L2", ("C", "D")))
    ]
    params = GraphParameters(**{**vars(PARAMS), "max_transfer_walk_m": 150.0})
    graph = build_transit_graph(TransitSupply.from_stops(stops, lines), zones=ZONES, params=params)
    table = graph.links_table()
    walks = table[table["kind"] == "walk_transfer"]
    stop_of_departure = dict(zip(graph.stop_departure_node, graph.stop_ids, strict=True))
    pairs = [
        (tail, stop_of_departure[head])
        for tail, head in zip(walks["stop"], walks["head"], strict=True)
    ]
    point_pairs = [(a, b) for a, b in pairs if "~" in a and "~" in b]
    assert all(a.split("~")[0] != b.split("~")[0] for a, b in point_pairs)  # other line only
    assert len(point_pairs) == 2 * 9  # 9 points per line, each to one point of the other
    from_points = walks[[("~" in a and "~" in b) for a, b in pairs]]
    np.testing.assert_allclose(from_points["walk_s"] * PARAMS.walk_speed_mps, 50.0, atol=0.01)


@pytest.mark.slow
def test_bogor_angkot_hail_and_ride_shortens_access(require_data):
    """Bogor's 24 angkot routes, zones on a 1 km grid over the stops, crow-fly walks x 1.3:
    the mean walk to the nearest point of a route is shorter than to the nearest stop
    (≈ 410 m -> 330 m on a 500 m grid, see docs/model.md), and so are the trips."""
    feed = require_data("gtfs/bogor_angkot.zip")
    stops_only, _ = read_gtfs(feed, hail_and_ride=False)
    hail, _ = read_gtfs(feed)  # the angkot rule marks every route of the feed
    assert all(line.hail_and_ride for line in hail.lines)
    assert not any(line.hail_and_ride for line in stops_only.lines)
    lon, lat = stops_only.stops["lon"], stops_only.stops["lat"]
    step_lat = 1000 / M_PER_DEG
    step_lon = step_lat / math.cos(math.radians(float(lat.mean())))
    grid = [
        (x, y)
        for x in np.arange(lon.min(), lon.max() + step_lon, step_lon)
        for y in np.arange(lat.min(), lat.max() + step_lat, step_lat)
    ]
    zones = pd.DataFrame(
        {"zone": range(len(grid)), "lon": [g[0] for g in grid], "lat": [g[1] for g in grid]}
    )

    def access_m(graph) -> pd.Series:
        table = graph.links_table()
        access = table[table["kind"] == "access"]
        return access.groupby("tail")["walk_s"].min() * PARAMS.walk_speed_mps

    graphs = [build_transit_graph(s, zones=zones) for s in (stops_only, hail)]
    walk_stops, walk_hail = (access_m(g) for g in graphs)
    assert graphs[1].info["hail_and_ride_points"] > 3000  # ~100 m apart along ~24 routes
    served = walk_stops.index
    assert set(served) <= set(walk_hail.index)  # every zone near a stop is near its route
    assert (walk_hail[served] <= walk_stops + 1e-6).all()  # a stop is a point of the route
    assert walk_hail[served].mean() < 0.9 * walk_stops.mean()
    total = [assign_transit(g, np.zeros((len(zones),) * 2)).skim("total_s") for g in graphs]
    both = np.isfinite(total[0]) & np.isfinite(total[1])
    np.fill_diagonal(both, False)
    assert total[1][both].mean() < total[0][both].mean()
