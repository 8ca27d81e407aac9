"""GTFS import: the four shared feeds (counts from shared/data/README.md section 4 and
from the raw CSV tables read with plain pandas) and small hand-made feeds for calendar
exceptions, times past 24:00, frequencies and bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import InputFileError
from transitopt.transit import Line, read_gtfs

PERIOD_S = 7200.0


def raw_table(zip_path: Path, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(zip_path) as archive:
        return pd.read_csv(io.BytesIO(archive.read(name)), dtype=str)


def reference_departures(zip_path: Path, services: set[str], start: str, end: str) -> pd.Series:
    """Trips per direction whose first stop departs in [start, end), from the raw CSVs."""
    trips = raw_table(zip_path, "trips.txt")
    times = raw_table(zip_path, "stop_times.txt")
    times["seq"] = times["stop_sequence"].astype(int)
    first = times.sort_values(["trip_id", "seq"]).groupby("trip_id").first()["departure_time"]
    trips = trips[trips["service_id"].isin(services)].join(first, on="trip_id")
    in_period = (trips["departure_time"].str.zfill(8) >= start) & (
        trips["departure_time"].str.zfill(8) < end
    )
    return trips[in_period].groupby("direction_id").size()


# ---------------------------------------------------------------------- shared feeds
def test_coquimbo_headways_match_timetable(require_data):
    path = require_data("gtfs/coquimbo.zip")
    supply, report = read_gtfs(path)
    # busiest day: the first weekday of the calendar (weekday service 8015 has the most trips)
    assert supply.info["date"] == "2015-12-29"
    reference = reference_departures(path, {"8015"}, "07:00:00", "09:00:00")
    assert len(supply.lines) == 2
    for line in supply.lines:
        assert line.headway_s == pytest.approx(
            PERIOD_S / reference[str(line.direction_id)], rel=1e-12
        )
        assert (
            line.running_times_s is not None and len(line.running_times_s) == len(line.stop_ids) - 1
        )
    assert report.to_frame()["kind"].isin(["info"]).all()  # a clean feed: nothing repaired


def test_coquimbo_calendar_dates_exception(require_data):
    # 2016-06-27 (a Monday holiday): calendar_dates removes weekday service 8015, adds 8017
    path = require_data("gtfs/coquimbo.zip")
    supply, _ = read_gtfs(path, date="2016-06-27")
    reference = reference_departures(path, {"8017"}, "07:00:00", "09:00:00")
    weekday = reference_departures(path, {"8015"}, "07:00:00", "09:00:00")
    assert not reference.equals(weekday)
    for line in supply.lines:
        assert line.headway_s == pytest.approx(
            PERIOD_S / reference[str(line.direction_id)], rel=1e-12
        )


def test_bogor_orphan_frequencies_ignored(require_data):
    supply, report = read_gtfs(require_data("gtfs/bogor_angkot.zip"))
    # README: 24 routes, one trip every 10 min; 24 frequencies rows pointing at route ids
    assert report.count("frequencies.txt rows whose trip_id is not a trip") == 24
    assert len(supply.lines) == 24
    assert all(line.headway_s == pytest.approx(600.0) for line in supply.lines)
    assert report.count("without direction_id") == 3456


def test_bandung_first_last_times_interpolated(require_data):
    path = require_data("gtfs/bandung_raya_bus.zip")
    with pytest.raises(InputFileError, match="no service between 07:00:00 and 09:00:00"):
        read_gtfs(path)
    supply, report = read_gtfs(path, start="17:00", end="19:00")
    # README: 17 routes, one trip per direction, 856 stop_times rows of which 68 timed
    assert len(supply.lines) == 34
    assert all(line.headway_s == pytest.approx(PERIOD_S) for line in supply.lines)
    assert report.count("interpolated") == 856 - 68
    for line in supply.lines:
        # first 17:30 and last 19:30 of every trip: interpolated times sum to 2 h
        assert sum(line.running_times_s) == pytest.approx(7200.0)


def test_transjakarta_needs_headways_and_reports_repairs(require_data):
    path = require_data("gtfs/transjakarta.zip")
    with pytest.raises(InputFileError, match="default_headway_s"):
        read_gtfs(path)
    supply, report = read_gtfs(path, default_headway_s=600.0, headways={"1": 300.0})
    # README: 290 trip rows reuse a trip id, 151 have no service_id, 8 routes have no trips
    assert report.count("reusing another row's trip_id") == 290
    assert report.count("without service_id") == 151
    assert report.count("routes without trips") == 8
    by_route = {line.route_id: line.headway_s for line in supply.lines}
    assert by_route["1"] == 300.0
    assert {h for r, h in by_route.items() if r != "1"} == {600.0}
    assert all(line.running_times_s is None for line in supply.lines)
    # every line's stops come from its own stop_times block: A0 is reused by route 1C
    # (Blok M - Bintaro) and 4C (Bundaran Senayan - TU GAS); their patterns differ
    line_1c, line_4c = supply.line("1C:0"), supply.line("4C:0")
    assert line_1c.stop_ids != line_4c.stop_ids


# ---------------------------------------------------------------------- hand-made feeds
def write_feed(
    folder: Path,
    *,
    calendar=None,
    calendar_dates=None,
    stop_times=None,
    trips=None,
    frequencies=None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\na,A,http://a.example,Asia/Jakarta\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\ns1,One,-6.20,106.80\ns2,Two,-6.20,106.81\ns3,Three,-6.20,106.82\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nR,a,R1,3\nT,a,T1,0\n",
        "trips.txt": trips
        or "route_id,service_id,trip_id,direction_id\nR,MON,r1,0\nR,MON,r2,0\nR,MON,r3,0\nR,SUN,r4,0\n",
        "calendar.txt": calendar
        or "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "MON,1,0,0,0,0,0,0,20240101,20241231\nSUN,0,0,0,0,0,0,1,20240101,20241231\n",
        "stop_times.txt": stop_times
        or "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "r1,07:10:00,07:10:00,s1,1\nr1,07:20:00,07:20:00,s2,2\nr1,07:35:00,07:35:00,s3,3\n"
        "r2,07:40:00,07:40:00,s1,1\nr2,07:50:00,07:50:00,s2,2\nr2,08:05:00,08:05:00,s3,3\n"
        "r3,25:10:00,25:10:00,s1,1\nr3,25:20:00,25:20:00,s2,2\nr3,25:35:00,25:35:00,s3,3\n"
        "r4,07:15:00,07:15:00,s1,1\nr4,07:25:00,07:25:00,s2,2\nr4,07:40:00,07:40:00,s3,3\n",
    }
    if calendar_dates:
        tables["calendar_dates.txt"] = calendar_dates
    if frequencies:
        tables["frequencies.txt"] = frequencies
    for name, text in tables.items():
        (folder / name).write_text(text)
    return folder


def test_period_and_calendar(tmp_path):
    feed = write_feed(tmp_path / "feed")
    # Monday 2024-04-29, 07:00-09:00: trips r1 and r2 -> headway 3600 s
    supply, _ = read_gtfs(feed, date="20240429")
    (line,) = supply.lines
    assert line.headway_s == 3600.0
    assert line.stop_ids == ("s1", "s2", "s3")
    assert line.running_times_s == (600.0, 900.0)
    assert line.dwell_s == 0.0
    # Sunday: only r4
    supply, _ = read_gtfs(feed, date="2024-04-28")
    assert supply.lines[0].headway_s == 7200.0


def test_times_past_midnight_count_on_the_next_day(tmp_path):
    feed = write_feed(tmp_path / "feed")
    # r3 departs 25:10 on the Monday service day, i.e. Tuesday 01:10
    supply, report = read_gtfs(feed, date="20240430", start="01:00", end="02:00")
    assert supply.lines[0].headway_s == 3600.0
    assert report.count("past 24:00") == 1
    supply, _ = read_gtfs(feed, date="20240429", start="24:00", end="26:00")
    assert supply.lines[0].headway_s == 7200.0
    with pytest.raises(InputFileError, match="no service"):
        read_gtfs(feed, date="20240429", start="01:00", end="02:00")


def test_calendar_dates_remove_and_add(tmp_path):
    feed = write_feed(
        tmp_path / "feed",
        calendar_dates="service_id,date,exception_type\nMON,20240429,2\nSUN,20240429,1\n",
    )
    supply, _ = read_gtfs(feed, date="20240429")  # Monday run as a Sunday
    assert supply.lines[0].headway_s == 7200.0


def test_frequencies_valid_and_orphaned(tmp_path):
    feed = write_feed(
        tmp_path / "feed",
        frequencies="trip_id,start_time,end_time,headway_secs\nr1,07:00:00,08:00:00,300\nR,06:00:00,24:00:00,60\n",
    )
    supply, report = read_gtfs(feed, date="20240429")
    # r1 generates 07:00, 07:05, ..., 07:55 (12 departures) + r2 at 07:40 = 13 in 2 h
    assert supply.lines[0].headway_s == pytest.approx(7200.0 / 13)
    assert report.count("frequencies.txt rows whose trip_id is not a trip") == 1


def test_bad_input(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_gtfs(tmp_path / "missing.zip")
    feed = write_feed(tmp_path / "feed")
    with pytest.raises(InputFileError, match="default_headway_s must be > 0"):
        read_gtfs(feed, default_headway_s=0.0)
    with pytest.raises(InputFileError, match="headway for route 'R'"):
        read_gtfs(feed, headways={"R": -5.0})
    with pytest.raises(ValueError, match="end"):
        read_gtfs(feed, start="09:00", end="07:00")
    with pytest.raises(InputFileError, match="no service"):
        read_gtfs(feed, date="20240501")  # a Wednesday: neither service runs
    broken = write_feed(
        tmp_path / "nocoords",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\nr1,07:10:00,07:10:00,s9,1\n",
    )
    (broken / "stops.txt").write_text("stop_id,stop_name,stop_lat,stop_lon\ns9,Nine,,\n")
    with pytest.raises(InputFileError, match="no stop has coordinates"):
        read_gtfs(broken)


def test_line_validation_names_the_line():
    with pytest.raises(InputFileError, match="line 'L7'.*headway"):
        Line("L7", "7", "bus", ("a", "b"), 0.0)
    with pytest.raises(InputFileError, match="line 'L8'.*period 'pm'"):
        Line("L8", "8", "bus", ("a", "b"), {"am": 300.0, "pm": -1.0})
    with pytest.raises(InputFileError, match="line 'L9' has 1 stop"):
        Line("L9", "9", "bus", ("a",), 300.0)
    with pytest.raises(InputFileError, match="mode 'ferry'"):
        Line("L10", "10", "ferry", ("a", "b"), 300.0)
    line = Line("L11", "11", "tram", ("a", "b"), {"am": 300.0, "pm": 600.0})
    assert line.headway("pm") == 600.0 and line.frequency("am") == pytest.approx(1 / 300)
    with pytest.raises(KeyError, match="name one"):
        line.headway()
    assert np.isfinite(line.speed) and line.vehicle_capacity > 0


def test_minor_patterns(tmp_path):
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "r1,07:10:00,07:10:00,s1,1\nr1,07:20:00,07:20:00,s2,2\nr1,07:35:00,07:35:00,s3,3\n"
        "r2,07:40:00,07:40:00,s1,1\nr2,07:50:00,07:50:00,s2,2\nr2,08:05:00,08:05:00,s3,3\n"
        "r3,08:10:00,08:10:00,s1,1\nr3,08:20:30,08:20:30,s2,2\n"
    )
    feed = write_feed(tmp_path / "feed", stop_times=stop_times)
    supply, report = read_gtfs(feed, date="20240429")
    (line,) = supply.lines  # the short turn r3 counts as service on the main pattern
    assert line.stop_ids == ("s1", "s2", "s3") and line.headway_s == 2400.0
    assert report.count("minor stop patterns") == 1
    supply, _ = read_gtfs(feed, date="20240429", patterns="all")
    by_stops = {line.stop_ids: line for line in supply.lines}
    assert by_stops[("s1", "s2", "s3")].headway_s == 3600.0
    assert by_stops[("s1", "s2")].headway_s == 7200.0
    assert by_stops[("s1", "s2")].running_times_s == (630.0,)


def test_malformed_backwards_and_repeated_times_are_reported(tmp_path):
    # r1: 07:61:00 is no clock time (it was read as 08:01:00, moving the headway); r2 runs
    # backwards at its last stop; r3 repeats stop_sequence 2
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "r1,07:10:00,07:10:00,s1,1\nr1,07:61:00,07:61:00,s2,2\nr1,07:35:00,07:35:00,s3,3\n"
        "r2,07:40:00,07:40:00,s1,1\nr2,07:50:00,07:50:00,s2,2\nr2,07:45:00,07:45:00,s3,3\n"
        "r3,08:10:00,08:10:00,s1,1\nr3,08:20:00,08:20:00,s2,2\nr3,08:35:00,08:35:00,s3,2\n"
        "r4,07:15:00,07:15:00,s1,1\nr4,07:25:00,07:25:00,s2,2\nr4,07:40:00,07:40:00,s3,3\n"
    )
    feed = write_feed(tmp_path / "feed", stop_times=stop_times)
    supply, report = read_gtfs(feed, date="20240429")
    assert report.count("malformed times") == 1  # one row: r1 at s2 (interpolated)
    assert report.count("run backwards") == 1
    assert report.count("repeating a stop_sequence") == 1
    (line,) = supply.lines
    # r1 interpolated at s2 (by distance), r3's repeat kept in order: 07:10 -> 07:35 total
    assert sum(line.running_times_s) == pytest.approx(1500.0)


def test_a_feed_too_large_to_read_is_refused_before_loading(tmp_path, monkeypatch):
    import transitopt.transit.gtfs as gtfs

    feed = write_feed(tmp_path / "feed")
    monkeypatch.setattr(gtfs, "MAX_STOP_TIMES_MB", 0.0001)
    with pytest.raises(InputFileError, match=r"stop_times.txt is .* MB uncompressed"):
        read_gtfs(feed)
