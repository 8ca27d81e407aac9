"""Road traffic by vehicle class: link flows per class, vehicle-km, PCU-km and CO2 per vehicle kind.

A road equilibrium with vehicle classes (:mod:`transitopt.assignment.classes`: car,
motorcycle, ojek) reports vehicles/h per class; its ``flow`` is PCU/h. The link table
keeps ``flow`` as the cars' veh/h (so the car metrics of
:func:`~transitopt.metrics.congestion.road_summary` stay car metrics) and adds
``flow_<class>`` (veh/h), ``pcu_<class>`` (PCU/h of each class, by its PCE on the link:
one value, or one by road type) and ``pcu`` (PCU/h of all classes, buses excluded: they
are the ``preload``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .emissions import EMISSION_FACTORS, EmissionFactors

#: vehicle kind (emission factor key) of each vehicle class
VEHICLE_KIND = {"car": "car", "motorcycle": "motorcycle", "ojek": "motorcycle"}


def class_flows(road: Any, n_edges: int) -> dict[str, np.ndarray]:
    """Link table columns of a road result (``None``: no traffic): ``flow`` (cars, veh/h)
    and, with vehicle classes, ``flow_<class>`` (veh/h) and ``pcu`` (PCU/h)."""
    if road is None:
        return {"flow": np.zeros(n_edges)}
    if not road.class_flow:
        return {"flow": road.flow}
    out = {"flow": road.class_flow.get("car", np.zeros(n_edges))}
    for name, flow in road.class_flow.items():
        if name != "car":
            out[f"flow_{name}"] = flow
    for name, flow in road.class_flow.items():
        pce = getattr(road, "class_pce", {}).get(name)
        if pce is not None:
            out[f"pcu_{name}"] = flow * pce
    out["pcu"] = road.flow
    return out


def vehicle_km(links: pd.DataFrame) -> dict[str, float]:
    """Vehicle-km/h by class of a link table (open links only) and ``pcu_km``.

    Returns
    -------
    dict
        ``<class>_veh_km`` for ``car`` and every ``flow_<class>`` column,
        ``<class>_pcu_km`` for every ``pcu_<class>`` column, and ``pcu_km`` (``pcu``
        column, else the cars' ``flow``), all per hour of the period.
    """
    table = links
    if "closed" in table.columns:
        table = table[~table["closed"].to_numpy(dtype=bool)]
    km = table["length_m"].to_numpy(float) / 1000.0
    out = {"car_veh_km": float(np.sum(table["flow"].to_numpy(float) * km))}
    for column in table.columns:
        if column.startswith("flow_"):
            out[f"{column[5:]}_veh_km"] = float(np.sum(table[column].to_numpy(float) * km))
        elif column.startswith("pcu_"):
            out[f"{column[4:]}_pcu_km"] = float(np.sum(table[column].to_numpy(float) * km))
    volume = table["pcu" if "pcu" in table.columns else "flow"].to_numpy(float)
    out["pcu_km"] = float(np.sum(volume * km))
    return out


def class_co2_kg(
    veh_km: Mapping[str, float], *, factors: EmissionFactors = EMISSION_FACTORS
) -> dict[str, float]:
    """kg CO2/h by vehicle kind (``car``, ``motorcycle``) from ``<class>_veh_km``
    (ojek riders ride motorcycles)."""
    out: dict[str, float] = {}
    for key, km in veh_km.items():
        name = key.removesuffix("_veh_km")
        kind = VEHICLE_KIND.get(name)
        if kind is None or key == name:
            continue
        out[kind] = out.get(kind, 0.0) + float(km) * factors.kg_per_km(kind)
    return out
