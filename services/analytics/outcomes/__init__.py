"""Outcome evidence: does a tool help? Usage against achievement, with statistics a district can
defend (`statistics.py`), on achievement results a district uploads."""
