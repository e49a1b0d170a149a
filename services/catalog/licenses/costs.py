"""Cost arithmetic of a license (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def term_days(term_start: dt.date, term_end: dt.date) -> int:
    """Days covered by a term, both ends included."""
    return max(1, (term_end - term_start).days + 1)


def cost_per_seat(price_total: Decimal, seats: int) -> float:
    """Price divided by seats bought."""
    return _money(Decimal(price_total) / Decimal(max(1, seats)))


def cost_per_student(price_total: Decimal, seats: int, students_covered: int | None) -> float:
    """Price per student covered (a seat is a student when the license does not say otherwise)."""
    return _money(Decimal(price_total) / Decimal(max(1, students_covered or seats)))


def cost_per_student_per_year(
    price_total: Decimal, seats: int, students_covered: int | None, term_start: dt.date, term_end: dt.date
) -> float:
    """Cost per student scaled to one year (365 days) of the license term."""
    per_student = Decimal(price_total) / Decimal(max(1, students_covered or seats))
    return _money(per_student * Decimal(365) / Decimal(term_days(term_start, term_end)))
