"""A moment's day in a time zone, one definition on both backends: PostgreSQL's AT TIME ZONE and the
`local_day` function every SQLite connection gets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import Database, local_day
from shared.time_zones import is_time_zone, local_date

EVENING = dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)  # 9 pm on October 31 in Los Angeles


def test_local_dates() -> None:
    assert local_date(EVENING, "America/Los_Angeles") == dt.date(2026, 10, 31)
    assert local_date(EVENING, None) == local_date(EVENING, "UTC") == dt.date(2026, 11, 1)
    assert local_day("2026-11-01 04:00:00.000000", "America/Los_Angeles") == "2026-10-31"
    assert local_day(None, "UTC") is None
    assert is_time_zone("Europe/Paris") and not is_time_zone("Europe/Atlantis") and not is_time_zone("")


@pytest.mark.parametrize("zone, day", [("America/Los_Angeles", "2026-10-31"), (None, "2026-11-01")])
async def test_sqlite_connections_know_local_day(tmp_path: Path, zone: str | None, day: str) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db", "t", pool_size=1)
    try:
        async with db.transaction() as session:
            got = await session.scalar(
                text("SELECT local_day(:at, :zone)"), {"at": "2026-11-01 04:00:00.000000", "zone": zone}
            )
        assert got == day
    finally:
        await db.dispose()
