"""Motorcycles and ojek through the scenario layer (issue #15): the Indonesian profile's
``[model]`` defaults, the ``restrict_road`` and ``change_mode_costs`` edits, metrics per
vehicle class and calibration targets for the new modes, on the hand-written town of
``tests/data/scenario_town.osm`` (South Street, way 101, joins nodes 1-2-3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transitopt.metrics.emissions import GASOLINE_KG_PER_L
from transitopt.scenario import ScenarioError, evaluate, load_scenario
from transitopt.scenario.parameters import model_parameters


@pytest.fixture(scope="module")
def folder(tmp_path_factory, town_toml) -> Path:
    path = tmp_path_factory.mktemp("indo")
    text = town_toml(6000, zones={"population_total": 9000, "jobs_total": 9000})
    text = text.replace("[network]\n", '[network]\nprofile = "indonesia"\n')
    text += "\n[model]\nvalue_of_time_per_h = 9000.0\n"
    (path / "base.toml").write_text(text, encoding="utf-8")
    return path


def alternative(folder: Path, name: str, edits: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'[scenario]\nbaseline = "base.toml"\n\n{edits}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(folder):
    return evaluate(folder / "base.toml")


def test_the_indonesian_profile_sets_the_model_defaults(folder):
    spec = load_scenario(folder / "base.toml").baseline.model
    assert spec.currency == "IDR"
    assert spec.value_of_time_per_h == 9000.0  # the file's own value wins
    assert spec.motorcycle_pcu == 0.25 and spec.bus_pcu == 1.2  # MKJI 1997, the profile
    assert list(spec.mode_choice.modes) == ["car", "motorcycle", "ojek", "transit", "walk"]
    params = model_parameters(load_scenario(folder / "base.toml").baseline)
    (nest,) = params.mode_choice.nests
    assert nest.modes == ("car", "motorcycle", "ojek") and nest.scale == 0.6


def test_baseline_metrics_per_mode_and_vehicle_class(base):
    shares = base.tables["mode_shares"].set_index("mode")["trips"]
    assert list(shares.index) == ["car", "motorcycle", "ojek", "transit", "walk"]
    assert shares["motorcycle"] > 0 and shares["ojek"] > 0
    links = base.tables["links"]
    open_ = ~links["closed"].to_numpy(bool)
    # motorcycles and ojek ride with MKJI's PCE by road type (pce_by_road_type, the
    # profile's default): 0.25 on divided roads and wide 2/2UD, 0.35 on narrow 2/2UD
    for name in ("motorcycle", "ojek"):
        rides = links[f"flow_{name}"] > 1e-9
        ratio = (links[f"pcu_{name}"] / links[f"flow_{name}"])[rides].round(9)
        assert set(ratio) == {0.25, 0.35}, name
    assert (links["pcu_car"] == links["flow"]).all()
    pcu = links["flow"] + links["pcu_motorcycle"] + links["pcu_ojek"]
    np.testing.assert_allclose(links["pcu"], pcu, rtol=1e-9, atol=1e-9)
    km = links["length_m"][open_] / 1000.0
    value = base.__getitem__
    assert value("motorcycle_veh_km") == pytest.approx(
        float((links["flow_motorcycle"][open_] * km).sum()), rel=1e-9
    )
    assert value("pcu_km") == pytest.approx(float((links["pcu"][open_] * km).sum()), rel=1e-9)
    for name in ("car", "motorcycle", "ojek"):
        assert value(f"{name}_pcu_km") == pytest.approx(
            float((links[f"pcu_{name}"][open_] * km).sum()), rel=1e-9
        )
    kg_per_km = 2.5 / 100.0 * GASOLINE_KG_PER_L
    moto_km = value("motorcycle_veh_km") + value("ojek_veh_km")
    assert value("co2_motorcycle") == pytest.approx(moto_km * kg_per_km, rel=1e-9)
    assert value("co2_total") == pytest.approx(
        value("co2_car") + value("co2_transit") + value("co2_motorcycle"), rel=1e-9
    )
    assert value("share_motorcycle") == pytest.approx(shares["motorcycle"] / shares.sum(), rel=1e-9)


def test_motorcycle_ban_on_a_corridor(folder, base):
    alt = evaluate(
        alternative(
            folder,
            "ban",
            '[[edits]]\ntype = "restrict_road"\nway = 101\nvehicles = ["motorcycle"]\n',
        )
    )
    links = alt.tables["links"]
    on_101 = links["way"].astype(str).str.contains("101").to_numpy()
    assert on_101.sum() == 4  # 1-2, 2-3 both ways
    assert links["flow_motorcycle"][on_101].max() == 0.0
    assert links["flow_ojek"][on_101].max() == 0.0
    assert links["flow"][on_101].sum() > 0  # cars keep the street
    before = base.tables["links"]["flow_motorcycle"][on_101].sum()
    assert before > 0
    assert "closed 4 link(s) to motorcycle" in alt.tables["edits"]["effect"].iloc[0]


def test_ojek_fare_rise_loses_riders(folder, base):
    alt = evaluate(
        alternative(
            folder,
            "fare",
            '[[edits]]\ntype = "change_mode_costs"\nojek_fare_per_km = 4000.0\nojek_min_fare = 20000.0\n',
        )
    )
    assert alt["share_ojek"] < base["share_ojek"]
    assert alt["share_motorcycle"] > base["share_motorcycle"]
    effect = alt.tables["edits"]["effect"].iloc[0]
    assert "ojek_fare_per_km 2000 -> 4000" in effect and "ojek_min_fare 10000 -> 20000" in effect


def test_change_mode_costs_needs_a_value(folder):
    with pytest.raises(ScenarioError, match="change_mode_costs edit needs at least one"):
        load_scenario(alternative(folder, "empty", '[[edits]]\ntype = "change_mode_costs"\n'))
    with pytest.raises(ScenarioError, match="vehicles"):
        load_scenario(
            alternative(
                folder, "bus", '[[edits]]\ntype = "restrict_road"\nway = 101\nvehicles = ["bus"]\n'
            )
        )


def test_calibration_covers_motorcycle_and_ojek(folder):
    """Target shares of an Indonesian city (motorcycles the majority of the motorised
    trips) are met within calibration.tolerance (0.2 points) under the nested logit."""
    targets = {"car": 0.15, "motorcycle": 0.45, "ojek": 0.08, "transit": 0.12, "walk": 0.20}
    text = (folder / "base.toml").read_text(encoding="utf-8")
    text += "\n[calibration]\ntargets = {" + ", ".join(f"{m} = {v}" for m, v in targets.items())
    text += "}\n"
    path = folder / "calibrated.toml"
    path.write_text(text.replace('name = "Town"', 'name = "Calibrated town"'), encoding="utf-8")
    result = evaluate(path)
    shares = result.tables["mode_shares"].set_index("mode")["share"]
    for mode, target in targets.items():
        assert shares[mode] == pytest.approx(target, abs=0.002), mode
    constants = result.summary["calibration"]["constants"]
    assert set(constants) == {f"asc_{m}" for m in targets}
    assert constants["asc_car"] == 0.0  # the reference mode


def test_nests_in_a_scenario_file(folder):
    text = (folder / "base.toml").read_text(encoding="utf-8")
    good = text + (
        '\n[[model.mode_choice.nests]]\nname = "two_wheel"\nmodes = ["motorcycle", "ojek"]\n'
        "scale = 0.5\n"
    )
    (folder / "nested.toml").write_text(good, encoding="utf-8")
    (nest,) = model_parameters(load_scenario(folder / "nested.toml").baseline).mode_choice.nests
    assert (nest.name, nest.modes, nest.scale) == ("two_wheel", ("motorcycle", "ojek"), 0.5)
    bad = text + (
        '\n[[model.mode_choice.nests]]\nname = "a"\nmodes = ["car", "ojek"]\nscale = 0.5\n'
        '[[model.mode_choice.nests]]\nname = "b"\nmodes = ["ojek", "motorcycle"]\nscale = 1.2\n'
    )
    (folder / "bad_nests.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"model\.mode_choice\.nests\[1\]\.scale"):
        load_scenario(folder / "bad_nests.toml")
