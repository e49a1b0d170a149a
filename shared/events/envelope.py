"""The CloudEvents 1.0 envelope every event travels in, plus the district id."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.contracts import EVENT_TYPES, EventPayload

REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "districtid", "data")
"""Attributes a received event must carry (CloudEvents 1.0 required ones, the district and the data)."""


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope (JSON format) with the `districtid` extension attribute."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    districtid: str = Field(min_length=1)
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls, payload: EventPayload, *, source: str, district_id: str, subject: str | None = None
    ) -> CloudEvent:
        """Put a typed payload into a new envelope."""
        return cls(
            source=source,
            type=payload.event_type(),
            subject=subject or payload.subject(),
            districtid=district_id,
            dataschema=f"urn:edtech:events:{payload.event_type()}",
            data=payload.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        """The structured-mode JSON encoding."""
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        """Parse the structured-mode JSON encoding (raises on malformed input)."""
        doc = orjson.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("a CloudEvent must be a JSON object")
        # The defaults are for building new events; a received event must carry its own: an id made
        # up here would differ on every redelivery and defeat the consumers' de-duplication.
        missing = [name for name in REQUIRED_ATTRIBUTES if name not in doc]
        if missing:
            raise ValueError(f"CloudEvent lacks required attributes: {', '.join(missing)}")
        return cls.model_validate(doc)

    def payload(self) -> EventPayload | None:
        """The typed payload, or None when this type is unknown to this version of the code."""
        model = EVENT_TYPES.get(self.type)
        return None if model is None else model.model_validate(self.data)
