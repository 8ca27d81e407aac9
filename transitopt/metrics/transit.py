"""Transit use: boardings, passenger-km, load profiles, crowding, waiting and transfers.

Inputs are a *segment table*, one row per line segment between consecutive stops with
``line``, ``seq``, ``length_m``, ``run_time_s``, ``load`` (passengers/h on the segment),
``boardings`` (at the segment's first stop), ``capacity_per_hour`` (passengers/h the
line offers: vehicle capacity × 3600 / headway), and an *OD table* with the transit
trips per zone pair (``transit``, trips/h) and their expected ``transit_wait_s``,
``transit_boardings``, ``transit_time_s`` (door to door, unweighted).

With line capacities (``[model.transit_capacity]``) the segment table also holds the
crowding columns of :data:`CROWDING_SEGMENT_COLUMNS` and the OD table
``transit_crowding_s``, the crowding surcharge of each pair's strategy (in-vehicle time
x (crowding multiplier - 1), Wardman & Whelan 2011, :mod:`transitopt.transit.capacity`).
Without them those columns are absent, and the crowding numbers are too (never zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..transit.graph import BOARD, RIDE

#: per-segment columns of a capacity-constrained run: places and seats offered over the
#: period, load / places, riders standing (load above the seats), the riders' mean
#: crowding multiplier, and riders denied boarding at the segment's first stop
CROWDING_SEGMENT_COLUMNS = (
    "places",
    "seats",
    "load_factor",
    "standing",
    "crowding_multiplier",
    "denied",
)


def crowding_by_link(capacity: Any) -> dict[str, np.ndarray]:
    """The :data:`CROWDING_SEGMENT_COLUMNS` of a
    :class:`~transitopt.transit.CapacityAssignment`, one value per link of its graph.

    ``denied`` sits on the boarding links, the others on the ride links; NaN elsewhere.
    """
    g = capacity.assignment.graph
    ride = np.flatnonzero(g.kind == RIDE)  # the row order of segment_table()
    board = np.flatnonzero(g.kind == BOARD)  # the row order of boarding_table()
    segments = capacity.segment_table()
    boardings = capacity.boarding_table()
    out = {name: np.full(g.n_links, np.nan) for name in CROWDING_SEGMENT_COLUMNS}
    for name in CROWDING_SEGMENT_COLUMNS[:-1]:
        out[name][ride] = segments[name].to_numpy(float)
    out["denied"][board] = boardings["denied"].to_numpy(float)
    return out


def has_crowding(table: pd.DataFrame) -> bool:
    """Whether a segment or line table comes from a run with line capacities."""
    return "standing" in table.columns or "peak_standing" in table.columns


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
    if has_crowding(segments):
        table = table.join(_line_crowding(seg))
    return table.reset_index()


def _line_crowding(seg: pd.DataFrame) -> pd.DataFrame:
    """Per line (segments of a run with capacities): ``peak_load_factor`` (load / places
    on the busiest segment), ``peak_standing`` (riders standing on the segment with the
    most), ``standing_h`` (passenger-hours standing), ``denied`` (riders denied boarding,
    all stops) and ``crowded_passenger_h`` (in-vehicle hours x crowding multiplier)."""
    seg = seg.assign(
        standing_h=seg["standing"] * seg["run_time_s"] / 3600.0,
        crowded_h=seg["ph"] * seg["crowding_multiplier"],
    )
    grouped = seg.groupby("line", sort=False)
    return pd.DataFrame(
        {
            "peak_load_factor": grouped["load_factor"].max(),
            "peak_standing": grouped["standing"].max(),
            "standing_h": grouped["standing_h"].sum(),
            "denied": grouped["denied"].sum(),
            "crowded_passenger_h": grouped["crowded_h"].sum(),
        }
    )


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
        ``lines_over_capacity`` (lines whose busiest segment exceeds the capacity offered);
        with line capacities also ``denied_boardings``, ``standing_h`` (passenger-hours
        standing), ``crowding_min`` (trip-weighted crowding surcharge per trip, minutes of
        in-vehicle time equivalent) and ``crowded_time_min`` (trip-weighted door-to-door
        time with the in-vehicle time weighted by crowding).
    """
    trips = od["transit"].to_numpy(float)
    ratio = lines["max_load_ratio"].to_numpy(float)
    finite = ratio[np.isfinite(ratio)]
    out: dict[str, float] = {
        "trips": float(trips.sum()),
        "boardings": float(lines["boardings"].sum()),
        "passenger_km": float(lines["passenger_km"].sum()),
        "passenger_h": float(lines["passenger_h"].sum()),
        "max_load_ratio": float(finite.max()) if finite.size else 0.0,
        "lines_over_capacity": int(np.sum(finite > 1.0)),
    }
    skims = {c: od[c].to_numpy(float) for c in _AVERAGED_SKIMS if c in od.columns}
    out.update(transit_averages(trips, skims))
    if has_crowding(lines):
        out["denied_boardings"] = float(lines["denied"].sum())
        out["standing_h"] = float(lines["standing_h"].sum())
    return out


#: the per-pair transit skims :func:`transit_averages` weights by the trips
_AVERAGED_SKIMS = ("transit_wait_s", "transit_time_s", "transit_boardings", "transit_crowding_s")


def transit_averages(trips: np.ndarray, skims: dict[str, np.ndarray]) -> dict[str, float]:
    """Trip-weighted transit averages: ``avg_wait_min``, ``avg_time_min``,
    ``transfers_per_trip`` (expected boardings − 1) and, where ``skims`` has
    ``transit_crowding_s``, ``crowding_min`` (the crowding surcharge) and
    ``crowded_time_min`` (door-to-door time with the surcharge).

    ``trips`` (transit trips per pair) and each skim (s, or boardings) have the same shape,
    any (a zone matrix, an OD table's column); NaN where there are no trips.
    """
    trips = np.asarray(trips, dtype=float)
    total = float(trips.sum())
    use = trips > 0

    def mean(values: np.ndarray) -> float:
        if total <= 0:
            return float("nan")
        return float(np.sum(trips[use] * np.asarray(values, dtype=float)[use]) / total)

    out = {
        "avg_wait_min": mean(skims["transit_wait_s"]) / 60.0,
        "avg_time_min": mean(skims["transit_time_s"]) / 60.0,
        "transfers_per_trip": mean(skims["transit_boardings"]) - 1.0,
    }
    if "transit_crowding_s" in skims:
        crowding = skims["transit_crowding_s"]
        out["crowding_min"] = mean(crowding) / 60.0
        out["crowded_time_min"] = mean(np.asarray(skims["transit_time_s"]) + crowding) / 60.0
    return out


def zone_crowding(
    transit_trips: np.ndarray, transit_time_s: np.ndarray, crowding_s: np.ndarray
) -> dict[str, np.ndarray]:
    """Per origin zone, the crowding its transit riders feel (trip-weighted over destinations).

    Parameters
    ----------
    transit_trips
        (z, z) transit trips/h.
    transit_time_s
        (z, z) door-to-door time of the chosen strategies (s, unweighted; ``inf`` none).
    crowding_s
        (z, z) crowding surcharge of those strategies (s).

    Returns
    -------
    dict
        ``transit_crowding_min`` (mean surcharge per trip, min) and
        ``transit_crowded_time_min`` (mean door-to-door time with the in-vehicle time
        weighted by crowding, min); NaN for zones without transit trips.
    """
    trips = np.asarray(transit_trips, dtype=np.float64)
    crowding = np.asarray(crowding_s, dtype=np.float64)
    time = np.asarray(transit_time_s, dtype=np.float64)
    use = (trips > 0) & np.isfinite(time) & np.isfinite(crowding)
    weight = np.where(use, trips, 0.0)
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        surcharge = np.where(use, crowding, 0.0)
        extra = (weight * surcharge).sum(axis=1) / total
        crowded = (weight * (np.where(use, time, 0.0) + surcharge)).sum(axis=1) / total
    return {
        "transit_crowding_min": np.where(total > 0, extra / 60.0, np.nan),
        "transit_crowded_time_min": np.where(total > 0, crowded / 60.0, np.nan),
    }
