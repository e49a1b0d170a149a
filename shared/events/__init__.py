"""Event contracts, the CloudEvents envelope and topic names."""

from shared.events.contracts import (
    EVENT_TYPES,
    ErrorLogged,
    EventPayload,
    LicenseDormant,
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
)
from shared.events.envelope import CloudEvent

__all__ = [
    "EVENT_TYPES",
    "CloudEvent",
    "ErrorLogged",
    "EventPayload",
    "LicenseDormant",
    "OutcomeEvidenceAttached",
    "PilotCancelled",
    "PilotCompleted",
    "PilotStarted",
    "TamAnswered",
    "TamCount",
    "TimeOnTaskFell",
    "ToolRegistered",
    "ToolRetirementCancelled",
    "ToolRetirementScheduled",
    "ToolStatusChanged",
    "UtilizationDropped",
    "WeekOnTask",
]
