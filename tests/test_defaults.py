"""The one defaults file: every spec and parameter dataclass takes its defaults from it."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from transitopt.defaults import deep_merge, section
from transitopt.metrics import EmissionFactors
from transitopt.scenario.schema import ModelSpec
from transitopt.transit import MODE_DEFAULTS, WAIT_FACTOR, CapacityParameters, GraphParameters


def test_dataclasses_and_specs_read_the_defaults_file():
    graph = section("transit_graph")
    assert graph.pop("wait_factor") == WAIT_FACTOR
    assert asdict(GraphParameters()) == graph
    assert {m: asdict(v) for m, v in MODE_DEFAULTS.items()} == section("transit_modes")
    emissions = asdict(EmissionFactors())
    emissions.pop("extra")
    assert emissions == section("emissions")
    model = ModelSpec().model_dump()
    assert model.pop("emissions") == section("emissions")
    for part in ("mode_choice", "assignment", "feedback"):
        assert model.pop(part) == section(f"model.{part}")
    capacity = model.pop("transit_capacity")
    assert capacity.pop("enabled") is False
    assert capacity == {k: v for k, v in asdict(CapacityParameters()).items() if k in capacity}
    assert asdict(CapacityParameters()) == section("transit_capacity")
    walking = ("walk_speed_mps", "walk_detour_factor", "max_access_walk_m", "max_transfer_walk_m")
    assert {k: model.pop(k) for k in walking} == {k: graph[k] for k in walking}
    assert model == {k: v for k, v in section("model").items() if not isinstance(v, dict)}


def test_float_defaults_are_written_as_floats():
    # a scenario's cache key holds its values as written: 0 and 0.0 differ
    for name, value in ModelSpec().model_dump().items():
        if ModelSpec.model_fields[name].annotation is float:
            assert isinstance(value, float), name
    for value in asdict(GraphParameters()).values():
        assert isinstance(value, float)


def test_sections_are_copies_and_unknown_sections_fail():
    section("model")["accessibility_min"].append(90.0)
    assert section("model")["accessibility_min"] == [30.0, 45.0, 60.0]
    with pytest.raises(KeyError, match="no section 'nothing'"):
        section("nothing")


def test_deep_merge_merges_tables_and_leaves_its_arguments():
    base = {"a": {"x": 1, "y": 2}, "b": 1}
    merged = deep_merge(base, {"a": {"y": 3}, "b": {"z": 4}})
    assert merged == {"a": {"x": 1, "y": 3}, "b": {"z": 4}}
    assert base == {"a": {"x": 1, "y": 2}, "b": 1}
