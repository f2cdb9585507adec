"""Every kind of feed problem is reported with file, row and field, all at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from feedmaker import BASE_TABLES, write_feed

from maas.errors import FeedValidationError, NoServiceError
from planner.gtfs_feed import format_gtfs_time, load_feed, parse_gtfs_times
from planner.timetable_compiler import compile_timetable


def problems_of(path: Path) -> list[str]:
    with pytest.raises(FeedValidationError) as info:
        load_feed(path)
    return [p.describe() for p in info.value.problems]


def test_valid_feed_loads_from_directory_and_zip(tmp_path: Path) -> None:
    for as_zip in (False, True):
        feed = load_feed(write_feed(tmp_path / str(as_zip), as_zip=as_zip))
        assert feed.calendar.service_dates() == [dt.date(2022, 2, d) for d in range(21, 26)]


def test_missing_required_file(tmp_path: Path) -> None:
    assert problems_of(write_feed(tmp_path, {"stop_times.txt": None})) == ["stop_times.txt: required file is missing"]


def test_missing_calendar_files(tmp_path: Path) -> None:
    problems = problems_of(write_feed(tmp_path, {"calendar.txt": None}))
    assert any("neither calendar.txt nor calendar_dates.txt" in p for p in problems)


def test_missing_required_column(tmp_path: Path) -> None:
    stops = "stop_id,stop_name,stop_lat\nS1,One,60.1\nS2,Two,60.1\nS3,Three,60.1\n"
    problems = problems_of(write_feed(tmp_path, {"stops.txt": stops}))
    assert "stops.txt, field 'stop_lon': required column is missing" in problems


def test_stop_times_pointing_at_unknown_trip_and_stop_name_rows(tmp_path: Path) -> None:
    stop_times = BASE_TABLES["stop_times.txt"] + "GHOST,10:00:00,10:00:00,S1,1\nT2,09:20:00,09:20:00,NOPE,4\n"
    problems = problems_of(write_feed(tmp_path, {"stop_times.txt": stop_times}))
    assert "stop_times.txt, field 'trip_id', row 8: refers to a trip_id not in trips.txt" in problems
    assert "stop_times.txt, field 'stop_id', row 9: refers to a stop_id not in stops.txt" in problems


def test_unparsable_and_decreasing_times_are_all_reported_together(tmp_path: Path) -> None:
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\n"
        "T1,8h05,08:05:30,S2,2\n"  # row 3: unparsable
        "T1,08:10:00,08:10:00,S3,3\n"
        "T2,09:00:00,09:00:00,S1,1\n"
        "T2,08:55:00,08:55:00,S2,2\n"  # row 6: earlier than the stop before
        "T2,09:10:00,09:09:00,S3,3\n"  # row 7: departs before it arrives
    )
    problems = problems_of(write_feed(tmp_path, {"stop_times.txt": stop_times}))
    assert "stop_times.txt, field 'arrival_time', row 3: unparsable time (expected H:MM:SS)" in problems
    assert (
        "stop_times.txt, field 'arrival_time', row 6: time is earlier than at a previous stop of the same trip"
        in problems
    )
    assert "stop_times.txt, field 'departure_time', row 7: departure before arrival at the same stop" in problems


def test_first_and_last_stop_need_times_but_intermediate_may_be_empty(tmp_path: Path) -> None:
    ok = BASE_TABLES["stop_times.txt"].replace("T1,08:05:00,08:05:30,S2,2", "T1,,,S2,2")
    load_feed(write_feed(tmp_path / "ok", {"stop_times.txt": ok}))
    bad = BASE_TABLES["stop_times.txt"].replace("T1,08:10:00,08:10:00,S3,3", "T1,,,S3,3")
    problems = problems_of(write_feed(tmp_path / "bad", {"stop_times.txt": bad}))
    assert problems == ["stop_times.txt, field 'arrival_time', row 4: first and last stop of a trip need a time"]


def test_bad_numbers_duplicates_and_references_reported_at_once(tmp_path: Path) -> None:
    stops = BASE_TABLES["stops.txt"] + "S1,Again,60.1,24.9,,\nS9,Far,95.0,abc,,\n"
    trips = BASE_TABLES["trips.txt"] + "RX,WK,T3,x\nR1,NOSERVICE,T4,x\n"
    frequencies = "trip_id,start_time,end_time,headway_secs,exact_times\nT1,09:00:00,08:00:00,-5,1\n"
    problems = problems_of(
        write_feed(tmp_path, {"stops.txt": stops, "trips.txt": trips, "frequencies.txt": frequencies})
    )
    expected = [
        "stops.txt, field 'stop_id', row 6: duplicate stop_id",
        "stops.txt, field 'stop_lat', row 7: must be a number in [-90, 90]",
        "stops.txt, field 'stop_lon', row 7: must be a number in [-180, 180]",
        "trips.txt, field 'route_id', row 4: refers to a route_id not in routes.txt",
        "trips.txt, field 'service_id', row 5: refers to a service_id not in calendar.txt or calendar_dates.txt",
        "frequencies.txt, field 'headway_secs', row 2: must be a whole number in [1, 604800]",
        "frequencies.txt, field 'end_time', row 2: end_time is not after start_time",
    ]
    for line in expected:
        assert line in problems
    assert len(problems) >= len(expected)


def test_date_without_service_lists_dates_with_service(tmp_path: Path) -> None:
    feed = load_feed(write_feed(tmp_path))
    with pytest.raises(NoServiceError) as info:
        compile_timetable(feed, dt.date(2022, 2, 26))  # a Saturday
    message = str(info.value)
    assert "no trips run on 2022-02-26" in message
    assert "2022-02-21, 2022-02-22, 2022-02-23, 2022-02-24, 2022-02-25" in message


def test_calendar_dates_add_and_remove_days(tmp_path: Path) -> None:
    calendar_dates = "service_id,date,exception_type\nWK,20220222,2\nWK,20220226,1\n"
    feed = load_feed(write_feed(tmp_path, {"calendar_dates.txt": calendar_dates}))
    assert dt.date(2022, 2, 22) not in feed.calendar.service_dates()
    assert dt.date(2022, 2, 26) in feed.calendar.service_dates()
    with pytest.raises(NoServiceError):
        compile_timetable(feed, dt.date(2022, 2, 22))


def test_time_parsing_keeps_times_past_midnight() -> None:
    import pandas as pd

    seconds = parse_gtfs_times(pd.Series(["25:10:05", "7:00:00", "", "12:60:00", None]))
    assert seconds.tolist() == [25 * 3600 + 10 * 60 + 5, 7 * 3600, -1, -1, -1]
    assert format_gtfs_time(25 * 3600 + 605) == "25:10:05"
