"""GTFS feeds to transit lines with headways for one analysis period.

:func:`read_gtfs` turns a feed (zip or folder, read with ``gtfs_kit``) into a
:class:`~transitopt.transit.lines.TransitSupply`: one line per route and direction
(its most frequent stop pattern; ``patterns="all"`` keeps one line per pattern), with

* headway = period length / number of trips starting in the period on the service
  day, counting trips of services active that day (``calendar`` weekdays and date
  range, then ``calendar_dates`` additions and removals); trips of the previous service
  day whose times run past 24:00:00 count in the period they fall in;
* frequency-based trips (``frequencies.txt`` rows whose ``trip_id`` is a trip)
  counted as the departures they generate in the period;
* running times between stops = median over the period's trips of that pattern, with
  intermediate times interpolated (GTFS allows timing only some stops) along
  ``shape_dist_traveled`` or, without it, the straight-line distance between stops.

Messy feeds are repaired where the repair is unambiguous and every repair or skip is
listed, with counts, in the returned :class:`~transitopt.transit.report.ImportReport`:
trip ids reused by several trips (their stop_times blocks are taken in file order),
frequencies pointing at unknown trips (ignored), trips without a service (assumed to
run every day), stop_times naming unknown stops (dropped), feeds without any times
(headways from ``default_headway_s`` or the ``headways`` table).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputFileError
from ..geo import haversine_m
from .defaults import MODES, gtfs_route_type_mode
from .lines import Line, TransitSupply
from .report import ImportReport, examples

DAY_S = 86_400


def read_gtfs(
    path: str | os.PathLike,
    *,
    date: str | dt.date | None = None,
    start: str = "07:00:00",
    end: str = "09:00:00",
    default_headway_s: float | None = None,
    headways: Mapping[str, float] | None = None,
    patterns: str = "main",
    mode_overrides: Mapping[str, str] | None = None,
    hail_and_ride: bool | None = None,
) -> tuple[TransitSupply, ImportReport]:
    """Read a GTFS feed into lines with headways for the period ``start``-``end`` of ``date``.

    Parameters
    ----------
    path
        GTFS zip file or folder.
    date
        Service day (``"20240430"``, ``"2024-04-30"`` or a ``date``); default: the day
        with the most trips in the feed's calendar (earliest if tied).
    start, end
        Analysis period as ``"HH:MM[:SS]"`` service-day times (``end`` may pass 24:00).
    default_headway_s
        Headway (s) for routes whose trips have no times at all and that are not in
        ``headways`` (e.g. Transjakarta's feed).
    headways
        Headway (s) by ``route_id`` or ``route_short_name``; overrides the timetable.
    patterns
        ``"main"``: one line per route and direction, along its most frequent stop
        pattern, counting every trip of that route and direction; ``"all"``: one line
        per distinct stop pattern with its own trips.
    mode_overrides
        Mode (``"brt"``, ``"minibus"``, ...) by ``route_id`` or ``route_short_name``;
        otherwise the mode follows ``route_type``.
    hail_and_ride
        ``True``/``False``: every line is / no line is ``Line.hail_and_ride``; ``None``
        (default): the routes :func:`is_hail_and_ride_route` names (angkot, share taxis).

    Returns
    -------
    supply : TransitSupply
        Stops served by the lines, and the lines (``headway_s`` for the period).
    report : ImportReport
        Every repair, skip and assumption, with counts.

    Raises
    ------
    InputFileError
        The feed cannot be read, has no service in the period, or has untimed routes
        and neither ``default_headway_s`` nor ``headways`` covers them.
    """
    path = Path(path)
    if patterns not in ("main", "all"):
        raise ValueError(f"patterns must be 'main' or 'all', got {patterns!r}")
    period_start, period_end = _parse_time(start, "start"), _parse_time(end, "end")
    if not period_end > period_start:
        raise ValueError(f"period end {end!r} must be after start {start!r}")
    _check_headways_and_modes(default_headway_s, headways, mode_overrides)

    feed = _read_feed(path)
    report = ImportReport(source=str(path))

    stops = _clean_stops(feed, path, report)
    routes = feed.routes.copy()
    routes["route_id"] = routes["route_id"].astype(str)
    routes["operator"] = _agency_names(feed, routes)
    routes["vehicle_capacity"] = route_capacities(routes, path, report)
    trips, reused_rows = _clean_trips(feed, routes, report)
    stop_times = _clean_stop_times(feed, trips, reused_rows, stops, report)

    calendar = _Calendar(feed)
    service_date = _pick_date(calendar, trips, date, report)
    _mark_service_days(trips, calendar, service_date)
    trips = _count_departures(feed, trips, stop_times, period_start, period_end, report)
    trips, slices = _attach_patterns(trips, stop_times, report)
    lines, untimed_routes = _make_lines(
        trips,
        routes,
        stop_times,
        slices,
        stops,
        report,
        period_s=float(period_end - period_start),
        patterns=patterns,
        default_headway_s=default_headway_s,
        headways=dict(headways or {}),
        mode_overrides=dict(mode_overrides or {}),
        hail_and_ride=hail_and_ride,
    )
    if untimed_routes:
        raise InputFileError(
            f"{path}: {len(untimed_routes)} route(s) have no stop times and no frequencies "
            f"({examples(untimed_routes)}); pass default_headway_s=... or headways={{route_id: seconds}}"
        )
    if not lines:
        raise _no_service_error(path, trips, start, end, service_date)
    used = sorted({s for line in lines for s in line.stop_ids})
    supply = TransitSupply(
        stops=stops.loc[used, ["name", "lon", "lat"]],
        lines=tuple(lines),
        info={
            "source": str(path),
            "format": "gtfs",
            "date": service_date.isoformat(),
            "period": (_format_time(period_start), _format_time(period_end)),
            "patterns": patterns,
        },
    )
    return supply, report


#: most places per vehicle a feed's ``vehicle_capacity`` may give (a long metro train)
MAX_VEHICLE_CAPACITY = 5000.0


def route_capacities(
    routes: pd.DataFrame, path: str | os.PathLike, report: ImportReport | None = None
) -> list[float | None]:
    """Places per vehicle of each route from the optional ``routes.txt`` column
    ``vehicle_capacity`` (a feed extension: seated + standing places of the vehicles
    that run the route); ``None`` where empty or absent (the mode's default,
    ``transit.MODE_DEFAULTS``, sources in ``data/defaults.toml``).

    Raises
    ------
    InputFileError
        A value that is not a number in (0, :data:`MAX_VEHICLE_CAPACITY`], naming the
        file, the route and the value.
    """
    if "vehicle_capacity" not in routes.columns:
        return [None] * len(routes)
    out: list[float | None] = []
    for route_id, raw in zip(routes["route_id"], routes["vehicle_capacity"], strict=True):
        text = _text(raw)
        if not text:
            out.append(None)
            continue
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value <= MAX_VEHICLE_CAPACITY:  # NaN fails too
            raise InputFileError(
                f"{path}: routes.txt, route_id {route_id!r}: vehicle_capacity {text!r} is not "
                f"a number of places per vehicle in (0, {MAX_VEHICLE_CAPACITY:g}]"
            )
        out.append(value)
    if report is not None:
        given = [r for r, v in zip(routes["route_id"], out, strict=True) if v is not None]
        report.add(
            "info",
            "routes with vehicle_capacity from the feed (others: the mode's default)",
            len(given),
            examples(given),
        )
    return out


#: GTFS extended route types of vehicles hailed along the route: 717 share taxi,
#: 1501 communal taxi (Google's extended GTFS route types)
HAIL_AND_RIDE_ROUTE_TYPES = (717, 1501)

#: a word in the agency name or the route's names, descriptions that marks a
#: hail-and-ride route (``"Angkutan Kota"`` is the spelled-out name of the angkot)
_HAIL_AND_RIDE_WORDS = ("angkot", "angkutan kota", "share taxi", "shared taxi")


def is_hail_and_ride_route(route: Mapping[str, Any]) -> bool:
    """Whether a GTFS route (a ``routes.txt`` row with the agency name as ``operator``)
    runs hail-and-ride: its ``route_type`` is a share/communal taxi
    (``HAIL_AND_RIDE_ROUTE_TYPES``), or its agency name, short or long name or
    description contains "angkot", "angkutan kota", "share taxi" or "shared taxi"
    (any case)."""
    try:
        route_type = int(float(route.get("route_type")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        route_type = -1
    if route_type in HAIL_AND_RIDE_ROUTE_TYPES:
        return True
    fields = ("operator", "route_short_name", "route_long_name", "route_desc")
    text = " ".join(_text(route.get(name)).lower() for name in fields)
    return any(word in text for word in _HAIL_AND_RIDE_WORDS)


# ---------------------------------------------------------------------- reading and cleaning
def _check_headways_and_modes(
    default_headway_s: float | None,
    headways: Mapping[str, float] | None,
    mode_overrides: Mapping[str, str] | None,
) -> None:
    """Raise InputFileError for a headway that is not > 0 or an unknown mode."""
    if default_headway_s is not None and not default_headway_s > 0:
        raise InputFileError(f"default_headway_s must be > 0 seconds, got {default_headway_s!r}")
    for key, value in (headways or {}).items():
        if not (value is not None and float(value) > 0):
            raise InputFileError(f"headway for route {key!r} must be > 0 seconds, got {value!r}")
    for key, mode in (mode_overrides or {}).items():
        if mode not in MODES:
            raise InputFileError(f"mode override for route {key!r}: {mode!r} is not one of {MODES}")


def _mark_service_days(trips: pd.DataFrame, calendar: _Calendar, service_date: dt.date) -> None:
    """Columns ``today``/``yesterday``: the trip's service runs on the day / the day before."""
    if calendar.empty:
        active_today = active_yesterday = set(trips["service_id"].dropna())
    else:
        active_today = calendar.active(service_date)
        active_yesterday = calendar.active(service_date - dt.timedelta(days=1))
    no_service = trips["service_id"].isna()
    trips["today"] = trips["service_id"].isin(active_today) | no_service
    trips["yesterday"] = trips["service_id"].isin(active_yesterday) | no_service


def _count_departures(
    feed: Any,
    trips: pd.DataFrame,
    stop_times: pd.DataFrame,
    period_start: int,
    period_end: int,
    report: ImportReport,
) -> pd.DataFrame:
    """``trips`` with ``first_dep``, ``departures`` in the period and ``timed`` columns.

    Times are service-day seconds. A timed trip counts once if it starts in the period of the service day, or of the day
    before past 24:00; a frequency-based trip counts the departures it makes in the period.
    """
    by_trip = stop_times.groupby("trip_key", sort=False)["dep_s"]
    first = pd.DataFrame({"first_dep": by_trip.first(), "any_time": by_trip.count() > 0})
    trips = trips.join(first, on="trip_key")
    trips["any_time"] = trips["any_time"].astype(object).fillna(False).astype(bool)
    freq_departures = _frequency_departures(feed, trips, period_start, period_end, report)
    departures = np.zeros(len(trips))
    timed = trips["any_time"].to_numpy()
    first_dep = trips["first_dep"].to_numpy(dtype=np.float64)
    in_today = (first_dep >= period_start) & (first_dep < period_end) & trips["today"].to_numpy()
    in_yesterday = (
        (first_dep >= period_start + DAY_S)
        & (first_dep < period_end + DAY_S)
        & trips["yesterday"].to_numpy()
    )
    departures[in_today | in_yesterday] = 1.0
    report.add(
        "info",
        "trips of the previous service day running past 24:00 counted",
        int(in_yesterday.sum()),
    )
    is_freq = trips["trip_key"].isin(freq_departures.index).to_numpy()
    departures[is_freq] = freq_departures.reindex(trips["trip_key"][is_freq]).to_numpy()
    trips["departures"] = departures
    trips["timed"] = timed | is_freq
    return trips


def _attach_patterns(
    trips: pd.DataFrame, stop_times: pd.DataFrame, report: ImportReport
) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """Trips with a stop ``pattern`` and ``direction`` (short ones dropped); trip row ranges."""
    slices = _trip_slices(stop_times)
    stop_ids = stop_times["stop_id"].to_numpy()
    pattern_of = {key: tuple(stop_ids[a:b]) for key, (a, b) in slices.items()}
    trips["pattern"] = trips["trip_key"].map(pattern_of)
    short = trips["pattern"].map(lambda p: len(p) if isinstance(p, tuple) else 0) < 2
    trips = _skip_rows(
        trips, short, report, "trips with fewer than 2 stops with coordinates", "trip_id"
    )
    if trips["direction_id"].isna().any():
        report.add(
            "assume",
            "trips without direction_id (taken as direction 0)",
            int(trips["direction_id"].isna().sum()),
        )
    trips["direction"] = trips["direction_id"].fillna(0).astype(np.int64)
    return trips, slices


def _no_service_error(
    path: Path, trips: pd.DataFrame, start: str, end: str, service_date: dt.date
) -> InputFileError:
    """The error for a period without service, naming when the feed's trips do start."""
    timed_first = trips.loc[trips["timed"], "first_dep"]
    span = (
        f"first departures in the feed run from {_format_time(timed_first.min())} to {_format_time(timed_first.max())}"
        if timed_first.notna().any()
        else "the feed has no times"
    )
    return InputFileError(
        f"{path}: no service between {start} and {end} on {service_date.isoformat()} ({span}); "
        "choose another period or date"
    )


#: the largest stop_times.txt (MB, uncompressed) read: about 1 GB of memory in pandas
#: (Transjakarta's, the largest shared feed, is 9 MB)
MAX_STOP_TIMES_MB = 64


def _stop_times_mb(path: Path) -> float:
    """Uncompressed size (MB) of a feed's stop_times.txt (0 when there is none)."""
    if path.is_dir():
        member = path / "stop_times.txt"
        return member.stat().st_size / 1e6 if member.is_file() else 0.0
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            sizes = [
                info.file_size
                for info in archive.infolist()
                if info.filename.rsplit("/", 1)[-1] == "stop_times.txt"
            ]
    except (zipfile.BadZipFile, OSError):
        return 0.0  # gtfs_kit names the problem
    return max(sizes, default=0) / 1e6


def _read_feed(path: Path):
    import gtfs_kit

    if not path.exists():
        raise InputFileError(f"{path}: GTFS feed not found")
    size_mb = _stop_times_mb(path)
    if size_mb > MAX_STOP_TIMES_MB:
        raise InputFileError(
            f"{path}: stop_times.txt is {size_mb:,.0f} MB uncompressed; feeds are read whole "
            f"(about 15 times that in memory), so at most {MAX_STOP_TIMES_MB} MB is accepted: "
            "cut the feed to the service day and area first (e.g. gtfs_kit's "
            "restrict_to_dates and restrict_to_area)"
        )
    try:
        feed = gtfs_kit.read_feed(path, dist_units="km")
    except Exception as exc:  # gtfs_kit raises many kinds on corrupt input
        raise InputFileError(f"{path}: cannot read as a GTFS feed ({exc})") from None
    for table in ("stops", "routes", "trips", "stop_times"):
        if getattr(feed, table, None) is None or getattr(feed, table).empty:
            raise InputFileError(f"{path}: GTFS feed has no {table}.txt (or it is empty)")
    return feed


def _clean_stops(feed: Any, path: Path, report: ImportReport) -> pd.DataFrame:
    stops = feed.stops.copy()
    stops["stop_id"] = stops["stop_id"].astype(str)
    stops["lon"] = pd.to_numeric(stops.get("stop_lon"), errors="coerce").astype(np.float64)
    stops["lat"] = pd.to_numeric(stops.get("stop_lat"), errors="coerce").astype(np.float64)
    bad = ~(np.isfinite(stops["lon"]) & np.isfinite(stops["lat"]))
    bad |= (
        (stops["lon"].abs() > 180)
        | (stops["lat"].abs() > 90)
        | ((stops["lon"] == 0) & (stops["lat"] == 0))
    )
    stops = _skip_rows(stops, bad, report, "stops without valid coordinates", "stop_id")
    dup = stops["stop_id"].duplicated()
    stops = _skip_rows(stops, dup, report, "duplicate stop_id rows (first kept)", "stop_id")
    names = (
        stops["stop_name"].astype(object)
        if "stop_name" in stops
        else pd.Series("", index=stops.index)
    )
    stops["name"] = names.where(names.notna(), stops["stop_id"]).astype(str)
    if stops.empty:
        raise InputFileError(f"{path}: no stop has coordinates")
    return stops.set_index("stop_id")[["name", "lon", "lat"]]


def _clean_trips(
    feed: Any, routes: pd.DataFrame, report: ImportReport
) -> tuple[pd.DataFrame, dict[str, int]]:
    trips = feed.trips.copy().reset_index(drop=True)
    for col in ("trip_id", "route_id", "service_id"):
        trips[col] = trips[col].astype(object).where(trips[col].notna(), None)
        trips[col] = trips[col].map(lambda v: None if v is None or str(v).strip() == "" else str(v))
    if "direction_id" not in trips:
        trips["direction_id"] = np.nan
    trips["direction_id"] = pd.to_numeric(trips["direction_id"], errors="coerce").astype(np.float64)
    # a trip_id used by several trip rows: number the rows so each gets its own stop_times block
    trips["occurrence"] = trips.groupby("trip_id", sort=False).cumcount()
    n_rows = trips.groupby("trip_id", sort=False)["trip_id"].transform("size")
    reused = n_rows > 1
    trips["trip_key"] = np.where(
        reused, trips["trip_id"] + "#" + trips["occurrence"].astype(str), trips["trip_id"]
    )
    if reused.any():
        report.add(
            "repair",
            "trip rows reusing another row's trip_id (stop_times blocks assigned in file order)",
            int(reused.sum() - trips.loc[reused, "trip_id"].nunique()),
            f"{trips.loc[reused, 'trip_id'].nunique()} reused ids, e.g. {examples(trips.loc[reused, 'trip_id'].unique())}",
        )
    reused_rows = trips.loc[reused].groupby("trip_id").size().to_dict()
    unknown = ~trips["route_id"].isin(set(routes["route_id"]))
    trips = _skip_rows(trips, unknown, report, "trips of unknown routes", "trip_id").copy()
    report.add(
        "assume",
        "trips without service_id (assumed to run every day)",
        int(trips["service_id"].isna().sum()),
        examples(trips.loc[trips["service_id"].isna(), "trip_id"]),
    )
    served_routes = set(trips["route_id"])
    idle = routes.loc[~routes["route_id"].isin(served_routes), "route_id"]
    report.add("skip", "routes without trips", len(idle), examples(idle))
    return trips, reused_rows


def _clean_stop_times(
    feed: Any,
    trips: pd.DataFrame,
    reused_rows: dict[str, int],
    stops: pd.DataFrame,
    report: ImportReport,
) -> pd.DataFrame:
    st = feed.stop_times.copy().reset_index(drop=True)
    st["trip_id"] = st["trip_id"].astype(str)
    st["stop_id"] = st["stop_id"].astype(str)
    st["seq"] = pd.to_numeric(st["stop_sequence"], errors="coerce")
    arr = _times_to_seconds(st.get("arrival_time"))
    dep = _times_to_seconds(st.get("departure_time"))
    malformed = np.zeros(len(st), dtype=bool)
    for column, seconds in (("arrival_time", arr), ("departure_time", dep)):
        if column in st:
            given = st[column].notna() & (st[column].astype(str).str.strip() != "")
            malformed |= (given & seconds.isna()).to_numpy()
    report.add(
        "repair",
        "stop_times rows with malformed times (e.g. 25:61:00) treated as untimed (interpolated)",
        int(malformed.sum()),
        examples(st.loc[malformed, "trip_id"].unique()),
    )
    st["arr_s"] = arr.fillna(dep)
    st["dep_s"] = dep.fillna(arr)
    if "shape_dist_traveled" in st:
        st["dist"] = pd.to_numeric(st["shape_dist_traveled"], errors="coerce").astype(np.float64)
    else:
        st["dist"] = np.nan

    # stop_times blocks of reused trip ids, in file order: a block restarts where the
    # trip id changes or the stop_sequence stops increasing
    reused = set(reused_rows)
    tid = st["trip_id"].to_numpy()
    seq = st["seq"].to_numpy(dtype=np.float64)
    new_block = np.ones(len(st), dtype=bool)
    if len(st) > 1:
        new_block[1:] = (tid[1:] != tid[:-1]) | ~(seq[1:] > seq[:-1])
    st["block"] = np.cumsum(new_block) - 1
    st["trip_key"] = st["trip_id"]
    if reused:
        mask = st["trip_id"].isin(reused)
        sub = st.loc[mask]
        occurrence = sub.groupby("trip_id", sort=False)["block"].transform(
            lambda b: pd.factorize(b)[0]
        )
        st.loc[mask, "trip_key"] = sub["trip_id"] + "#" + occurrence.astype(str)
        n_blocks = sub.groupby("trip_id")["block"].nunique()
        n_rows = pd.Series(reused_rows)
        mismatch = n_blocks.reindex(n_rows.index).fillna(0) != n_rows
        report.add(
            "skip",
            "reused trip ids whose stop_times blocks do not match their trip rows (trips dropped)",
            int(mismatch.sum()),
            examples(n_rows.index[mismatch]),
        )
        if mismatch.any():
            st = st[~st["trip_id"].isin(set(n_rows.index[mismatch]))]

    unknown_trip = ~st["trip_key"].isin(set(trips["trip_key"]))
    st = _skip_rows(
        st, unknown_trip, report, "stop_times rows of unknown trips", "trip_id", unique=True
    )
    unknown_stop = ~st["stop_id"].isin(stops.index)
    st = _skip_rows(
        st,
        unknown_stop,
        report,
        "stop_times rows at stops without coordinates or unknown stops",
        "stop_id",
        unique=True,
    )
    st = st.sort_values(["trip_key", "seq"], kind="stable")
    keys = st["trip_key"].to_numpy()
    same_trip = keys[1:] == keys[:-1]
    repeated = same_trip & (st["seq"].to_numpy()[1:] == st["seq"].to_numpy()[:-1])
    report.add(
        "info",
        "stop_times rows repeating a stop_sequence of their trip (kept in file order)",
        int(repeated.sum()),
        examples(np.unique(keys[1:][repeated])),
    )
    times = st["arr_s"].to_numpy()
    with np.errstate(invalid="ignore"):
        backwards = same_trip & (times[1:] < st["dep_s"].to_numpy()[:-1])
    report.add(
        "skip",
        "trips whose times run backwards (left out of the running times)",
        int(np.unique(keys[1:][backwards]).size),
        examples(np.unique(keys[1:][backwards])),
    )
    # the same stop twice in a row (a duplicated row, or arrival and departure split): merge
    same = (st["trip_key"].to_numpy()[1:] == st["trip_key"].to_numpy()[:-1]) & (
        st["stop_id"].to_numpy()[1:] == st["stop_id"].to_numpy()[:-1]
    )
    if same.any():
        drop = np.r_[False, same]
        keep_dep = st["dep_s"].to_numpy().copy()
        idx = np.flatnonzero(drop)
        keep_dep[idx - 1] = np.where(np.isnan(keep_dep[idx]), keep_dep[idx - 1], keep_dep[idx])
        st["dep_s"] = keep_dep
        report.add("repair", "consecutive stop_times rows at the same stop merged", int(same.sum()))
        st = st[~drop]
    untimed = st.groupby("trip_key")["dep_s"].count()
    partly = untimed[(untimed > 0)]
    total = st.groupby("trip_key").size().reindex(partly.index)
    n_interp = int((total - partly).sum())
    report.add("repair", "stop times missing at intermediate stops (interpolated)", n_interp)
    no_times = int((untimed == 0).sum())
    report.add("info", "trips without any stop time", no_times)
    return st[["trip_key", "trip_id", "stop_id", "seq", "arr_s", "dep_s", "dist"]].reset_index(
        drop=True
    )


# ---------------------------------------------------------------------- calendar
class _Calendar:
    """Which services run on which day: ``calendar`` weekdays and date ranges, then
    ``calendar_dates`` additions (type 1) and removals (type 2)."""

    def __init__(self, feed: Any) -> None:
        calendar, dates = feed.calendar, feed.calendar_dates
        self.empty = (calendar is None or calendar.empty) and (dates is None or dates.empty)
        self.rules: list[tuple[str, np.datetime64, np.datetime64, np.ndarray]] = []
        if calendar is not None and not calendar.empty:
            days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            flags = (
                calendar[days]
                .apply(pd.to_numeric, errors="coerce")
                .fillna(0)
                .to_numpy(dtype=np.int64)
                == 1
            )
            for k, row in enumerate(
                calendar[["service_id", "start_date", "end_date"]].itertuples(index=False)
            ):
                first = np.datetime64(_parse_date(row.start_date), "D")
                last = np.datetime64(_parse_date(row.end_date), "D")
                self.rules.append((str(row.service_id), first, last, flags[k]))
        self.exceptions: dict[np.datetime64, list[tuple[str, int]]] = {}
        if dates is not None and not dates.empty:
            for row in dates[["service_id", "date", "exception_type"]].itertuples(index=False):
                day = np.datetime64(_parse_date(row.date), "D")
                self.exceptions.setdefault(day, []).append(
                    (str(row.service_id), int(row.exception_type))
                )

    def candidate_days(self) -> np.ndarray:
        """Every day some rule or exception mentions (rule ranges capped at 3 years)."""
        days = [
            np.arange(first, min(last, first + 3 * 366) + 1) for _, first, last, _ in self.rules
        ]
        days.append(np.array(sorted(self.exceptions), dtype="datetime64[D]"))
        return np.unique(np.concatenate(days)) if days else np.array([], dtype="datetime64[D]")

    def active(self, day: dt.date | np.datetime64) -> set[str]:
        """Service ids running on ``day``."""
        day64 = np.datetime64(day, "D")  # type: ignore[call-overload]  # stubs lack datetime64 input
        weekday = int((day64.astype(np.int64) + 3) % 7)  # 1970-01-01 was a Thursday (weekday 3)
        active = {
            sid
            for sid, first, last, flags in self.rules
            if first <= day64 <= last and flags[weekday]
        }
        for sid, kind in self.exceptions.get(day64, []):
            if kind == 1:
                active.add(sid)
            elif kind == 2:
                active.discard(sid)
        return active


def _pick_date(
    calendar: _Calendar, trips: pd.DataFrame, date: Any, report: ImportReport
) -> dt.date:
    if date is not None:
        return _parse_date(date)
    if calendar.empty:
        today = dt.date.today()
        report.add(
            "assume",
            "feed without calendar: every service runs on the analysis day",
            1,
            today.isoformat(),
        )
        return today
    per_service = trips["service_id"].value_counts().to_dict()
    best: Any = None
    best_count = -1.0
    for day in calendar.candidate_days():
        count = float(sum(per_service.get(sid, 0) for sid in calendar.active(day)))
        if count > best_count:
            best, best_count = day, count
    best = best.astype(dt.date)
    report.add("info", "service day chosen (most trips)", int(best_count), best.isoformat())
    return best


# ---------------------------------------------------------------------- frequencies
def _frequency_departures(
    feed: Any, trips: pd.DataFrame, p0: int, p1: int, report: ImportReport
) -> pd.Series:
    """Departures in the period generated by valid frequencies.txt rows, by trip key."""
    freq = feed.frequencies
    if freq is None or freq.empty:
        return pd.Series(dtype=np.float64)
    freq = freq.copy()
    freq["trip_id"] = freq["trip_id"].astype(str)
    known = freq["trip_id"].isin(set(trips["trip_id"]))
    report.add(
        "skip",
        "frequencies.txt rows whose trip_id is not a trip (ignored)",
        int((~known).sum()),
        examples(freq.loc[~known, "trip_id"].unique()),
    )
    freq = freq[known]
    headway = pd.to_numeric(freq["headway_secs"], errors="coerce")
    bad = ~(headway > 0)
    report.add("skip", "frequencies.txt rows with headway_secs <= 0 or missing", int(bad.sum()))
    freq, headway = freq[~bad], headway[~bad]
    if freq.empty:
        return pd.Series(dtype=np.float64)
    t0 = _times_to_seconds(freq["start_time"]).to_numpy(dtype=np.float64)
    t1 = _times_to_seconds(freq["end_time"]).to_numpy(dtype=np.float64)
    h = headway.to_numpy(dtype=np.float64)
    rows = trips.set_index("trip_id", drop=False)
    counts: dict[str, float] = {}
    for k, trip_id in enumerate(freq["trip_id"]):
        matches = rows.loc[[trip_id]]
        for trip in matches.itertuples():
            n = 0.0
            if trip.today:
                n += _departures_between(t0[k], t1[k], h[k], p0, p1)
            if trip.yesterday:
                n += _departures_between(t0[k], t1[k], h[k], p0 + DAY_S, p1 + DAY_S)
            counts[trip.trip_key] = counts.get(trip.trip_key, 0.0) + n
    report.add("info", "trips defined by frequencies.txt", len(counts))
    return pd.Series(counts, dtype=np.float64)


def _departures_between(t0: float, t1: float, headway: float, p0: float, p1: float) -> float:
    """Number of departures ``t0 + k * headway < t1`` that fall in ``[p0, p1)``."""
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 <= t0:
        return 0.0
    first_k = max(0, int(np.ceil((p0 - t0) / headway)))
    last_time = min(t1, p1)
    last_k = int(np.ceil((last_time - t0) / headway)) - 1  # t0 + k*h < last_time
    return float(max(0, last_k - first_k + 1))


def _skip_rows(
    table: pd.DataFrame,
    skip: pd.Series,
    report: ImportReport,
    what: str,
    id_column: str,
    *,
    unique: bool = False,
) -> pd.DataFrame:
    """``table`` without the rows flagged ``skip``, reported with example ids (distinct if ``unique``)."""
    ids = table.loc[skip, id_column]
    report.add("skip", what, int(skip.sum()), examples(ids.unique() if unique else ids))
    return table[~skip]


# ---------------------------------------------------------------------- lines
def _make_lines(
    trips: pd.DataFrame,
    routes: pd.DataFrame,
    stop_times: pd.DataFrame,
    slices: dict[str, tuple[int, int]],
    stops: pd.DataFrame,
    report: ImportReport,
    *,
    period_s: float,
    patterns: str,
    default_headway_s: float | None,
    headways: dict[str, float],
    mode_overrides: dict[str, str],
    hail_and_ride: bool | None,
) -> tuple[list[Line], list[str]]:
    """Lines of every route direction, and the routes with neither times nor a headway given."""
    maker = _LineMaker(
        stop_times,
        slices,
        stops,
        period_s=period_s,
        patterns=patterns,
        default_headway_s=default_headway_s,
        headways=headways,
        mode_overrides=mode_overrides,
        hail_and_ride=hail_and_ride,
    )
    route_info = routes.set_index("route_id").to_dict("index")
    groups: dict[tuple[str, int], list[dict]] = {}
    fields = ["route_id", "direction", "trip_key", "pattern", "timed", "departures", "today"]
    for trip in trips[fields].to_dict("records"):
        groups.setdefault((trip["route_id"], int(trip["direction"])), []).append(trip)
    lines: list[Line] = []
    for (route_id, direction), group in sorted(groups.items()):
        lines.extend(maker.direction_lines(route_id, direction, route_info[route_id], group))
    maker.counts.add_to(report)
    return lines, sorted(set(maker.counts.untimed_routes))


@dataclass
class _LineCounts:
    """What making the lines skipped or assumed, for the report."""

    untimed_routes: list[str] = field(default_factory=list)
    not_in_period: list[str] = field(default_factory=list)
    user_headway: int = 0
    default_used: int = 0
    minor_trips: int = 0

    def add_to(self, report: ImportReport) -> None:
        """Add the counts to the report (untimed routes are an error, raised by the caller)."""
        report.add(
            "skip",
            "route directions with no trip starting in the period",
            len(self.not_in_period),
            examples(self.not_in_period),
        )
        report.add(
            "assume",
            "route directions without times: headway from the user table",
            self.user_headway,
        )
        report.add("assume", "route directions without times: default headway", self.default_used)
        report.add(
            "repair",
            "trips on minor stop patterns (merged into their route direction's main pattern)",
            self.minor_trips,
        )


class _LineMaker:
    """Lines of one route direction at a time: trips to count, stop pattern(s), headway."""

    def __init__(
        self,
        stop_times: pd.DataFrame,
        slices: dict[str, tuple[int, int]],
        stops: pd.DataFrame,
        *,
        period_s: float,
        patterns: str,
        default_headway_s: float | None,
        headways: dict[str, float],
        mode_overrides: dict[str, str],
        hail_and_ride: bool | None,
    ) -> None:
        self.columns = {
            name: stop_times[name].to_numpy(dtype=np.float64) for name in ("arr_s", "dep_s", "dist")
        }
        self.coords = {
            sid: (lon, lat)
            for sid, lon, lat in zip(stops.index, stops["lon"], stops["lat"], strict=True)
        }
        self.slices = slices
        self.period_s = period_s
        self.all_patterns = patterns == "all"
        self.default_headway_s = default_headway_s
        self.headways = headways
        self.mode_overrides = mode_overrides
        self.hail_and_ride = hail_and_ride
        self.counts = _LineCounts()

    def direction_lines(
        self, route_id: str, direction: int, route: dict[str, Any], group: list[dict]
    ) -> list[Line]:
        """The line(s) of one route direction from its trips (none if it has no service)."""
        name = (
            _text(route.get("route_short_name")) or _text(route.get("route_long_name")) or route_id
        )
        user = self.headways.get(route_id, self.headways.get(name))
        mode = self._mode(route, route_id, name)
        hail = is_hail_and_ride_route(route) if self.hail_and_ride is None else self.hail_and_ride
        timed = any(t["timed"] for t in group)
        counted = self._counted_trips(route_id, direction, group, user)
        if counted is None:
            return []
        pool, weights, headway = counted
        chosen = self._chosen_patterns(pool, weights)
        total = float(sum(weights))
        lines = []
        for k, (pattern, weight) in enumerate(chosen):
            line_headway = (
                headway
                if headway is not None
                else self._timetable_headway(weight if self.all_patterns else total, user)
            )
            keys = [t["trip_key"] for t in pool if t["pattern"] == pattern] if timed else []
            running, dwell = _running_times(keys, self.columns, self.slices, self.coords, pattern)
            suffix = f":{k}" if self.all_patterns and len(chosen) > 1 else ""
            lines.append(
                Line(
                    id=f"{route_id}:{direction}{suffix}",
                    name=name,
                    mode=mode,
                    stop_ids=pattern,
                    headway_s=float(line_headway),
                    dwell_s=dwell,
                    running_times_s=running,
                    route_id=route_id,
                    direction_id=int(direction),
                    long_name=_text(route.get("route_long_name")) or None,
                    operator=_text(route.get("operator")) or None,
                    hail_and_ride=hail,
                    capacity=_places(route.get("vehicle_capacity")),
                )
            )
        return lines

    def _mode(self, route: dict[str, Any], route_id: str, name: str) -> str:
        """The user's mode for the route, else the one its ``route_type`` names (bus if none)."""
        mode = self.mode_overrides.get(route_id, self.mode_overrides.get(name))
        if mode is None:
            route_type = pd.to_numeric(pd.Series([route.get("route_type")]), errors="coerce").iloc[
                0
            ]
            mode = gtfs_route_type_mode(int(route_type)) if pd.notna(route_type) else "bus"
        return mode

    def _counted_trips(
        self, route_id: str, direction: int, group: list[dict], user: float | None
    ) -> tuple[list[dict], list[float], float | None] | None:
        """Trips to choose patterns from, their weights, and the headway if not from times.

        Trips starting in the period weigh their departures (headway from the timetable:
        ``None``). Without any times, the trips of the day weigh one each and the headway
        is the user's or the default (counted). ``None`` when the direction has no service
        in the period, or no times and no headway (noted).
        """
        timed = [t for t in group if t["timed"]]
        if timed:
            served = [t for t in timed if t["departures"] > 0]
            if not served:
                self.counts.not_in_period.append(f"{route_id}/{direction}")
                return None
            return served, [t["departures"] for t in served], None
        if user is not None:
            self.counts.user_headway += 1
            headway = user
        elif self.default_headway_s is not None:
            self.counts.default_used += 1
            headway = self.default_headway_s
        else:
            self.counts.untimed_routes.append(route_id)
            return None
        pool = [t for t in group if t["today"]] or group
        return pool, [1.0] * len(pool), headway

    def _timetable_headway(self, n_trips: float, user: float | None) -> float:
        """Period length / trips, unless the user gave the headway (counted)."""
        if user is not None:
            self.counts.user_headway += 1
            return float(user)
        return self.period_s / n_trips

    def _chosen_patterns(
        self, pool: list[dict], weights: list[float]
    ) -> list[tuple[tuple[str, ...], float]]:
        """Stop patterns with their trips, most trips first: all, or the main one."""
        by_pattern: dict[tuple[str, ...], float] = {}
        for trip, weight in zip(pool, weights, strict=True):
            by_pattern[trip["pattern"]] = by_pattern.get(trip["pattern"], 0.0) + weight
        ranked = sorted(by_pattern.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
        if self.all_patterns:
            return ranked
        if len(ranked) > 1:
            self.counts.minor_trips += int(round(sum(w for _, w in ranked[1:])))
        return ranked[:1]


def _running_times(
    trip_keys: list[str],
    columns: dict[str, np.ndarray],
    slices: dict[str, tuple[int, int]],
    stop_coords: dict[str, tuple[float, float]],
    pattern: tuple[str, ...],
) -> tuple[tuple[float, ...] | None, float | None]:
    """Median running times between consecutive stops, and median dwell, over timed trips."""
    if not trip_keys:
        return None, None
    coords = np.array([stop_coords[s] for s in pattern])
    straight = np.r_[
        0.0, np.cumsum(haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1]))
    ]
    runs, dwells = [], []
    for key in trip_keys:
        a, b = slices[key]
        arr, dep, dist = columns["arr_s"][a:b], columns["dep_s"][a:b], columns["dist"][a:b]
        if not np.isfinite(dist).all() or np.any(np.diff(dist) < 0):
            dist = straight
        known = np.isfinite(dep) & np.isfinite(arr)
        if known.sum() < 2:
            continue
        # GTFS: untimed stops lie between timed ones; interpolate on distance travelled
        arr = np.where(known, arr, np.interp(dist, dist[known], arr[known]))
        dep = np.where(known, dep, np.interp(dist, dist[known], dep[known]))
        run = arr[1:] - dep[:-1]
        if np.any(run < 0):
            continue
        runs.append(run)
        if len(dep) > 2:
            dwells.append(np.median(dep[1:-1] - arr[1:-1]))
    if not runs:
        return None, None
    running = tuple(float(v) for v in np.median(np.vstack(runs), axis=0))
    dwell = float(np.median(dwells)) if dwells else 0.0
    return running, max(dwell, 0.0)


# ---------------------------------------------------------------------- small parsers
def _times_to_seconds(values: Any) -> pd.Series:
    """``HH:MM[:SS]`` strings (hours may exceed 23) to float seconds; NaN where missing or malformed."""
    if values is None:
        return pd.Series(dtype=np.float64)
    values = pd.Series(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = np.array([_clock_seconds(v) for v in uniques], dtype=np.float64)
    out = np.full(len(values), np.nan)
    known = codes >= 0
    out[known] = parsed[codes[known]]
    return pd.Series(out, index=values.index)


def _clock_seconds(text: Any) -> float:
    """Seconds of a GTFS time ``H:MM:SS`` (hours may pass 24); NaN when malformed
    (minutes or seconds above 59, negative or non-numeric parts)."""
    parts = str(text).strip().split(":")
    if len(parts) not in (2, 3):
        return np.nan
    try:
        numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    except ValueError:
        return np.nan
    if min(numbers) < 0 or numbers[1] > 59 or numbers[2] > 59:
        return np.nan
    return float(numbers[0] * 3600 + numbers[1] * 60 + numbers[2])


def _trip_slices(stop_times: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """``trip_key -> (first row, end row)`` in ``stop_times`` (sorted by trip key)."""
    keys = stop_times["trip_key"].to_numpy()
    if len(keys) == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return {keys[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


def _parse_time(text: str, name: str) -> int:
    try:
        parts = [int(p) for p in str(text).strip().split(":")]
        if len(parts) == 2:
            parts.append(0)
        h, m, s = parts
    except ValueError:
        raise ValueError(f"period {name} {text!r} is not HH:MM[:SS]") from None
    return h * 3600 + m * 60 + s


def _format_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("-", "")
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYYMMDD or YYYY-MM-DD") from None


def _agency_names(feed: Any, routes: pd.DataFrame) -> list[str | None]:
    """Each route's ``agency_name`` (by ``agency_id``; a feed with one agency may omit it)."""
    agency = getattr(feed, "agency", None)
    if agency is None or agency.empty or "agency_name" not in agency.columns:
        return [None] * len(routes)
    names = [_text(v) or None for v in agency["agency_name"]]
    if "agency_id" not in agency.columns or "agency_id" not in routes.columns:
        return [names[0] if len(names) == 1 else None] * len(routes)
    by_id = dict(zip(agency["agency_id"].map(_text), names, strict=True))
    only = names[0] if len(names) == 1 else None
    return [by_id.get(_text(a), only) if _text(a) else only for a in routes["agency_id"]]


def _places(value: Any) -> float | None:
    """A route's ``vehicle_capacity`` as :func:`route_capacities` left it (None or NaN: none)."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()
