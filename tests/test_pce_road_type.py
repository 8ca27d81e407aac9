"""PCE per link by road type from a profile's ``[pce]`` table (MKJI 1997 in the
Indonesian profile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transitopt.network import Network
from transitopt.network.imputation import load_profile
from transitopt.network.pce import link_pce, road_types


def _roads():
    """Five links, one of each kind: a motorway, a one-way tertiary, a two-lane-per-direction
    primary, a two-way secondary and a two-way residential street."""
    edges = pd.DataFrame(
        {
            "road_class": ["motorway", "tertiary", "primary", "secondary", "residential"],
            "oneway": [True, True, False, False, False],
        }
    )
    return Network.from_edges(
        np.arange(5),
        np.arange(1, 6),
        n_nodes=6,
        crs=None,
        edges=edges,
        lanes=np.array([2.0, 1.0, 2.0, 1.0, 1.0]),
        free_flow_time_s=np.full(5, 10.0),
        capacity_vph=np.full(5, 1000.0),
    )


def test_road_types_follow_class_direction_and_lanes():
    profile = load_profile("indonesia")
    assert list(road_types(_roads(), profile)) == [
        "motorway",
        "divided",  # one-way: MKJI 2/1
        "divided",  # two lanes per direction: 4/2D
        "undivided_wide",  # 2/2UD, secondary: 7 m assumed
        "undivided_narrow",  # 2/2UD, residential: 5 m assumed
    ]


def test_mkji_values_by_road_type():
    """MKJI 1997 urban emp at high flow: motorcycles 0.25 (divided; 2/2UD > 6 m), 0.35
    (2/2UD <= 6 m); buses 1.2 on urban roads and 1.5 (LB) on freeways; on a motorway the
    motorcycle table has no value and the default (the class's own PCE) applies."""
    profile = load_profile("indonesia")
    net = _roads()
    moto = link_pce(net, "motorcycle", profile=profile, default=0.4)
    np.testing.assert_array_equal(moto, [0.4, 0.25, 0.25, 0.25, 0.35])
    bus = link_pce(net, "bus", profile=profile, default=2.0)
    np.testing.assert_array_equal(bus, [1.5, 1.2, 1.2, 1.2, 1.2])
    truck = link_pce(net, "truck", profile=profile, default=2.0)
    np.testing.assert_array_equal(truck, [1.3, 1.2, 1.2, 1.2, 1.2])


def test_no_table_or_no_road_classes_gives_none():
    assert link_pce(_roads(), "motorcycle", profile=load_profile("generic"), default=0.4) is None
    bare = Network.from_edges(np.arange(2), np.arange(1, 3), n_nodes=3, crs=None)
    assert link_pce(bare, "motorcycle", profile=load_profile("indonesia"), default=0.4) is None


def test_bad_table_values_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[pce]\nmotorcycle = { divided = 0.25, gravel = 0.3 }\n")
    with pytest.raises(ValueError, match=r"\[pce\] motorcycle: unknown road type 'gravel'"):
        link_pce(_roads(), "motorcycle", profile=load_profile(bad), default=0.4)
    bad.write_text("[pce]\nmotorcycle = { divided = -1 }\n")
    with pytest.raises(ValueError, match=r"motorcycle.divided must be a number > 0, got -1"):
        link_pce(_roads(), "motorcycle", profile=load_profile(bad), default=0.4)
