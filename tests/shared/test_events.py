"""The CloudEvents envelope and the versioned payload contracts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest

from shared.events import (
    EVENT_TYPES,
    CloudEvent,
    DistrictTimeZoneChanged,
    ErrorLogged,
    EventPayload,
    LicenseDormant,
    LicenseRecorded,
    LicenseSeatsUsed,
    OutcomeEvidenceAttached,
    PilotCancelled,
    PilotCompleted,
    PilotStarted,
    TamAnswered,
    TamCount,
    TimeOnTaskFell,
    ToolRegistered,
    ToolRetirementCancelled,
    ToolRetirementScheduled,
    ToolStatusChanged,
    UtilizationDropped,
    WeekOnTask,
    topics,
)

TOOL = uuid.uuid4()
PILOT = uuid.uuid4()
NOW = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)

EXAMPLES: list[tuple[EventPayload, str, str, str]] = [
    (
        ToolRegistered(tool_id=TOOL, tool_name="Desmos", status="proposed"),
        "org.edtech.tool.registered.v1",
        topics.CATALOG_TOOLS,
        f"tools/{TOOL}",
    ),
    (
        ToolStatusChanged(
            tool_id=TOOL,
            tool_name="Desmos",
            from_status="vetting",
            to_status="approved_for_pilot",
            changed_at=NOW,
        ),
        "org.edtech.tool.status_changed.v1",
        topics.CATALOG_TOOLS,
        f"tools/{TOOL}",
    ),
    (
        PilotStarted(
            tool_id=TOOL,
            pilot_id=PILOT,
            teacher_ids=["t1", "t2", "t3"],
            start_date=dt.date(2026, 1, 5),
            end_date=dt.date(2026, 2, 2),
        ),
        "org.edtech.pilot.started.v1",
        topics.PILOTS_LIFECYCLE,
        f"pilots/{PILOT}",
    ),
    (
        PilotCompleted(tool_id=TOOL, pilot_id=PILOT, decision="adopt", decided_at=NOW),
        "org.edtech.pilot.completed.v1",
        topics.PILOTS_LIFECYCLE,
        f"pilots/{PILOT}",
    ),
    (
        PilotCancelled(
            tool_id=TOOL, pilot_id=PILOT, cancelled_at=NOW, was_started=True, active_pilots_remaining=0
        ),
        "org.edtech.pilot.cancelled.v1",
        topics.PILOTS_LIFECYCLE,
        f"pilots/{PILOT}",
    ),
    (
        ToolRetirementScheduled(
            tool_id=TOOL,
            retirement_id=uuid.uuid4(),
            tool_name="Quizlet",
            notice_starts_at=NOW,
            notice_ends_at=NOW + dt.timedelta(days=30),
            archive_location="https://drive.example/archive",
            teacher_ids=["t-1001"],
            scheduled_by="edtech-1",
        ),
        "org.edtech.tool.retirement_scheduled.v1",
        topics.CATALOG_TOOLS,
        f"tools/{TOOL}",
    ),
    (
        ToolRetirementCancelled(
            tool_id=TOOL,
            retirement_id=uuid.uuid4(),
            tool_name="Quizlet",
            cancelled_by="edtech-1",
            cancelled_at=NOW,
        ),
        "org.edtech.tool.retirement_cancelled.v1",
        topics.CATALOG_TOOLS,
        f"tools/{TOOL}",
    ),
    (
        LicenseRecorded(
            tool_id=TOOL,
            license_id=uuid.uuid4(),
            seats=400,
            teacher_seats=25,
            price_total=1800.0,
            term_start=dt.date(2026, 8, 1),
            term_end=dt.date(2027, 7, 31),
            recorded_at=NOW,
        ),
        "org.edtech.license.recorded.v1",
        topics.CATALOG_TOOLS,
        f"tools/{TOOL}",
    ),
    (
        LicenseSeatsUsed(
            tool_id=TOOL,
            license_id=uuid.uuid4(),
            window_start=dt.date(2026, 8, 1),
            window_end=dt.date(2027, 1, 29),
            seats_purchased=400,
            seats_used=310,
            teachers_active=19,
        ),
        "org.edtech.license.seats_used.v1",
        topics.ANALYTICS_SIGNALS,
        f"tools/{TOOL}",
    ),
    (
        TamAnswered(
            tool_id=TOOL,
            pilot_id=PILOT,
            teacher_id="t-1001",
            phase="post",
            overall=TamCount(answers=10, positive=9),
            dimensions={"ease_of_use": TamCount(answers=4, positive=4)},
            scale_min=1,
            scale_max=5,
            threshold=4,
            buy_in_target=0.85,
            answered_at=NOW,
        ),
        "org.edtech.pilot.tam_answered.v1",
        topics.PILOTS_LIFECYCLE,
        f"pilots/{PILOT}",
    ),
    (
        TimeOnTaskFell(
            tool_id=TOOL,
            pilot_id=PILOT,
            teacher_id="t-1001",
            baseline=WeekOnTask(week=1, observations=2, on_task=45, present=50, time_on_task=0.9),
            observed=WeekOnTask(week=3, observations=1, on_task=18, present=25, time_on_task=0.72),
            drop=0.18,
            threshold=0.1,
            detected_at=NOW,
        ),
        "org.edtech.pilot.time_on_task_fell.v1",
        topics.PILOTS_LIFECYCLE,
        f"pilots/{PILOT}",
    ),
    (
        ErrorLogged(
            tool_id=TOOL, error_id=uuid.uuid4(), occurred_at=NOW, severity="high", description="froze"
        ),
        "org.edtech.error.logged.v1",
        topics.PILOTS_ERRORS,
        f"tools/{TOOL}",
    ),
    (
        UtilizationDropped(
            tool_id=TOOL,
            window_start=dt.date(2026, 1, 1),
            window_end=dt.date(2026, 1, 28),
            utilization=0.2,
            threshold=0.3,
            active_teachers=2,
            licensed_teachers=10,
        ),
        "org.edtech.utilization.dropped.v1",
        topics.ANALYTICS_SIGNALS,
        f"tools/{TOOL}",
    ),
    (
        LicenseDormant(
            tool_id=TOOL,
            window_start=dt.date(2026, 1, 1),
            window_end=dt.date(2026, 1, 28),
            seats_purchased=100,
            seats_active=40,
            dormant_seats=60,
            dormant_cost=300.0,
        ),
        "org.edtech.license.dormant.v1",
        topics.ANALYTICS_SIGNALS,
        f"tools/{TOOL}",
    ),
    (
        OutcomeEvidenceAttached(
            tool_id=TOOL,
            analysis_id=uuid.uuid4(),
            tier=3,
            finding="positive",
            summary="a statistically significant positive effect: g = 0.31",
            link="https://edtech.district.example/api/analytics/outcomes/analyses/1",
            attached_by="edtech-1",
        ),
        "org.edtech.outcome.evidence-attached.v1",
        topics.ANALYTICS_SIGNALS,
        f"tools/{TOOL}",
    ),
    (
        DistrictTimeZoneChanged(
            district_id="district-1", time_zone="America/Los_Angeles", revision=1, changed_at=NOW
        ),
        "org.edtech.district.time_zone_changed.v1",
        topics.ANALYTICS_DISTRICT,
        "districts/district-1",
    ),
]


@pytest.mark.parametrize(
    ("payload", "event_type", "topic", "subject"), EXAMPLES, ids=[type(e[0]).__name__ for e in EXAMPLES]
)
def test_each_contract_has_its_type_topic_and_key(
    payload: EventPayload, event_type: str, topic: str, subject: str
) -> None:
    assert payload.event_type() == event_type
    assert EVENT_TYPES[event_type] is type(payload)
    assert payload.topic == topic
    assert topic in topics.ALL_TOPICS
    # keyed by tool: one tool's events stay in order; a district's settings by district
    assert payload.key() == ("district-1" if topic == topics.ANALYTICS_DISTRICT else str(TOOL))
    assert payload.subject() == subject


def test_every_contract_is_registered_once() -> None:
    assert len(EVENT_TYPES) == len(EXAMPLES)
    assert {type(e[0]) for e in EXAMPLES} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("payload", [e[0] for e in EXAMPLES], ids=[type(e[0]).__name__ for e in EXAMPLES])
def test_envelope_round_trip(payload: EventPayload) -> None:
    event = CloudEvent.wrap(payload, source="/edtech/test", district_id="district-1")
    parsed = CloudEvent.from_bytes(event.to_bytes())
    assert parsed == event
    assert parsed.payload() == payload
    doc = orjson.loads(event.to_bytes())
    assert doc["specversion"] == "1.0"
    assert doc["datacontenttype"] == "application/json"
    assert doc["districtid"] == "district-1"
    assert doc["type"] == payload.event_type()
    assert doc["subject"] == payload.subject()
    assert doc["id"] and doc["source"] == "/edtech/test"
    assert dt.datetime.fromisoformat(doc["time"]).tzinfo is not None


def _encoded(**changes: Any) -> dict[str, Any]:
    event = CloudEvent.wrap(EXAMPLES[0][0], source="/edtech/test", district_id="district-1")
    doc: dict[str, Any] = orjson.loads(event.to_bytes())
    for name, value in changes.items():
        if value is None:
            doc.pop(name)
        else:
            doc[name] = value
    return doc


@pytest.mark.parametrize("attribute", ["id", "source", "type", "specversion", "districtid", "data"])
def test_a_received_event_must_carry_the_required_attributes(attribute: str) -> None:
    with pytest.raises(ValueError, match=attribute):
        CloudEvent.from_bytes(orjson.dumps(_encoded(**{attribute: None})))


@pytest.mark.parametrize(
    "changes",
    [
        {"specversion": "0.3"},
        {"id": ""},
        {"source": ""},
        {"districtid": ""},
        {"time": "2026-03-02T14:30:00"},
        {"data": "not an object"},
    ],
    ids=["specversion", "empty-id", "empty-source", "empty-district", "naive-time", "data"],
)
def test_invalid_attributes_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CloudEvent.from_bytes(orjson.dumps(_encoded(**changes)))


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"null"])
def test_malformed_encodings_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        CloudEvent.from_bytes(raw)


def test_unknown_fields_and_extensions_are_ignored() -> None:
    doc = _encoded(traceparent="00-abc-def-01")
    doc["data"]["added_in_a_later_version"] = {"anything": 1}
    event = CloudEvent.from_bytes(orjson.dumps(doc))
    payload = event.payload()
    assert payload == EXAMPLES[0][0]
    assert not hasattr(payload, "added_in_a_later_version")
    assert event.model_extra == {"traceparent": "00-abc-def-01"}


def test_unknown_event_type_has_no_payload() -> None:
    event = CloudEvent.from_bytes(orjson.dumps(_encoded(type="org.edtech.something.new.v1")))
    assert event.payload() is None


def test_payloads_are_immutable_and_validated() -> None:
    with pytest.raises(ValueError):
        UtilizationDropped(
            tool_id=TOOL,
            window_start=dt.date(2026, 1, 1),
            window_end=dt.date(2026, 1, 28),
            utilization=1.5,
            threshold=0.3,
            active_teachers=2,
            licensed_teachers=10,
        )
    with pytest.raises(ValueError):
        ToolRegistered(tool_id=TOOL, tool_name="X", status="unknown-status")
    payload = ToolRegistered(tool_id=TOOL, tool_name="X", status="proposed")
    with pytest.raises(ValueError):
        payload.tool_name = "Y"  # type: ignore[misc]


def test_dead_letter_topic_is_per_group() -> None:
    assert topics.dead_letter_topic("catalog") == "edtech.dlq.catalog.v1"


def test_payload_timestamps_are_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    local = ErrorLogged(
        tool_id=TOOL,
        error_id=uuid.uuid4(),
        occurred_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=paris),
        severity="low",
        description="slow",
    )
    assert local.occurred_at == dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    assert local.occurred_at.utcoffset() == dt.timedelta(0)
    naive = PilotCompleted(
        tool_id=TOOL, pilot_id=PILOT, decision="reject", decided_at=dt.datetime(2026, 3, 2, 8)
    )
    assert naive.decided_at == dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # read as UTC, not refused
    event = CloudEvent.wrap(local, source="/edtech/test", district_id="district-1")
    assert CloudEvent.from_bytes(event.to_bytes()).payload() == local


# --- on Kafka: binary content mode (CloudEvents Kafka protocol binding) ---


@pytest.mark.parametrize("payload", [e[0] for e in EXAMPLES], ids=[type(e[0]).__name__ for e in EXAMPLES])
def test_binary_mode_round_trip(payload: EventPayload) -> None:
    event = CloudEvent.wrap(payload, source="/edtech/test", district_id="district-1")
    headers, value = event.to_kafka()
    assert orjson.loads(value) == event.model_dump(mode="json")["data"]
    assert headers["content-type"] == "application/json"
    assert headers["ce_specversion"] == "1.0" and headers["ce_districtid"] == "district-1"
    assert headers["ce_time"].endswith("Z") and headers["ce_subject"] == payload.subject()
    parsed = CloudEvent.from_kafka(headers, value)
    assert parsed == event and parsed.payload() == payload


def test_the_three_encodings_read_alike() -> None:
    event = CloudEvent.wrap(EXAMPLES[0][0], source="/edtech/test", district_id="district-1")
    headers, value = event.to_kafka()
    shouting = {name.upper(): text for name, text in headers.items()}  # header names case-insensitive
    structured = {"content-type": "application/cloudevents+json; charset=UTF-8"}
    earlier = {"ce_id": event.id, "ce_type": event.type, "district_id": "district-1"}  # before binary mode
    assert CloudEvent.from_kafka(shouting, value) == event
    assert CloudEvent.from_kafka(structured, event.to_bytes()) == event
    assert CloudEvent.from_kafka(earlier, event.to_bytes()) == event
    assert CloudEvent.from_kafka({}, event.to_bytes()) == event
    with_charset = {**headers, "content-type": "application/json; charset=utf-8"}
    assert CloudEvent.from_kafka(with_charset, value) == event


@pytest.mark.parametrize("attribute", ["id", "source", "type", "districtid"])
def test_a_binary_record_must_carry_the_required_attributes(attribute: str) -> None:
    headers, value = CloudEvent.wrap(EXAMPLES[0][0], source="/s", district_id="d").to_kafka()
    del headers[f"ce_{attribute}"]
    with pytest.raises(ValueError, match=attribute):
        CloudEvent.from_kafka(headers, value)


@pytest.mark.parametrize(
    ("changes", "value"),
    [
        ({"content-type": "application/xml"}, b"<a/>"),
        ({}, b""),  # no data
        ({}, b"not json"),
        ({}, b"[1, 2]"),
        ({"ce_time": "2026-03-02T14:30:00"}, None),  # no time zone
        ({"ce_specversion": "0.3"}, None),
    ],
    ids=["xml", "no-data", "not-json", "not-an-object", "naive-time", "specversion"],
)
def test_malformed_binary_records_are_refused(changes: dict[str, str], value: bytes | None) -> None:
    headers, data = CloudEvent.wrap(EXAMPLES[0][0], source="/s", district_id="d").to_kafka()
    with pytest.raises(ValueError):
        CloudEvent.from_kafka({**headers, **changes}, data if value is None else value)
