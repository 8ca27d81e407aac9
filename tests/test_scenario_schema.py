"""Scenario files: every validation error names the file, the line, the field and what was expected,
and nothing is computed or written for a file that fails validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from transitopt.scenario import ScenarioError, evaluate_file, load_scenario, validate_scenario
from transitopt.scenario.schema import dotted, locate_line


@pytest.fixture
def base_toml(town_toml) -> str:
    """The town's baseline with 1,000 synthesised trips/h."""
    return town_toml(1000)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_files_load(tmp_path, base_toml, town_osm):
    base = write(tmp_path, "base.toml", base_toml)
    alt = write(
        tmp_path,
        "alt.toml",
        '[scenario]\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\nline = "1"\nheadway_min = 5\n',
    )
    s = load_scenario(alt)
    assert s.name == "alt" and not s.is_baseline
    assert s.baseline_path == base.resolve()
    assert [r.edit.type for r in s.edits] == ["change_line"]
    assert s.baseline.network.source == str(town_osm.resolve())
    assert load_scenario(base).is_baseline


def test_negative_headway_names_file_line_and_field(tmp_path, base_toml):
    write(tmp_path, "base.toml", base_toml)
    text = """\
[scenario]
baseline = "base.toml"

[[edits]]
type = "remove_line"
line = "1"

[[edits]]
type = "close_road"
way = 101

[[edits]]
type = "change_line"
line = "1"
headway_min = -5
"""
    alt = write(tmp_path, "alt.toml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(alt)
    message = str(info.value)
    assert (
        f"{alt.resolve()}:15: edits[2].headway_min: Input should be greater than 0 (got -5)"
        in message
    )


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        (
            "model",
            "layover_share",
            "1.5",
            "model.layover_share: Input should be less than or equal to 1",
        ),
        (
            "model.mode_choice",
            "beta_per_min",
            "0.2",
            "model.mode_choice.beta_per_min: Input should be less than 0",
        ),
        (
            "model",
            "car_occupancy",
            "0.5",
            "model.car_occupancy: Input should be greater than or equal to 1",
        ),
        (
            "model",
            "walk_speed_mps",
            '"fast"',
            "model.walk_speed_mps: Input should be a valid number",
        ),
        (
            "zones",
            "weights",
            '"buildings"',
            "zones.weights: Input should be 'street_length', 'nodes'",
        ),
        ("model", "frobnicate", "1", "model.frobnicate: Extra inputs are not permitted"),
    ],
)
def test_out_of_range_parameters(tmp_path, section, field, value, expected, base_toml):
    if section == "zones":
        text = base_toml.replace('weights = "uniform"', f"{field} = {value}")
    else:
        text = base_toml + f"\n[{section}]\n{field} = {value}\n"
    path = write(tmp_path, "base.toml", text)
    line = text.splitlines().index(f"{field} = {value}") + 1
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path.resolve()}:{line}: {expected}" in str(info.value)


def test_stops_and_lines_errors_point_into_arrays(tmp_path, base_toml):
    text = (
        base_toml
        + """
[[transit.lines]]
id = "A"
headway_min = 10
stops = ["node/1", {lat = 91.0, lon = 25.0}]

[[transit.lines]]
id = "B"
headway_min = 10
stops = ["node/1", 3.5]
"""
    )
    path = write(tmp_path, "base.toml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert (
        "transit.lines[0].stops[1].lat: Input should be less than or equal to 90 (got 91.0)"
        in message
    )
    assert (
        "transit.lines[1].stops[1]: a stop is a stop id (text), an OSM node id (integer)" in message
    )
    lines = text.splitlines()
    assert (
        f"base.toml:{lines.index('stops = [' + chr(34) + 'node/1' + chr(34) + ', 3.5]') + 1}:"
        in message
    )


def test_unknown_edit_type_and_field(tmp_path, base_toml):
    write(tmp_path, "base.toml", base_toml)
    alt = write(
        tmp_path,
        "alt.toml",
        """\
[scenario]
baseline = "base.toml"

[[edits]]
type = "paint_it_red"

[[edits]]
type = "change_line"
line = "1"
headway = 5
""",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(alt)
    message = str(info.value)
    assert (
        "alt.toml:5: edits[0].type: Input tag 'paint_it_red' found using 'type' does not match"
        in message
    )
    assert "alt.toml:10: edits[1].headway: Extra inputs are not permitted" in message
    empty = write(
        tmp_path,
        "empty.toml",
        '[scenario]\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\nline = "1"\n',
    )
    with pytest.raises(
        ScenarioError,
        match=r"empty\.toml:4: edits\[0\]: a change_line edit needs at least one of headway_min",
    ):
        load_scenario(empty)


def test_missing_and_cyclic_baselines(tmp_path):
    alt = write(tmp_path, "alt.toml", '[scenario]\nbaseline = "nowhere.toml"\n')
    with pytest.raises(
        ScenarioError,
        match=r"alt\.toml:2: scenario\.baseline: baseline file not found: .*nowhere\.toml",
    ):
        load_scenario(alt)
    a = write(tmp_path, "a.toml", '[scenario]\nbaseline = "b.toml"\n')
    write(tmp_path, "b.toml", '[scenario]\nbaseline = "c.toml"\n')
    write(tmp_path, "c.toml", '[scenario]\nbaseline = "a.toml"\n')
    with pytest.raises(
        ScenarioError, match=r"cycle: .*a\.toml -> .*b\.toml -> .*c\.toml -> .*a\.toml"
    ):
        load_scenario(a)


def test_alternative_cannot_redefine_the_baseline(tmp_path, base_toml):
    write(tmp_path, "base.toml", base_toml)
    alt = write(
        tmp_path, "alt.toml", '[scenario]\nbaseline = "base.toml"\n\n[model]\nwalk_weight = 2\n'
    )
    with pytest.raises(
        ScenarioError,
        match=r"alt\.toml:4: model: an alternative holds only \[scenario\] and \[\[edits\]\]",
    ):
        load_scenario(alt)


def test_file_problems(tmp_path, base_toml, town_osm):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "missing.toml")
    bad = write(tmp_path, "bad.toml", "[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid TOML"):
        load_scenario(bad)
    demand = write(
        tmp_path,
        "od.toml",
        base_toml.replace(
            "[demand.synthesis]\ntrips_per_hour = 1000", '[demand]\nod_file = "od.csv"'
        ),
    )
    with pytest.raises(
        ScenarioError, match=r"od\.toml:\d+: demand\.od_file: OD file not found: .*od\.csv"
    ):
        load_scenario(demand)
    both = write(tmp_path, "both.toml", base_toml + '\n[demand]\nod_file = "od.csv"\n')
    with pytest.raises(
        ScenarioError,
        match=r"both\.toml:17: demand: give exactly one of od_file or \[demand\.synthesis\]",
    ):
        load_scenario(both)
    var = write(
        tmp_path,
        "var.toml",
        base_toml.replace(town_osm.as_posix(), "${NO_SUCH_VARIABLE_X}/town.osm"),
    )
    with pytest.raises(
        ScenarioError,
        match=r"var\.toml:5: network\.source: unknown variable \$\{NO_SUCH_VARIABLE_X\}",
    ):
        load_scenario(var)


def test_shared_data_variable_resolves(tmp_path, monkeypatch, base_toml, town_osm):
    monkeypatch.setenv("TRANSITOPT_DATA", str(town_osm.parent))
    path = write(
        tmp_path,
        "base.toml",
        base_toml.replace(town_osm.as_posix(), "${TRANSITOPT_DATA}/scenario_town.osm"),
    )
    assert load_scenario(path).baseline.network.source == str(town_osm.resolve())


def test_nothing_written_when_validation_fails(tmp_path, base_toml):
    write(tmp_path, "base.toml", base_toml)
    alt = write(
        tmp_path,
        "alt.toml",
        '[scenario]\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\nline = "no-such-line"\nheadway_min = 5\n',
    )
    cache = tmp_path / "cache"
    with pytest.raises(
        ScenarioError,
        match=r"alt\.toml:6: edits\[0\]\.line: no line or route with id 'no-such-line'",
    ):
        validate_scenario(alt)
    with pytest.raises(
        ScenarioError,
        match=r"alt\.toml:6: edits\[0\]\.line: no line or route with id 'no-such-line'",
    ):
        evaluate_file(alt, cache_folder=cache)
    assert not cache.exists() or not any(cache.rglob("*"))


def test_locate_line_and_dotted():
    text = "[a]\nx = 1\n\n[[e]]\ny = 2\n\n[[e]]\ny = 3\nz = [1,\n  2]\n"
    assert locate_line(text, ("a", "x")) == 2
    assert locate_line(text, ("e", 1, "y")) == 8
    assert locate_line(text, ("e", 1, "z", 1)) == 9
    assert locate_line(text, ("e", 1, "missing")) == 7
    assert dotted(("edits", 2, "stops", 0, "lat")) == "edits[2].stops[0].lat"
    assert os.path.basename(__file__) == "test_scenario_schema.py"
