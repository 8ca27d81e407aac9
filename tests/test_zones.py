"""Zones: square and hexagon grids (checked by brute-force geometry), user polygons and
points, attaching to the network with a reported drop of zones that cannot attach."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from transitopt import InputFileError, Network, SnappingError
from transitopt.geo import EARTH_RADIUS_M
from transitopt.zones import (
    attach_zones,
    grid_zones,
    read_zones,
    zones_from_polygons,
)

LAT0 = 60.17
K = math.radians(1.0) * EARTH_RADIUS_M  # metres per degree of latitude


def lattice_network(
    n: int = 12, spacing_m: float = 90.0, planar: bool = False, jitter_m: float = 0.0
) -> Network:
    """An n x n street lattice (both directions), in lon/lat around LAT0 or in metres;
    ``jitter_m`` moves nodes randomly (seeded) so that none lies exactly on a cell edge."""
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ex, ny = jj.ravel() * spacing_m, ii.ravel() * spacing_m
    if jitter_m:
        rng = np.random.default_rng(7)
        ex = ex + rng.uniform(-jitter_m, jitter_m, ex.size)
        ny = ny + rng.uniform(-jitter_m, jitter_m, ny.size)
    if planar:
        x, y, crs = ex, ny, "EPSG:3067"
    else:
        x, y, crs = 24.9 + ex / (K * math.cos(math.radians(LAT0))), LAT0 + ny / K, "EPSG:4326"
    idx = (ii * n + jj).ravel()
    right = idx[(jj < n - 1).ravel()]
    up = idx[(ii < n - 1).ravel()]
    tail = np.concatenate([right, right + 1, up, up + n])
    head = np.concatenate([right + 1, right, up + n, up])
    length = np.full(tail.size, spacing_m)
    return Network.from_edges(tail, head, n_nodes=n * n, node_x=x, node_y=y, crs=crs,
                              length_m=length, free_flow_time_s=length / 1.5)  # fmt: skip


def local_metres(lon, lat, network):
    """Same local projection as the grid: metres east/north of the south-west node."""
    kx = K * math.cos(math.radians(float(np.nanmean(network.node_y))))
    return (np.asarray(lon) - network.node_x.min()) * kx, (
        np.asarray(lat) - network.node_y.min()
    ) * K


@pytest.mark.parametrize("shape", ["square", "hexagon"])
@pytest.mark.parametrize("planar", [False, True])
def test_every_node_lies_in_its_cell_and_counts_add_up(shape, planar):
    net = lattice_network(planar=planar, jitter_m=20.0)
    cells = grid_zones(net, cell_size_m=250.0, shape=shape, geometry=True)
    assert cells["zone"].tolist() == list(range(1, len(cells) + 1))
    assert cells["n_nodes"].sum() == net.n_nodes
    # reference: shapely point-in-polygon for every node (boundary points may touch two cells)
    inside = shapely.intersects_xy(
        cells.geometry.to_numpy()[:, None], net.node_x[None, :], net.node_y[None, :]
    )
    # with jittered nodes none lies on an inner edge: each is in exactly one cell, its own
    assert (inside.sum(axis=0) == 1).all()
    np.testing.assert_array_equal(inside.sum(axis=1), cells["n_nodes"].to_numpy())


def test_hexagon_cells_are_the_nearest_centre_voronoi_cells():
    net = lattice_network(n=20, spacing_m=37.0, jitter_m=10.0)
    size = 200.0
    cells = grid_zones(net, cell_size_m=size, shape="hexagon", geometry=True)
    cx, cy = local_metres(cells["x"], cells["y"], net)
    nx_, ny_ = local_metres(net.node_x, net.node_y, net)
    d = np.hypot(nx_[:, None] - cx[None, :], ny_[:, None] - cy[None, :])
    nearest = d.argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(cells))
    np.testing.assert_array_equal(counts, cells["n_nodes"].to_numpy())
    # neighbouring centres are cell_size_m apart (width across flats); area = sqrt(3)/2 s^2
    dc = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
    np.fill_diagonal(dc, np.inf)
    assert np.allclose(dc.min(axis=1), size, rtol=1e-9)
    area = cells.to_crs(cells.estimate_utm_crs()).area.to_numpy()
    assert np.allclose(area, math.sqrt(3.0) / 2.0 * size**2, rtol=0.01)  # local projection vs UTM


def test_square_grid_default_is_unchanged():
    net = lattice_network()
    cells = grid_zones(net, cell_size_m=500.0)
    assert list(cells.columns) == ["zone", "x", "y", "n_nodes"]
    # 12 x 90 m spans 990 m: a 2 x 3 (rows x cols) layout of 500 m cells -> 2 x 2 + ... counts by hand
    ex, ny = local_metres(net.node_x, net.node_y, net)
    ref = (
        pd.DataFrame({"r": np.floor(ny / 500.0), "c": np.floor(ex / 500.0)})
        .value_counts()
        .sort_index()
    )
    np.testing.assert_array_equal(cells["n_nodes"].to_numpy(), ref.to_numpy())


def test_bad_grid_arguments():
    net = lattice_network(n=3)
    with pytest.raises(ValueError, match="cell_size_m"):
        grid_zones(net, cell_size_m=0)
    with pytest.raises(ValueError, match="shape"):
        grid_zones(net, shape="triangle")


def square(cx: float, cy: float, half: float) -> shapely.Polygon:
    return shapely.box(cx - half, cy - half, cx + half, cy + half)


def test_polygons_without_nodes_are_dropped_with_a_count_or_raise():
    net = lattice_network(n=5, spacing_m=100.0)  # 400 m square
    dlon = 1.0 / (K * math.cos(math.radians(LAT0)))
    dlat = 1.0 / K
    x0, y0 = net.node_x.min(), net.node_y.min()
    polys = [
        square(x0 + 150 * dlon, y0 + 150 * dlat, 120 * dlat),  # holds 4 nodes
        square(x0 + 2000 * dlon, y0 + 2000 * dlat, 50 * dlat),  # far away, empty
        square(x0 + 50 * dlon, y0 + 50 * dlat, 20 * dlat),  # between nodes, empty but near
    ]
    gdf = gpd.GeoDataFrame({"zone": [10, 20, 30]}, geometry=polys, crs="EPSG:4326")
    zones = zones_from_polygons(gdf)
    with pytest.warns(
        UserWarning, match=r"2 of 3 zones cannot attach.*2 hold no street node \(zones 20, 30\)"
    ):
        attached = attach_zones(net, zones)
    assert attached["zone"].tolist() == [10]
    assert attached.attrs["dropped_zones"] == [20, 30]
    assert attached["n_nodes"].tolist() == [4]
    with pytest.raises(SnappingError, match="2 of 3 zones"):
        attach_zones(net, zones, on_unattached="raise")
    with pytest.warns(UserWarning, match=r"1 of 3 zones .* farther than 500 m .*zones 20"):
        kept = attach_zones(net, zones, on_unattached="keep", max_snap_m=500.0)
    assert kept["zone"].tolist() == [10, 30]
    assert kept["snap_m"].iloc[1] == pytest.approx(math.hypot(50, 50), rel=1e-3)


def test_no_zone_left_is_an_error():
    net = lattice_network(n=3)
    zones = pd.DataFrame({"zone": [1], "x": [net.node_x[0] + 1.0], "y": [net.node_y[0]]})
    with pytest.raises(SnappingError, match="no zone is left"):
        attach_zones(net, zones, max_snap_m=100.0)


def test_points_attach_to_the_nearest_node_by_brute_force():
    net = lattice_network(n=6, spacing_m=100.0, planar=True)
    rng = np.random.default_rng(3)
    pts = pd.DataFrame(
        {"zone": np.arange(1, 21), "x": rng.uniform(-50, 550, 20), "y": rng.uniform(-50, 550, 20)}
    )
    attached = attach_zones(net, pts)
    d = np.hypot(
        pts["x"].to_numpy()[:, None] - net.node_x[None, :],
        pts["y"].to_numpy()[:, None] - net.node_y[None, :],
    )
    np.testing.assert_allclose(attached["snap_m"], d.min(axis=1), rtol=1e-12)
    assert (d[np.arange(20), attached["node"]] == d.min(axis=1)).all()


def test_population_grid_as_zones(require_data):
    path = require_data("population/helsinki_population_grid_2020.gpkg")
    zones = read_zones(path)
    assert len(zones) == 92
    assert zones["zone"].tolist() == gpd.read_file(path)["id"].tolist()
    assert zones["population"].sum() == 71_724  # the published total (data README)
    # centroid of each 250 m cell lies inside it
    assert shapely.contains_xy(
        zones.geometry.to_numpy(), zones["x"].to_numpy(), zones["y"].to_numpy()
    ).all()


def test_read_zones_formats_and_errors(tmp_path):
    gdf = gpd.GeoDataFrame({"id": [5, 6]}, geometry=[square(24.9, 60.1, 0.001), square(24.91, 60.1, 0.001)],
                           crs="EPSG:4326")  # fmt: skip
    gdf.to_file(tmp_path / "z.geojson")
    z = read_zones(tmp_path / "z.geojson")
    assert z["zone"].tolist() == [5, 6]
    np.testing.assert_allclose(z["x"], [24.9, 24.91], atol=1e-9)
    # other CRS: reprojected to EPSG:4326
    gdf.to_crs("EPSG:3067").to_file(tmp_path / "z.gpkg")
    np.testing.assert_allclose(read_zones(tmp_path / "z.gpkg")["y"], [60.1, 60.1], atol=1e-7)
    (tmp_path / "z.csv").write_text("zone,lon,lat\n1,24.9,60.1\n2,24.91,60.1\n")
    pts = read_zones(tmp_path / "z.csv")
    assert pts.geometry.geom_type.tolist() == ["Point", "Point"]
    assert pts["zone"].tolist() == [1, 2]
    with pytest.raises(InputFileError, match="not found"):
        read_zones(tmp_path / "missing.gpkg")
    (tmp_path / "z.txt").write_text("x")
    with pytest.raises(InputFileError, match="unknown zone file type"):
        read_zones(tmp_path / "z.txt")
    gdf.rename(columns={"id": "zone"}).assign(zone=[5, 5]).to_file(tmp_path / "dup.geojson")
    with pytest.raises(InputFileError, match="appears twice"):
        read_zones(tmp_path / "dup.geojson")
    gdf.assign(id=["a", "b"]).to_file(tmp_path / "text.geojson")
    with pytest.raises(InputFileError, match="not an integer"):
        read_zones(tmp_path / "text.geojson")


def test_attach_without_warning_when_all_fit():
    net = lattice_network()
    cells = grid_zones(net, cell_size_m=300.0, shape="hexagon", geometry=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attached = attach_zones(net, cells, max_snap_m=300.0)
    assert len(attached) == len(cells)
    assert attached.attrs["dropped_zones"] == []


def test_read_zones_csv_spellings_columns_and_errors(tmp_path):
    path = tmp_path / "z.csv"
    path.write_text("ID,Longitude,Latitude,population,name\n7,24.9,60.1,100,a\n8,24.91,60.1,0,b\n")
    zones = read_zones(path)
    assert list(zones.columns) == ["zone", "x", "y", "population", "name", "geometry"]
    assert zones["zone"].tolist() == [7, 8] and zones["population"].tolist() == [100.0, 0.0]
    cases = {
        "zone,lon,lat\n1,24.9,60.1\n2,24.9,north\n": r"z\.csv: line 3 \(zone 2\): column 'lat'",
        "zone,lon,lat,jobs\n1,24.9,60.1,-5\n": r"line 2 \(zone 1\): column 'jobs' is -5",
        "zone,lon,lat\n1,24.9,60.1\n1.5,24.9,60.1\n": r"line 3: zone id 1\.5 .*not an integer",
        "zone,lon,lat\n4,24.9,60.1\n4,24.9,60.1\n": r"line 3: zone id 4 appears twice",
        "zone,lon\n1,24.9\n": r"needs a column named one of \('lat', 'y', 'latitude'\)",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(InputFileError, match=message):
            read_zones(path)


def test_zone_weights_and_split_total():
    from transitopt.zones import split_total, zone_weights

    net = lattice_network(n=4)
    zones = pd.DataFrame({"zone": [1, 2], "x": [net.node_x.min(), net.node_x.max()],
                          "y": [net.node_y.min(), net.node_y.max()]})  # fmt: skip
    nodes = zone_weights(zones, "nodes", network=net)
    assert nodes.sum() == net.n_nodes
    length = zone_weights(zones, "street_length", network=net)
    assert length.sum() == pytest.approx(np.nansum(net.length_m))
    stops = pd.DataFrame({"lon": zones["x"] + [0.0, 1e-5], "lat": zones["y"]})
    assert zone_weights(zones, "stops", stops=stops).tolist() == [1.0, 1.0]
    assert zone_weights(zones, "uniform").tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="need a street network"):
        zone_weights(zones, "nodes")
    np.testing.assert_allclose(split_total(900.0, np.array([1.0, 2.0])), [300.0, 600.0])
    np.testing.assert_allclose(split_total(900.0, np.zeros(3)), [300.0, 300.0, 300.0])
