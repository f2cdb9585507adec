"""Service-day time: GTFS's "noon minus 12 h" frame, in the area's time zone.

A GTFS time is seconds after the *origin* of its service day: local noon of that date minus 12
hours. On most days the origin is local midnight; on the day a clock change happens it is an hour
earlier or later, so that times after the change read like the wall clock. A service day is
then 23, 24 or 25 hours long, and trips of the previous or next service day sit at that day's
offset from this one, not at a fixed 86,400 s.

Queries come in as local wall-clock moments (naive, or aware in any zone) and go out as aware
local times; inside, the search only sees integer seconds in one service day's frame.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cached_property

from maas.errors import MaasError

UTC = dt.UTC


@dataclass(frozen=True)
class ServiceClock:
    """Converts between local moments and seconds in a service day's frame, for one time zone.

    ``zone`` is an IANA name ("Europe/Helsinki"); ``None`` is a clock without a zone (every day
    24 hours, times naive), for tests and feeds that name no zone.
    """

    zone: str | None = None

    @cached_property
    def tz(self) -> dt.tzinfo | None:
        """The time zone (None for a clock without a zone)."""
        if self.zone is None:
            return None
        try:
            return zoneinfo.ZoneInfo(self.zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise MaasError(f"{self.zone!r} is not a known time zone") from None

    def origin(self, date: dt.date) -> dt.datetime:
        """The instant a service day's times count from: local noon of ``date`` minus 12 hours."""
        noon = dt.datetime.combine(date, dt.time(12), self.tz)
        if self.tz is None:
            return noon - dt.timedelta(hours=12)
        return noon.astimezone(UTC) - dt.timedelta(hours=12)

    def day_length_s(self, date: dt.date) -> int:
        """Seconds from this service day's origin to the next one's (82,800, 86,400 or 90,000)."""
        return self.offset_s(date, date + dt.timedelta(days=1))

    def offset_s(self, date: dt.date, other: dt.date) -> int:
        """Where ``other``'s origin lies in ``date``'s frame (seconds)."""
        return round((self.origin(other) - self.origin(date)).total_seconds())

    def _instant(self, moment: dt.datetime) -> dt.datetime:
        if self.tz is None:
            if moment.tzinfo is not None:
                raise MaasError("this area names no time zone; give times without a UTC offset")
            return moment
        local = moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment
        return local.astimezone(UTC)

    def seconds(self, date: dt.date, moment: dt.datetime) -> int:
        """``moment`` (naive: local wall clock) as seconds in ``date``'s service-day frame."""
        return round((self._instant(moment) - self.origin(date)).total_seconds())

    def locate(self, moment: dt.datetime) -> tuple[dt.date, int]:
        """The service day a query at ``moment`` is searched in (its local date) and its seconds there."""
        local = moment if moment.tzinfo is None or self.tz is None else moment.astimezone(self.tz)
        return local.date(), self.seconds(local.date(), moment)

    def moment(self, date: dt.date, seconds: float) -> dt.datetime:
        """Seconds in ``date``'s frame as a local time (aware when the clock has a zone)."""
        instant = self.origin(date) + dt.timedelta(seconds=float(seconds))
        return instant if self.tz is None else instant.astimezone(self.tz)


def local_clock(moment: dt.datetime, on: dt.date | None = None) -> str:
    """HH:MM of a local time; with the date when it falls on another day than ``on``."""
    text = moment.strftime("%H:%M")
    if on is not None and moment.date() != on:
        text += f" ({moment:%a} {moment:%Y-%m-%d})"
    return text
