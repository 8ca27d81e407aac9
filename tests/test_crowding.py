"""Crowding in mode choice, in the scenario results and in the report (issue 16, items 2 and 5).

References: hand-computed tables (per-line and per-zone sums written out below), the
capacity limits of the lines (places = vehicle capacity x vehicles per hour), and the
uncapacitated model (whose mode shares do not depend on the demand level).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import metrics as M
from transitopt.assignment import MultimodalModel, MultimodalParameters
from transitopt.assignment.multimodal import TRANSIT_LOG_COLUMNS, FeedbackParameters
from transitopt.report.charts import load_profile_figure
from transitopt.report.comparison import write_line_crowding
from transitopt.report.crowding import capacity_modelled, crowding_section, line_crowding_table
from transitopt.report.html import write_report
from transitopt.report.maps.layers import report_maps
from transitopt.scenario import ScenarioResult, compare, evaluate
from transitopt.scenario.explain import line_crowding_bands
from transitopt.transit import CapacityParameters, Line, Stop, TransitSupply

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"


# ---------------------------------------------------------------------------- mode choice
def _two_line_model(trips: float, capacity: CapacityParameters | None):
    """Zones at two stops 5.5 km apart; line A (600 s, every 5 min) and B (900 s, every
    10 min), 70 places per bus: A offers 840 places per hour, B 420."""
    stops = [Stop("s1", "s1", 0.0, 0.0), Stop("s2", "s2", 0.05, 0.0)]
    lines = [
        Line("A", "A", "bus", ("s1", "s2"), 300.0, capacity=70.0, running_times_s=(600.0,)),
        Line("B", "B", "bus", ("s1", "s2"), 600.0, capacity=70.0, running_times_s=(900.0,)),
    ]
    zones = pd.DataFrame({"zone": [1, 2], "lon": [0.0, 0.05], "lat": [0.0, 0.0]})
    demand = np.array([[0.0, trips], [0.0, 0.0]])
    model = MultimodalModel(
        zones,
        demand,
        supply=TransitSupply.from_stops(stops, lines),
        parameters=MultimodalParameters(transit_capacity=capacity),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.run()
    boardings = result.transit.line_table().set_index("line")["boardings"].to_dict()
    return result, result.demand["transit"].sum() / trips, boardings


def test_more_demand_on_a_full_line_moves_riders_to_another_line_and_mode():
    capacity = CapacityParameters()
    free_low, share_free_low, _ = _two_line_model(200.0, None)
    free_high, share_free_high, _ = _two_line_model(2000.0, None)
    low, share_low, on_low = _two_line_model(200.0, capacity)
    high, share_high, on_high = _two_line_model(2000.0, capacity)
    assert low.converged and high.converged
    # the transit assignment's gap is logged per feedback iteration with capacities only
    assert "transit_gap" in high.convergence.columns
    assert "transit_gap" not in free_high.convergence.columns
    # without capacities the logit shares do not depend on the demand level
    assert share_free_high == pytest.approx(share_free_low, rel=1e-9)
    # 200 trips fit line A: no crowding, everyone on A, the uncapacitated share
    assert on_low["B"] == pytest.approx(0.0, abs=1e-6)
    assert share_low == pytest.approx(share_free_low, rel=1e-3)
    assert low.skims["transit_crowding_s"][0, 1] == pytest.approx(0.0, abs=1e-6)
    # 2000 trips: A fills, riders move to the slower B and out of transit
    assert on_high["B"] > 100.0
    assert on_high["B"] / (on_high["A"] + on_high["B"]) > 0.2
    assert share_high < share_low - 0.1
    assert on_high["A"] <= 840.0 and on_high["B"] <= 420.0  # places per hour
    # the crowding surcharge is part of the transit utility's generalised cost
    crowding_min = high.skims["transit_crowding_s"][0, 1] / 60.0
    assert crowding_min > 1.0
    gc_rise = high.skims["transit_gc_min"][0, 1] - free_high.skims["transit_gc_min"][0, 1]
    assert gc_rise >= crowding_min - 1e-9


def test_feedback_iterations_run_a_few_sweeps_and_the_final_state_in_full(monkeypatch):
    """Each feedback iteration after the first runs at most ``transit_sweeps`` sweeps from
    the last state; the first and the final state's assignment are not limited; the
    equilibrium is the one every iteration solved in full gives (mode share within 1e-4).
    MSA runs are never limited (they start afresh each time)."""
    import transitopt.transit as transit

    real = transit.assign_transit_capacity
    calls: list[tuple[bool, int, int]] = []
    crowding: list[tuple[float, float]] = []

    def recorded(graph, demand, **kwargs):
        result = real(graph, demand, **kwargs)
        calls.append(
            (kwargs.get("start") is not None, kwargs["params"].max_iter, len(result.history))
        )
        crowding.append((result.denied_boardings, result.standing_h))
        return result

    monkeypatch.setattr(transit, "assign_transit_capacity", recorded)
    shares, most = {}, {}
    for rule, sweeps in (("sweeps", 0), ("sweeps", 2), ("msa", 2)):
        calls.clear()
        crowding.clear()
        capacity = CapacityParameters(step_rule=rule, tolerance=1e-4)
        stops = [Stop("s1", "s1", 0.0, 0.0), Stop("s2", "s2", 0.05, 0.0)]
        lines = [
            Line("A", "A", "bus", ("s1", "s2"), 300.0, capacity=70.0, running_times_s=(600.0,)),
            Line("B", "B", "bus", ("s1", "s2"), 600.0, capacity=70.0, running_times_s=(900.0,)),
        ]
        zones = pd.DataFrame({"zone": [1, 2], "lon": [0.0, 0.05], "lat": [0.0, 0.0]})
        params = MultimodalParameters(
            transit_capacity=capacity,
            feedback=FeedbackParameters(max_iter=40, tolerance=1e-5, transit_sweeps=sweeps),
        )
        model = MultimodalModel(
            zones,
            np.array([[0.0, 2000.0], [0.0, 0.0]]),
            supply=TransitSupply.from_stops(stops, lines),
            parameters=params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.run()
        shares[rule, sweeps] = result.demand["transit"].sum() / 2000.0
        first, *middle, final = calls
        assert not first[0] and first[1] == capacity.max_iter
        assert final[1] == capacity.max_iter
        # the convergence log shows each iteration's transit gap and iterations (sweeps)
        log = result.convergence
        assert log["transit_iterations"].tolist() == [done for _, _, done in calls[:-1]]
        assert np.isfinite(log["transit_gap"]).all() and (log["transit_gap"] >= 0).all()
        # and its riders denied boarding and passenger-hours standing (their noise band)
        logged = log[["transit_denied", "transit_standing_h"]].to_numpy()
        np.testing.assert_allclose(logged, crowding[:-1], rtol=1e-12)
        assert logged[-1, 1] > 0  # 2,000 riders on 2 × 70 places a period: standing
        if rule == "msa":  # no warm start, no limit
            assert not any(warm for warm, _, _ in calls)
            assert all(max_iter == capacity.max_iter for _, max_iter, _ in middle)
            continue
        assert middle and all(warm for warm, _, _ in middle) and final[0]
        limit = sweeps if sweeps else capacity.max_iter
        assert all(max_iter == limit and done <= limit for _, max_iter, done in middle)
        most[sweeps] = max(done for _, _, done in middle)
    # solved in full, some middle iterations took more sweeps than the limit (7 observed)
    assert most[0] > 2 >= most[2]
    assert shares["sweeps", 2] == pytest.approx(shares["sweeps", 0], abs=1e-4)  # observed 3e-6
    assert shares["msa", 2] == pytest.approx(shares["sweeps", 0], abs=1e-4)  # observed 2e-5


def test_share_error_reads_each_iterations_mode_choice_back_from_the_log(monkeypatch):
    """The explanation's share band reads each feedback iteration's mode choice back from
    the averaged shares of the convergence log (the loop's averaging rule, 1/k): here
    against the shares the loop itself chose, recorded as it ran (1e-12)."""
    from transitopt.assignment import multimodal
    from transitopt.scenario.explain import share_error

    real = multimodal._Loop._average
    chosen: list[float] = []

    def recorded(loop, k, response):
        chosen.append(response["transit"].sum() / loop.setup.total.sum())
        return real(loop, k, response)

    monkeypatch.setattr(multimodal._Loop, "_average", recorded)
    stops = [Stop("s1", "s1", 0.0, 0.0), Stop("s2", "s2", 0.05, 0.0)]
    lines = [
        Line("A", "A", "bus", ("s1", "s2"), 300.0, capacity=70.0, running_times_s=(600.0,)),
        Line("B", "B", "bus", ("s1", "s2"), 600.0, capacity=70.0, running_times_s=(900.0,)),
    ]
    model = MultimodalModel(
        pd.DataFrame({"zone": [1, 2], "lon": [0.0, 0.05], "lat": [0.0, 0.0]}),
        np.array([[0.0, 2000.0], [0.0, 0.0]]),
        supply=TransitSupply.from_stops(stops, lines),
        parameters=MultimodalParameters(
            transit_capacity=CapacityParameters(),
            feedback=FeedbackParameters(max_iter=14, tolerance=1e-12),
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.run()
    log = out.convergence
    assert len(log) == len(chosen) == 14
    k = log["iteration"].to_numpy(float)[1:]
    averaged = log["share_transit"].to_numpy()
    read_back = averaged[:-1] + k * (averaged[1:] - averaged[:-1])
    np.testing.assert_allclose(read_back, chosen[1:], rtol=0, atol=1e-12)
    last = np.asarray(chosen[-6:])  # the later half of the 13 choices after the first
    expected = abs(last.mean() - averaged[-1]) + last.std(ddof=1) / np.sqrt(last.size)
    result = ScenarioResult("two lines", "two lines", {"convergence": log}, {})
    # two modes: walk's error is transit's (their shares sum to 1)
    assert share_error(result) == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------------------- metrics
def _crowded_segments() -> pd.DataFrame:
    """Two lines, hand-made loads: L1 has 3 segments (60 s each), L2 has 1 (120 s)."""
    return pd.DataFrame(
        {
            "line": ["L1", "L1", "L1", "L2"],
            "seq": [0, 1, 2, 0],
            "length_m": [500.0, 500.0, 500.0, 1000.0],
            "run_time_s": [60.0, 60.0, 60.0, 120.0],
            "load": [300.0, 500.0, 200.0, 100.0],
            "boardings": [300.0, 250.0, 0.0, 100.0],
            "capacity_per_hour": [420.0, 420.0, 420.0, 840.0],
            "places": [420.0, 420.0, 420.0, 840.0],
            "seats": [168.0, 168.0, 168.0, 336.0],
            "load_factor": [300 / 420, 500 / 420, 200 / 420, 100 / 840],
            "standing": [132.0, 332.0, 32.0, 0.0],
            "crowding_multiplier": [2.0, 2.0, 1.5, 1.0],
            "denied": [0.0, 80.0, 0.0, 0.0],
        }
    )


def test_line_crowding_by_hand():
    table = M.line_summary(_crowded_segments()).set_index("line")
    assert table.loc["L1", "peak_load_factor"] == pytest.approx(500 / 420)
    assert table.loc["L1", "peak_standing"] == 332.0
    # standing passenger-hours: (132 + 332 + 32) riders x 60 s
    assert table.loc["L1", "standing_h"] == pytest.approx(496 * 60 / 3600)
    assert table.loc["L1", "denied"] == 80.0
    # crowded in-vehicle hours: (300 x 2 + 500 x 2 + 200 x 1.5) x 60 s
    assert table.loc["L1", "crowded_passenger_h"] == pytest.approx(1900 * 60 / 3600)
    assert table.loc["L2", "standing_h"] == 0.0
    od = pd.DataFrame(
        {
            "transit": [10.0, 30.0, 0.0],
            "transit_wait_s": [60.0, 120.0, np.nan],
            "transit_boardings": [1.0, 1.0, np.nan],
            "transit_time_s": [600.0, 1200.0, np.nan],
            "transit_crowding_s": [60.0, 240.0, np.nan],
        }
    )
    summary = M.transit_summary(table.reset_index(), od)
    assert summary["denied_boardings"] == 80.0
    assert summary["standing_h"] == pytest.approx(496 * 60 / 3600)
    assert summary["crowding_min"] == pytest.approx((10 * 1 + 30 * 4) / 40)
    assert summary["crowded_time_min"] == pytest.approx((10 * 11 + 30 * 24) / 40)


def test_no_crowding_numbers_without_capacities():
    segments = _crowded_segments().drop(columns=list(M.CROWDING_SEGMENT_COLUMNS))
    table = M.line_summary(segments)
    assert not M.has_crowding(table) and "denied" not in table.columns
    od = pd.DataFrame(
        {
            "transit": [1.0],
            "transit_wait_s": [1.0],
            "transit_boardings": [1.0],
            "transit_time_s": [1.0],
        }
    )
    summary = M.transit_summary(table, od)
    assert not {"denied_boardings", "standing_h", "crowding_min"} & set(summary)


def test_zone_crowding_by_hand():
    trips = np.array([[0.0, 10.0, 30.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    time_s = np.array([[0.0, 600.0, 1200.0], [900.0, 0.0, np.inf], [np.inf, np.inf, 0.0]])
    crowding_s = np.array([[0.0, 60.0, 240.0], [0.0, 0.0, np.inf], [np.inf, np.inf, 0.0]])
    got = M.zone_crowding(trips, time_s, crowding_s)
    np.testing.assert_allclose(got["transit_crowding_min"][:2], [(10 + 120) / 40, 0.0])
    np.testing.assert_allclose(
        got["transit_crowded_time_min"][:2], [(10 * 11 + 30 * 24) / 40, 15.0]
    )
    assert np.isnan(got["transit_crowding_min"][2])  # no transit riders: no number


# ---------------------------------------------------------------------------- scenario results
SCENARIO = """\
[scenario]
name = "{name}"

[network]
source = "{town}"

[zones]
file = "zones.csv"

[demand]
od_file = "od.csv"

[transit]
osm_routes = true

[model]
value_of_time_per_h = 12.0
{capacity}
"""


@pytest.fixture(scope="module")
def town_runs(tmp_path_factory):
    """The test town with line capacities (baseline and 12-place buses) and without."""
    from transitopt.network import load_network

    folder = tmp_path_factory.mktemp("crowding")
    drive = load_network(str(TOWN), network_type="drive")
    ids = np.arange(1, drive.n_nodes + 1)
    pd.DataFrame(
        {
            "zone": ids,
            "lon": drive.node_x,
            "lat": drive.node_y,
            "population": 1000.0,
            "jobs": 1000.0,
        }
    ).to_csv(folder / "zones.csv", index=False)
    z = ids.size
    i, j = np.meshgrid(np.arange(z), np.arange(z), indexing="ij")
    pd.DataFrame(
        {
            "origin": np.repeat(ids, z),
            "destination": np.tile(ids, z),
            "trips": (100.0 + 10.0 * i + 3.0 * j).ravel(),
        }
    ).to_csv(folder / "od.csv", index=False)
    town = TOWN.as_posix()
    on = "[model.transit_capacity]\nenabled = true\n"
    (folder / "base.toml").write_text(SCENARIO.format(name="capped", town=town, capacity=on))
    (folder / "free.toml").write_text(SCENARIO.format(name="free", town=town, capacity=""))
    (folder / "small.toml").write_text(
        '[scenario]\nname = "small buses"\nbaseline = "base.toml"\n\n[[edits]]\n'
        'type = "change_line"\nline = "relation/401"\ncapacity = 12\n'
    )
    (folder / "hail.toml").write_text(
        SCENARIO.format(name="hail", town=town, capacity=on).replace(
            "osm_routes = true", "osm_routes = true\nhail_and_ride = true"
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(evaluate(folder / f"{n}.toml") for n in ("base", "small", "free", "hail"))


def test_results_hold_crowding_only_with_capacities(town_runs):
    base, small, free, _ = town_runs
    assert capacity_modelled(base) and capacity_modelled(small) and not capacity_modelled(free)
    assert free.summary["transit_capacity"] == {"enabled": False}
    # the default step rule ran the sweeps here (their flows fit in sweeps_memory_mb)
    assert base.summary["transit_capacity"]["method"] == "effective frequencies (sweeps)"
    assert base.summary["transit_capacity"]["stop_reason"] in ("tolerance", "stalled")
    assert not set(M.CROWDING_SEGMENT_COLUMNS) & set(free.tables["segments"].columns)
    assert "transit_denied_boardings" not in set(free.metrics["metric"])
    seg = small.tables["segments"]
    # 12 places every 10 min: 72 places and 28.8 seats (bus seat share 0.4) per hour
    np.testing.assert_allclose(seg["places"], 72.0)
    np.testing.assert_allclose(seg["seats_per_hour"], 28.8)
    np.testing.assert_allclose(seg["load_factor"], seg["load"] / 72.0)
    np.testing.assert_allclose(seg["standing"], np.maximum(seg["load"] - 28.8, 0.0))
    capacity = small.outcome.transit_capacity
    assert seg["denied"].sum() == pytest.approx(capacity.denied_boardings)
    assert small["transit_standing_h"] == pytest.approx(capacity.standing_h, rel=1e-12)
    log = small.convergence
    assert np.isfinite(log["transit_denied"].iloc[1:]).all()  # the first: no demand yet
    # per line and feedback iteration the same counts (their per-line noise band); the
    # final state's per-line crowding is the lines table's
    per_line = small.tables["line_crowding_log"]
    assert "line_crowding_log" not in free.tables
    assert list(per_line.columns) == ["iteration", "line", *capacity.line_crowding().columns]
    assert per_line["iteration"].tolist() == log["iteration"].tolist()  # one line
    np.testing.assert_allclose(
        per_line.groupby("iteration")["denied"].sum(), log["transit_denied"], rtol=1e-12
    )
    np.testing.assert_allclose(
        per_line.groupby("iteration")["standing_h"].sum(), log["transit_standing_h"], rtol=1e-12
    )
    final = capacity.line_crowding()
    table = small.tables["lines"].set_index("line")[final.columns]
    pd.testing.assert_frame_equal(final, table.loc[final.index], rtol=1e-9)
    # the log's transit averages and load figures are the headline metrics' own
    # computation on each iteration's state: on the final state they equal the headline
    # (skims in the model's zone order, weighted by the final transit demand)
    outcome = small.outcome
    again = M.transit_averages(outcome.demand["transit"], outcome.skims)
    for name, value in again.items():
        assert small[f"transit_{name}"] == pytest.approx(value, rel=1e-12), name
    assert small["transit_max_load_ratio"] == pytest.approx(final["peak_load_factor"].max())
    assert small["transit_lines_over_capacity"] == np.sum(final["peak_load_factor"] > 1.0)
    logged = log[[c for c in TRANSIT_LOG_COLUMNS]].iloc[1:]
    assert np.isfinite(logged.to_numpy(float)).all()
    assert small["transit_denied_boardings"] == pytest.approx(capacity.denied_boardings)
    assert small.summary["transit_capacity"]["denied_boardings"] == pytest.approx(
        capacity.denied_boardings
    )
    lines = small.tables["lines"].set_index("line")
    assert lines["peak_standing"].iloc[0] == pytest.approx(seg["standing"].max())
    zones = small.tables["zones"]
    assert {"transit_crowded_time_min", "transit_crowding_min"} <= set(zones.columns)
    riders = zones["transit_from"] > 0
    assert (zones.loc[riders, "transit_crowding_min"] > 0).all()
    od = small.tables["od"]
    assert (od.loc[od["transit"] > 0, "transit_crowding_s"] > 0).all()
    # crowded access counts jobs by generalised time + crowding: never more than without
    for t in (30, 45, 60):
        assert (zones[f"jobs_transit_crowded_{t}min"] <= zones[f"jobs_transit_{t}min"]).all()


def test_comparison_and_report_show_crowding(town_runs, tmp_path):
    base, small, free, _ = town_runs
    table = compare(base, small, free).set_index("metric")
    row = table.loc["transit_denied_boardings"]
    assert row["small buses Δ"] == pytest.approx(
        small["transit_denied_boardings"] - base["transit_denied_boardings"]
    )
    assert np.isnan(row["free"])  # not modelled: no number, not a zero
    page = write_report(base, [small, free], tmp_path / "report.html").read_text()
    section = page[page.index("<section id='crowding'>") :]
    section = section[: section.index("</section>")]
    assert "Line capacities are not modelled in free" in section
    assert "crowding-lines" in section and "crowding-zones" in section
    # each line's change against its own scatter (line_crowding_bands): the 36 riders
    # denied boarding on the 12-place buses are within the 53 their last assignments
    # scattered by (0 to 53); the fall of the peak standing (241 to 53) is beyond its 16
    lines = small.tables["lines"].iloc[0]
    bands = line_crowding_bands(base, small).loc[lines["line"]]
    assert 0 < lines["denied"] <= bands["denied"]
    assert re.search(rf"<td class='num'>{lines['denied']:,.0f} <span class='noise'>\(≈\+", section)
    standing = lines["peak_standing"] - base.tables["lines"]["peak_standing"].iloc[0]
    assert -standing > bands["peak_standing"]
    assert re.search(
        rf"<td class='num'>{lines['peak_standing']:,.0f} <span class='hint'>\({standing:+,.0f}\)",
        section,
    )
    csv = pd.read_csv(write_line_crowding([base, small], tmp_path / "lines.csv", names=["b", "s"]))
    assert csv["denied noise band | s"].iloc[0] == pytest.approx(bands["denied"])
    views = [v for _, views in report_maps(base, [small]) for v in views]
    assert any(v.layers[0].key == "crowded_time_change" for v in views)


def test_crowding_on_hail_and_ride_pieces(town_runs):
    """A hail-and-ride line has one segment row per piece between boarding points: each
    piece carries its own load, standing riders and the denied boardings at its start."""
    hail = town_runs[3]
    seg = hail.tables["segments"]
    assert seg["hail_and_ride"].all() and len(seg) > seg["route_seq"].nunique()
    np.testing.assert_allclose(seg["standing"], np.maximum(seg["load"] - seg["seats"], 0.0))
    assert seg["denied"].sum() == pytest.approx(hail.outcome.transit_capacity.denied_boardings)


# ---------------------------------------------------------------------------- report pieces
def _result(name: str, *, capacity: bool) -> ScenarioResult:
    segments = _crowded_segments().assign(
        name="1", mode="bus", from_stop="a", to_stop="b", seats_per_hour=168.0, load_ratio=0.5
    )
    if not capacity:
        segments = segments.drop(columns=list(M.CROWDING_SEGMENT_COLUMNS))
    lines = M.line_summary(segments).assign(label=lambda t: "bus " + t["line"])
    stops = pd.DataFrame({"stop_id": ["a", "b"], "name": ["A", "B"]})
    summary = {
        "transit_capacity": {"enabled": capacity, "iterations": 9, "converged": True},
        "converged": True,
    }
    tables = {"lines": lines, "segments": segments, "stops": stops, "zones": pd.DataFrame()}
    return ScenarioResult(name=name, key=name, tables=tables, summary=summary)


def test_crowding_section_and_table():
    on, off = _result("on", capacity=True), _result("off", capacity=False)
    assert crowding_section([off], ["off"]).count("<p") == 1  # one line, no zeros
    html = crowding_section([on, off], ["on", "off"])
    assert "not modelled in off" in html and "<td class='num'>332</td>" in html
    table = line_crowding_table([on, on], ["on", "again"])
    assert list(table.index) == ["L1", "L2"]  # most crowded first
    assert table.loc["L1", "denied | again"] == 80.0


def test_crowding_section_says_when_the_gap_stalled():
    on = _result("on", capacity=True)
    info = on.summary["transit_capacity"]
    info.update(converged=False, stop_reason="stalled", relative_gap=0.05)
    html = crowding_section([on], ["on"])
    assert "NOT converged (its gap stopped falling) in 9 iterations (relative gap 5.00%)" in html


def test_load_profile_shows_seats():
    fig = load_profile_figure([_result("on", capacity=True)])
    seats = [t for t in fig["data"] if t["name"].startswith("seats")]
    assert len(seats) == 1 and seats[0]["y"] == [168.0, 168.0, 168.0]
    assert seats[0]["line"]["dash"] == "dot"


# ---------------------------------------------------------------------------- line capacities
def _feed_with_capacities(folder: Path, capacity_column: str) -> Path:
    from test_gtfs_import import write_feed

    feed = write_feed(folder)
    (feed / "routes.txt").write_text(
        "route_id,agency_id,route_short_name,route_type,vehicle_capacity\n"
        f"R,a,R1,3,{capacity_column}\nT,a,T1,0,\n"
    )
    return feed


def test_gtfs_vehicle_capacity_column(tmp_path):
    from transitopt import InputFileError
    from transitopt.transit import MODE_DEFAULTS, read_gtfs

    supply, report = read_gtfs(_feed_with_capacities(tmp_path / "ok", "140"), date="20240429")
    (line,) = supply.lines
    assert line.vehicle_capacity == 140.0
    assert line.vehicle_seats == pytest.approx(140.0 * MODE_DEFAULTS["bus"].seat_share)
    assert report.count("vehicle_capacity from the feed") == 1
    empty, _ = read_gtfs(_feed_with_capacities(tmp_path / "empty", ""), date="20240429")
    assert empty.lines[0].vehicle_capacity == MODE_DEFAULTS["bus"].capacity
    for bad in ("0", "-3", "lots", "99999"):
        feed = _feed_with_capacities(tmp_path / f"bad{bad}", bad)
        with pytest.raises(
            InputFileError, match=rf"routes.txt, route_id 'R': vehicle_capacity '{bad}'"
        ):
            read_gtfs(feed, date="20240429")


def test_capacity_in_scenario_files(tmp_path):
    from test_gtfs_import import write_feed

    from transitopt.scenario import ScenarioError, load_scenario
    from transitopt.scenario.edits import apply_edits
    from transitopt.scenario.inputs import load_base

    feed = write_feed(tmp_path / "feed")
    (tmp_path / "zones.csv").write_text(
        "zone,lon,lat,population,jobs\n1,106.80,-6.20,100,100\n2,106.82,-6.20,100,100\n"
    )
    (tmp_path / "od.csv").write_text("origin,destination,trips\n1,2,100\n")

    def baseline(extra: str) -> Path:
        path = tmp_path / "base.toml"
        path.write_text(
            '[scenario]\nname = "g"\n[network]\nsource = "none"\n'
            '[period]\nname = "am"\nstart = "07:00"\nend = "09:00"\ndate = "2024-04-29"\n'
            '[zones]\nfile = "zones.csv"\n[demand]\nod_file = "od.csv"\n'
            f'[transit]\ngtfs = "{feed.as_posix()}"\n{extra}\n'
        )
        return path

    base = load_base(load_scenario(baseline("gtfs_capacity = {R1 = 150}")))
    assert [ln.vehicle_capacity for ln in base.supply.lines] == [150.0]
    alt = tmp_path / "alt.toml"
    alt.write_text(
        '[scenario]\nname = "alt"\nbaseline = "base.toml"\n'
        '[[edits]]\ntype = "change_line"\nline = "R:0"\ncapacity = 90\n'
    )
    scenario = load_scenario(alt)
    prepared = apply_edits(scenario, load_base(scenario))
    assert [ln.vehicle_capacity for ln in prepared.supply.lines] == [90.0]
    with pytest.raises(ScenarioError, match=r"base.toml:\d+: transit.gtfs_capacity: no GTFS route"):
        load_base(load_scenario(baseline("gtfs_capacity = {X9 = 100}")))
    for bad in ("0", "-1", "6000", '"big"'):
        with pytest.raises(ScenarioError, match=r"transit.gtfs_capacity: Input should be"):
            load_scenario(baseline(f"gtfs_capacity = {bad}"))
    baseline("")
    alt.write_text(alt.read_text().replace("capacity = 90", "capacity = 0"))
    with pytest.raises(ScenarioError, match=r"alt.toml:\d+: edits\[0\].*capacity"):
        load_scenario(alt)


def test_step_rule_in_scenario_files():
    import pydantic

    from transitopt.scenario.schema import TransitCapacitySpec

    assert TransitCapacitySpec().step_rule == CapacityParameters().step_rule == "auto"
    spec = TransitCapacitySpec(enabled=True, step_rule="msa")
    assert CapacityParameters(**spec.model_dump(exclude={"enabled"})).step_rule == "msa"
    with pytest.raises(pydantic.ValidationError, match="step_rule"):
        TransitCapacitySpec(step_rule="newton")


def test_transit_sweeps_in_scenario_files():
    import pydantic

    from transitopt.scenario.schema import FeedbackSpec

    assert FeedbackSpec().transit_sweeps == FeedbackParameters().transit_sweeps == 3
    spec = FeedbackSpec(transit_sweeps=0)
    assert FeedbackParameters(**spec.model_dump()).transit_sweeps == 0
    with pytest.raises(pydantic.ValidationError, match="transit_sweeps"):
        FeedbackSpec(transit_sweeps=-1)
