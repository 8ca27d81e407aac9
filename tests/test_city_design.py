"""Route design on a city (``transitopt.optimise.city``) on the hand-written town of
``tests/data/scenario_town.osm``: a 3 x 3 grid of 300 m blocks, secondary streets (40 km/h)
along South, North and Centre, residential ones (30 km/h) elsewhere, one bus route.

Hand-computed references: a 300 m block at 40 km/h takes 27.0 s (0.45 min); 600 m at
30 km/h takes 72.0 s. The block length is 0.0054° of longitude at 60° N = 300.2 m
(haversine), so times agree to 0.1 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from transitopt.cli import app
from transitopt.optimise.city import (
    CityDesignError,
    city_network,
    design_city,
    route_fleets,
    set_headways,
    write_design,
)
from transitopt.scenario import evaluate_file, load_scenario


@pytest.fixture(scope="module")
def town(tmp_path_factory, town_toml) -> Path:
    folder = tmp_path_factory.mktemp("city_design")
    path = folder / "base.toml"
    path.write_text(town_toml(600), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def network(town):
    return city_network(town, spacing_m=250)


def _links(net) -> set[tuple[int, int]]:
    ids = net.instance.node_id
    tt = net.instance.travel_time
    return {
        tuple(sorted((int(ids[a]), int(ids[b]))))
        for a, b in zip(*np.nonzero(np.isfinite(tt) & (tt > 0)), strict=True)
    }


def test_candidate_stops_and_links_follow_the_main_streets(network):
    # main-road nodes: South (1-2-3), North (7-8-9), Centre Road (2-5-8); 300 m > 250 m apart
    assert sorted(map(int, network.instance.node_id)) == [1, 2, 3, 5, 7, 8, 9]
    # links: the blocks of the main streets, and West/East Road (1-4-7, 3-6-9: node 4 and 6
    # are no stops); no link skips a stop (e.g. 1-3 passes stop 2)
    expected = {(1, 2), (2, 3), (7, 8), (8, 9), (2, 5), (5, 8), (1, 7), (3, 9)}
    assert _links(network) == expected
    tt = network.instance.travel_time
    index = {int(v): k for k, v in enumerate(network.instance.node_id)}
    assert tt[index[1], index[2]] == pytest.approx(0.45, rel=1e-3)
    assert tt[index[1], index[7]] == pytest.approx(72.0 / 60.0, rel=1e-3)
    assert network.street[index[5]] == "Centre Road"
    # every trip between zones at different stops is kept, symmetrised
    demand = network.instance.demand
    assert np.allclose(demand, demand.T)
    assert 0 < demand.sum() <= 600.0 + 1e-6


def test_headways_respect_the_fleet_and_use_it():
    one_way = np.array([600.0, 600.0])  # 10 min each way
    # the model's rule: vehicles = 2 directions x 600 s x 1.1 / headway, rounded up per route
    assert list(route_fleets(one_way, np.array([5.0, 30.0]), layover_share=0.1)) == [5, 1]
    headway = set_headways(one_way, np.array([1000.0, 10.0]), 8, layover_share=0.1)
    fleets = route_fleets(one_way, headway, layover_share=0.1)
    assert fleets.sum() <= 8
    assert headway[0] < headway[1]  # the busy route gets the buses
    grid = [3.0, 4.0, 5.0, 6.0, 7.5, 10.0, 12.0, 15.0, 20.0, 30.0]
    for r in range(2):  # no route can go one step shorter within the fleet
        k = grid.index(headway[r])
        if k:
            shorter = headway.copy()
            shorter[r] = grid[k - 1]
            assert route_fleets(one_way, shorter, layover_share=0.1).sum() > 8
    with pytest.raises(CityDesignError, match="fleet of 1"):
        set_headways(one_way, np.array([1.0, 1.0]), 1, layover_share=0.1)


def test_designed_scenario_runs_along_the_streets_and_its_fleet_adds_up(network, tmp_path):
    design = design_city(network, n_routes=2, fleet=4, max_evaluations=300, seed=3)
    again = design_city(network, n_routes=2, fleet=4, max_evaluations=300, seed=3)
    assert design.routes == again.routes  # an evaluation budget: same seed, same result
    assert design.fleet_used <= 4
    out = write_design(design, tmp_path / "alt.toml")
    scenario = load_scenario(out)
    assert [e.edit.type for e in scenario.edits] == ["remove_line", "add_line", "add_line"]
    result = evaluate_file(out)
    lines = result.tables["lines"]
    assert set(lines["route_key"]) == {"bus:D1", "bus:D2"}  # bus 1 removed
    # the evaluated fleet per route equals the design's (free flow at this small demand)
    evaluated = lines.groupby("route_key")["vehicles"].sum()
    for row in design.table.itertuples():
        assert int(np.ceil(evaluated[f"bus:{row.route}"] - 1e-9)) == row.fleet
    assert result["transit_fleet"] == design.fleet_used


def test_a_cancelled_search_keeps_the_best_so_far(network):
    design = design_city(
        network, n_routes=2, fleet=4, max_evaluations=10_000, progress=lambda event: False
    )
    assert design.search.stopped_by == "cancelled"
    assert len(design.routes) == 2


def test_route_design_needs_a_street_network(tmp_path):
    zones = tmp_path / "zones.csv"
    zones.write_text("zone,lon,lat,population,jobs\n1,24.0,60.0,10,10\n2,24.01,60.0,10,10\n")
    path = tmp_path / "none.toml"
    path.write_text(
        '[scenario]\nname = "No streets"\n\n[network]\nsource = "none"\n\n'
        '[zones]\nfile = "zones.csv"\n\n[demand.synthesis]\ntrips_per_hour = 10\n',
        encoding="utf-8",
    )
    with pytest.raises(CityDesignError, match="needs a street network"):
        city_network(path)


def test_cli_design_writes_a_scenario_and_prints_progress_lines(town, tmp_path):
    out = tmp_path / "designed.toml"
    run = CliRunner().invoke(
        app,
        [
            "optimise",
            "design",
            str(town),
            "--routes",
            "2",
            "--fleet",
            "4",
            "--spacing",
            "250",
            "--evaluations",
            "200",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
    )
    assert run.exit_code == 0, run.output
    assert "7 candidate stops" in run.output
    assert "evaluations: ATT" in run.output  # one line per tenth of the budget when piped
    assert "D1" in run.output and out.is_file()
    load_scenario(out)


def test_pareto_design_keeps_the_front_member_with_least_att_plus_wait(network):
    design = design_city(
        network, n_routes=2, fleet=4, max_evaluations=600, seed=0, objective="pareto"
    )
    table = design.table
    wait = float((table["riders"] * table["headway_min"] / 2).sum() / table["riders"].sum())
    assert design.wait_min == pytest.approx(wait)
    assert design.fast_cost_min >= design.evaluation.att + wait - 1e-9  # one boarding at least
    # the pick is one of the front's route sets (node ids there, indices here)
    front = [
        [list(map(int, network.instance.index_of(route))) for route in routes]
        for routes in design.search.front["routes"]
    ]
    assert design.routes in front
    with pytest.raises(CityDesignError, match="objective"):
        design_city(network, n_routes=2, fleet=4, objective="operator")  # type: ignore[arg-type]


def test_refit_to_model_returns_the_evaluated_fleet_within_the_budget(network, tmp_path):
    from transitopt.optimise.city import refit_to_model

    design = design_city(network, n_routes=2, fleet=4, max_evaluations=300, seed=3)
    fitted, fleet = refit_to_model(design, tmp_path / "fit.toml")
    assert fleet <= 4
    assert fleet == evaluate_file(tmp_path / "fit.toml")["transit_fleet"]
