"""The one clock of a service: where its rules and jobs read "now".

Each service runtime owns a `Clock` and hands it to its database, so every session carries it
(`clock_of(session)`) and every service function, request handler, event handler or background job
reads the same time without a parameter threaded through. It runs on real time; a test sets it
(`runtime.clock.set(...)`, `advance(...)`) to play a semester in seconds. Nothing outside the process
can move it: no endpoint takes a "now" from its caller.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession


class Clock:
    """Real time, unless set: then time stands at the moment set until advanced or reset."""

    def __init__(self) -> None:
        self._fixed: dt.datetime | None = None

    def now(self) -> dt.datetime:
        """The current moment, timezone-aware UTC."""
        return self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        """The current UTC date."""
        return self.now().date()

    def set(self, moment: dt.datetime) -> None:
        """Stop the clock at `moment` (aware; a naive moment is refused)."""
        if moment.tzinfo is None:
            raise ValueError("a clock is set to an aware moment")
        self._fixed = moment.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> None:
        """Move a set clock forward (a running clock is set to now + delta)."""
        self._fixed = self.now() + delta

    def reset(self) -> None:
        """Back to real time."""
        self._fixed = None


REAL_TIME = Clock()
"""The clock of sessions made outside a service runtime (scripts, migrations)."""


def clock_of(session: AsyncSession) -> Clock:
    """The clock of the runtime whose database made this session."""
    clock = session.info.get("clock")
    return clock if isinstance(clock, Clock) else REAL_TIME
