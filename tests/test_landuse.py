"""Population and jobs proxies from OSM buildings and POIs, user tables, and their
allocation to zones and nodes.

References: footprint areas against pyproj's geodesic polygon area (WGS84); the
hand-made fixture ``tests/data/landuse_small.osm`` (buildings of known size, levels and
type) against the documented conversion factors; the building-based population of
central Helsinki against the HSY 2020 population grid (correlation, not equality).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from transitopt import InputFileError, Network
from transitopt.demand.landuse import (
    DEFAULT_LEVELS,
    LandUseParameters,
    footprint_area_m2,
    node_totals,
    parse_levels,
    read_landuse,
    read_landuse_table,
    zone_totals,
)
from transitopt.zones import zones_from_polygons

FIXTURE = Path(__file__).parent / "data" / "landuse_small.osm"
GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@pytest.fixture(scope="module")
def small():
    with pytest.warns(UserWarning, match="1 of 7 building outlines could not be built"):
        return read_landuse(FIXTURE)


def test_parse_levels():
    assert parse_levels("5") == 5.0
    assert parse_levels("3;4") == 4.0
    assert parse_levels("2,5") == 2.5
    assert parse_levels("3-5") == 5.0
    assert parse_levels("9 m") == 9.0
    assert math.isnan(parse_levels(None))
    assert math.isnan(parse_levels("unknown"))
    assert math.isnan(parse_levels("0"))


@pytest.mark.parametrize("lat", [-7.3, 43.7, 60.17])
def test_footprint_area_matches_the_geodesic_area(lat):
    polys = [
        shapely.box(25.0, lat, 25.0 + 0.0004, lat + 0.0002),
        shapely.Point(25.0, lat).buffer(0.0003),
    ]
    ours = footprint_area_m2(polys, [p.centroid.y for p in polys])
    ref = [geodesic_area(p) for p in polys]
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_hand_made_buildings(small):
    b = small.buildings.set_index(["osm_type", "osm_id"])
    params = LandUseParameters()
    area = {i: geodesic_area(g) for i, g in b.geometry.items()}
    np.testing.assert_allclose(b["footprint_m2"], [area[i] for i in b.index], rtol=1e-6)
    way = {i[1]: row for i, row in b.iterrows() if i[0] == "way"}
    warea = {i[1]: a for i, a in area.items() if i[0] == "way"}
    # way 1: apartments, 3 levels tagged -> residents
    assert way[1]["building_class"] == "residential"
    assert way[1]["population"] == pytest.approx(warea[1] * 3 / params.m2_per_person, rel=1e-6)
    assert way[1]["jobs"] == 0.0
    # drawn as 20 m x 20 m with mean-radius degrees; WGS84 at 60 N is 0.57 % larger
    assert warea[1] == pytest.approx(400.0 * 1.0057, rel=1e-3)
    # way 2: office without levels -> table default, commercial jobs
    assert way[2]["levels_source"] == "default"
    assert way[2]["levels"] == DEFAULT_LEVELS["office"]
    assert way[2]["jobs"] == pytest.approx(warea[2] * DEFAULT_LEVELS["office"] / 30.0, rel=1e-6)
    # way 3: building=yes inside landuse=residential -> residential
    assert way[3]["building_class"] == "residential"
    assert way[3]["population"] == pytest.approx(warea[3] * 2 / 35.0, rel=1e-6)
    # way 4: building=yes, height 9 m -> 3 levels, mixed: half residents, half jobs
    assert (way[4]["levels"], way[4]["levels_source"], way[4]["building_class"]) == (
        3.0,
        "height",
        "mixed",
    )
    assert way[4]["population"] == pytest.approx(warea[4] * 3 * 0.5 / 35.0, rel=1e-6)
    assert way[4]["jobs"] == pytest.approx(warea[4] * 3 * 0.5 / 30.0, rel=1e-6)
    # relation 1: multipolygon with a courtyard, commercial, 2 levels
    rel = b.loc[("relation", 1)]
    assert rel["footprint_m2"] == pytest.approx(1600 * (1 - 0.25) * 1.0057, rel=1e-3)
    assert rel["jobs"] == pytest.approx(rel["footprint_m2"] * 2 / 30.0, rel=1e-9)
    # way 7: garage -> no residents, no jobs
    assert (way[7]["population"], way[7]["jobs"]) == (0.0, 0.0)
    assert small.info["buildings"] == 6 and small.info["buildings_skipped"] == 1


def test_hand_made_pois_and_points(small):
    assert sorted(small.pois["category"]) == [
        "education",
        "food",
        "health",
        "office",
        "shop",
    ]  # bench ignored
    pts = small.points()
    assert pts["population"].sum() == pytest.approx(small.total("population"))
    assert pts["jobs"].sum() == pytest.approx(small.total("jobs"))
    assert pts["pois"].sum() == 5 and pts["shop"].sum() == 1 and pts["education"].sum() == 1


def test_parameters_override_and_validate():
    params = LandUseParameters(m2_per_person=10.0, mixed_residential_share=1.0)
    with pytest.warns(UserWarning):
        lu = read_landuse(FIXTURE, params=params)
    b = lu.buildings.set_index("osm_id")
    assert b.loc[4, "jobs"] == 0.0
    assert b.loc[4, "population"] == pytest.approx(b.loc[4, "floor_m2"] / 10.0)
    with pytest.raises(ValueError, match="m2_per_person"):
        LandUseParameters(m2_per_person=0)
    with pytest.raises(ValueError, match="mixed_residential_share"):
        LandUseParameters(mixed_residential_share=1.5)


def test_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_landuse(tmp_path / "nothing.osm")
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="0" lon="0"/></osm>')
    with pytest.raises(InputFileError, match="no building footprint"):
        read_landuse(empty)


def test_helsinki_population_correlates_with_the_population_grid(require_data):
    """Building-based residents per 250 m cell against HSY's 2020 grid (cells wholly
    inside the extract). Reference: r = 0.87 measured; expect r > 0.8."""
    with pytest.warns(UserWarning):
        lu = read_landuse(require_data("osm/Helsinki.osm.pbf"))
    assert lu.info["buildings"] == 446
    assert lu.info["pois"]["shop"] == 513
    grid_path = require_data("population/helsinki_population_grid_2020.gpkg")
    cells = zones_from_polygons(gpd.read_file(grid_path))
    bbox = shapely.box(24.935176, 60.164155, 24.953415, 60.179113)  # the extract's header bbox
    inside = cells.geometry.within(bbox).to_numpy()
    assert inside.sum() == 11
    est = zone_totals(cells, lu.points(), columns=["population"])["population"].to_numpy()
    r = np.corrcoef(est[inside], cells["population"].to_numpy()[inside])[0, 1]
    assert r > 0.8


def test_surabaya_unsorted_xml(require_data):
    """The 2013 API export is not id-sorted; it is sorted on the fly. 389 building ways,
    382 with building:levels (data README; counted with pyosmium)."""
    lu = read_landuse(require_data("osm/Surabaya-Sukolilo.osm"))
    assert lu.info["buildings"] == 389
    assert lu.info["levels_source"]["tag"] == 382
    assert lu.total("population") > 0 and lu.total("jobs") > 0


def test_user_table_and_areal_interpolation(require_data, tmp_path):
    path = require_data("population/helsinki_population_grid_2020.gpkg")
    table = read_landuse_table(path)
    assert list(table.columns) == ["geometry", "population"]
    assert table["population"].sum() == 71_724
    # two zones: the west and east halves of the grid's bbox; each cell's residents split
    # by overlapping area (reference: shapely overlay in a metric CRS)
    w, s, e, n = table.total_bounds
    mid = (w + e) / 2
    zones = zones_from_polygons(
        gpd.GeoDataFrame(
            {"zone": [1, 2]},
            geometry=[shapely.box(w, s, mid, n), shapely.box(mid, s, e, n)],
            crs="EPSG:4326",
        )
    )
    got = zone_totals(zones, table, columns=["population"])
    assert got["population"].sum() == pytest.approx(71_724, rel=1e-9)
    metric = table.to_crs(3067)
    west = zones.to_crs(3067).geometry.iloc[0]
    share = metric.geometry.intersection(west).area / metric.geometry.area
    assert got.loc[1, "population"] == pytest.approx((share * table["population"]).sum(), rel=1e-3)
    # CSV points
    csv = tmp_path / "jobs.csv"
    csv.write_text("id,lon,lat,jobs\n1,24.94,60.17,10\n2,24.95,60.17,\n")
    pts = read_landuse_table(csv)
    assert pts["jobs"].tolist() == [10.0, 0.0]
    csv.write_text("id,lon,lat,jobs\n1,24.94,60.17,-1\n")
    with pytest.raises(InputFileError, match="negative"):
        read_landuse_table(csv)
    with pytest.raises(InputFileError, match="not found"):
        read_landuse_table(path, columns=["jobs"])


def test_points_to_zones_and_nodes_by_brute_force():
    rng = np.random.default_rng(5)
    n = 30
    net = Network.from_edges(np.arange(n - 1), np.arange(1, n), n_nodes=n, node_x=rng.uniform(0, 1000, n),
                             node_y=rng.uniform(0, 1000, n), crs="EPSG:3067")  # fmt: skip
    pts = pd.DataFrame(
        {
            "x": rng.uniform(0, 1000, 200),
            "y": rng.uniform(0, 1000, 200),
            "v": rng.integers(0, 9, 200),
        }
    )
    at_nodes = node_totals(net, pts, columns=["v"])
    d = np.hypot(
        pts["x"].to_numpy()[:, None] - net.node_x[None, :],
        pts["y"].to_numpy()[:, None] - net.node_y[None, :],
    )
    ref = np.bincount(d.argmin(axis=1), weights=pts["v"], minlength=n)
    np.testing.assert_array_equal(at_nodes[:, 0], ref)
    with pytest.warns(UserWarning, match=r"199 of 200 points lie farther than"):
        part = node_totals(net, pts, columns=["v"], max_snap_m=1.0 + d.min(axis=1).min())
    assert part.sum() < ref.sum()
    # zones as points only: each point counts at the nearest zone centroid
    zones = pd.DataFrame(
        {"zone": [1, 2, 3], "x": [24.90, 24.95, 25.00], "y": [60.17, 60.17, 60.17]}
    )
    gp = pd.DataFrame(
        {
            "x": [24.91, 24.96, 24.99, 24.93],
            "y": [60.17, 60.18, 60.16, 60.17],
            "v": [1.0, 2.0, 4.0, 8.0],
        }
    )
    gpts = gpd.GeoDataFrame(gp, geometry=gpd.points_from_xy(gp["x"], gp["y"]), crs="EPSG:4326")
    got = zone_totals(zones, gpts, columns=["v"])
    assert got["v"].tolist() == [1.0, 2.0 + 8.0, 4.0]  # 24.93 is nearer 24.95 than 24.90
