"""Operator resources: fleet, vehicle-km and vehicle-hours per hour.

A *route* groups the lines (directions, patterns) that one fleet serves
(``route_key``). A line whose trip takes ``T`` seconds (running + dwell) plus a
layover at the terminus of ``layover_share × T`` ties up ``(1 + layover_share) T / h``
vehicles at headway ``h``. A route with a single non-loop direction is assumed to run
the same way back (the vehicle must return), which doubles its vehicle needs and
vehicle-km. The fleet of a route is ``ceil(sum of the vehicles its lines tie up)``,
which for an out-and-back route is the classic ``ceil(cycle time / headway)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def line_operations(lines: pd.DataFrame, *, layover_share: float = 0.10) -> pd.DataFrame:
    """Per line: vehicles in service, vehicle-km/h and vehicle-h/h.

    Parameters
    ----------
    lines
        Columns ``line``, ``route_key``, ``one_way_time_s`` (s, running + dwell),
        ``length_km``, ``headway_s`` (s) and ``loop`` (bool: ends where it starts).
    layover_share
        Terminal layover / recovery time as a share of the one-way time (0.10 = 10 %).

    Returns
    -------
    DataFrame
        ``lines`` with ``directions_operated`` (2 for a lone non-loop direction, else 1),
        ``cycle_s`` (vehicle time per departure: one way + layover, times
        ``directions_operated``), ``vehicles`` (``cycle_s / headway_s``, fractional),
        ``veh_km`` (per hour) and ``veh_h`` (per hour, equal to ``vehicles``).
    """
    if not 0.0 <= layover_share <= 1.0:
        raise ValueError(f"layover_share must lie in [0, 1], got {layover_share!r}")
    table = lines.copy()
    per_route = table.groupby("route_key")["line"].transform("size").to_numpy()
    loop = table["loop"].to_numpy(dtype=bool)
    directions = np.where((per_route == 1) & ~loop, 2, 1)
    departures_per_h = 3600.0 / table["headway_s"].to_numpy(float)
    cycle = directions * table["one_way_time_s"].to_numpy(float) * (1.0 + layover_share)
    table["directions_operated"] = directions
    table["cycle_s"] = cycle
    table["vehicles"] = cycle / table["headway_s"].to_numpy(float)
    table["veh_km"] = directions * table["length_km"].to_numpy(float) * departures_per_h
    table["veh_h"] = table["vehicles"]
    return table


def fleet_size(vehicles: np.ndarray | float) -> np.ndarray:
    """Vehicles a route needs: ``ceil`` of the vehicles its lines tie up (fractional,
    ``sum(cycle_s / headway_s)`` over its lines), with a 1e-9 tolerance so that an exact
    ratio (a 20 min cycle at a 10 min headway) is not rounded up by floating-point noise.

    The one rounding rule of the fleet: the ``routes`` table and the ``transit_fleet``
    metric of a scenario result and the frequency optimiser all use it.
    """
    return np.ceil(np.asarray(vehicles, dtype=float) - 1e-9).astype(np.int64)


def route_fleet(operations: pd.DataFrame) -> pd.DataFrame:
    """Per route: ``fleet`` = ceil(sum of its lines' vehicles), ``veh_km``, ``veh_h``, ``mode``."""
    grouped = operations.groupby("route_key", sort=False)
    table = pd.DataFrame(
        {
            "mode": grouped["mode"].first() if "mode" in operations.columns else None,
            "lines": grouped["line"].size(),
            "vehicles": grouped["vehicles"].sum(),
            "veh_km": grouped["veh_km"].sum(),
            "veh_h": grouped["veh_h"].sum(),
        }
    )
    table["fleet"] = fleet_size(table["vehicles"].to_numpy(float))
    return table.reset_index()


def operator_summary(operations: pd.DataFrame) -> dict[str, float]:
    """Totals: ``fleet`` (vehicles, by route), ``veh_km`` and ``veh_h`` per hour."""
    routes = route_fleet(operations)
    return {
        "fleet": float(routes["fleet"].sum()),
        "veh_km": float(routes["veh_km"].sum()),
        "veh_h": float(routes["veh_h"].sum()),
    }
