"""Analytics: LMS usage events, rosters, dashboards, license and teacher utilization signals."""
