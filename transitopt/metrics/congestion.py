"""Road congestion indicators from a link table (one row per directed link).

Columns used (units in the names): ``length_m``, ``lanes``, ``capacity_vph``,
``free_flow_time_s``, ``time_s`` (congested), ``flow`` (cars, veh/h), ``preload``
(buses, PCU/h), ``bus_vph`` (buses/h, optional), ``pcu`` (all vehicle classes, PCU/h,
optional: :func:`transitopt.metrics.vehicles.class_flows`) and ``closed`` (optional bool:
closed links count in no total). Volume/capacity is ``(pcu + preload) / capacity_vph``,
``pcu`` being ``flow`` where the table has no ``pcu`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: volume/capacity class edges of :func:`voc_distribution`; a link falls in ``[lo, hi)``
VOC_BINS = (0.0, 0.5, 0.7, 0.9, 1.0, np.inf)


def _open(links: pd.DataFrame) -> pd.DataFrame:
    if "closed" in links.columns:
        return links[~links["closed"].to_numpy(dtype=bool)]
    return links


def voc(links: pd.DataFrame) -> np.ndarray:
    """Volume/capacity ratio per link, ``(pcu + preload) / capacity_vph`` (0 where capacity
    is infinite; ``pcu``: the ``flow`` of cars where the table has no ``pcu`` column)."""
    preload = links["preload"].to_numpy(float) if "preload" in links.columns else 0.0
    volume = links["pcu" if "pcu" in links.columns else "flow"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (volume + preload) / links["capacity_vph"].to_numpy(float)
    return np.nan_to_num(ratio, nan=0.0, posinf=np.inf)


def road_summary(links: pd.DataFrame) -> dict[str, float]:
    """Network totals per hour of the analysis period.

    Returns
    -------
    dict
        ``car_veh_km`` (veh·km/h), ``car_veh_h`` (veh·h/h), ``car_delay_veh_h`` (veh·h/h
        spent above free-flow time), ``car_avg_speed_kph`` (veh·km / veh·h),
        ``bus_veh_km`` (bus·km/h on the street network), ``lane_km`` (open lanes),
        ``lane_km_voc_over_0_9`` and ``lane_km_voc_over_1_0`` (lane·km with v/c above
        0.9 and 1.0), ``max_voc``.
    """
    table = _open(links)
    km = table["length_m"].to_numpy(float) / 1000.0
    flow = table["flow"].to_numpy(float)
    time_s = table["time_s"].to_numpy(float)
    t0 = table["free_flow_time_s"].to_numpy(float)
    lane_km = table["lanes"].to_numpy(float) * km
    ratio = voc(table)
    used = flow > 0
    veh_km = float(np.sum(flow * km))
    veh_h = float(np.sum(flow[used] * time_s[used]) / 3600.0)
    bus = table["bus_vph"].to_numpy(float) if "bus_vph" in table.columns else np.zeros(len(table))
    return {
        "car_veh_km": veh_km,
        "car_veh_h": veh_h,
        "car_delay_veh_h": float(np.sum(flow[used] * (time_s[used] - t0[used])) / 3600.0),
        "car_avg_speed_kph": veh_km / veh_h if veh_h > 0 else float("nan"),
        "bus_veh_km": float(np.sum(bus * km)),
        "lane_km": float(lane_km.sum()),
        "lane_km_voc_over_0_9": float(lane_km[ratio > 0.9].sum()),
        "lane_km_voc_over_1_0": float(lane_km[ratio > 1.0].sum()),
        "max_voc": float(ratio.max()) if ratio.size else 0.0,
    }


def voc_distribution(links: pd.DataFrame, *, bins: tuple[float, ...] = VOC_BINS) -> pd.DataFrame:
    """Lane-km, links and car veh·km by volume/capacity class.

    Returns
    -------
    DataFrame
        One row per class ``[lower, upper)``: ``voc_class`` (label), ``lower``, ``upper``,
        ``links``, ``lane_km``, ``share_lane_km`` (of all open lane-km), ``car_veh_km``.
    """
    table = _open(links)
    ratio = voc(table)
    km = table["length_m"].to_numpy(float) / 1000.0
    lane_km = table["lanes"].to_numpy(float) * km
    car_km = table["flow"].to_numpy(float) * km
    edges = np.asarray(bins, dtype=float)
    which = np.clip(np.searchsorted(edges, ratio, side="right") - 1, 0, edges.size - 2)
    k = edges.size - 1
    total = lane_km.sum()
    rows = pd.DataFrame(
        {
            "voc_class": [
                f"{edges[i]:g}-{edges[i + 1]:g}" if np.isfinite(edges[i + 1]) else f">={edges[i]:g}"
                for i in range(k)
            ],
            "lower": edges[:-1],
            "upper": edges[1:],
            "links": np.bincount(which, minlength=k),
            "lane_km": np.bincount(which, weights=lane_km, minlength=k),
            "car_veh_km": np.bincount(which, weights=car_km, minlength=k),
        }
    )
    rows["share_lane_km"] = rows["lane_km"] / total if total > 0 else 0.0
    return rows
