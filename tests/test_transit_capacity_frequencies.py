"""Frequency setting respects line capacity (issue #16 item 4).

Two routes on a hand-made scenario (as in ``test_frequencies.py``): route A carries about
ten times the riders of route B, and B runs small vehicles (15 places). The passenger
cost alone (the square-root rule of frequency setting) gives B a long headway that its
vehicles cannot carry; the optimiser must return the best headways that keep every line
within its capacity. References: exhaustive enumeration of every clock-face pair within
the fleet, with the same objective and the same capacity measure
(:func:`~transitopt.optimise.frequencies.line_overload`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from transitopt.optimise.frequencies import (
    CLOCK_FACE_MIN,
    _Problem,
    line_overload,
    optimise_frequencies,
)
from transitopt.scenario import evaluate_file
from transitopt.scenario.evaluate import final_state

ZONES = (
    "zone,lon,lat,population,jobs\n1,24.00,60.00,1000,1000\n2,24.05,60.00,1000,1000\n"
    "3,24.00,60.10,1000,1000\n4,24.05,60.10,1000,1000\n"
)
OD = "origin,destination,trips\n1,2,1000\n2,1,1000\n3,4,100\n4,3,100\n"
STOPS = "".join(
    f'[[transit.stops]]\nid = "{s}"\nlat = {lat}\nlon = {lon}\n'
    for s, lat, lon in (
        ("a1", 60.0, 24.0),
        ("a2", 60.0, 24.05),
        ("b1", 60.1, 24.0),
        ("b2", 60.1, 24.05),
    )
)
BASE = f"""\
[scenario]
name = "Two lines, small vehicles on B"

[network]
source = "none"

[zones]
file = "zones.csv"

[demand]
od_file = "od.csv"

{STOPS}
[[transit.lines]]
id = "A"
stops = ["a1", "a2"]
headway_min = 10
both_directions = true
speed_kph = 20
capacity = 70

[[transit.lines]]
id = "B"
stops = ["b1", "b2"]
headway_min = 10
both_directions = true
speed_kph = 20
capacity = 15

[model.mode_choice]
modes = ["transit", "walk"]
"""
CAPACITY = "\n[model.transit_capacity]\nenabled = true\ntolerance = 1e-5\nmax_iter = 2000\n"
FLEET = 10


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("capacity_freq")
    (path / "zones.csv").write_text(ZONES, encoding="utf-8")
    (path / "od.csv").write_text(OD, encoding="utf-8")
    (path / "base.toml").write_text(BASE, encoding="utf-8")
    (path / "crowded.toml").write_text(BASE + CAPACITY, encoding="utf-8")
    return path


def enumerate_pairs(path: Path, fleet: int) -> list[tuple[float, float, tuple[float, float]]]:
    """(riders over capacity, passenger + operator cost, headways) of every clock-face
    pair within the fleet, by the optimiser's own problem (demand held fixed)."""
    out = evaluate_file(path)
    problem = _Problem(final_state(out), out.tables["lines"], weight=0.0)
    rows = []
    for pair in itertools.product(CLOCK_FACE_MIN, repeat=2):
        h = 60.0 * np.array(pair)
        if problem.fleet(h).sum() <= fleet:
            rows.append((problem.crowding(h)[0], sum(problem.cost(h)), pair))
    return rows


def test_line_overload_by_hand(folder):
    out = evaluate_file(folder / "base.toml").outcome.transit
    graph, volume = out.graph, out.link_volume
    over, factor = line_overload(graph, volume, period_h=1.0)
    # places per hour: capacity x 6 vehicles at 10 min; loads from the assignment
    table = out.line_table().set_index("line")
    places = np.array([70.0, 70.0, 15.0, 15.0]) * 6.0
    peak = table.loc[list(graph.line_ids), "peak_load"].to_numpy()
    np.testing.assert_allclose(factor, peak / places, rtol=1e-12)
    assert over == pytest.approx(np.maximum(peak - places, 0.0).sum(), rel=1e-12)
    assert over > 0  # B's 15-place vehicles every 10 min cannot carry its riders


def test_frequencies_respect_capacity(folder):
    rows = enumerate_pairs(folder / "base.toml", FLEET)
    unconstrained = min(rows, key=lambda r: r[1])
    # the premise: the cheapest headways by passenger cost alone overload route B
    assert unconstrained[0] > 0 and unconstrained[2][1] > 10.0
    feasible = [r for r in rows if r[0] == 0.0]
    best = min(feasible, key=lambda r: r[1])
    solved = optimise_frequencies(folder / "base.toml", fleet=FLEET)
    assert solved.riders_over_capacity_after == 0.0
    assert solved.max_load_factor_after <= 1.0
    assert (solved.routes["peak_load_factor"] <= 1.0).all()
    assert solved.objective_after == pytest.approx(best[1], rel=1e-12)
    assert tuple(solved.headways_min[k] for k in ("bus:A", "bus:B")) == best[2]
    assert solved.objective_after > unconstrained[1]  # capacity has a price
    assert solved.fleet_used <= FLEET
    assert not any("capacity" in note for note in solved.notes)


def test_least_crowded_when_the_fleet_cannot_carry_the_demand(folder):
    fleet = 5
    rows = enumerate_pairs(folder / "base.toml", fleet)
    least = min(r[0] for r in rows)
    assert least > 0  # no pair within 5 vehicles carries everyone
    solved = optimise_frequencies(folder / "base.toml", fleet=fleet)
    assert solved.riders_over_capacity_after == pytest.approx(least, rel=1e-9)
    assert any("least-crowded" in note for note in solved.notes)


def test_frequencies_with_crowding_in_the_assignment(folder):
    # [model.transit_capacity] on: each candidate is a capacity-constrained assignment and
    # the passenger cost includes crowding and effective waits
    path = folder / "crowded.toml"
    rows = enumerate_pairs(path, FLEET)
    best = min((r for r in rows if r[0] == 0.0), key=lambda r: r[1])
    solved = optimise_frequencies(path, fleet=FLEET)
    assert solved.riders_over_capacity_after == 0.0
    assert solved.objective_after == pytest.approx(best[1], rel=1e-12)
    # the same demand without capacity restraint costs less (no crowding, nominal waits)
    out = evaluate_file(path)
    problem = _Problem(final_state(out), out.tables["lines"], weight=0.0)
    assert problem.capacity is not None
    h = 60.0 * np.array(best[2])
    problem.capacity = None
    assert sum(problem.cost(h)) < best[1]
