"""Tag parsing and profile defaults (transitopt.network.imputation).

References: OSM wiki Key:maxspeed / Key:lanes for the tag syntax; 1 mph = 1.609344 km/h
and 1 knot = 1.852 km/h exactly (international definitions); the profile values are
the numbers written in transitopt/data/profiles/*.toml (docs/imputation.md).
"""

from __future__ import annotations

import math

import pytest

from transitopt import InputFileError
from transitopt.network.imputation import (
    available_profiles,
    edge_attributes,
    load_profile,
    main_highway,
    parse_lanes,
    parse_maxspeed,
)


@pytest.fixture(scope="module")
def generic():
    return load_profile("generic")


@pytest.mark.parametrize(
    ("value", "kph", "source"),
    [
        ("50", 50.0, "tag"),
        (50, 50.0, "tag"),
        ("50 km/h", 50.0, "tag"),
        ("50km/h", 50.0, "tag"),
        ("30 mph", 30 * 1.609344, "tag"),
        ("30mph", 30 * 1.609344, "tag"),
        ("10 knots", 18.52, "tag"),
        ("50;30", 30.0, "tag"),  # several values: the minimum
        ("50|30", 30.0, "tag"),
        (["50", "30 mph"], 30 * 1.609344, "tag"),  # osmnx list after simplification
        (["60", "ID:urban"], 50.0, "implicit"),
        ("ID:urban", 50.0, "implicit"),
        ("DE:rural", 100.0, "implicit"),
        ("RU:motorway", 110.0, "implicit"),
        ("DE:zone30", 30.0, "implicit"),
        ("DE:zone:20", 20.0, "implicit"),
        ("BE-VLG:rural", 70.0, "implicit"),  # region entry
        ("BE-WAL:rural", 90.0, "implicit"),  # falls back to the country
        ("XX:urban", 50.0, "implicit"),  # unknown country: the type alone
        ("GB:nsl_single", 96.56, "implicit"),
        ("walk", 7.0, "implicit"),
        ("none", None, "default"),
        ("signals", None, "default"),
        ("fast", None, "default"),
        ("", None, "default"),
        ("0", None, "default"),
        (None, None, "default"),
        (math.nan, None, "default"),
        ("XX:nonsense", None, "default"),
    ],
)
def test_parse_maxspeed(generic, value, kph, source):
    got, got_source = parse_maxspeed(value, implicit=generic.implicit_maxspeed)
    assert got_source == source
    if kph is None:
        assert got is None
    else:
        assert got == pytest.approx(kph, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "lanes"),
    [
        ("2", 2.0),
        (3, 3.0),
        ("2.5", 2.5),
        ("2;3", 2.0),
        (["4", "2"], 2.0),
        ("", None),
        ("two", None),
        ("0", None),
        ("-1", None),
        (None, None),
    ],
)
def test_parse_lanes(value, lanes):
    assert parse_lanes(value) == lanes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("residential", "residential"),
        (["residential", "primary"], "primary"),
        (["primary_link", "secondary"], "primary_link"),
        (["motorway_link", "trunk"], "motorway_link"),
        (["unknown_kind", "service"], "service"),
        ("busway", "busway"),
        (None, ""),
    ],
)
def test_main_highway(value, expected):
    assert main_highway(value) == expected


def test_edge_attributes_tagged_and_default(generic):
    # tagged two-way road: lanes count both directions -> 4 / 2 = 2 per direction
    tagged = edge_attributes(
        {"highway": "primary", "maxspeed": "40", "lanes": "4", "oneway": False, "length": 100.0},
        profile=generic,
    )
    assert tagged["speed_kph"] == 40.0 and tagged["speed_source"] == "tag"
    assert tagged["lanes_per_direction"] == 2.0 and tagged["lanes_source"] == "tag"
    assert tagged["capacity_vph"] == 2.0 * 1500.0
    assert tagged["free_flow_time_s"] == pytest.approx(100.0 / (40.0 / 3.6), rel=1e-12)
    assert (tagged["alpha"], tagged["beta"]) == (0.15, 4.0)
    # oneway: all lanes in the one direction
    oneway = edge_attributes(
        {"highway": "primary", "lanes": "3", "oneway": True, "length": 1.0}, profile=generic
    )
    assert oneway["lanes_per_direction"] == 3.0
    # odd count on a two-way road and at least one lane per direction
    assert (
        edge_attributes({"highway": "primary", "lanes": "3", "length": 1.0}, profile=generic)[
            "lanes_per_direction"
        ]
        == 1.5
    )
    assert (
        edge_attributes({"highway": "primary", "lanes": "1", "length": 1.0}, profile=generic)[
            "lanes_per_direction"
        ]
        == 1.0
    )
    # nothing tagged: class defaults of generic.toml
    plain = edge_attributes({"highway": "residential", "length": 30.0}, profile=generic)
    assert (plain["speed_kph"], plain["speed_source"]) == (30.0, "default")
    assert (plain["lanes_per_direction"], plain["capacity_vph"]) == (1.0, 600.0)
    # unknown class: the profile's default row
    odd = edge_attributes({"highway": "raceway_x", "length": 1.0}, profile=generic)
    assert (odd["road_class"], odd["speed_kph"], odd["capacity_vph"]) == ("raceway_x", 40.0, 600.0)
    # list of classes after simplification: most important class
    merged = edge_attributes(
        {"highway": ["residential", "secondary"], "length": 1.0}, profile=generic
    )
    assert merged["road_class"] == "secondary" and merged["speed_kph"] == 50.0


def test_edge_attributes_walk(generic):
    walk = edge_attributes(
        {"highway": "primary", "maxspeed": "50", "length": 48.0},
        profile=generic,
        network_type="walk",
    )
    assert walk["speed_kph"] == 4.8 and walk["speed_source"] == "mode"
    assert walk["capacity_vph"] == math.inf
    assert walk["free_flow_time_s"] == pytest.approx(36.0)  # 48 m at 4.8 km/h


def test_profiles_shipped_and_indonesia_values():
    assert available_profiles() == ["generic", "indonesia"]
    indo = load_profile("indonesia")
    # Permenhub PM 111/2015: urban 50 km/h, residential areas 30 km/h
    assert indo.speed_kph["primary"] == 50 and indo.speed_kph["residential"] == 30
    # MKJI 1997 freeway base capacity 2,300 pcu/h/lane; residential 1,450 x 0.56 x 0.82 ~ 650
    assert indo.capacity_vph_per_lane["motorway"] == 2300
    assert indo.capacity_vph_per_lane["residential"] == 650
    assert indo.digest != load_profile("generic").digest


def test_overrides_mapping_and_file(tmp_path):
    base = load_profile("generic")
    prof = load_profile("generic", overrides={"speed_kph": {"residential": 25}, "bpr": {"beta": 5}})
    assert prof.speed_kph["residential"] == 25.0 and prof.beta == 5.0
    assert prof.speed_kph["primary"] == base.speed_kph["primary"]  # others unchanged
    assert prof.digest != base.digest
    path = tmp_path / "mine.toml"
    path.write_text(
        "[capacity_vph_per_lane]\nresidential = 500\n[implicit_maxspeed.ID]\nurban = 40\n"
    )
    from_file = load_profile("indonesia", overrides=path)
    assert from_file.capacity_vph_per_lane["residential"] == 500.0
    assert parse_maxspeed("ID:urban", implicit=from_file.implicit_maxspeed) == (40.0, "implicit")
    # a profile given as a file: missing sections come from generic
    own = tmp_path / "city.toml"
    own.write_text("[speed_kph]\ndefault = 33\n")
    city = load_profile(own)
    assert city.name == "city" and city.speed_kph["default"] == 33.0
    assert city.capacity_vph_per_lane == base.capacity_vph_per_lane


def test_profile_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown profile 'atlantis'.*generic"):
        load_profile("atlantis")
    with pytest.raises(ValueError, match="unknown section"):
        load_profile("generic", overrides={"speeds": {"residential": 25}})
    with pytest.raises(ValueError, match="speed_kph.residential must be a positive number"):
        load_profile("generic", overrides={"speed_kph": {"residential": -5}})
    with pytest.raises(InputFileError, match="not found"):
        load_profile(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[speed_kph\n")
    with pytest.raises(InputFileError, match="not valid TOML"):
        load_profile("generic", overrides=bad)


def test_docs_table_matches_profiles():
    """docs/imputation.md lists the values of the shipped TOML files."""
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "imputation.md"
    if not doc.exists():
        pytest.skip("docs/imputation.md not in this checkout")
    generic, indo = load_profile("generic"), load_profile("indonesia")
    rows = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in generic.speed_kph:
            rows[cells[0]] = [tuple(float(x) for x in c.split(" / ")) for c in cells[1:]]
    assert set(rows) == set(generic.speed_kph) | set(indo.speed_kph)
    for road_class, (speed, lanes, capacity) in rows.items():
        for table, pair in (
            ("speed_kph", speed),
            ("lanes_per_direction", lanes),
            ("capacity_vph_per_lane", capacity),
        ):
            assert pair == (
                generic.class_value(table, road_class),
                indo.class_value(table, road_class),
            ), (road_class, table)
