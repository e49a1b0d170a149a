"""The CloudEvents 1.0 envelope every event travels in, plus the district id.

On Kafka an event travels in the binary content mode of the CloudEvents Kafka protocol binding
(v1.0.2): the data as the record value, `datacontenttype` as the `content-type` header and every
other attribute (extensions too) as a `ce_<name>` header; the key is the payload's key. Records
written before (the JSON envelope as the value with only `ce_id` and `ce_type` headers) and
structured-mode records (`content-type: application/cloudevents+json`) are read as well.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.contracts import EVENT_TYPES, EventPayload

REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "districtid", "data")
"""Attributes a received event must carry (CloudEvents 1.0 required ones, the district and the data)."""

CE_PREFIX = "ce_"
"""Prefix of the Kafka headers holding attributes in binary content mode."""
CONTENT_TYPE = "content-type"
"""The Kafka header holding `datacontenttype` in binary mode (the event format in structured mode)."""
STRUCTURED_MEDIA_TYPE = "application/cloudevents"
"""A `content-type` starting with this (case-insensitively) marks a structured-mode record."""


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
        cls,
        payload: EventPayload,
        *,
        source: str,
        district_id: str,
        subject: str | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> CloudEvent:
        """Put a typed payload into a new envelope (with extension attributes, e.g. `traceparent`)."""
        return cls(
            source=source,
            type=payload.event_type(),
            subject=subject or payload.subject(),
            districtid=district_id,
            dataschema=f"urn:edtech:events:{payload.event_type()}",
            data=payload.model_dump(mode="json"),
            **(extensions or {}),
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

    def to_kafka(self) -> tuple[dict[str, str], bytes]:
        """The binary-mode Kafka headers and value of this event."""
        return binary_mode(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_kafka(cls, headers: Mapping[str, str], value: bytes) -> CloudEvent:
        """Parse a Kafka record in binary mode, structured mode, or as written before binary mode
        (the JSON envelope as the value, no `content-type`); raises on malformed input."""
        lowered = {name.lower(): text for name, text in headers.items()}
        content_type = lowered.get(CONTENT_TYPE, "")
        if content_type.lower().startswith(STRUCTURED_MEDIA_TYPE):
            return cls.from_bytes(value)
        if f"{CE_PREFIX}specversion" not in lowered:
            # No content-type and no ce_specversion: a record of the earlier encoding (an old
            # event still in a topic or a dead-letter topic), whose value is the whole envelope.
            return cls.from_bytes(value)
        doc: dict[str, Any] = {
            name[len(CE_PREFIX) :]: text for name, text in lowered.items() if name.startswith(CE_PREFIX)
        }
        if content_type:
            # application/json; charset=utf-8 is the same JSON: the envelope states the media type
            doc["datacontenttype"] = _essence(content_type) if _is_json(content_type) else content_type
        if value:
            if not _is_json(content_type or "application/json"):
                raise ValueError(f"unsupported datacontenttype {content_type!r}: events carry JSON data")
            doc["data"] = orjson.loads(value)
        missing = [name for name in REQUIRED_ATTRIBUTES if name not in doc]
        if missing:
            raise ValueError(f"CloudEvent lacks required attributes: {', '.join(missing)}")
        return cls.model_validate(doc)

    def payload(self) -> EventPayload | None:
        """The typed payload, or None when this type is unknown to this version of the code."""
        model = EVENT_TYPES.get(self.type)
        return None if model is None else model.model_validate(self.data)


def binary_mode(envelope: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """The binary-mode Kafka headers and value of an envelope in its JSON form (a dict)."""
    headers: dict[str, str] = {}
    for name, value in envelope.items():
        if name == "data" or value is None:
            continue
        if name == "datacontenttype":
            headers[CONTENT_TYPE] = str(value)
        elif isinstance(value, bool):  # CloudEvents' canonical string encoding of a Boolean
            headers[CE_PREFIX + name] = "true" if value else "false"
        else:
            headers[CE_PREFIX + name] = str(value)
    data = envelope.get("data")
    if data is None:
        return headers, b""  # the binding's event without data: a record without a value
    headers.setdefault(CONTENT_TYPE, "application/json")
    return headers, orjson.dumps(data)


def _essence(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    essence = _essence(media_type)
    return essence == "application/json" or essence.endswith("+json")
