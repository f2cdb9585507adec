"""Any date and any hour: service days across midnight, time zones and clock changes.

The clock checks are worked out by hand from GTFS's rule (a service day's times count from local
noon minus 12 hours); the trip checks run on a tiny line world built here.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from feedmaker import write_feed
from test_router import AREA, DESTINATION, FEED, ORIGIN, write_line_osm

from maas.area import load_area
from maas.errors import NoServiceError
from planner.area_data import load_area_data
from planner.itinerary import TransitLeg
from planner.router import Planner, RouterParams
from planner.service_time import ServiceClock
from planner.timetable_compiler import compile_timetable

HELSINKI = ServiceClock("Europe/Helsinki")
SAO_PAULO = ServiceClock("America/Sao_Paulo")
UTC = dt.UTC


def test_a_day_without_a_clock_change_counts_from_local_midnight() -> None:
    day = dt.date(2022, 2, 22)
    assert HELSINKI.origin(day) == dt.datetime(2022, 2, 21, 22, 0, tzinfo=UTC)  # 00:00 EET
    assert HELSINKI.day_length_s(day) == 86_400
    assert HELSINKI.seconds(day, dt.datetime(2022, 2, 22, 8, 30)) == 8 * 3600 + 1800
    assert HELSINKI.locate(dt.datetime(2022, 2, 23, 0, 35)) == (dt.date(2022, 2, 23), 2100)
    assert HELSINKI.seconds(day, dt.datetime(2022, 2, 23, 0, 35)) == 24 * 3600 + 2100  # the 22nd's 24:35


@pytest.mark.parametrize(
    ("clock", "day", "origin_utc", "previous_day_h"),
    [
        # Helsinki: EET -> EEST at 03:00 on 27 March 2022. Noon EEST - 12 h is 23:00 EET on the 26th,
        # so the 26th's service day lasts 23 hours
        (HELSINKI, dt.date(2022, 3, 27), dt.datetime(2022, 3, 26, 21, 0, tzinfo=UTC), 23),
        # EEST -> EET at 04:00 on 30 October 2022: noon EET - 12 h is 01:00 EEST; the 29th lasts 25 hours
        (HELSINKI, dt.date(2022, 10, 30), dt.datetime(2022, 10, 29, 22, 0, tzinfo=UTC), 25),
        # Sao Paulo's last summer time: clocks went 00:00 -> 01:00 on 4 November 2018 ...
        (SAO_PAULO, dt.date(2018, 11, 4), dt.datetime(2018, 11, 4, 2, 0, tzinfo=UTC), 23),
        # ... and 00:00 -> 23:00 on the 16th at the end of 16 February 2019
        (SAO_PAULO, dt.date(2019, 2, 17), dt.datetime(2019, 2, 17, 3, 0, tzinfo=UTC), 25),
        (SAO_PAULO, dt.date(2019, 5, 15), dt.datetime(2019, 5, 15, 3, 0, tzinfo=UTC), 24),
    ],
)
def test_noon_minus_twelve_hours_on_clock_change_days(
    clock: ServiceClock, day: dt.date, origin_utc: dt.datetime, previous_day_h: int
) -> None:
    assert clock.origin(day) == origin_utc
    assert clock.day_length_s(day - dt.timedelta(days=1)) == previous_day_h * 3600
    assert clock.offset_s(day, day - dt.timedelta(days=1)) == -previous_day_h * 3600
    # after the change a GTFS time reads like the wall clock
    noon = clock.moment(day, 12 * 3600)
    assert (noon.date(), noon.hour, noon.minute) == (day, 12, 0)
    assert clock.seconds(day, dt.datetime.combine(day, dt.time(12))) == 12 * 3600


def test_gtfs_times_before_a_spring_change_run_an_hour_earlier_by_the_wall_clock() -> None:
    day = dt.date(2022, 3, 27)
    # 01:30 in the feed is 90 minutes after 23:00 EET: 00:30 on the wall clock
    assert HELSINKI.moment(day, 5400) == dt.datetime(2022, 3, 27, 0, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert HELSINKI.moment(day, 8 * 3600).hour == 8


# -- the line world: a tram from West end to East end --------------------------------------------

NIGHT_FEED = {
    **FEED,
    "trips.txt": FEED["trips.txt"] + "T,WK,N1,East\nT,WK,N2,East\nT,WK,N3,East\n",
    "stop_times.txt": FEED["stop_times.txt"]
    + "N1,23:50:00,23:50:00,A,1\nN1,23:54:00,23:54:00,B,2\n"  # the last trip before midnight
    + "N2,24:35:00,24:35:00,A,1\nN2,24:39:00,24:39:00,B,2\n"  # a night trip of the same service day
    + "N3,01:30:00,01:30:00,A,1\nN3,01:34:00,01:34:00,B,2\n",  # a day's own early trip
}
CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WK,1,1,1,1,1,0,0,20220221,20220225\n"
)


def _planner(root: Path, feed: dict[str, str], service_date: str = "2022-02-22") -> Planner:
    (root / "data" / "line").mkdir(parents=True)
    write_feed(root / "data" / "line", feed, as_zip=True)
    write_line_osm(root / "data" / "line" / "line.osm")
    (root / "line.toml").write_text(AREA.replace("2022-02-22", service_date), encoding="utf-8")
    area = load_area(root / "line.toml", root / "data")
    return Planner(load_area_data(area, cache=root / "cache"), RouterParams(transfer_slack_s=0))


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Planner:
    return _planner(tmp_path_factory.mktemp("night"), {**NIGHT_FEED, "calendar.txt": CALENDAR})


def _trips(it: object) -> list[str]:
    return [leg.trip_id.split("@")[0] for leg in it.legs if isinstance(leg, TransitLeg)]  # type: ignore[attr-defined]


def test_after_midnight_on_a_day_without_service_rides_the_night_before(night: Planner) -> None:
    """Saturday has no service of its own; at 00:30 Friday's 24:35 tram still runs."""
    at = dt.datetime(2022, 2, 26, 0, 30)
    result = night.plan(ORIGIN, DESTINATION, depart_at=at)
    assert result and _trips(result[0]) == ["N2"]
    tram = result[0].legs[1]
    assert result[0].local(tram.start) == dt.datetime(2022, 2, 26, 0, 35, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert result[0].clock(tram.start) == "00:35"
    # the same trips as a search told to use Friday's service day, where the tram leaves at 24:35
    friday = night.plan(ORIGIN, DESTINATION, depart_at=at, service_day=dt.date(2022, 2, 25))
    assert [(_trips(a), a.local(a.depart), a.local(a.arrive)) for a in result] == [
        (_trips(b), b.local(b.depart), b.local(b.arrive)) for b in friday
    ]
    assert friday[0].legs[1].start == 24 * 3600 + 35 * 60


def test_arrive_by_just_after_midnight_can_ride_the_evening_before(night: Planner) -> None:
    result = night.plan(ORIGIN, DESTINATION, arrive_by=dt.datetime(2022, 2, 26, 0, 5))
    transit = [it for it in result if _trips(it)]
    assert transit and _trips(transit[0]) == ["N1"]
    assert transit[0].clock(transit[0].legs[1].start) == "23:50 (Fri 2022-02-25)"
    assert transit[0].to_dict()["legs"][1]["start"] == "2022-02-25T23:50:00+02:00"


def test_an_evening_search_sees_the_next_days_early_trips(night: Planner) -> None:
    """At 01:20 on Thursday both Wednesday's 24:35 (already gone) and Thursday's own 01:30 exist."""
    result = night.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 24, 1, 20))
    assert _trips(result[0]) == ["N3"]
    # asked in Wednesday's frame (25:20), Thursday's 01:30 trip is there too, at 25:30
    wednesday = night.plan(
        ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 24, 1, 20), service_day=dt.date(2022, 2, 23)
    )
    assert _trips(wednesday[0]) == ["N3"] and wednesday[0].legs[1].start == 25 * 3600 + 30 * 60


def test_a_day_with_no_trips_near_it_is_named(night: Planner) -> None:
    with pytest.raises(NoServiceError, match="no trips run on 2022-02-27"):
        night.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 27, 12, 0))
    # walking needs no timetable
    walk = night.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 27, 12, 0), modes=("walk",))
    assert walk and walk[0].modes == ("walk",) and walk[0].local(walk[0].depart).date() == dt.date(2022, 2, 27)
    # Saturday after the night trips: no service, said so
    late = night.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 26, 10, 0), modes=("transit",))
    assert not late and "no transit runs on Saturday 2022-02-26 except the night before's trips" in late.reason


def test_json_times_carry_the_utc_offset(night: Planner) -> None:
    result = night.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 22, 8, 0))
    data = json.loads(json.dumps(result[0].to_dict()))
    assert data["depart"].endswith("+02:00") and data["legs"][1]["start"] == "2022-02-22T08:05:00+02:00"


def test_a_clock_change_day_rides_by_the_feeds_noon_minus_twelve_hours(tmp_path: Path) -> None:
    """On 27 March 2022 (Helsinki springs forward), the feed's 01:30 tram leaves at 00:30 by the wall
    clock and its 08:05 tram at 08:05; the Saturday night's 24:35 tram leaves at 00:35 on Sunday."""
    calendar = (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,1,1,20220320,20220402\n"
    )
    planner = _planner(tmp_path, {**NIGHT_FEED, "calendar.txt": calendar}, "2022-03-27")
    zone = ZoneInfo("Europe/Helsinki")
    # Saturday's 24:35 tram leaves at 00:35 on Sunday; Sunday's own 01:30 tram at 00:30
    early = planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 3, 27, 0, 32))
    assert _trips(early[0]) == ["N2"]
    assert early[0].local(early[0].legs[1].start) == dt.datetime(2022, 3, 27, 0, 35, tzinfo=zone)
    first = planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 3, 27, 0, 20))
    assert _trips(first[0]) == ["N3"]
    assert first[0].local(first[0].legs[1].start) == dt.datetime(2022, 3, 27, 0, 30, tzinfo=zone)
    morning = planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 3, 27, 8, 0))
    tram = morning[0].legs[1]
    assert morning[0].local(tram.start) == dt.datetime(2022, 3, 27, 8, 5, tzinfo=zone)
    assert morning[0].to_dict()["legs"][1]["start"] == "2022-03-27T08:05:00+03:00"


def test_timetable_places_neighbouring_days_at_their_offsets_across_a_clock_change(tmp_path: Path) -> None:
    calendar = (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,1,1,20220320,20220402\n"
    )
    from planner.gtfs_feed import load_feed

    feed = load_feed(write_feed(tmp_path, {**NIGHT_FEED, "calendar.txt": calendar}))
    sunday = compile_timetable(feed, dt.date(2022, 3, 27), HELSINKI)
    ids = sunday.trip_ids.tolist()
    # Saturday's service day lasted 23 hours: its 24:35 is 01:35 in Sunday's frame
    assert "N2@prev-day" in ids
    times = {
        str(sunday.trip_ids[k]): int(
            sunday.departures[sunday.pattern_time_start[p] + (k - sunday.pattern_trip_start[p]) * 2]
        )
        for p in range(sunday.n_patterns)
        for k in range(sunday.pattern_trip_start[p], sunday.pattern_trip_start[p + 1])
    }
    assert times["N2@prev-day"] == 24 * 3600 + 35 * 60 - 23 * 3600
    assert times["N1@prev-day"] == 23 * 3600 + 50 * 60 - 23 * 3600  # Saturday 23:50: 00:50 in Sunday's frame
    assert times["N3@next-day"] == 24 * 3600 + 90 * 60  # Monday's 01:30; Sunday's service day lasts 24 hours
    assert "N1@next-day" not in times  # Monday's 23:50 is past the next day's window
    assert sunday.stats.trips_from_previous_day >= 1 and sunday.stats.trips_from_next_day >= 1


def test_calendar_exceptions_on_either_side_of_midnight(tmp_path: Path) -> None:
    """Thursday 24 Feb removed and Saturday 26 Feb added by calendar_dates.txt: at 00:30 on Friday
    there is no Thursday night tram (Friday's own 01:30 is the first), and at 00:30 on Sunday the
    added Saturday's 24:35 tram runs."""
    exceptions = "service_id,date,exception_type\nWK,20220224,2\nWK,20220226,1\n"
    planner = _planner(tmp_path, {**NIGHT_FEED, "calendar.txt": CALENDAR, "calendar_dates.txt": exceptions})
    friday = planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 25, 0, 30), modes=("transit",))
    assert _trips(friday[0]) == ["N3"]
    sunday = planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 27, 0, 30), modes=("transit",))
    assert _trips(sunday[0]) == ["N2"]
    assert sunday[0].local(sunday[0].legs[1].start).isoformat() == "2022-02-27T00:35:00+02:00"
