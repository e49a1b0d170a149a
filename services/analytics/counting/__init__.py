"""Counting usage: every dashboard aggregate, derived from the appended events after the request.

Read this package top to bottom: `rules.py` says what is counted (the SQL of each layer, written
once), `repository.py` runs it, `service.py` says when (a worker draining the pending events, a
rebuild from the raw events, a regroup after a roster import) and how replicas share the work.

What is counted, layer by layer, each derived from the one before:

1. `usage_daily`: events and seconds per district, day (UTC), tool, user, kind and feature.
2. `usage_presence`: the days of a month a user used a tool, as a bit mask (distinct active users
   over any date range).
3. `usage_seen`: a user seen in a week or month, for one tool or any tool (`''`), for logins and
   for each feature used; only rows new to the table add a distinct user to the counters.
4. `usage_count`: events and distinct users per week or month, tool or all tools (`''`), school or
   all schools (`''`), and group: grade, subject, all (users of every group), or feature.

Rules every layer follows:

- An event counts once: the request path stores an event id once per district, and queues the
  stored event in `usage_pending` in the same transaction. A worker deletes the queued rows in
  the transaction that adds them to the aggregates, so a crash between any two steps loses
  nothing and counts nothing twice.
- An event names a tool or not (an integration without a tool). Its tool's own counters and the
  all-tools counters are two different rows; an event without a tool counts in all-tools only.
- A user's groups come from the roster (`roster_user_group`); a user the roster does not describe
  is counted as `unassigned` in grade and subject. A roster import asks for a regroup, which
  recounts the counters with the new groups in the background; until then the dashboards say
  their groups are not current.
"""
