"""The headline metrics: one entry per metric with its group, unit, label and better direction.

Every table, report and summary that shows a headline metric takes these facts from here:
the evaluation's metrics table (group and unit), the HTML report (label, group heading,
green/red colouring), the terminal summary and the batch overview.

Most metrics have a fixed name (:data:`METRICS`). The accessibility and equity metrics
exist once per time budget of the scenario (``jobs_transit_45min``,
``gini_transit_30min``, ``transit_access_30min_population_lose``); the functions
:func:`jobs_within`, :func:`inequality_of_access` and :func:`access_change` make
them, and :func:`metric` resolves any name, fixed or not.

>>> metric("co2_total").unit
'kg/h'
>>> metric("jobs_transit_45min").label
'Jobs within 45 min by transit'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

#: which way a metric improves: "higher", "lower", or None where neither is clear
Better = Literal["higher", "lower"] | None

#: the headings of the metric groups, in the order of the metrics table
GROUPS: Mapping[str, str] = MappingProxyType(
    {
        "demand": "Demand",
        "mode_share": "Mode shares",
        "road": "Road traffic",
        "transit": "Transit use",
        "operator": "Operator",
        "accessibility": "Accessibility (population-weighted)",
        "equity": "Equity",
        "emissions": "Emissions",
        "model": "Model run",
    }
)


@dataclass(frozen=True)
class Metric:
    """One headline metric.

    Attributes
    ----------
    name : str
        Id in the metrics table (``"car_delay_veh_h"``).
    group : str
        A key of :data:`GROUPS`.
    unit : str
        Unit of the value (``"veh·h/h"``; ``"share"`` for a fraction, ``"bool"`` for a flag;
        ``"currency/h"`` stands for the scenario's currency per hour).
    label : str
        Name for people (``"Car delay (vs free flow)"``).
    better : {"higher", "lower", None}
        Whether a rise or a fall is an improvement; None where neither is clear.
    """

    name: str
    group: str
    unit: str
    label: str
    better: Better = None

    @property
    def sign(self) -> int:
        """+1 when a rise is an improvement, −1 when a fall is, 0 when neither is clear."""
        return {"higher": 1, "lower": -1, None: 0}[self.better]


_FIXED = (
    Metric("trips", "demand", "trips/h", "Person trips"),
    Metric("trips_unserved", "demand", "trips/h", "Trips with no available mode", "lower"),
    Metric("share_car", "mode_share", "share", "Car share"),
    Metric("share_transit", "mode_share", "share", "Transit share"),
    Metric("share_walk", "mode_share", "share", "Walk share"),
    Metric("share_motorcycle", "mode_share", "share", "Motorcycle share"),
    Metric("share_ojek", "mode_share", "share", "Ojek (motorcycle taxi) share"),
    Metric(
        "composite_cost_min", "demand", "min/trip", "Generalised cost per trip (logsum)", "lower"
    ),
    Metric("car_veh_km", "road", "veh·km/h", "Car vehicle-km"),
    Metric("car_veh_h", "road", "veh·h/h", "Car vehicle-hours", "lower"),
    Metric("car_delay_veh_h", "road", "veh·h/h", "Car delay (vs free flow)", "lower"),
    Metric("car_avg_speed_kph", "road", "km/h", "Average car speed", "higher"),
    Metric("bus_veh_km", "road", "veh·km/h", "Bus vehicle-km on streets"),
    Metric("motorcycle_veh_km", "road", "veh·km/h", "Private motorcycle vehicle-km"),
    Metric("ojek_veh_km", "road", "veh·km/h", "Ojek motorcycle vehicle-km"),
    Metric("pcu_km", "road", "PCU·km/h", "PCU-km of cars and motorcycles", "lower"),
    Metric("car_pcu_km", "road", "PCU·km/h", "PCU-km of cars", "lower"),
    Metric("motorcycle_pcu_km", "road", "PCU·km/h", "PCU-km of private motorcycles", "lower"),
    Metric("ojek_pcu_km", "road", "PCU·km/h", "PCU-km of ojek motorcycles", "lower"),
    Metric("lane_km", "road", "lane·km", "Lane-km open to cars"),
    Metric("lane_km_voc_over_0_9", "road", "lane·km", "Lane-km with v/c > 0.9", "lower"),
    Metric("lane_km_voc_over_1_0", "road", "lane·km", "Lane-km with v/c > 1.0", "lower"),
    Metric("max_voc", "road", "ratio", "Highest v/c", "lower"),
    Metric("transit_trips", "transit", "trips/h", "Transit trips"),
    Metric("transit_boardings", "transit", "boardings/h", "Boardings"),
    Metric("transit_passenger_km", "transit", "pax·km/h", "Passenger-km"),
    Metric("transit_passenger_h", "transit", "pax·h/h", "Passenger-hours in vehicles"),
    Metric("transit_avg_wait_min", "transit", "min", "Average wait", "lower"),
    Metric("transit_avg_time_min", "transit", "min", "Average door-to-door time", "lower"),
    Metric(
        "transit_transfers_per_trip", "transit", "transfers/trip", "Transfers per trip", "lower"
    ),
    Metric("transit_max_load_ratio", "transit", "ratio", "Highest load / capacity", "lower"),
    Metric("transit_lines_over_capacity", "transit", "lines", "Lines over capacity", "lower"),
    Metric("transit_denied_boardings", "transit", "riders/h", "Riders denied boarding", "lower"),
    Metric("transit_standing_h", "transit", "pax·h/h", "Passenger-hours standing", "lower"),
    Metric("transit_crowding_min", "transit", "min/trip", "Crowding surcharge per trip", "lower"),
    Metric(
        "transit_crowded_time_min",
        "transit",
        "min",
        "Average door-to-door time, crowding-weighted",
        "lower",
    ),
    Metric("transit_fare_revenue", "transit", "currency/h", "Fare revenue"),
    Metric("transit_fleet", "operator", "vehicles", "Fleet needed", "lower"),
    Metric("transit_veh_km", "operator", "veh·km/h", "Transit vehicle-km", "lower"),
    Metric("transit_veh_h", "operator", "veh·h/h", "Transit vehicle-hours", "lower"),
    Metric("co2_car", "emissions", "kg/h", "CO₂ from cars", "lower"),
    Metric("co2_transit", "emissions", "kg/h", "CO₂ from transit", "lower"),
    Metric(
        "co2_motorcycle", "emissions", "kg/h", "CO₂ from motorcycles (private and ojek)", "lower"
    ),
    Metric("co2_total", "emissions", "kg/h", "CO₂ total", "lower"),
    Metric("iterations", "model", "iterations", "Feedback iterations"),
    Metric("converged", "model", "bool", "Converged"),
)

#: the metrics with a fixed name, by name (the per-time-budget ones: :func:`metric`)
METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in _FIXED})


#: how each accessibility variant measures time, for labels (``transit``: generalised
#: time, the cost route choice minimises; ``transit_fastest``: the fastest strategy)
_ACCESS_BASIS = {
    "transit": "by transit (generalised time)",
    "transit_fastest": "by transit (fastest time)",
    "transit_crowded": "by transit (generalised time, crowding-weighted)",
    "car": "by car",
}


def jobs_within(mode: str, cutoff_min: float) -> Metric:
    """Jobs the average resident reaches by ``mode`` within ``cutoff_min`` minutes.

    ``mode`` ``"transit"`` counts by generalised minutes (the cost transit route choice
    minimises: weighted walk and wait, transfer penalties), ``"transit_fastest"`` by the
    time of the fastest strategy, ``"car"`` by door-to-door car time.
    """
    basis = _ACCESS_BASIS.get(mode, f"by {mode}")
    return Metric(
        f"jobs_{mode}_{cutoff_min:g}min",
        "accessibility",
        "jobs (pop-weighted)",
        f"Jobs within {cutoff_min:g} min {basis}",
        "higher",
    )


def jobs_decay(mode: str) -> Metric:
    """Jobs the average resident reaches by ``mode``, each weighted by ``exp(−λ t)`` (the
    smooth measure beside the cumulative one; ``λ`` = the mode choice's |β| per minute)."""
    basis = _ACCESS_BASIS.get(mode, f"by {mode}")
    return Metric(
        f"jobs_{mode}_decay",
        "accessibility",
        "jobs (pop-weighted)",
        f"Jobs weighted by time decay {basis}",
        "higher",
    )


def inequality_of_access(measure: Literal["gini", "palma"], cutoff_min: float) -> Metric:
    """Gini index or Palma ratio, over residents, of the jobs reachable by transit within
    ``cutoff_min`` minutes."""
    return Metric(
        f"{measure}_transit_{cutoff_min:g}min",
        "equity",
        "index" if measure == "gini" else "ratio",
        f"{measure.capitalize()} of jobs within {cutoff_min:g} min by transit (generalised time)",
        "lower",
    )


def access_change(
    cutoff_min: float, who: Literal["zones", "population"], way: Literal["gain", "lose"]
) -> Metric:
    """Zones or residents whose jobs reachable by transit within ``cutoff_min`` rise or fall."""
    return Metric(
        f"transit_access_{cutoff_min:g}min_{who}_{way}",
        "equity",
        "zones" if who == "zones" else "residents",
        f"{'Zones' if who == 'zones' else 'Residents'} "
        f"{'gaining' if way == 'gain' else 'losing'} transit access ({cutoff_min:g} min, "
        "beyond model noise)",
        "higher" if way == "gain" else "lower",
    )


_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_PATTERNS = (
    (
        re.compile(rf"jobs_(transit_fastest|transit_crowded|[a-z]+)_{_NUMBER}min"),
        lambda m: jobs_within(m[1], float(m[2])),
    ),
    (
        re.compile(r"jobs_(transit_fastest|transit_crowded|[a-z]+)_decay"),
        lambda m: jobs_decay(m[1]),
    ),
    (
        re.compile(rf"(gini|palma)_transit_{_NUMBER}min"),
        lambda m: inequality_of_access(m[1], float(m[2])),
    ),
    (
        re.compile(rf"transit_access_{_NUMBER}min_(zones|population)_(gain|lose)"),
        lambda m: access_change(float(m[1]), m[2], m[3]),
    ),
)


def metric(name: str) -> Metric:
    """The headline metric called ``name``, fixed or per time budget.

    Raises
    ------
    KeyError
        For a name that is no headline metric (the message lists the known ones).
    """
    if name in METRICS:
        return METRICS[name]
    for pattern, make in _PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            found = make(match)
            if found.name == name:
                return found
    raise KeyError(
        f"{name!r} is no headline metric; known: {', '.join(METRICS)}, and per time budget "
        "jobs_<mode>_<T>min, jobs_<mode>_decay, gini_transit_<T>min, palma_transit_<T>min, "
        "transit_access_<T>min_<zones|population>_<gain|lose>"
    )
