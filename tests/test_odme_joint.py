"""Mode-specific OD adjustment as zone-pair constants (issue 17, item 5).

Known answer: under a multinomial logit, adding ``ln r_m`` to mode ``m``'s utility of a
zone pair and scaling the pair's total by ``sum_k P_k r_k`` gives each mode exactly
``D_m r_m`` at the same costs (Ben-Akiva and Lerman 1985, ch. 5). On a model without
networks the costs do not depend on the demand, so the rerun must reproduce ``D_m r_m``
to rounding (rtol 1e-9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transitopt.assignment import MultimodalModel
from transitopt.assignment.mode_choice import ModeChoiceParameters, logit_choice
from transitopt.assignment.multimodal import ModelInputError
from transitopt.scenario.calibration import _adjustment, _mode_step, _road_step, adjusted_demand

ZONES = pd.DataFrame(
    {"zone": [11, 12, 13, 14], "lon": [24.90, 24.91, 24.93, 24.96], "lat": [60.17] * 4}
)


def _model() -> MultimodalModel:
    rng = np.random.default_rng(5)
    demand = rng.uniform(20, 200, (4, 4))
    return MultimodalModel(ZONES, demand)


def test_zone_pair_constants_scale_each_mode_by_its_own_factor():
    model = _model()
    result = model.run()
    rng = np.random.default_rng(6)
    factors = {"car": rng.uniform(0.5, 1.8, (4, 4)), "walk": rng.uniform(0.7, 1.3, (4, 4))}
    step = _mode_step(result, factors)
    table = _adjustment(ZONES["zone"].to_numpy(), step.total, step.offsets)
    assert {"offset_car", "offset_walk"} <= set(table)
    again = adjusted_demand(model, table).run()
    for mode, factor in factors.items():
        off = ~np.eye(4, dtype=bool)
        expected = np.asarray(result.demand[mode]) * np.where(off, factor, 1.0)
        np.testing.assert_allclose(again.demand[mode], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(again.intrazonal, result.intrazonal)  # the diagonal stays


def test_road_step_keeps_each_class_and_scales_the_rest_with_the_persons():
    model = _model()
    result = model.run()
    rng = np.random.default_rng(7)
    r_car = rng.uniform(0.6, 1.6, (4, 4))
    one = _road_step(result, {"car": r_car})
    assert one.offsets == {}  # one class: the total scaled, the shares hold
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(one.total[off], r_car[off])
    # two "classes" (car and walk stand in): each its own factor, transit with the persons
    r_walk = rng.uniform(0.6, 1.6, (4, 4))
    two = _road_step(result, {"car": r_car, "walk": r_walk})
    table = _adjustment(ZONES["zone"].to_numpy(), two.total, two.offsets)
    again = adjusted_demand(model, table).run()
    for mode, factor in (("car", r_car), ("walk", r_walk)):
        expected = np.asarray(result.demand[mode]) * np.where(off, factor, 1.0)
        np.testing.assert_allclose(again.demand[mode], expected, rtol=1e-9, atol=1e-12)


def test_logit_offsets_are_utils_per_pair():
    skims = {"car_gc_min": np.array([[0.0, 10.0]]), "walk_gc_min": np.array([[0.0, 20.0]])}
    walk_m = np.array([[0.0, 1000.0]])
    choice = ModeChoiceParameters(modes=("car", "walk"))
    plain, _ = logit_choice(skims, walk_m, choice)
    shifted, _ = logit_choice(skims, walk_m, choice, offsets={"car": np.array([[0.0, 0.6]])})
    # hand-computed: car utility -0.6 + 0.6 = 0, walk -1.2 -> P_car = 1 / (1 + e^-1.2)
    assert shifted["car"][0, 1] == pytest.approx(1.0 / (1.0 + np.exp(-1.2)), rel=1e-12)
    assert plain["car"][0, 1] == pytest.approx(1.0 / (1.0 + np.exp(-0.6)), rel=1e-12)


def test_offsets_that_do_not_fit_are_refused():
    with pytest.raises(ModelInputError, match=r"mode_offsets\['car'\].*\(4, 4\)"):
        MultimodalModel(ZONES, np.ones((4, 4)), mode_offsets={"car": np.zeros((3, 3))})
    with pytest.raises(ModelInputError, match="mode_offsets\\['bike'\\]"):
        MultimodalModel(ZONES, np.ones((4, 4)), mode_offsets={"bike": np.zeros((4, 4))})


def test_an_adjustment_without_offsets_scales_the_total_only():
    model = _model()
    table = pd.DataFrame({"origin": [11], "destination": [12], "factor": [2.0]})
    adjusted = adjusted_demand(model, table)
    assert adjusted.mode_offsets == {}
    assert adjusted.demand[0, 1] == pytest.approx(2.0 * model.demand[0, 1])
