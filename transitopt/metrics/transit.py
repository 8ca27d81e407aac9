"""Transit use: boardings, passenger-km, load profiles, crowding, waiting and transfers.

Inputs are a *segment table*, one row per line segment between consecutive stops with
``line``, ``seq``, ``length_m``, ``run_time_s``, ``load`` (passengers/h on the segment),
``boardings`` (at the segment's first stop), ``capacity_per_hour`` (passengers/h the
line offers: vehicle capacity × 3600 / headway), and an *OD table* with the transit
trips per zone pair (``transit``, trips/h) and their expected ``transit_wait_s``,
``transit_boardings``, ``transit_time_s`` (door to door, unweighted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def line_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Per line: ``boardings``, ``passenger_km``, ``passenger_h`` (in vehicle), ``peak_load``
    (pax/h on the busiest segment), ``capacity_per_hour`` and ``max_load_ratio``
    (peak load / capacity per hour)."""
    seg = segments.assign(
        pkm=segments["load"] * segments["length_m"] / 1000.0,
        ph=segments["load"] * segments["run_time_s"] / 3600.0,
    )
    grouped = seg.groupby("line", sort=False)
    table = pd.DataFrame(
        {
            "boardings": grouped["boardings"].sum(),
            "passenger_km": grouped["pkm"].sum(),
            "passenger_h": grouped["ph"].sum(),
            "peak_load": grouped["load"].max(),
            "capacity_per_hour": grouped["capacity_per_hour"].first(),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["max_load_ratio"] = table["peak_load"] / table["capacity_per_hour"]
    return table.reset_index()


def transit_summary(lines: pd.DataFrame, od: pd.DataFrame) -> dict[str, float]:
    """Network totals per hour.

    Parameters
    ----------
    lines
        :func:`line_summary` output.
    od
        Columns ``transit`` (trips/h) and ``transit_wait_s``, ``transit_boardings``,
        ``transit_time_s`` (expected per trip of the pair).

    Returns
    -------
    dict
        ``trips``, ``boardings``, ``passenger_km``, ``passenger_h``,
        ``avg_wait_min`` and ``avg_time_min`` (trip-weighted), ``transfers_per_trip``
        (trip-weighted expected boardings − 1), ``max_load_ratio`` and
        ``lines_over_capacity`` (lines whose busiest segment exceeds the capacity offered).
    """
    trips = od["transit"].to_numpy(float)
    total = float(trips.sum())

    def mean(column: str) -> float:
        if total <= 0:
            return float("nan")
        values = od[column].to_numpy(float)
        use = trips > 0
        return float(np.sum(trips[use] * values[use]) / total)

    ratio = lines["max_load_ratio"].to_numpy(float)
    finite = ratio[np.isfinite(ratio)]
    return {
        "trips": total,
        "boardings": float(lines["boardings"].sum()),
        "passenger_km": float(lines["passenger_km"].sum()),
        "passenger_h": float(lines["passenger_h"].sum()),
        "avg_wait_min": mean("transit_wait_s") / 60.0,
        "avg_time_min": mean("transit_time_s") / 60.0,
        "transfers_per_trip": mean("transit_boardings") - 1.0,
        "max_load_ratio": float(finite.max()) if finite.size else 0.0,
        "lines_over_capacity": int(np.sum(finite > 1.0)),
    }
