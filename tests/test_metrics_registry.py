"""The metric registry: every headline metric has one group, unit, label and direction."""

from __future__ import annotations

import pandas as pd
import pytest

from transitopt.batch.summary import _colours, policy_effects
from transitopt.metrics.registry import (
    GROUPS,
    METRICS,
    access_change,
    inequality_of_access,
    jobs_decay,
    jobs_within,
    metric,
)


def test_fixed_metrics_are_complete_and_consistent():
    assert (
        len(METRICS) == 46
    )  # 33 + 6 of motorcycle/ojek (shares, veh-km, PCU-km, CO2) + 4 of crowding + 3 PCU-km per class
    for name, entry in METRICS.items():
        assert entry.name == name and entry.group in GROUPS and entry.unit and entry.label
        assert entry.better in ("higher", "lower", None)
    assert metric("car_delay_veh_h").better == "lower" and metric("car_delay_veh_h").sign == -1
    assert metric("car_avg_speed_kph").sign == 1
    assert metric("share_transit").better is None and metric("share_transit").sign == 0
    with pytest.raises(TypeError):
        METRICS["trips"] = METRICS["co2_total"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("made", "name", "group", "unit", "label", "sign"),
    [
        (jobs_within("transit", 45), "jobs_transit_45min", "accessibility",
         "jobs (pop-weighted)", "Jobs within 45 min by transit (generalised time)", 1),
        (jobs_within("transit_fastest", 15), "jobs_transit_fastest_15min", "accessibility",
         "jobs (pop-weighted)", "Jobs within 15 min by transit (fastest time)", 1),
        (jobs_decay("transit"), "jobs_transit_decay", "accessibility",
         "jobs (pop-weighted)", "Jobs weighted by time decay by transit (generalised time)", 1),
        (jobs_within("transit_crowded", 30), "jobs_transit_crowded_30min", "accessibility",
         "jobs (pop-weighted)",
         "Jobs within 30 min by transit (generalised time, crowding-weighted)", 1),
        (jobs_within("car", 7.5), "jobs_car_7.5min", "accessibility",
         "jobs (pop-weighted)", "Jobs within 7.5 min by car", 1),
        (inequality_of_access("gini", 30), "gini_transit_30min", "equity", "index",
         "Gini of jobs within 30 min by transit (generalised time)", -1),
        (inequality_of_access("palma", 60.0), "palma_transit_60min", "equity", "ratio",
         "Palma of jobs within 60 min by transit (generalised time)", -1),
        (access_change(30, "zones", "gain"), "transit_access_30min_zones_gain", "equity",
         "zones", "Zones gaining transit access (30 min, beyond model noise)", 1),
        (access_change(45, "population", "lose"), "transit_access_45min_population_lose",
         "equity", "residents", "Residents losing transit access (45 min, beyond model noise)", -1),
    ],
)  # fmt: skip
def test_metrics_per_time_budget(made, name, group, unit, label, sign):
    assert made.name == name
    assert metric(name) == made
    assert (made.group, made.unit, made.label, made.sign) == (group, unit, label, sign)


@pytest.mark.parametrize("name", ["nope", "jobs_transit_045min", "gini_car_30min", "co2"])
def test_unknown_metric_fails_clearly(name):
    with pytest.raises(KeyError, match="no headline metric"):
        metric(name)


def _batch(cost_base: float, cost_policy: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": ["A", "A"],
            "scenario": ["base", "fare"],
            "policy": ["baseline", "fare"],
            "status": ["ok", "ok"],
            "composite_cost_min": [cost_base, cost_policy],
            "share_transit": [0.2, 0.25],
        }
    )


def test_overview_change_keeps_the_sign_of_a_negative_cost():
    # a summary without the noise columns (an older batch): changes, but no noise verdict
    table = policy_effects(_batch(-10.0, -12.0)).set_index("metric")
    assert not table["within_noise"].any()
    effects, clear = table["change"], pd.Series([False])
    assert effects["composite_cost_min"] == pytest.approx(-20.0)  # the cost fell by 20 %
    assert effects["share_transit"] == pytest.approx(5.0)  # points
    assert _colours("composite_cost_min", effects[["composite_cost_min"]], clear) == ["#2a7"]
    rise = policy_effects(_batch(-10.0, -8.0)).set_index("metric")["change"]
    assert rise["composite_cost_min"] == pytest.approx(20.0)
    assert _colours("composite_cost_min", rise[["composite_cost_min"]], clear) == ["#c44"]
    assert _colours("share_transit", effects[["share_transit"]], clear) == ["#888"]  # no direction
    # within the runs' noise: grey whatever the direction
    assert _colours("composite_cost_min", rise[["composite_cost_min"]], pd.Series([True])) == [
        "#888"
    ]
