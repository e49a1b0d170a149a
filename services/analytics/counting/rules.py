# ruff: noqa: S608  (statements are assembled from this module's constants, never from input)
"""What is counted: the SQL of each layer, written once for PostgreSQL and SQLite.

Every statement reads a batch held in this connection's temporary tables and adds it to one
layer; the same statements serve the incremental path (a batch of pending events), a rebuild (all
of a district's events) and a regroup (a district's daily rollup). Between the two databases only
the date functions and the mechanics (shard hash, temporary tables) differ (`DIALECTS`); the
counting rules do not.

- `agg_event`: the batch of events, as the projection `EVENT` makes them from `usage_event`.
- `agg_daily`: the batch summed per usage_daily key (`DAILY`).
- `agg_seen`: the (period, tool, kind, feature, user) rows this batch sees for the first time.
"""

from __future__ import annotations

SHARDS = 64
"""Pending events are spread over this many shards by (district, user); workers claim shards."""

PERIODS = "SELECT 'week' AS period UNION ALL SELECT 'month'"
"""The periods counters are kept for; a recount of one period narrows it (`periods`)."""

DIALECTS: dict[str, dict[str, str]] = {
    "postgresql": {
        "day": "analytics.local_day(occurred_at, district_id)",
        "week": "date_trunc('week', day::timestamp)::date",
        "month": "date_trunc('month', day::timestamp)::date",
        "dom": "extract(day FROM day)::int",
        "shard": f"(hashtext(district_id || '/' || user_id) & 2147483647) % {SHARDS}",
        "timestamp": "timestamptz",
        "temp": "ON COMMIT DELETE ROWS",
        "periods": PERIODS,
    },
    "sqlite": {
        "day": (
            "local_day(occurred_at, (SELECT s.time_zone FROM analytics.district_setting s"
            " WHERE s.district_id = usage_event.district_id))"
        ),
        "week": "date(day, '-6 days', 'weekday 1')",
        "month": "date(day, 'start of month')",
        "dom": "CAST(strftime('%d', day) AS INTEGER)",
        "shard": "0",  # one process, one worker: nothing to share
        "timestamp": "timestamp",
        "temp": "",
        "periods": PERIODS,
    },
}

COUNTED_USERS = ("login", "feature_used")
"""Kinds whose distinct users are counted: logins (per group) and feature use (per feature)."""

EVENT_COLUMNS = "shard, district_id, event_id, day, tool_id, user_id, kind, feature, duration_s, received_at"
EVENT = (
    "{shard}, district_id, event_id, {day}, tool_id, user_id, kind, coalesce(feature, ''), "
    "coalesce(duration_s, 0), received_at"
)
"""What counting needs of a stored event (a `usage_event` row), in `EVENT_COLUMNS` order."""

TEMP_TABLES = (
    """CREATE TEMP TABLE IF NOT EXISTS agg_event (
        id bigint, shard integer, district_id text, event_id text, day date, tool_id text,
        user_id text, kind text, feature text, duration_s float, received_at {timestamp}) {temp}""",
    """CREATE TEMP TABLE IF NOT EXISTS agg_daily (
        district_id text, day date, week date, month date, tool_id text, user_id text, kind text,
        feature text, events bigint, duration_s float) {temp}""",
    """CREATE TEMP TABLE IF NOT EXISTS agg_seen (
        district_id text, period text, period_start date, tool_id text, kind text, feature text,
        user_id text) {temp}""",
)

LOAD_PENDING = f"""
INSERT INTO agg_event (id, {EVENT_COLUMNS})
SELECT id, {EVENT_COLUMNS} FROM analytics.usage_pending
WHERE shard IN :shards ORDER BY id LIMIT :limit
"""
LOAD_EVENTS = f"""
INSERT INTO agg_event ({EVENT_COLUMNS})
SELECT {EVENT} FROM analytics.usage_event
WHERE district_id = :d
  AND event_id NOT IN (SELECT event_id FROM analytics.usage_pending WHERE district_id = :d)
"""
"""A district's stored events, less those still queued: the workers count those (one snapshot sees an
event and its queue row, written in one transaction, together)."""
LOAD_DAILY = """
INSERT INTO agg_daily (district_id, day, week, month, tool_id, user_id, kind, feature, events, duration_s)
SELECT district_id, day, week, month, tool_id, user_id, kind, feature, events, duration_s
FROM analytics.usage_daily WHERE district_id = :d
"""

# 1. The per-user daily rollup.
DAILY = """
INSERT INTO agg_daily (district_id, day, week, month, tool_id, user_id, kind, feature, events, duration_s)
SELECT district_id, day, {week}, {month}, tool_id, user_id, kind, feature, count(*), sum(duration_s)
FROM agg_event GROUP BY district_id, day, tool_id, user_id, kind, feature
"""
ADD_DAILY = """
INSERT INTO analytics.usage_daily (district_id, day, tool_id, user_id, kind, feature, week, month,
                                   events, duration_s)
SELECT district_id, day, tool_id, user_id, kind, feature, week, month, events, duration_s
FROM agg_daily WHERE true ORDER BY district_id, day, tool_id, user_id, kind, feature
ON CONFLICT (district_id, day, tool_id, user_id, kind, feature)
DO UPDATE SET events = usage_daily.events + excluded.events,
              duration_s = usage_daily.duration_s + excluded.duration_s
"""

# 2. Presence: bit d-1 of a month's mask is set when the user used the tool on day d.
ADD_PRESENCE = """
INSERT INTO analytics.usage_presence (district_id, month, tool_id, user_id, days)
SELECT district_id, month, tool_id, user_id, sum(DISTINCT 1 << ({dom} - 1))
FROM agg_daily GROUP BY district_id, month, tool_id, user_id
ORDER BY district_id, month, tool_id, user_id
ON CONFLICT (district_id, month, tool_id, user_id) DO UPDATE SET days = usage_presence.days | excluded.days
"""

# The batch's daily rows in each period (week, month) and tool scope: its own tool, and all tools
# (''). An event without a tool counts in all tools only. `feature` matters for feature use only.
SCOPED = """
SELECT d.district_id, p.period, CASE p.period WHEN 'week' THEN d.week ELSE d.month END AS period_start,
       CASE t.whole WHEN 1 THEN '' ELSE d.tool_id END AS tool_id, d.user_id, d.kind,
       CASE d.kind WHEN 'feature_used' THEN d.feature ELSE '' END AS feature, d.events
FROM agg_daily AS d
JOIN ({periods}) AS p ON 1 = 1
JOIN (SELECT 1 AS whole UNION ALL SELECT 0) AS t ON t.whole = 1 OR d.tool_id <> ''
"""

# 3. Users seen for the first time in a period, tool scope, kind and feature.
NEW_SEEN = f"""
INSERT INTO agg_seen (district_id, period, period_start, tool_id, kind, feature, user_id)
SELECT DISTINCT s.district_id, s.period, s.period_start, s.tool_id, s.kind, s.feature, s.user_id
FROM ({SCOPED}) AS s
WHERE s.kind IN {COUNTED_USERS} AND NOT EXISTS (
    SELECT 1 FROM analytics.usage_seen AS u
    WHERE u.district_id = s.district_id AND u.period = s.period AND u.period_start = s.period_start
      AND u.tool_id = s.tool_id AND u.kind = s.kind AND u.feature = s.feature AND u.user_id = s.user_id)
"""
ADD_SEEN = """
INSERT INTO analytics.usage_seen (district_id, period, period_start, tool_id, kind, feature, user_id)
SELECT district_id, period, period_start, tool_id, kind, feature, user_id FROM agg_seen
ORDER BY district_id, period, period_start, tool_id, kind, feature, user_id
"""

# 4. The counters. Users with the same set of groups are summed first, then fanned out to the set's
# groups: events of every kind to grade, subject and all; distinct users of logins there too; feature
# use (events and distinct users) to the feature it names, once per school scope.
ADD_COUNTS = f"""
WITH groups AS (
    SELECT g.district_id, g.user_id, g.group_set, g.school_id, g.dim, g.value
    FROM analytics.roster_user_group AS g
    WHERE (g.district_id, g.user_id) IN (SELECT district_id, user_id FROM agg_daily)
), sets AS (
    SELECT DISTINCT district_id, user_id, group_set FROM groups
), members AS (
    SELECT DISTINCT district_id, group_set, school_id, dim, value FROM groups
    UNION ALL
    SELECT x.district_id, '', '', d.dim, d.value
    FROM (SELECT DISTINCT district_id FROM agg_daily) AS x
    JOIN (SELECT 'grade' AS dim, 'unassigned' AS value UNION ALL SELECT 'subject', 'unassigned'
          UNION ALL SELECT 'all', '') AS d ON 1 = 1
), hits AS (
    SELECT s.district_id, s.period, s.period_start, s.tool_id, coalesce(u.group_set, '') AS group_set,
           s.kind, s.feature, sum(s.events) AS events, 0 AS users
    FROM ({SCOPED}) AS s
    LEFT JOIN sets AS u ON u.district_id = s.district_id AND u.user_id = s.user_id
    GROUP BY s.district_id, s.period, s.period_start, s.tool_id, coalesce(u.group_set, ''), s.kind, s.feature
    UNION ALL
    SELECT a.district_id, a.period, a.period_start, a.tool_id, coalesce(u.group_set, ''), a.kind, a.feature,
           0, count(*)
    FROM agg_seen AS a
    LEFT JOIN sets AS u ON u.district_id = a.district_id AND u.user_id = a.user_id
    GROUP BY a.district_id, a.period, a.period_start, a.tool_id, coalesce(u.group_set, ''), a.kind, a.feature
), fanned AS (
    SELECT h.district_id, h.period, h.tool_id, m.school_id, m.dim, h.kind, h.period_start, m.value,
           h.events, CASE h.kind WHEN 'login' THEN h.users ELSE 0 END AS users
    FROM hits AS h JOIN members AS m ON m.district_id = h.district_id AND m.group_set = h.group_set
    UNION ALL
    SELECT h.district_id, h.period, h.tool_id, m.school_id, 'feature', h.kind, h.period_start, h.feature,
           h.events, h.users
    FROM hits AS h JOIN members AS m
      ON m.district_id = h.district_id AND m.group_set = h.group_set AND m.dim = 'all'
    WHERE h.kind = 'feature_used'
)
INSERT INTO analytics.usage_count (district_id, period, tool_id, school_id, dim, kind, period_start,
                                   value, events, users)
SELECT district_id, period, tool_id, school_id, dim, kind, period_start, value, sum(events), sum(users)
FROM fanned GROUP BY district_id, period, tool_id, school_id, dim, kind, period_start, value
ORDER BY district_id, period, tool_id, school_id, dim, kind, period_start, value
ON CONFLICT (district_id, period, tool_id, school_id, dim, kind, period_start, value)
DO UPDATE SET events = usage_count.events + excluded.events, users = usage_count.users + excluded.users
"""

LAYERS = ("usage_count", "usage_seen", "usage_presence", "usage_daily")
"""The aggregate tables, most derived first."""

# Retention: what is older than a cutoff day `:c` (a Monday, so no week straddles it) leaves every
# layer. Presence keeps the cutoff month's later days; the month the cutoff falls in (`:m`) is then
# recounted from the daily rows left (`LOAD_MONTH` with `periods` narrowed to months).
TRIM = (
    "DELETE FROM analytics.usage_pending WHERE district_id = :d AND day < :c",
    "DELETE FROM analytics.usage_daily WHERE district_id = :d AND day < :c",
    "DELETE FROM analytics.usage_presence WHERE district_id = :d AND month < :m",
    "UPDATE analytics.usage_presence SET days = days & :keep WHERE district_id = :d AND month = :m",
    "DELETE FROM analytics.usage_presence WHERE district_id = :d AND days = 0",
    "DELETE FROM analytics.usage_seen WHERE district_id = :d AND period_start < :c",
    "DELETE FROM analytics.usage_count WHERE district_id = :d AND period_start < :c",
)
LOAD_MONTH = """
INSERT INTO agg_daily (district_id, day, week, month, tool_id, user_id, kind, feature, events, duration_s)
SELECT district_id, day, week, month, tool_id, user_id, kind, feature, events, duration_s
FROM analytics.usage_daily WHERE district_id = :d AND month = :m
"""
MONTHS_ONLY = "SELECT 'month' AS period"
