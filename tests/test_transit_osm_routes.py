"""OSM route relations: the embedded Helsinki extract (counts from shared/data/README.md
section 3) and a small hand-written OSM file with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transitopt import InputFileError
from transitopt.transit import read_osm_routes
from transitopt.transit.defaults import OSM_DEFAULT_HEADWAY_S

HELSINKI_BBOX = (24.935176, 60.164155, 24.953415, 60.179113)  # header bbox, README section 3


def test_helsinki_route_relations(require_data):
    supply, report = read_osm_routes(require_data("osm/Helsinki.osm.pbf"))
    # README: 216 PT route relations (bus 161, tram 20, train 31, subway 4)
    assert report.count("route relations read") == 216
    skipped = report.count("fewer than 2 stops located")
    assert skipped > 0  # the extract is clipped at its bbox
    assert len(supply.lines) + skipped == 216
    modes = supply.lines_table()["mode"].value_counts()
    assert modes.get("tram", 0) == 20  # every tram route crosses the centre
    assert set(modes.index) <= {"bus", "tram", "rail"}
    # every stop lies in (or on the edge of) the extract: a way platform's centroid is
    # taken over its vertices inside the file
    lon, lat = supply.stops["lon"].to_numpy(), supply.stops["lat"].to_numpy()
    pad = 0.01
    assert np.all((lon >= HELSINKI_BBOX[0] - pad) & (lon <= HELSINKI_BBOX[2] + pad))
    assert np.all((lat >= HELSINKI_BBOX[1] - pad) & (lat <= HELSINKI_BBOX[3] + pad))
    assert all(line.headway_s > 0 for line in supply.lines)


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="60.1700" lon="24.9400"><tag k="public_transport" v="stop_position"/><tag k="name" v="Alpha"/></node>
  <node id="2" lat="60.1710" lon="24.9410"><tag k="public_transport" v="stop_position"/><tag k="name" v="Beta"/></node>
  <node id="3" lat="60.1720" lon="24.9420"><tag k="public_transport" v="stop_position"/><tag k="name" v="Gamma"/></node>
  <node id="10" lat="60.1700" lon="24.9402"/>
  <node id="11" lat="60.1702" lon="24.9402"/>
  <node id="12" lat="60.1702" lon="24.9404"/>
  <node id="13" lat="60.1700" lon="24.9404"/>
  <node id="20" lat="60.1730" lon="24.9430"><tag k="public_transport" v="platform"/><tag k="name" v="Delta"/></node>
  <way id="100"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><tag k="public_transport" v="platform"/><tag k="name" v="Alpha platform"/></way>
  <way id="101"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
  <relation id="500">
    <member type="node" ref="1" role="stop"/><member type="way" ref="100" role="platform"/>
    <member type="node" ref="2" role="stop_entry_only"/>
    <member type="node" ref="3" role="stop_exit_only"/>
    <member type="way" ref="101" role=""/>
    <tag k="type" v="route"/><tag k="route" v="tram"/><tag k="ref" v="7"/><tag k="interval" v="00:15"/>
  </relation>
  <relation id="501">
    <member type="node" ref="999" role="stop"/><member type="way" ref="100" role="platform"/>
    <member type="node" ref="20" role="platform"/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="name" v="Bus 55"/>
  </relation>
  <relation id="502">
    <member type="node" ref="3" role="stop"/><member type="node" ref="998" role="stop"/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="clipped"/>
  </relation>
  <relation id="503">
    <member type="node" ref="1" role="stop"/><member type="node" ref="2" role="stop"/>
    <tag k="type" v="route"/><tag k="route" v="ferry"/>
  </relation>
</osm>
"""


def test_hand_written_routes(tmp_path: Path):
    path = tmp_path / "routes.osm"
    path.write_text(OSM_XML)
    supply, report = read_osm_routes(path)
    assert report.count("route relations read") == 3  # the ferry is not a transit mode here
    assert report.count("fewer than 2 stops located") == 1  # 502: one stop in the file
    tram = supply.line("relation/500")
    assert tram.mode == "tram" and tram.name == "7"
    assert tram.stop_ids == ("node/1", "node/2", "node/3")  # stop positions, not the platform
    assert tram.headway_s == 900.0  # interval 00:15
    bus = supply.line("relation/501")
    # one located stop position (node 999 is not in the file) but two located platforms
    assert bus.stop_ids == ("way/100", "node/20")
    assert bus.name == "Bus 55"
    assert bus.headway_s == OSM_DEFAULT_HEADWAY_S["bus"]
    centroid = supply.stop("way/100")
    assert (centroid.lon, centroid.lat) == pytest.approx((24.9403, 60.1701), abs=1e-9)
    assert centroid.name == "Alpha platform"


def test_no_route_relation(tmp_path: Path):
    path = tmp_path / "empty.osm"
    path.write_text("<?xml version='1.0'?><osm version='0.6'><node id='1' lat='0' lon='0'/></osm>")
    with pytest.raises(InputFileError, match="no route relation"):
        read_osm_routes(path)
    with pytest.raises(InputFileError, match="not found"):
        read_osm_routes(tmp_path / "missing.osm.pbf")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10", 600.0),
        ("00:10", 600.0),
        ("00:07:30", 450.0),
        ("5; 10", 300.0),
        ("often", None),
        ("0", None),
    ],
)
def test_interval_tag(text, seconds):
    from transitopt.transit.osm_routes import _parse_interval

    assert _parse_interval(text) == seconds


# A straight east-west road at lat 60.17 (1e-3 deg lon = 55.5 m, 1e-4 deg lat = 11.1 m)
# drawn as way 200 (west -> east), way 201 (drawn east -> west, so it must be reversed)
# and way 202, which starts 28 m past the end of 201 without a shared node (a gap).
WAYS_ONLY_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="30" lat="60.1700" lon="24.9400"/>
  <node id="31" lat="60.1700" lon="24.9430"/>
  <node id="32" lat="60.1700" lon="24.9460"/>
  <node id="33" lat="60.1700" lon="24.9480"/>
  <node id="34" lat="60.1700" lon="24.9500"/>
  <node id="50" lat="60.1700" lon="24.9505"/>
  <node id="51" lat="60.1700" lon="24.9550"/>
  <node id="40" lat="60.17009" lon="24.9420"><tag k="highway" v="bus_stop"/><tag k="name" v="West"/></node>
  <node id="41" lat="60.169865" lon="24.9423"><tag k="highway" v="bus_stop"/><tag k="name" v="West"/></node>
  <node id="44" lat="60.169955" lon="24.9455"><tag k="public_transport" v="platform"/><tag k="name" v="Middle"/></node>
  <node id="43" lat="60.17045" lon="24.9450"><tag k="highway" v="bus_stop"/><tag k="name" v="Too far"/></node>
  <node id="42" lat="60.170072" lon="24.9480"><tag k="highway" v="bus_stop"/><tag k="name" v="East"/></node>
  <node id="45" lat="60.16991" lon="24.9478"><tag k="highway" v="bus_stop"/><tag k="name" v="East"/></node>
  <node id="46" lat="60.17009" lon="24.9530"><tag k="highway" v="bus_stop"/><tag k="name" v="Far East"/></node>
  <node id="47" lat="60.17009" lon="24.9410"><tag k="railway" v="tram_stop"/><tag k="name" v="Tram only"/></node>
  <way id="200"><nd ref="30"/><nd ref="31"/><nd ref="32"/><tag k="highway" v="primary"/></way>
  <way id="201"><nd ref="34"/><nd ref="33"/><nd ref="32"/><tag k="highway" v="primary"/></way>
  <way id="202"><nd ref="50"/><nd ref="51"/><tag k="highway" v="primary"/></way>
  <relation id="600">
    <member type="way" ref="200" role=""/><member type="way" ref="201" role=""/>
    <member type="way" ref="202" role=""/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="A"/>
  </relation>
  <relation id="601">
    <member type="way" ref="200" role=""/><member type="way" ref="201" role=""/>
    <member type="node" ref="44" role="forward_stop"/><member type="node" ref="40" role="forward_stop"/>
    <member type="node" ref="42" role="forward_stop"/>
    <member type="node" ref="41" role="backward_stop"/><member type="node" ref="45" role="backward_stop"/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="B"/>
  </relation>
  <relation id="602">
    <member type="way" ref="200" role=""/><member type="way" ref="201" role=""/>
    <member type="node" ref="9999" role="stop"/><member type="node" ref="9998" role="stop"/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="C"/>
  </relation>
</osm>
"""


def test_stops_derived_beside_ways_only_route(tmp_path: Path):
    path = tmp_path / "ways_only.osm"
    path.write_text(WAYS_ONLY_XML)
    supply, report = read_osm_routes(path)
    line = supply.line("relation/600")
    # West (10 m north; its other platform 41 is 17 m along and 15 m off: merged, the
    # nearer kept), Middle (a platform node 5 m south), East (8 m north; 45 is 11 m along
    # and 10 m off: merged), Far East beyond the gap; "Too far" is 50 m off; the tram stop
    # is no bus stop.
    assert line.stop_ids == ("node/40", "node/44", "node/42", "node/46")
    assert [supply.stop(s).name for s in line.stop_ids] == ["West", "Middle", "East", "Far East"]
    assert report.count("stops derived from bus stops") == 1
    row = report.routes.set_index("relation").loc[600]
    assert row["stops_from"].startswith("derived")
    assert row["path_gaps"] == 1 and report.count("sharing no node") == 1
    # 0.9460-0.9400 + 0.9500-0.9460 + 0.9550-0.9505 deg lon and the 0.0005 deg jump:
    # 0.015 deg x 111.195 km x cos(60.17 deg) = 0.830 km (rounded to 10 m in the table)
    assert row["path_km"] == pytest.approx(0.015 * 111.195 * np.cos(np.radians(60.17)), abs=0.006)


def test_two_way_relation_split_and_ordered_along_ways(tmp_path: Path):
    path = tmp_path / "ways_only.osm"
    path.write_text(WAYS_ONLY_XML)
    supply, report = read_osm_routes(path)
    forward = supply.line("relation/601:forward")
    backward = supply.line("relation/601:backward")
    # forward_stop members listed Middle, West, East: put in order along the ways
    assert forward.stop_ids == ("node/40", "node/44", "node/42")
    # backward_stop members listed west to east: the backward direction runs east to west
    assert backward.stop_ids == ("node/45", "node/41")
    assert (forward.direction_id, backward.direction_id) == (0, 1)
    assert forward.name == backward.name == "B"
    assert report.count("split into two lines") == 1
    # 602 has stop members, all outside the file: skipped, not derived from the ways
    assert "relation/602" not in {ln.id for ln in supply.lines}
    status = report.routes.set_index("relation").loc[602, "status"]
    assert status == "skipped: 0 stop(s) in the file, 2 outside"


def test_chain_ways_reversed_roundabout_and_gap():
    from transitopt.transit.osm_route_paths import chain_ways

    a = [(1, 0.0, 0.0), (2, 1.0, 0.0)]
    b = [(3, 2.0, 0.0), (2, 1.0, 0.0)]  # drawn against the travel direction
    ring = [(3, 2.0, 0.0), (4, 2.5, 0.5), (5, 3.0, 0.0), (6, 2.5, -0.5), (3, 2.0, 0.0)]
    c = [(5, 3.0, 0.0), (7, 4.0, 0.0)]  # leaves the roundabout at node 5
    d = [(8, 5.0, 0.0), (9, 6.0, 0.0)]  # no shared node: a gap
    path = chain_ways([a, b, ring, c, d])
    assert path is not None
    assert list(path.lon) == [0.0, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0]
    assert list(path.lat) == [0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    assert path.gaps == 1
    # the first way reversed when the second joins its start
    path = chain_ways([list(reversed(a)), b])
    assert path is not None and list(path.lon) == [0.0, 1.0, 2.0]


def test_liechtenstein_bus_routes(require_data):
    """The whole-country extract: 16 bus route relations mapped in 2015, 14 of them as
    two-way PTv1 relations (forward_stop/backward_stop), 5 crossing the border."""
    supply, report = read_osm_routes(
        require_data("osm/Liechtenstein.osm.pbf"), route_types=("bus",)
    )
    routes = report.routes
    imported = routes.loc[routes["status"] == "imported", "relation"].unique()
    assert report.count("route relations read") == 16
    assert len(imported) >= 14
    assert report.count("split into two lines") == 14
    # bus 12E (Sargans - Vaduz): the two directions are each other's reverse (by name: the
    # platforms of each direction are separate nodes), and its
    # stops outside the country are dropped, the in-file part kept
    forward = supply.line("relation/1900496:forward")
    backward = supply.line("relation/1900496:backward")
    names = [supply.stop(s).name for s in forward.stop_ids]
    assert names[-1] == "Vaduz Post"
    assert [supply.stop(s).name for s in backward.stop_ids] == names[::-1]
    rows = routes[routes["relation"] == 1900496]
    assert (rows["stop_members_outside"] > 0).all() and (rows["status"] == "imported").all()
    assert report.count("partly outside the file") >= 5
    # 473 of 619 stop members beside their route's ways lie right of the travel direction
    what = report.to_frame().set_index("what")
    assert "inferred" in what.loc["driving side: right", "detail"]
    # every imported direction's stops lie in the country's bbox
    lon, lat = supply.stops["lon"].to_numpy(), supply.stops["lat"].to_numpy()
    assert np.all((lon > 9.47) & (lon < 9.64) & (lat > 47.04) & (lat < 47.28))


def test_members_far_from_the_ways_keep_member_order():
    from transitopt.transit.osm_route_paths import RoutePath
    from transitopt.transit.osm_routes import _order_along

    # a 1.1 km path along lat 60.17; 1e-3 deg lat = 111 m
    path = RoutePath(lon=np.array([24.94, 24.96]), lat=np.array([60.17, 60.17]), gaps=0)
    near = [("b", "B", 24.95, 60.1701), ("a", "A", 24.945, 60.1701)]
    assert _order_along(near, path) and [m[0] for m in near] == ["a", "b"]
    # one member 220 m off the path (over member_offset_m = 150 m): member order is kept
    far = [("b", "B", 24.95, 60.1701), ("a", "A", 24.945, 60.172)]
    assert not _order_along(far, path) and [m[0] for m in far] == ["b", "a"]


# A two-way street along lat 60.17 (1e-4 deg lat = 11.1 m, 1e-3 deg lon = 55.4 m), ways
# 300 (west half) and 301 (east half). Stop "Pair" has a platform on each side: 82 north,
# 9 m off, and 83 south, 9 m off and 50 m farther east (53 m apart, like the two
# "Miragaia" platforms in Porto). West and East have a platform on each side at the same
# place (80/84 north 10 m off, 81/85 south 8 m off).
PLATFORM_PAIR_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="60" lat="60.1700" lon="24.9400"/>
  <node id="61" lat="60.1700" lon="24.9455"/>
  <node id="62" lat="60.1700" lon="24.9500"/>
  <node id="80" lat="60.17009" lon="24.9410"><tag k="highway" v="bus_stop"/><tag k="name" v="West"/></node>
  <node id="81" lat="60.169928" lon="24.9410"><tag k="highway" v="bus_stop"/><tag k="name" v="West"/></node>
  <node id="82" lat="60.17008" lon="24.9450"><tag k="highway" v="bus_stop"/><tag k="name" v="Pair"/></node>
  <node id="83" lat="60.16992" lon="24.9459"><tag k="highway" v="bus_stop"/><tag k="name" v="Pair"/></node>
  <node id="84" lat="60.17009" lon="24.9490"><tag k="highway" v="bus_stop"/><tag k="name" v="East"/></node>
  <node id="85" lat="60.169928" lon="24.9490"><tag k="highway" v="bus_stop"/><tag k="name" v="East"/></node>
  <way id="300"><nd ref="60"/><nd ref="61"/><tag k="highway" v="secondary"/></way>
  <way id="301"><nd ref="61"/><nd ref="62"/><tag k="highway" v="secondary"/></way>
  <relation id="700">
    <member type="node" ref="81" role="platform"/><member type="node" ref="82" role="platform"/>
    <member type="node" ref="83" role="platform"/><member type="node" ref="85" role="platform"/>
    <member type="way" ref="300" role=""/><member type="way" ref="301" role=""/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="E"/>
  </relation>
  <relation id="701">
    <member type="node" ref="84" role="platform"/><member type="node" ref="83" role="platform"/>
    <member type="node" ref="82" role="platform"/><member type="node" ref="80" role="platform"/>
    <member type="way" ref="301" role=""/><member type="way" ref="300" role=""/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="W"/>
  </relation>
  <relation id="702">
    <member type="way" ref="300" role=""/><member type="way" ref="301" role=""/>
    <tag k="type" v="route"/><tag k="route" v="bus"/><tag k="ref" v="D"/>
  </relation>
</osm>
"""


def test_both_platforms_of_a_stop_keep_the_travel_side(tmp_path: Path):
    path = tmp_path / "pair.osm"
    path.write_text(PLATFORM_PAIR_XML)
    supply, report = read_osm_routes(path)
    # right-hand traffic: eastbound buses stop on the south side, westbound on the north
    assert supply.line("relation/700").stop_ids == ("node/81", "node/83", "node/85")
    assert supply.line("relation/701").stop_ids == ("node/84", "node/82", "node/80")
    # ways only: West and East merged (15 m apart across, the nearer kept); the Pair
    # platforms are 50 m apart along the street (over merge_along_m = 40 m): the north
    # one dropped as a platform of the same stop on the far side
    assert supply.line("relation/702").stop_ids == ("node/81", "node/83", "node/85")
    assert report.count("both platforms of a stop in one direction") == 3
    assert report.routes.set_index("relation")["far_side_dropped"].to_dict() == {
        700: 1,
        701: 1,
        702: 1,
    }
    # 8 platform members beside their ways (6 right, 2 left) are too few to infer from
    assert report.count("driving side: right") == 1
    assert "assumed" in report.to_frame().set_index("what").loc["driving side: right", "detail"]
    # left-hand traffic (e.g. Indonesia): the other platform of the pair
    supply, report = read_osm_routes(path, driving_side="left")
    assert supply.line("relation/700").stop_ids == ("node/81", "node/82", "node/85")
    assert supply.line("relation/701").stop_ids == ("node/84", "node/83", "node/80")
    with pytest.raises(ValueError, match="driving_side"):
        read_osm_routes(path, driving_side="middle")


def test_stops_on_a_road_run_out_and_back_are_placed_on_their_kerb_side():
    from transitopt.transit.osm_route_paths import RoutePath, stops_along

    # out east along lat 60.17 for 0.01 deg lon (555 m) and back west on the same road
    path = RoutePath(
        lon=np.array([24.94, 24.95, 24.94]), lat=np.array([60.17, 60.17, 60.17]), gaps=0
    )
    # A 9 m north (left going east, right coming back) at 111 m; B 9 m south at 222 m
    lon, lat = np.array([24.942, 24.944]), np.array([60.17008, 60.16992])
    kw = {"max_offset_m": 30.0, "merge_along_m": 40.0}
    assert stops_along(path, lon, lat, **kw) == [0, 1]  # both on the way out
    # right-hand traffic: B on the way out, A on the way back
    assert stops_along(path, lon, lat, travel_side=-1, **kw) == [1, 0]
    assert stops_along(path, lon, lat, travel_side=1, **kw) == [0, 1]


def test_share_taxi_routes_are_hail_and_ride(tmp_path: Path):
    path = tmp_path / "angkot.osm"
    path.write_text(
        OSM_XML.replace(
            'v="route"/><tag k="route" v="bus"/><tag k="name"',
            'v="route"/><tag k="route" v="share_taxi"/><tag k="name"',
        )
    )
    supply, _ = read_osm_routes(path)
    assert supply.line("relation/501").hail_and_ride  # route=share_taxi: angkot
    assert supply.line("relation/501").mode == "minibus"
    assert not supply.line("relation/500").hail_and_ride  # the tram stops at its stops
