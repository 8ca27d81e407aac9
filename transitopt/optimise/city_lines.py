"""Route design on a city without a street network: the candidate network from the
baseline's own lines (docs/model.md section 5b; the Bogor angkot case).

:func:`transitopt.optimise.city.city_network` calls :func:`network_from_lines` when the
baseline has ``network.source = "none"``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..geo import haversine_m
from ..transit import MODE_DEFAULTS
from .city import (
    BUS_TYPE_MODES,
    CityDesignError,
    CityNetwork,
    _baseline_terminals,
    _largest_component,
    _zone_demand,
)
from .instances import TNDPInstance


def network_from_lines(path: Path, spec, base, spacing_m: float, demand: str) -> CityNetwork:
    """The candidate network of a baseline without streets: the stops of its bus-type lines
    (thinned to ``spacing_m``, the stops most lines serve first), linked where consecutive
    along a line; link time = straight line × the model's ``detour_factor`` at the
    baseline lines' mean commercial speed, dwell included (straight-line length × detour
    over their running time as the model times them): what the model gives a line
    added at that ``speed_kph`` with no dwell, as :func:`write_design` writes it
    (hail-and-ride when most baseline lines are)."""
    from ..scenario.parameters import model_parameters

    supply = base.supply
    lines = [ln for ln in (supply.lines if supply is not None else []) if ln.mode in BUS_TYPE_MODES]
    if not lines:
        raise CityDesignError(
            f"{path}: route design needs a street network or bus-type lines to take stops "
            "and links from (network.source is 'none' and there are no bus/minibus lines)"
        )
    detour = model_parameters(spec.baseline).detour_factor
    table = supply.stops
    served = Counter(sid for ln in lines for sid in set(ln.stop_ids))
    order = sorted(served, key=lambda sid: (-served[sid], sid))
    x, y = table.loc[order, "lon"].to_numpy(float), table.loc[order, "lat"].to_numpy(float)
    kept: list[int] = []
    for k in range(len(order)):
        if kept and haversine_m(x[k], y[k], x[kept], y[kept]).min() < spacing_m:
            continue
        kept.append(k)
    refs = [order[k] for k in kept]
    index = {sid: i for i, sid in enumerate(refs)}
    n = len(refs)
    lon, lat = x[kept], y[kept]
    linked = np.zeros((n, n), dtype=bool)
    straight_m, running_s = 0.0, 0.0
    for ln in lines:
        seq = [index[sid] for sid in ln.stop_ids if sid in index]
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            if a != b:
                linked[a, b] = linked[b, a] = True
        sx = table.loc[list(ln.stop_ids), "lon"].to_numpy(float)
        sy = table.loc[list(ln.stop_ids), "lat"].to_numpy(float)
        along_m = float(haversine_m(sx[:-1], sy[:-1], sx[1:], sy[1:]).sum())
        straight_m += along_m
        if ln.running_times_s is not None:  # the model's rule for the line's times
            running_s += float(np.sum(ln.running_times_s))
        else:
            v = (ln.speed_kph or MODE_DEFAULTS[ln.mode].speed_kph) / 3.6
            running_s += along_m * detour / v
        dwell = ln.dwell_s if ln.dwell_s is not None else MODE_DEFAULTS[ln.mode].dwell_s
        running_s += dwell * max(0, len(ln.stop_ids) - 2)
    mode = Counter(ln.mode for ln in lines).most_common(1)[0][0]
    speed_kph = 3.6 * straight_m * detour / running_s  # dwell included: designed lines get 0
    dist_m = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :]) * detour
    time_s = np.where(linked, dist_m / (speed_kph / 3.6), np.inf)
    keep = _largest_component(linked)
    grid = np.ix_(keep, keep)
    linked, time_s, dist_m = linked[grid], time_s[grid], dist_m[grid]
    refs = [refs[int(k)] for k in keep]
    lon, lat = lon[keep], lat[keep]
    n = len(refs)
    if n < 3:
        raise CityDesignError(f"{path}: fewer than three stops are joined by the baseline's lines")
    zones = base.zones
    zlon, zlat = zones["lon"].to_numpy(float), zones["lat"].to_numpy(float)
    zone_stop = np.array(
        [int(np.argmin(haversine_m(a, b, lon, lat))) for a, b in zip(zlon, zlat, strict=True)],
        dtype=np.int64,
    )
    od = _zone_demand(path, base.demand, demand)
    trips = np.zeros((n, n))
    np.add.at(trips, (zone_stop[:, None], zone_stop[None, :]), od)
    np.fill_diagonal(trips, 0.0)
    instance = TNDPInstance.from_matrices(
        np.where(linked, time_s / 60.0, np.inf),
        (trips + trips.T) / 2.0,
        name=spec.name or path.stem,
        x=lon,
        y=lat,
        node_id=np.arange(n, dtype=np.int64),
    )
    names = table.loc[refs, "name"].fillna("").astype(str).tolist() if "name" in table else []
    return CityNetwork(
        instance=instance,
        scenario_path=path,
        node=np.full(n, -1, dtype=np.int64),
        lon=lon,
        lat=lat,
        street=names or [""] * n,
        time_s=time_s,
        zone_stop=zone_stop,
        settings={
            "spacing_m": spacing_m,
            "demand": demand,
            "source": "lines",
            "mode": mode,
            "speed_kph": round(float(speed_kph), 2),
            "dwell_s": 0.0,
            "hail_and_ride": 2 * sum(ln.hail_and_ride for ln in lines) > len(lines),
        },
        link_km=np.where(linked, dist_m / 1000.0, np.inf),
        baseline_terminal=_baseline_terminals(supply, lon, lat, spacing_m),
        stop_ref=refs,
    )
