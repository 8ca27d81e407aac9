"""The transit supply: stops, lines and their headways.

A :class:`Line` runs through an ordered list of stop ids with a headway per analysis
period; a :class:`TransitSupply` holds the stop table and the lines and checks that
they fit together. All are immutable: a scenario edit builds a new supply
(:meth:`TransitSupply.replace_lines`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..geo import haversine_m
from .defaults import MODE_DEFAULTS, MODES


@dataclass(frozen=True)
class Stop:
    """A transit stop (a point where vehicles stop for passengers).

    Attributes
    ----------
    id : str
        Unique stop id (GTFS ``stop_id``, ``"node/123"`` for OSM, ...).
    name : str
        Display name.
    lon, lat : float
        WGS84 coordinates in degrees.
    """

    id: str
    name: str
    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lon) and math.isfinite(self.lat)):
            raise InputFileError(
                f"stop {self.id!r} has no coordinates (lon={self.lon!r}, lat={self.lat!r})"
            )
        if not (-180.0 <= self.lon <= 180.0 and -90.0 <= self.lat <= 90.0):
            raise InputFileError(
                f"stop {self.id!r}: lon={self.lon}, lat={self.lat} are not WGS84 degrees"
            )


@dataclass(frozen=True, eq=False)
class Line:
    """A transit line: one direction of service along an ordered list of stops.

    Attributes
    ----------
    id : str
        Unique line id.
    name : str
        Display name (route short name, ``ref``, ...).
    mode : str
        One of ``"bus"``, ``"brt"``, ``"tram"``, ``"rail"``, ``"minibus"``.
    stop_ids : tuple of str
        Stops served, in order (at least two; a loop repeats its first stop at the end).
    headway_s : float or mapping of str to float
        Seconds between vehicles: one value, or one per analysis period (``{"am": 300,
        "pm": 420}``). Must be > 0.
    capacity : float or None
        Passengers per vehicle; ``None`` takes the mode default.
    dwell_s : float or None
        Standing time at each intermediate stop (s); ``None`` takes the mode default.
        Lines imported from a timetable carry 0 because their running times already
        include it.
    speed_kph : float or None
        Running speed used when ``running_times_s`` is not given; ``None`` takes the mode
        default.
    running_times_s : tuple of float or None
        In-vehicle time between consecutive stops (s), ``len(stop_ids) - 1`` values.
    route_id, direction_id : str or None, int or None
        Where the line came from (GTFS route and direction, OSM relation).
    long_name : str or None
        Descriptive name (GTFS ``route_long_name``, OSM ``name``: usually its termini).
    operator : str or None
        Who runs it (GTFS agency name, OSM ``operator`` else ``network``).
    """

    id: str
    name: str
    mode: str
    stop_ids: tuple[str, ...]
    headway_s: float | Mapping[str, float]
    capacity: float | None = None
    dwell_s: float | None = None
    speed_kph: float | None = None
    running_times_s: tuple[float, ...] | None = None
    route_id: str | None = None
    direction_id: int | None = None
    long_name: str | None = None
    operator: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop_ids", tuple(str(s) for s in self.stop_ids))
        if self.mode not in MODES:
            raise InputFileError(f"line {self.id!r}: mode {self.mode!r} is not one of {MODES}")
        if len(self.stop_ids) < 2:
            raise InputFileError(
                f"line {self.id!r} has {len(self.stop_ids)} stop(s); a line needs at least 2"
            )
        if isinstance(self.headway_s, Mapping):
            if not self.headway_s:
                raise InputFileError(f"line {self.id!r} has an empty headway table")
            headways = {str(k): float(v) for k, v in self.headway_s.items()}
            object.__setattr__(self, "headway_s", MappingProxyType(headways))
        else:
            headways = {"": float(self.headway_s)}
            object.__setattr__(self, "headway_s", float(self.headway_s))
        for period, value in headways.items():
            if not (math.isfinite(value) and value > 0):
                where = f" in period {period!r}" if period else ""
                raise InputFileError(
                    f"line {self.id!r}: headway{where} must be a positive number of seconds, got {value!r}"
                )
        for name in ("capacity", "dwell_s", "speed_kph"):
            value = getattr(self, name)
            if value is not None and not (
                math.isfinite(value) and value >= 0 and (name == "dwell_s" or value > 0)
            ):
                raise InputFileError(
                    f"line {self.id!r}: {name} must be a positive number, got {value!r}"
                )
        if self.running_times_s is not None:
            times = tuple(float(t) for t in self.running_times_s)
            if len(times) != len(self.stop_ids) - 1:
                raise InputFileError(
                    f"line {self.id!r}: {len(times)} running times for {len(self.stop_ids)} stops "
                    f"(expected {len(self.stop_ids) - 1})"
                )
            if not all(math.isfinite(t) and t >= 0 for t in times):
                raise InputFileError(
                    f"line {self.id!r}: running times must be finite and >= 0 seconds"
                )
            object.__setattr__(self, "running_times_s", times)

    # ------------------------------------------------------------------ derived values
    def headway(self, period: str | None = None) -> float:
        """Headway in seconds for ``period`` (or the single headway when there is one)."""
        if isinstance(self.headway_s, float):
            return self.headway_s
        if period is None:
            if len(self.headway_s) == 1:
                return next(iter(self.headway_s.values()))
            raise KeyError(
                f"line {self.id!r} has headways for periods {sorted(self.headway_s)}; name one"
            )
        try:
            return self.headway_s[period]
        except KeyError:
            raise KeyError(
                f"line {self.id!r} has no headway for period {period!r} (has {sorted(self.headway_s)})"
            ) from None

    def frequency(self, period: str | None = None) -> float:
        """Vehicles per second, ``1 / headway``."""
        return 1.0 / self.headway(period)

    @property
    def vehicle_capacity(self) -> float:
        """Passengers per vehicle (the line's or the mode default)."""
        return self.capacity if self.capacity is not None else MODE_DEFAULTS[self.mode].capacity

    @property
    def vehicle_seats(self) -> float:
        """Seats per vehicle: ``vehicle_capacity`` times the mode's ``seat_share``."""
        return self.vehicle_capacity * MODE_DEFAULTS[self.mode].seat_share

    @property
    def dwell(self) -> float:
        """Dwell time per intermediate stop (s), the line's or the mode default."""
        return self.dwell_s if self.dwell_s is not None else MODE_DEFAULTS[self.mode].dwell_s

    @property
    def speed(self) -> float:
        """Running speed (km/h), the line's or the mode default."""
        return self.speed_kph if self.speed_kph is not None else MODE_DEFAULTS[self.mode].speed_kph

    @property
    def label(self) -> str:
        """What a planner calls the line: mode and short name, then the long name when it
        adds something (``"tram 3 Kaivopuisto - Meilahti"``)."""
        return line_label(self.mode, self.name, self.long_name)

    def replace(self, **changes: Any) -> Line:
        """A new line with some fields changed (for scenario edits)."""
        return replace(self, **changes)


def line_label(mode: str, name: str, long_name: str | None = None) -> str:
    """``"<mode> <short name>"`` plus the long name unless it only repeats the short one."""
    short = f"{mode} {name}".strip()
    long = (long_name or "").strip()
    if long and long.casefold() not in (name.casefold(), short.casefold()):
        return f"{short} {long}"
    return short


def lines_text(lines: Iterable[Line | str]) -> str:
    """Lines by name, one entry per mode and short name: ``"tram 3 (2 lines), bus 55
    Rautatientori - Koskela"``; a bare id (a line no longer in the supply) is shown as is."""
    groups: dict[str, list[Line | str]] = {}
    for line in lines:
        key = f"{line.mode} {line.name}" if isinstance(line, Line) else str(line)
        groups.setdefault(key, []).append(line)
    parts = []
    for key, members in groups.items():
        labels = {m.label if isinstance(m, Line) else str(m) for m in members}
        parts.append(labels.pop() if len(labels) == 1 else f"{key} ({len(members)} lines)")
    return ", ".join(parts)


@dataclass(frozen=True, eq=False)
class TransitSupply:
    """Stops and lines of a transit system.

    Attributes
    ----------
    stops : DataFrame
        Indexed by stop id (str), columns ``name``, ``lon``, ``lat`` (degrees).
    lines : tuple of Line
        The lines; every stop id they name is in ``stops`` and line ids are unique.
    info : dict
        Provenance: source file, period, import options.
    """

    stops: pd.DataFrame
    lines: tuple[Line, ...]
    info: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        stops = self.stops.copy()
        stops.index = stops.index.astype(str)
        stops.index.name = "stop_id"
        missing_cols = {"name", "lon", "lat"} - set(stops.columns)
        if missing_cols:
            raise InputFileError(f"stop table lacks columns {sorted(missing_cols)}")
        if stops.index.duplicated().any():
            raise InputFileError(
                f"stop id {stops.index[stops.index.duplicated()][0]!r} appears twice"
            )
        coords = stops[["lon", "lat"]].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            raise InputFileError(
                f"stop {stops.index[bad][0]!r} has no coordinates ({int(bad.sum())} such stops)"
            )
        object.__setattr__(
            self, "stops", stops[["name", "lon", "lat"]].astype({"lon": float, "lat": float})
        )
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        seen: set[str] = set()
        known = set(stops.index)
        for line in lines:
            if line.id in seen:
                raise InputFileError(f"line id {line.id!r} appears twice")
            seen.add(line.id)
            unknown = [s for s in line.stop_ids if s not in known]
            if unknown:
                raise InputFileError(
                    f"line {line.id!r} names stop(s) {unknown[:3]} not in the stop table"
                )

    @classmethod
    def from_stops(
        cls, stops: Iterable[Stop], lines: Iterable[Line], *, info: dict | None = None
    ) -> TransitSupply:
        """Build from :class:`Stop` objects and :class:`Line` objects."""
        stops = list(stops)
        table = pd.DataFrame(
            {
                "name": [s.name for s in stops],
                "lon": [s.lon for s in stops],
                "lat": [s.lat for s in stops],
            },
            index=pd.Index([s.id for s in stops], name="stop_id"),
        )
        return cls(stops=table, lines=tuple(lines), info=dict(info or {}))

    # ------------------------------------------------------------------ access
    def __repr__(self) -> str:
        return f"<TransitSupply {len(self.stops)} stops, {len(self.lines)} lines, source={self.info.get('source', '?')!r}>"

    @property
    def n_lines(self) -> int:
        """Number of lines."""
        return len(self.lines)

    def stop(self, stop_id: str) -> Stop:
        """The :class:`Stop` with this id."""
        row = self.stops.loc[str(stop_id)]
        return Stop(
            id=str(stop_id), name=str(row["name"]), lon=float(row["lon"]), lat=float(row["lat"])
        )

    def line(self, line_id: str) -> Line:
        """The :class:`Line` with this id."""
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(f"no line {line_id!r}")

    def lines_table(self, period: str | None = None) -> pd.DataFrame:
        """One row per line: id, name, label, long name, operator, mode, stops, headway (s), capacity, length (km, straight)."""
        xy = self.stops[["lon", "lat"]]
        rows = []
        for line in self.lines:
            coords = xy.loc[list(line.stop_ids)].to_numpy()
            rows.append(
                {
                    "line": line.id,
                    "name": line.name,
                    "label": line.label,
                    "mode": line.mode,
                    "long_name": line.long_name,
                    "operator": line.operator,
                    "route_id": line.route_id,
                    "direction_id": line.direction_id,
                    "n_stops": len(line.stop_ids),
                    "headway_s": line.headway(period),
                    "capacity": line.vehicle_capacity,
                    "straight_length_km": float(
                        haversine_m(
                            coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1]
                        ).sum()
                    )
                    / 1000.0,
                    "run_time_s": float(sum(line.running_times_s))
                    if line.running_times_s is not None
                    else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def replace_lines(self, lines: Iterable[Line]) -> TransitSupply:
        """A new supply with the same stops and other lines."""
        return TransitSupply(stops=self.stops, lines=tuple(lines), info=dict(self.info))
