"""Mode-specific OD adjustment as zone-pair constants (issue 17, item 5).

Known answer: under a multinomial logit, adding ``ln r_m`` to mode ``m``'s utility of a
zone pair and scaling the pair's total by ``sum_k P_k r_k`` gives each mode exactly
``D_m r_m`` at the same costs (Train 2009, section 2.8, per zone pair). On a model without
networks the costs do not depend on the demand, so the rerun must reproduce ``D_m r_m``
to rounding (rtol 1e-9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transitopt.assignment import MultimodalModel, MultimodalParameters
from transitopt.assignment.mode_choice import ModeChoiceParameters, logit_choice
from transitopt.assignment.multimodal import ModelInputError
from transitopt.scenario.calibration import _adjustment, _mode_step, adjusted_demand

ZONES = pd.DataFrame(
    {"zone": [11, 12, 13, 14], "lon": [24.90, 24.91, 24.93, 24.96], "lat": [60.17] * 4}
)


def _model() -> MultimodalModel:
    """Four zones without networks: car, motorcycle and walk have trips (no transit)."""
    rng = np.random.default_rng(5)
    demand = rng.uniform(20, 200, (4, 4))
    choice = ModeChoiceParameters(modes=("car", "transit", "walk", "motorcycle"))
    return MultimodalModel(ZONES, demand, parameters=MultimodalParameters(mode_choice=choice))


OFF = ~np.eye(4, dtype=bool)


def test_zone_pair_constants_give_each_counted_mode_its_own_factor():
    """Car and motorcycle counted (own factors); walk, not counted, scales with their
    persons: ``rho = (D_car r_car + D_mc r_mc) / (D_car + D_mc)``."""
    model = _model()
    result = model.run()
    rng = np.random.default_rng(6)
    factors = {"car": rng.uniform(0.5, 1.8, (4, 4)), "motorcycle": rng.uniform(0.7, 1.3, (4, 4))}
    step = _mode_step(result, factors)
    table = _adjustment(ZONES["zone"].to_numpy(), step.total, step.offsets)
    assert {"offset_car", "offset_motorcycle"} <= set(table) and "offset_walk" not in table
    again = adjusted_demand(model, table).run()
    demand = {m: np.asarray(result.demand[m]) for m in ("car", "motorcycle", "walk")}
    for mode, factor in factors.items():
        expected = demand[mode] * np.where(OFF, factor, 1.0)
        np.testing.assert_allclose(again.demand[mode], expected, rtol=1e-9, atol=1e-12)
    road = demand["car"] + demand["motorcycle"]
    moved = demand["car"] * factors["car"] + demand["motorcycle"] * factors["motorcycle"]
    rho = np.divide(moved, road, out=np.ones_like(road), where=road > 0)
    expected_walk = demand["walk"] * np.where(OFF, rho, 1.0)
    np.testing.assert_allclose(again.demand["walk"], expected_walk, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(again.intrazonal, result.intrazonal)  # the diagonal stays


def test_one_counted_mode_scales_the_total_and_keeps_the_shares():
    model = _model()
    result = model.run()
    r_car = np.random.default_rng(7).uniform(0.6, 1.6, (4, 4))
    one = _mode_step(result, {"car": r_car})
    assert one.offsets == {}
    np.testing.assert_allclose(one.total[OFF], r_car[OFF])


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


@pytest.mark.slow
def test_helsinki_docs_case_fits_both_kinds_and_moves_every_mode_towards_the_truth(tmp_path):
    """docs/calibration.md, "Traffic counts and boardings together": the Helsinki baseline
    with 46 traffic counts and 20 line counts (made by make_joint_case.py from a known
    run: origin factors 0.6 ... 1.4, asc_transit -0.5, car terminal time 6 min). Every
    line within 2 %, GEH < 5 on every counted link, converged; each mode's OD closer to
    the truth than the baseline at its fitted constant (measured RMSE per cell with
    trips: car 6.16 -> 2.73, transit 2.50 -> 1.50, walk 15.1 -> 10.1)."""
    import shutil
    import sys
    import warnings
    from pathlib import Path

    from transitopt._errors import ConvergenceWarning
    from transitopt.scenario import evaluate

    case = Path(__file__).resolve().parents[1] / "docs" / "calibration"
    for name in ("helsinki_joint.toml", "helsinki_joint.csv"):
        shutil.copy(case / name, tmp_path / name)
    sys.path.insert(0, str(case))
    try:
        from make_joint_case import baseline_model, truth_run
    finally:
        sys.path.remove(str(case))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = evaluate(tmp_path / "helsinki_joint.toml")
        model = baseline_model()
        truth = truth_run(model)
        start = model.with_constants(**base.summary["calibration"]["constants"]).run()
    fitted = base.summary["calibration"]
    counts, lines = fitted["counts"], fitted["transit_od"]
    assert counts["observations"] == 46 and lines["observations"] == 20
    assert counts["after"]["share_geh_below_5"] == 1.0 > counts["before"]["share_geh_below_5"]
    assert lines["max_relative_error"] <= 0.02 and lines["converged"]
    assert fitted["joint"]["converged"] and fitted["converged"]
    for mode in ("car", "transit", "walk"):
        true = np.asarray(truth.demand[mode])
        cells = true > 0
        before = np.sqrt(np.mean((np.asarray(start.demand[mode])[cells] - true[cells]) ** 2))
        after = np.sqrt(np.mean((np.asarray(base.outcome.demand[mode])[cells] - true[cells]) ** 2))
        assert after < 0.8 * before, mode
