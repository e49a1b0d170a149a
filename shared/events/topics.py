"""Kafka topic names, in one place. Keys keep one tool's (or pilot's) events in order."""

CATALOG_TOOLS = "edtech.catalog.tools.v1"
"""tool-registered, tool-status-changed, tool-retirement-scheduled and -cancelled, license-recorded;
keyed by tool id."""

PILOTS_LIFECYCLE = "edtech.pilots.lifecycle.v1"
"""pilot-started, -completed, -cancelled, time-on-task-fell, tam-answered; keyed by tool id so a
tool's pilots stay in order."""

PILOTS_ERRORS = "edtech.pilots.errors.v1"
"""error-logged; keyed by tool id."""

ANALYTICS_SIGNALS = "edtech.analytics.signals.v1"
"""utilization-dropped, license-dormant, license-seats-used, outcome-evidence-attached; keyed by tool id."""

ANALYTICS_DISTRICT = "edtech.analytics.district.v1"
"""district.time_zone_changed; keyed by district id."""

ALL_TOPICS = (CATALOG_TOOLS, PILOTS_LIFECYCLE, PILOTS_ERRORS, ANALYTICS_SIGNALS, ANALYTICS_DISTRICT)


def dead_letter_topic(consumer_group: str) -> str:
    """The dead-letter topic of one consumer group."""
    return f"edtech.dlq.{consumer_group}.v1"
