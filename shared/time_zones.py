"""IANA time zones: which names are known, and a moment's local date or a zone's today."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows (`America/Los_Angeles`, `UTC`)."""
    if name not in available_timezones() and name != "UTC":
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_date(moment: dt.datetime, time_zone: str | None) -> dt.date:
    """The date of an aware moment in a time zone (UTC when none is given)."""
    return moment.astimezone(ZoneInfo(time_zone) if time_zone else dt.UTC).date()
