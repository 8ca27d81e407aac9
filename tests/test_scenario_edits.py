"""Each edit type changes what it should, and only that (on the hand-written town of
``tests/data/scenario_town.osm``: a 3 x 3 grid, 300 m blocks; South Street 1-2-3, North
Street 7-8-9 and Centre Road 2-5-8 have 2 lanes per direction (2,000 veh/h), the other
streets 1 lane (600 veh/h); bus 1 (relation 401) stops at nodes 1, 2, 3, 6, 9)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transitopt.network.compiled import EDGE_FLOAT_DEFAULTS
from transitopt.scenario import ScenarioError, load_scenario
from transitopt.scenario.edits import apply_edits
from transitopt.scenario.evaluate import build_model
from transitopt.scenario.inputs import load_base


@pytest.fixture(scope="module")
def folder(tmp_path_factory, town_toml) -> Path:
    path = tmp_path_factory.mktemp("town")
    zones = {"population_total": 9000, "jobs_total": 9000}
    base = town_toml(6000, zones=zones, transit={"line_fare": 1.0})
    (path / "base.toml").write_text(base, encoding="utf-8")
    return path


def run(folder: Path, edits: str, name: str = "alt"):
    path = folder / f"{name}.toml"
    path.write_text(f'[scenario]\nbaseline = "base.toml"\n\n{edits}', encoding="utf-8")
    scenario = load_scenario(path)
    return apply_edits(scenario, load_base(scenario))


@pytest.fixture(scope="module")
def base(folder):
    scenario = load_scenario(folder / "base.toml")
    return apply_edits(scenario, load_base(scenario))


def link(net, u: int, v: int) -> int:
    iu, iv = net.node_index([u, v])
    return int(np.flatnonzero((net.tail == iu) & (net.head == iv))[0])


def assert_same_network(
    a, b, except_links=(), arrays=tuple(EDGE_FLOAT_DEFAULTS), columns=("closed", "bus_lane")
):
    keep = np.setdiff1d(np.arange(a.n_edges), np.asarray(except_links, dtype=np.int64))
    assert a.n_edges == b.n_edges
    np.testing.assert_array_equal(a.tail, b.tail)
    np.testing.assert_array_equal(a.head, b.head)
    for name in arrays:
        np.testing.assert_array_equal(getattr(a, name)[keep], getattr(b, name)[keep], err_msg=name)
    for column in columns:
        np.testing.assert_array_equal(
            a.edges[column].to_numpy()[keep], b.edges[column].to_numpy()[keep]
        )


def assert_same_lines(a, b, ids):
    for line_id in ids:
        x, y = a.supply.line(line_id), b.supply.line(line_id)
        assert (x.stop_ids, x.headway_s, x.capacity, x.speed_kph, x.mode) == (
            y.stop_ids,
            y.headway_s,
            y.capacity,
            y.speed_kph,
            y.mode,
        )


def test_base_town(base):
    assert [ln.id for ln in base.supply.lines] == ["relation/401"]
    assert base.supply.line("relation/401").stop_ids == (
        "node/1",
        "node/2",
        "node/3",
        "node/6",
        "node/9",
    )
    assert base.line_meta.loc["relation/401", "route_key"] == "bus:1"
    assert not base.closed.any() and not base.bus_lane.any()
    assert base.routes.seg_routed.all()


def test_add_line(base, folder):
    near_5 = (
        base.drive.node_y[base.drive.node_index([5])[0]],
        base.drive.node_x[base.drive.node_index([5])[0]],
    )
    p = run(
        folder,
        f"""\
[[edits]]
type = "add_line"
id = "X"
mode = "bus"
headway_min = 6
both_directions = true
fare = 0.5
stops = [1, {{lat = {near_5[0] + 0.0001}, lon = {near_5[1]}, name = "Five"}}, "node/9"]
""",
    )
    assert [ln.id for ln in p.supply.lines] == ["relation/401", "X:0", "X:1"]
    x0, x1 = p.supply.line("X:0"), p.supply.line("X:1")
    assert x0.stop_ids == ("node/1", "X/1", "node/9") and x1.stop_ids == tuple(
        reversed(x0.stop_ids)
    )
    assert x0.headway_s == 360.0 and x0.route_id == "X"
    assert p.supply.stop("X/1").name == "Five"
    assert p.line_meta.loc["X:0", "fare"] == 0.5 and p.line_meta.loc["relation/401", "fare"] == 1.0
    assert_same_lines(base, p, ["relation/401"])
    assert_same_network(base.drive, p.drive)


def test_add_line_with_its_own_stops_back(base, folder):
    p = run(
        folder,
        """\
[[edits]]
type = "add_line"
id = "Y"
headway_min = 10
both_directions = true
stops = [1, 2, 3]
stops_back = [3, 5, 4, 1]
""",
        name="back",
    )
    y0, y1 = p.supply.line("Y:0"), p.supply.line("Y:1")
    assert y0.stop_ids == ("node/1", "node/2", "node/3")
    assert y1.stop_ids == ("node/3", "node/5", "node/4", "node/1")
    assert y1.direction_id == 1 and y1.route_id == "Y"
    assert p.routes.seg_routed.all()
    with pytest.raises(ScenarioError, match=r"stops_back needs both_directions"):
        run(
            folder,
            '[[edits]]\ntype = "add_line"\nid = "Z"\nheadway_min = 10\n'
            "stops = [1, 2]\nstops_back = [2, 1]\n",
            name="back_one",
        )
    with pytest.raises(ScenarioError, match=r"edits\[0\]\.stops_back\[1\]: no stop with id 'nope'"):
        run(
            folder,
            '[[edits]]\ntype = "add_line"\nid = "Z"\nheadway_min = 10\nboth_directions = true\n'
            'stops = [1, 2]\nstops_back = [2, "nope"]\n',
            name="back_bad",
        )


def test_remove_line_by_route_key(base, folder):
    p = run(folder, '[[edits]]\ntype = "remove_line"\nline = "bus:1"\n')
    assert p.supply.lines == ()
    assert "relation/401" not in p.line_meta.index
    assert_same_network(base.drive, p.drive)


def test_change_line(base, folder):
    p = run(
        folder,
        '[[edits]]\ntype = "change_line"\nline = "401"\nheadway_min = 5\ncapacity = 90\nfare = 2\n',
    )
    line = p.supply.line("relation/401")
    assert (line.headway_s, line.capacity) == (300.0, 90.0)
    assert line.stop_ids == base.supply.line("relation/401").stop_ids and line.speed_kph is None
    assert p.line_meta.loc["relation/401", "fare"] == 2.0
    factor = run(
        folder,
        '[[edits]]\ntype = "change_line"\nline = "relation/401"\nheadway_factor = 0.5\n',
        "half",
    )
    assert factor.supply.line("relation/401").headway_s == 300.0
    assert_same_network(base.drive, p.drive)


def test_reroute_line(base, folder):
    p = run(folder, '[[edits]]\ntype = "reroute_line"\nline = "relation/401"\nstops = [1, 4, 7]\n')
    line = p.supply.line("relation/401")
    assert line.stop_ids == ("node/1", "node/4", "node/7")
    assert line.headway_s == 600.0 and line.running_times_s is None
    # node 4 became a stop at the node's location
    i = base.drive.node_index([4])[0]
    assert (p.supply.stop("node/4").lon, p.supply.stop("node/4").lat) == (
        base.drive.node_x[i],
        base.drive.node_y[i],
    )
    assert_same_network(base.drive, p.drive)


def test_bus_lane_takes_a_lane_where_there_are_two(base, folder):
    p = run(folder, '[[edits]]\ntype = "bus_lane"\nline = "relation/401"\n')
    d = p.drive
    wide = [link(d, 1, 2), link(d, 2, 3)]  # South Street: 2 lanes, 2,000 veh/h
    single = [link(d, 3, 6), link(d, 6, 9)]  # East Road: 1 lane, left in mixed traffic
    np.testing.assert_array_equal(d.lanes[wide], [1.0, 1.0])
    np.testing.assert_allclose(d.capacity_vph[wide], [1000.0, 1000.0])
    assert sorted(np.flatnonzero(p.bus_lane)) == sorted(wide)
    np.testing.assert_array_equal(d.capacity_vph[single], base.drive.capacity_vph[single])
    assert_same_network(base.drive, d, except_links=wide)
    assert any("2 single-lane link(s)" in note for note in p.notes)
    # in the model: no bus preload on the bus lane, 6 buses/h x 2 PCU on the single-lane links
    loads = build_model(p).bus_loads()
    np.testing.assert_allclose(loads.preload_pcu[wide], 0.0)
    np.testing.assert_allclose(loads.preload_pcu[single], 12.0)
    np.testing.assert_allclose(loads.bus_vph[wide + single], 6.0)


def test_bus_lane_on_single_lane_can_refuse(folder):
    with pytest.raises(
        ScenarioError,
        match=r"alt\.toml:\d+: edits\[0\]\.on_single_lane: 2 link\(s\) of the route have a single lane",
    ):
        run(
            folder,
            '[[edits]]\ntype = "bus_lane"\nline = "relation/401"\non_single_lane = "error"\n',
        )


def test_change_road(base, folder):
    p = run(
        folder,
        '[[edits]]\ntype = "change_road"\nway = 202\nlanes = 3\n\n'
        '[[edits]]\ntype = "change_road"\nnodes = [4, 5]\nspeed_kph = 20\n',
    )
    d = p.drive
    centre = [link(d, 2, 5), link(d, 5, 2), link(d, 5, 8), link(d, 8, 5)]
    np.testing.assert_array_equal(d.lanes[centre], 3.0)
    np.testing.assert_allclose(d.capacity_vph[centre], 3000.0)  # capacity per lane kept
    middle = [link(d, 4, 5), link(d, 5, 4)]
    np.testing.assert_allclose(d.free_flow_time_s[middle], d.length_m[middle] / (20 / 3.6))
    np.testing.assert_array_equal(d.speed_kph[middle], 20.0)
    assert_same_network(base.drive, d, except_links=centre + middle)
    one_way = run(
        folder,
        '[[edits]]\ntype = "change_road"\nnodes = [4, 5]\nboth_directions = false\ncapacity_vph = 100\n',
        "oneway",
    )
    assert one_way.drive.capacity_vph[link(d, 4, 5)] == 100.0
    assert_same_network(base.drive, one_way.drive, except_links=[link(d, 4, 5)])


def test_close_road_reroutes_buses(base, folder):
    p = run(folder, '[[edits]]\ntype = "close_road"\nway = 101\n')
    d = p.drive
    south = [link(d, 1, 2), link(d, 2, 1), link(d, 2, 3), link(d, 3, 2)]
    assert sorted(np.flatnonzero(p.closed)) == sorted(south)
    assert_same_network(
        base.drive, d, columns=("bus_lane",)
    )  # arrays unchanged, only the closed flags
    used = p.routes.edges_of([0])
    assert not np.isin(used, south).any()
    assert np.isin(south, base.routes.edges_of([0])).sum() == 2  # the baseline bus used 1->2->3


def test_add_road(base, folder):
    p = run(
        folder,
        '[[edits]]\ntype = "add_road"\nid = "diagonal"\nfrom_node = 1\nto_node = 5\nlanes = 2\nspeed_kph = 50\n\n'
        '[[edits]]\ntype = "change_road"\nroad = "diagonal"\ncapacity_factor = 0.5\n',
    )
    d = p.drive
    assert d.n_edges == base.drive.n_edges + 2
    for u, v in ((1, 5), (5, 1)):
        e = link(d, u, v)
        assert d.lanes[e] == 2.0 and d.capacity_vph[e] == pytest.approx(2 * 900.0 * 0.5)
        assert d.free_flow_time_s[e] == pytest.approx(d.length_m[e] / (50 / 3.6))
        assert d.edges["road_id"].iloc[e] == "diagonal"
    # every other link keeps its attributes (compared by end nodes: the CSR order changed)
    for e in range(base.drive.n_edges):
        u, v = base.drive.node_id[base.drive.tail[e]], base.drive.node_id[base.drive.head[e]]
        f = link(d, u, v)
        for name in EDGE_FLOAT_DEFAULTS:
            assert getattr(d, name)[f] == getattr(base.drive, name)[e]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            'type = "remove_line"\nline = "nope"',
            r"alt\.toml:6: edits\[0\]\.line: no line or route with id 'nope'",
        ),
        (
            'type = "change_line"\nline = ["relation/401", "AK-*"]\nfare = 1',
            r"edits\[0\]\.line: no line or route with id 'AK-\*'",
        ),
        (
            'type = "close_road"\nway = 999',
            r"alt\.toml:6: edits\[0\]\.way: no road link carries OSM way 999",
        ),
        (
            'type = "close_road"\nnodes = [1, 9]',
            r"edits\[0\]\.nodes: no road link joins nodes 1 and 9",
        ),
        (
            'type = "close_road"\nnodes = [1, 12345]',
            r"edits\[0\]\.nodes: node id 12345 is not in the network",
        ),
        (
            'type = "change_road"\nroad = "bypass"\nlanes = 2',
            r"edits\[0\]\.road: no road added with id 'bypass'",
        ),
        (
            'type = "reroute_line"\nline = "relation/401"\nstops = ["node/1", "elsewhere"]',
            r"edits\[0\]\.stops\[1\]: no stop with id 'elsewhere'",
        ),
        (
            'type = "add_line"\nid = "relation/401"\nheadway_min = 5\nstops = [1, 9]',
            r"edits\[0\]\.id: line 'relation/401' already exists",
        ),
        (  # a stop in another country (Helsinki's lon/lat): a 14,500 km line before
            'type = "add_line"\nid = "far"\nheadway_min = 5\n'
            "stops = [1, {lon = 106.8, lat = -6.2}]",
            r"1 of 1 new stop\(s\) lie farther than 2,000 m .* edits\[0\]\.stops\[1\]",
        ),
        (  # the same town stop with lon and lat swapped
            'type = "add_line"\nid = "swapped"\nheadway_min = 5\n'
            "stops = [1, {lon = 60.0027, lat = 25.0108}]",
            r"edits\[0\]\.stops\[1\].*look swapped",
        ),
    ],
)
def test_unknown_ids_are_named(folder, edit, expected):
    with pytest.raises(ScenarioError, match=expected):
        run(folder, f"[[edits]]\n{edit}\n")


def test_chained_alternatives_apply_in_order(base, folder):
    (folder / "first.toml").write_text(
        '[scenario]\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\n'
        'line = "relation/401"\nheadway_min = 5\n',
        encoding="utf-8",
    )
    path = folder / "second.toml"
    path.write_text(
        '[scenario]\nbaseline = "first.toml"\n\n[[edits]]\ntype = "change_line"\n'
        'line = "relation/401"\nheadway_factor = 2\n',
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    assert [c.name for c in scenario.chain] == ["base.toml", "first.toml", "second.toml"]
    p = apply_edits(scenario, load_base(scenario))
    assert p.supply.line("relation/401").headway_s == 600.0  # 5 min, then doubled
