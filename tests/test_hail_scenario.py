"""Hail-and-ride lines in a whole scenario: the town with one angkot along South Street.

Hand computation. The line runs from node 1 to node 3 of the town (South Street, one
segment of about 602 m over two links), every 10 min, flagged ``hail_and_ride``. Walking
is the straight line (``network.walk = false``, ``walk_detour_factor = 1``). Zone P lies
150 m along the street from node 1 and 120 m north of it, zone Q 450 m along and 120 m
north. The segment is cut into ``ceil(602 / 100) = 7`` equal pieces (boarding points
every 602 / 7 = 86 m, ``hail_and_ride_spacing_m = 100``), so

* P boards at the point nearest to it, at 2 x 86 = 172 m: walk sqrt(22² + 120²) m, and Q
  alights at 5 x 86 = 430 m: walk sqrt(20² + 120²) m (stop to stop they walk to nodes 1
  and 3: sqrt(150² + 120²) and sqrt(152² + 120²) m);
* P to Q rides 3 of the 7 pieces: 3/7 of the segment's running time, which is the sum
  over its two links of max(congested car time, length / bus_max_speed) (mixed traffic,
  the links table's ``time_s``).

Only P -> Q has demand (the line runs one way; Q -> P could ride one piece between two
walks, a legal but silly transit path that would load the line too).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import ConvergenceWarning
from transitopt.geo import haversine_m
from transitopt.scenario import evaluate

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"

#: metres per degree east and north at the town's latitude (60 N), as haversine_m measures
EAST_M = float(haversine_m(25.0, 60.0, 25.001, 60.0)) / 0.001
NORTH_M = float(haversine_m(25.0, 60.0, 25.0, 60.001)) / 0.001
#: node 3 (25.0108 E) from node 1 (25.0 E) along South Street (m)
STREET_M = 0.0108 * EAST_M
PIECES = math.ceil(STREET_M / 100.0)
#: zone ids of P and Q
P, Q = 1, 2


def _zone(x_m: float, y_m: float) -> tuple[float, float]:
    return 25.0 + x_m / EAST_M, 60.0 + y_m / NORTH_M


BASE = f"""\
[scenario]
name = "Angkot town"

[network]
source = "{TOWN.as_posix()}"
walk = false

[zones]
file = "zones.csv"

[demand]
od_file = "od.csv"

[transit]
line_fare = 1.0

[[transit.lines]]
id = "A"
mode = "minibus"
stops = [1, 3]
headway_min = 10
hail_and_ride = {{hail}}

[model]
value_of_time_per_h = 12.0
walk_detour_factor = 1.0
max_access_walk_m = 250
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hail_town")
    lon, lat = zip(_zone(150.0, 120.0), _zone(450.0, 120.0), strict=True)
    pd.DataFrame(
        {"zone": [P, Q], "lon": lon, "lat": lat, "population": 1000.0, "jobs": 1000.0}
    ).to_csv(folder / "zones.csv", index=False)
    pd.DataFrame({"origin": [P, Q], "destination": [Q, P], "trips": [300.0, 0.0]}).to_csv(
        folder / "od.csv", index=False
    )
    out = {}
    for hail in (True, False):
        path = folder / f"town_{str(hail).lower()}.toml"
        path.write_text(BASE.replace("{hail}", str(hail).lower()), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out[hail] = evaluate(path)
    return out


def _pq(result) -> pd.Series:
    od = result.tables["od"]
    return od[(od["origin"] == P) & (od["destination"] == Q)].iloc[0]


def test_access_walks_to_the_nearest_boarding_point(results):
    step = STREET_M / PIECES
    board = min(abs(k * step - 150.0) for k in range(PIECES + 1))
    alight = min(abs(k * step - 450.0) for k in range(PIECES + 1))
    hail_m = math.hypot(board, 120.0) + math.hypot(alight, 120.0)
    stop_m = math.hypot(150.0, 120.0) + math.hypot(STREET_M - 450.0, 120.0)
    speed = results[True].summary["parameters"]["walk_speed_mps"]
    # 0.5 m: the zones are placed in degrees from metres measured at 60 N (haversine_m)
    assert _pq(results[True])["transit_walk_s"] * speed == pytest.approx(hail_m, abs=0.5)
    assert _pq(results[False])["transit_walk_s"] * speed == pytest.approx(stop_m, abs=0.5)


def test_rides_its_share_of_the_street_running_time(results):
    result = results[True]
    links = result.tables["links"]
    south = links[links["name"] == "South Street"]
    south = south[south["x1"] > south["x0"]]  # eastbound, node 1 -> 2 -> 3
    v_max = result.summary["parameters"]["bus_max_speed_kph"] / 3.6
    segment_s = float(np.maximum(south["time_s"], south["length_m"] / v_max).sum())
    step = STREET_M / PIECES
    rides = round(450.0 / step) - round(150.0 / step)  # pieces from P's point to Q's
    # 1e-6 s: the same sums in another order
    assert _pq(result)["transit_ivt_s"] == pytest.approx(rides / PIECES * segment_s, abs=1e-6)
    segments = result.tables["segments"]
    assert len(segments) == PIECES and segments["hail_and_ride"].all()
    assert segments["route_seq"].tolist() == [0] * PIECES
    assert segments["run_time_s"].sum() == pytest.approx(segment_s, abs=1e-6)
    stop_based = results[False].tables["segments"]
    assert len(stop_based) == 1 and not stop_based["hail_and_ride"].any()
    assert stop_based["length_m"].iloc[0] == pytest.approx(segments["length_m"].sum(), abs=1e-6)


def test_loads_along_the_street(results):
    result = results[True]
    segments = result.tables["segments"].sort_values("seq")
    trips = float(_pq(result)["transit"])
    assert trips > 0
    step = STREET_M / PIECES
    on = (segments["seq"] >= round(150.0 / step)) & (segments["seq"] < round(450.0 / step))
    # every P -> Q rider is on the pieces between the two points, nobody else rides
    np.testing.assert_allclose(segments["load"], np.where(on, trips, 0.0), atol=1e-6)
    # boardings at each piece's start, alightings at its end
    load = np.cumsum(segments["boardings"]) - np.r_[0.0, np.cumsum(segments["alightings"])[:-1]]
    np.testing.assert_allclose(segments["load"], load, atol=1e-6)
    # each piece is drawn along South Street (latitude 60) between its points
    for wkt, x0, x1 in segments[["geometry_wkt", "from_lon", "to_lon"]].itertuples(index=False):
        xy = np.array(
            [p.split() for p in wkt.removeprefix("LINESTRING (").rstrip(")").split(", ")],
            dtype=float,
        )
        np.testing.assert_allclose(xy[:, 1], 60.0, atol=1e-7)
        np.testing.assert_allclose(xy[[0, -1], 0], [x0, x1], atol=1e-7)
    stops = result.tables["stops"]
    assert len(stops) == 2 + PIECES - 1  # the two stops and the boarding points
    lines = result.tables["lines"].set_index("line")
    assert lines.at["A", "boardings"] == pytest.approx(trips, abs=1e-6)
    assert lines.at["A", "n_stops"] == 2 and lines.at["A", "hail_and_ride"]
    assert lines.at["A", "length_km"] * 1000.0 == pytest.approx(
        segments["length_m"].sum(), abs=1e-6
    )


def test_scenario_flags_set_hail_and_ride(tmp_path, town_toml):
    """``transit.hail_and_ride`` sets the OSM/GTFS lines, ``change_line`` any line."""
    from transitopt.scenario import load_scenario
    from transitopt.scenario.edits import apply_edits
    from transitopt.scenario.inputs import load_base

    (tmp_path / "base.toml").write_text(
        town_toml(1000) + "hail_and_ride = true\n", encoding="utf-8"
    )
    (tmp_path / "stops.toml").write_text(
        '[scenario]\nname = "Stops"\nbaseline = "base.toml"\n\n[[edits]]\n'
        'type = "change_line"\nline = "bus:1"\nhail_and_ride = false\n',
        encoding="utf-8",
    )
    base = load_scenario(tmp_path / "base.toml")
    prepared = apply_edits(base, load_base(base))
    assert [ln.hail_and_ride for ln in prepared.supply.lines] == [True]
    assert any("1 hail-and-ride lines" in note for note in prepared.notes)
    alternative = load_scenario(tmp_path / "stops.toml")
    prepared = apply_edits(alternative, load_base(alternative))
    assert [ln.hail_and_ride for ln in prepared.supply.lines] == [False]
    assert "stop to stop" in prepared.log["effect"].iloc[0]
