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
