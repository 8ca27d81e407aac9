"""Plausibility checks of an evaluated scenario: the one home of the warnings a planner sees.

A model run can be numerically sound and still rest on inputs that do not describe the
city, or on edits that change nothing. :func:`check_plausibility` looks for the known
cases and returns structured warnings (:class:`PlausibilityWarning`: a ``code``, a
message in words and the ids involved). The evaluation stores them in the result's
``summary["warnings"]``; the report, the terminal and the batch status read them there.

Codes
-----
``sparse_buildings``
    Land-use zone weights put every resident and job on few zones (sparse building data).
``zones_without_stop``
    Zones with residents or jobs and no stop within the access walk (straight line).
``line_circuity``
    A line's street path is much longer than the straight path through its stops.
``default_lanes``
    No road link of the network has a ``lanes`` tag: every lane count is a default.
``edit_no_effect``
    An edit that changed nothing (a bus lane on roads with a single lane).
``no_effect``
    An alternative none of whose edits changed anything (batch status "no_effect").
``mode_share_range``
    A mode share outside the documented range.

Thresholds and ranges: ``[plausibility]`` in ``transitopt/data/defaults.toml``, with
their sources in ``docs/model.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..defaults import section
from ..geo import haversine_m

if TYPE_CHECKING:
    from .edits import Prepared

#: thresholds and ranges (``[plausibility]`` of the defaults file)
LIMITS: dict[str, Any] = section("plausibility")
#: every code a warning can carry
CODES = (
    "sparse_buildings",
    "zones_without_stop",
    "line_circuity",
    "default_lanes",
    "edit_no_effect",
    "no_effect",
    "mode_share_range",
)
#: ids listed in a message before "and N more"
_SHOWN_IDS = 5
_LAID = re.compile(r"^bus lane on (\d+) link")


@dataclass(frozen=True)
class PlausibilityWarning:
    """One plausibility warning.

    Attributes
    ----------
    code : str
        One of :data:`CODES`.
    message : str
        What is implausible and what to do, in words.
    ids : tuple of str
        Zones, lines, links or edits involved (all of them, not only those named).
    """

    code: str
    message: str
    ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored in ``summary["warnings"]``."""
        return {"code": self.code, "message": self.message, "ids": list(self.ids)}


def check_plausibility(
    prepared: Prepared, tables: Mapping[str, pd.DataFrame]
) -> list[PlausibilityWarning]:
    """Every plausibility warning of one evaluated scenario (see the module docstring).

    Parameters
    ----------
    prepared
        The scenario with its edits applied (networks, lines, zones, edit log).
    tables
        The result's tables (``zones``, ``stops``, ``segments``, ``mode_shares``).
    """
    spec = prepared.scenario.baseline
    out: list[PlausibilityWarning] = []
    zones = tables.get("zones")
    if spec.zones.file is None and spec.zones.weights == "landuse" and zones is not None:
        out += _sparse_buildings(zones, tables.get("od"))
    if zones is not None and len(prepared.supply.lines):
        out += _zones_without_stop(zones, tables.get("stops"), float(spec.model.max_access_walk_m))
    if tables.get("segments") is not None:
        labels = {line.id: line.label for line in prepared.supply.lines}
        out += _line_circuity(tables["segments"], labels)
    if prepared.drive is not None:
        out += _default_lanes(dict(prepared.drive.info), prepared.drive.n_edges)
    if not prepared.scenario.is_baseline:
        out += _no_effect(prepared.log)
    if tables.get("mode_shares") is not None:
        skip = () if len(prepared.supply.lines) else ("transit",)  # no lines: no transit share
        out += _mode_shares(tables["mode_shares"], skip=skip)
    return out


def warnings_of(summary: Mapping[str, Any]) -> list[PlausibilityWarning]:
    """The warnings stored in a result's summary (none for results written before them)."""
    return [
        PlausibilityWarning(str(w["code"]), str(w["message"]), tuple(map(str, w.get("ids", ()))))
        for w in summary.get("warnings") or ()
    ]


def grouped_warnings(
    summaries: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> list[tuple[str, PlausibilityWarning]]:
    """``(who, warning)`` pairs for showing several runs' warnings once each.

    Warnings with the same code and ids are listed once, with the first run's message;
    ``who`` is "all runs" when every run has it, else the names of the runs that do.
    """
    groups: dict[tuple[str, tuple[str, ...]], tuple[PlausibilityWarning, list[str]]] = {}
    for name, summary in zip(names, summaries, strict=True):
        for w in warnings_of(summary):
            _, runs = groups.setdefault((w.code, w.ids), (w, []))
            if str(name) not in runs:
                runs.append(str(name))
    return [
        ("all runs" if len(runs) == len(names) > 1 else ", ".join(runs), w)
        for w, runs in groups.values()
    ]


def has_no_effect(summary: Mapping[str, Any]) -> bool:
    """Whether a result's warnings say its edits changed nothing (batch status "no_effect")."""
    return any(w.code == "no_effect" for w in warnings_of(summary))


# ---------------------------------------------------------------------------- checks
def _named(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown + (f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")


def _sparse_buildings(zones: pd.DataFrame, od: pd.DataFrame | None) -> list[PlausibilityWarning]:
    weight = zones["population"].to_numpy(float) + zones["jobs"].to_numpy(float)
    active = weight > 0
    share = active.mean() if len(zones) else 1.0
    if share >= LIMITS["min_active_zone_share"]:
        return []
    ids = [str(z) for z in zones.loc[active, "zone"]]
    trips = ""
    if od is not None and "trips" in od.columns:
        trips = f" (all {od['trips'].sum():,.0f} trips/h start and end there)"
    return [
        PlausibilityWarning(
            "sparse_buildings",
            f"land use from the mapped buildings puts every resident and job on {active.sum()} "
            f"of {len(zones)} zones ({share:.0%}){trips}: the extract's building coverage "
            'looks sparse. Use zones.weights = "street_length" (street metres per zone) or a '
            "zones file with population and jobs.",
            tuple(ids),
        )
    ]


def _zones_without_stop(
    zones: pd.DataFrame, stops: pd.DataFrame | None, access_m: float
) -> list[PlausibilityWarning]:
    if stops is None or not len(stops):
        return []
    lon, lat = zones["lon"].to_numpy(float), zones["lat"].to_numpy(float)
    slon, slat = stops["lon"].to_numpy(float), stops["lat"].to_numpy(float)
    nearest = np.full(len(zones), np.inf)
    for start in range(0, len(zones), 256):
        part = slice(start, start + 256)
        d = haversine_m(lon[part, None], lat[part, None], slon[None, :], slat[None, :])
        nearest[part] = d.min(axis=1)
    people = zones["population"].to_numpy(float) + zones["jobs"].to_numpy(float)
    far = (nearest > access_m) & (people > 0)
    if not far.any():
        return []
    ids = [str(z) for z in zones.loc[far, "zone"]]
    residents = float(zones.loc[far, "population"].sum())
    return [
        PlausibilityWarning(
            "zones_without_stop",
            f"{far.sum()} of {len(zones)} zones ({residents:,.0f} residents) have no stop within "
            f"the {access_m:,.0f} m access walk (straight line from the zone centre): zones "
            f"{_named(ids)}. Transit cannot serve them.",
            tuple(ids),
        )
    ]


def _line_circuity(
    segments: pd.DataFrame, labels: Mapping[str, str] | None = None
) -> list[PlausibilityWarning]:
    """Lines whose street path is much longer than their straight stop path (named by
    ``labels``: line id -> name shown to a planner; ids are kept in ``ids``)."""
    needed = {"line", "length_m", "from_lon", "from_lat", "to_lon", "to_lat"}
    if not len(segments) or not needed <= set(segments.columns):
        return []
    straight = haversine_m(
        segments["from_lon"].to_numpy(float),
        segments["from_lat"].to_numpy(float),
        segments["to_lon"].to_numpy(float),
        segments["to_lat"].to_numpy(float),
    )
    frame = pd.DataFrame(
        {"line": segments["line"].astype(str), "path": segments["length_m"], "straight": straight}
    )
    per_line = frame.groupby("line", sort=True)[["path", "straight"]].sum()
    per_line = per_line[per_line["straight"] > 0]
    per_line["ratio"] = per_line["path"] / per_line["straight"]
    limit, excess = LIMITS["max_line_circuity"], LIMITS["min_line_detour_m"]
    hit = per_line[
        (per_line["ratio"] > limit) & (per_line["path"] - per_line["straight"] >= excess)
    ].sort_values("ratio", ascending=False)
    if hit.empty:
        return []
    labels = labels or {}
    listed = [
        f"{labels.get(str(line), line)} ({row.path / 1000:,.1f} km for {row.straight / 1000:,.1f} km, {row.ratio:.1f} x)"
        for line, row in hit.iterrows()
    ]
    many = len(hit) != 1
    return [
        PlausibilityWarning(
            "line_circuity",
            f"{len(hit)} line{'s' if many else ''} run{'' if many else 's'} more than {limit:g} x "
            f"the straight path through {'their' if many else 'its'} stops on the streets: "
            f"{_named(listed)}. Check the routes and stops (a stop on the wrong "
            "carriageway, a one-way detour).",
            tuple(str(line) for line in hit.index),
        )
    ]


def _default_lanes(info: Mapping[str, Any], n_edges: int) -> list[PlausibilityWarning]:
    lanes = (info.get("imputed") or {}).get("lanes") or {}
    if not lanes or set(lanes) != {"default"}:
        return []
    return [
        PlausibilityWarning(
            "default_lanes",
            f"no road of the network has a lanes tag: all {n_edges:,} links have the profile's "
            "default lane count (1 per direction below trunk roads), so a bus lane there takes "
            "the only lane or is left in mixed traffic. Give lanes with network.overrides "
            "(e.g. lanes_per_direction = {primary = 2}) where the roads are wider.",
        )
    ]


def _no_effect(log: pd.DataFrame) -> list[PlausibilityWarning]:
    if not len(log):
        return [
            PlausibilityWarning(
                "no_effect",
                "the alternative makes no edit: its results are the baseline's.",
            )
        ]
    out = []
    effective = 0
    for row in log.itertuples(index=False):
        if row.type == "bus_lane":  # the request; its effect is the "bus_lane (laid)" row
            continue
        laid = _LAID.match(str(row.effect)) if row.type == "bus_lane (laid)" else None
        if laid is not None and int(laid.group(1)) == 0:
            out.append(
                PlausibilityWarning(
                    "edit_no_effect",
                    f"{row.file} edit {row.edit} (bus lane on {row.target}) changes nothing: "
                    f"{row.effect}. Every road it names has a single lane (see default_lanes "
                    "when the lane counts are defaults).",
                    (f"{row.file}:{row.edit}",),
                )
            )
        else:
            effective += 1
    if out and not effective:
        out.append(
            PlausibilityWarning(
                "no_effect",
                "none of the alternative's edits changes anything: its results are the baseline's.",
                tuple(w.ids[0] for w in out),
            )
        )
    return out


def _mode_shares(shares: pd.DataFrame, *, skip: Sequence[str] = ()) -> list[PlausibilityWarning]:
    out = []
    motor = shares["mode"].isin(("motorcycle", "ojek")).to_numpy()
    if motor.any():  # the car range is of private motor vehicles: cars and motorcycles together
        extra = float(shares["share"].to_numpy(float)[motor].sum())
        shares = shares[~motor].copy()
        is_car = shares["mode"] == "car"
        shares.loc[is_car, "share"] = shares.loc[is_car, "share"] + extra
    for row in shares.itertuples(index=False):
        key = f"share_{row.mode}"
        if key not in LIMITS or row.mode in skip or not np.isfinite(row.share):
            continue
        low, high = LIMITS[key]
        if low <= row.share <= high:
            continue
        side = "below" if row.share < low else "above"
        what = "car + motorcycle + ojek" if row.mode == "car" and motor.any() else row.mode
        out.append(
            PlausibilityWarning(
                "mode_share_range",
                f"{what} share {row.share:.1%} is {side} the range seen in cities "
                f"({low:.0%}-{high:.0%}; docs/model.md): check the demand, the zones and the "
                "mode-choice constants (calibrate them to observed shares where known).",
                (str(row.mode),),
            )
        )
    return out
