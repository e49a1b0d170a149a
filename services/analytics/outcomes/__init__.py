"""Outcome evidence: does a tool help? Usage against achievement, with statistics a district can
defend (`statistics.py`), on achievement results a district uploads."""

MIN_CELL = 10
"""Fewest students a reported group or cell may hold, so that no report identifies a student."""
