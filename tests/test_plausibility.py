"""Plausibility checks (transitopt.scenario.plausibility): each check on hand-made tables
with its threshold on either side, then the known cases end to end on the hand-written
town: a bus lane on single-lane roads and a batch policy that changes nothing.

References: distances by hand (0.001 degree of latitude = 111.2 m on the 6,371.0088 km
sphere of ``transitopt.geo``); the thresholds of ``[plausibility]`` in the defaults file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import ConvergenceWarning
from transitopt.batch import run_batch
from transitopt.scenario import evaluate, read_result
from transitopt.scenario.plausibility import (
    CODES,
    LIMITS,
    PlausibilityWarning,
    _default_lanes,
    _line_circuity,
    _mode_shares,
    _no_effect,
    _sparse_buildings,
    _zones_without_stop,
    grouped_warnings,
    has_no_effect,
    warnings_of,
)

TOWN = (Path(__file__).parent / "data" / "scenario_town.osm").as_posix()


def _zones(n: int, active: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone": np.arange(1, n + 1),
            "lon": np.zeros(n),
            "lat": np.zeros(n),
            "population": [100.0 if i < active else 0.0 for i in range(n)],
            "jobs": np.zeros(n),
        }
    )


def test_limits_are_the_documented_ones():
    assert LIMITS == {
        "min_active_zone_share": 0.5,
        "max_line_circuity": 1.8,
        "min_line_detour_m": 300.0,
        "share_car": [0.10, 0.90],
        "share_transit": [0.01, 0.75],
        "share_walk": [0.02, 0.50],
    }


def test_sparse_buildings_below_half_of_the_zones():
    od = pd.DataFrame({"trips": [30_000.0]})
    (w,) = _sparse_buildings(_zones(10, 3), od)
    assert w.code == "sparse_buildings" and w.ids == ("1", "2", "3")
    assert "3 of 10 zones (30%)" in w.message and "all 30,000 trips/h" in w.message
    assert 'zones.weights = "street_length"' in w.message
    assert _sparse_buildings(_zones(10, 5), od) == []  # exactly half: not sparse


def test_zones_without_a_stop_in_walking_distance():
    zones = pd.DataFrame(
        {
            "zone": [1, 2, 3],
            "lon": [0.0, 0.0, 0.0],
            "lat": [0.005, 0.010, 0.020],  # 556 m, 1,112 m and 2,224 m from the stop
            "population": [50.0, 70.0, 0.0],  # zone 3: nobody lives or works there
            "jobs": [0.0, 0.0, 0.0],
        }
    )
    stops = pd.DataFrame({"lon": [0.0], "lat": [0.0]})
    (w,) = _zones_without_stop(zones, stops, 800.0)
    assert w.ids == ("2",) and "1 of 3 zones (70 residents)" in w.message
    assert _zones_without_stop(zones, stops, 1200.0) == []


def test_line_circuity_over_the_limit():
    # line A: two straight segments of 0.01 degree of latitude (1,111.9 m each); line B:
    # one of 0.001 degree (111.2 m), a fragment whose detour is under 300 m
    def segments(factor_a: float, factor_b: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "line": ["A", "A", "B"],
                "from_lon": [0.0, 0.0, 0.0],
                "from_lat": [0.0, 0.01, 0.0],
                "to_lon": [0.0, 0.0, 0.0],
                "to_lat": [0.01, 0.02, 0.001],
                "length_m": [1111.95 * factor_a] * 2 + [111.195 * factor_b],
            }
        )

    (w,) = _line_circuity(segments(2.0, 3.0))
    assert w.ids == ("A",)
    assert (
        "1 line runs more than 1.8 x" in w.message and "A (4.4 km for 2.2 km, 2.0 x)" in w.message
    )
    (w,) = _line_circuity(segments(2.0, 4.0), {"B": "bus 7"})  # B: 445 m for 111 m, 333 m longer
    assert w.ids == ("B", "A") and "2 lines run" in w.message
    assert "bus 7 (0.4 km for 0.1 km, 4.0 x)" in w.message  # named as the planner knows it
    assert _line_circuity(segments(1.7, 3.0)) == []


def test_default_lanes_only_when_no_road_has_a_lanes_tag():
    (w,) = _default_lanes({"imputed": {"lanes": {"default": 10}}}, 10)
    assert w.code == "default_lanes" and "all 10 links" in w.message
    assert _default_lanes({"imputed": {"lanes": {"default": 9, "tag": 1}}}, 10) == []
    assert _default_lanes({}, 10) == []  # TNTP: no imputation


def test_edits_without_effect():
    columns = ["file", "edit", "type", "target", "effect"]
    (w,) = _no_effect(pd.DataFrame(columns=columns))
    assert w.code == "no_effect"
    request = ("alt.toml", 0, "bus_lane", "L1", "bus lane on the line's street route")
    nothing = ("alt.toml", 0, "bus_lane (laid)", "L1", "bus lane on 0 link(s); 4 single-lane link(s) left in mixed traffic")  # fmt: skip
    headway = ("alt.toml", 1, "change_line", "L1", "headway 600 -> 300 s")
    codes = [w.code for w in _no_effect(pd.DataFrame([request, nothing], columns=columns))]
    assert codes == ["edit_no_effect", "no_effect"]
    both = _no_effect(pd.DataFrame([request, nothing, headway], columns=columns))
    assert [w.code for w in both] == ["edit_no_effect"] and both[0].ids == ("alt.toml:0",)
    laid = ("alt.toml", 0, "bus_lane (laid)", "L1", "bus lane on 2 link(s)")
    assert _no_effect(pd.DataFrame([request, laid], columns=columns)) == []


def test_mode_shares_outside_the_ranges():
    shares = pd.DataFrame(
        {"mode": ["car", "transit", "walk"], "share": [0.458, 0.002, 0.54]}
    )  # a new city of issue #12: 0.2 % transit, 54 % walk
    found = _mode_shares(shares)
    assert [w.ids for w in found] == [("transit",), ("walk",)]
    assert "transit share 0.2% is below" in found[0].message
    assert [w.ids for w in _mode_shares(shares, skip=("transit",))] == [("walk",)]  # no lines
    assert _mode_shares(pd.DataFrame({"mode": ["car", "transit", "walk"], "share": [0.5, 0.2, 0.3]})) == []  # fmt: skip


def test_warnings_shared_by_every_run_are_listed_once():
    shares = [_mode_shares(pd.DataFrame({"mode": ["walk"], "share": [x]})) for x in (0.62, 0.63)]
    lanes = _default_lanes({"imputed": {"lanes": {"default": 10}}}, 10)
    summaries = [
        {"warnings": [w.to_dict() for w in shares[0] + lanes]},
        {"warnings": [w.to_dict() for w in shares[1]]},
    ]
    pairs = grouped_warnings(summaries, ["base", "alt"])
    assert [(who, w.code) for who, w in pairs] == [
        ("all runs", "mode_share_range"),  # same code and ids: once, with the first message
        ("base", "default_lanes"),
    ]
    assert "62.0%" in pairs[0][1].message
    three = grouped_warnings([*summaries, summaries[1]], ["base", "alt", "alt 2"])
    assert [who for who, _ in three] == ["all runs", "base"]
    two_of_three = grouped_warnings([summaries[0], summaries[0], {}], ["a", "b", "c"])
    assert [who for who, _ in two_of_three] == ["a, b", "a, b"]


def test_warnings_round_trip_through_a_summary():
    w = PlausibilityWarning("no_effect", "nothing", ("a:0",))
    summary = {"warnings": [w.to_dict()]}
    assert warnings_of(summary) == [w] and has_no_effect(summary)
    assert warnings_of({}) == [] and not has_no_effect({"warnings": []})
    assert w.code in CODES


# ---------------------------------------------------------------------------- the town
@pytest.mark.slow
def test_bus_lane_on_single_lane_roads_has_no_effect(tmp_path, town_toml):
    base = town_toml(12000, zones={"population_total": 9000, "jobs_total": 9000})
    (tmp_path / "base.toml").write_text(base, encoding="utf-8")
    # way 203 (3 -> 6 -> 9) carries the bus and has one lane per direction
    (tmp_path / "narrow.toml").write_text(
        '[scenario]\nname = "Narrow"\nbaseline = "base.toml"\n\n[[edits]]\ntype = "bus_lane"\n'
        'line = "bus:1"\nways = [203]\non_single_lane = "mixed"\n',
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = evaluate(tmp_path / "narrow.toml")
    codes = [w.code for w in warnings_of(result.summary)]
    assert codes == ["edit_no_effect", "no_effect"]
    assert has_no_effect(result.summary)
    assert not result.table("links")["bus_lane"].any()


BATCH = f"""\
[batch]
name = "no-effect"

[model.feedback]
max_iter = 20

[[cities]]
id = "town"
network = "{TOWN}"
osm_routes = true
zones = {{grid_cell_m = 300, weights = "uniform", population_total = 9000, jobs_total = 9000}}
demand = {{synthesis = {{trips_per_hour = 12000}}}}

[[scenarios]]
name = "baseline"
policy = "baseline"

[[scenarios]]
name = "lanes-nowhere"
policy = "bus_lanes_over_voc"
threshold = 50.0
"""


@pytest.mark.slow
def test_batch_policy_without_effect_says_so(tmp_path):
    """No link reaches v/c 50: the policy makes no edit and its status is "no_effect"."""
    path = tmp_path / "batch.toml"
    path.write_text(BATCH, encoding="utf-8")
    summary = run_batch(path, tmp_path / "out", workers=0)
    table = summary.table.set_index("scenario")
    assert table.loc["baseline", "status"] == "ok"
    assert table.loc["lanes-nowhere", "status"] == "no_effect"
    assert "no_effect" in table.loc["lanes-nowhere", "warnings"]
    assert summary.computed == 2 and summary.failed == 0
    result = read_result(table.loc["lanes-nowhere", "result_dir"])
    assert has_no_effect(result.summary)


@pytest.mark.slow
def test_land_use_on_sparse_buildings_warns(require_data, tmp_path):
    """Surabaya-Sukolilo maps 389 buildings: land use fills 11 of 80 zones (measured)."""
    source = require_data("osm/Surabaya-Sukolilo.osm").resolve().as_posix()
    (tmp_path / "base.toml").write_text(
        f'[scenario]\nname = "Sukolilo"\n\n[network]\nsource = "{source}"\nprofile = "indonesia"\n\n'
        '[zones]\ngrid_cell_m = 300\nweights = "landuse"\n\n[demand.synthesis]\ntrips_per_hour = 30000\n\n'
        "[transit]\nosm_routes = false\n",
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(tmp_path / "base.toml")
    found = {w.code: w for w in warnings_of(result.summary)}
    # no transit lines: no transit-share warning. The Indonesian profile's [model] makes
    # motorcycles and ojek modes here (docs/model.md 3c); its walk share, 50.1 % on these
    # 11 zones, may cross the 50 % bound, a warning that is not this test's subject.
    assert "sparse_buildings" in found and set(found) <= {"sparse_buildings", "mode_share_range"}
    assert all(w.ids != ("transit",) for w in warnings_of(result.summary))
    zones = result.table("zones")
    active = (zones["population"] + zones["jobs"]) > 0
    assert f"on {active.sum()} of {len(zones)} zones" in found["sparse_buildings"].message
    assert active.mean() < 0.5
