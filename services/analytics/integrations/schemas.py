"""Schemas of LMS integrations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.analytics.ingest.vocabulary import validate_overrides

VocabularyOverrides = Annotated[
    dict[str, str],
    AfterValidator(validate_overrides),
    Field(
        description="Overrides of the default vocabulary: an xAPI verb IRI, a Caliper `Type:Action` "
        "(or a bare action) or a Canvas event name -> the kind it counts as.",
        examples=[{"https://lms.example/verbs/checked-in": "login", "NavigationEvent:NavigatedTo": "viewed"}],
    ),
]


class IntegrationCreate(BaseModel):
    """A new LMS integration; `tool_id` binds every event it posts to one catalog tool."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Canvas - Lincoln High"])
    tool_id: uuid.UUID | None = Field(default=None, description="Leave empty to let events name their tool.")
    vocabulary: VocabularyOverrides = Field(default_factory=dict)


class VocabularyUpdate(BaseModel):
    """An integration's vocabulary overrides, replacing the current ones."""

    model_config = ConfigDict(extra="forbid")

    vocabulary: VocabularyOverrides


class IntegrationRead(BaseModel):
    """An integration (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    tool_id: str | None
    enabled: bool
    vocabulary: dict[str, str]
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None


class Endpoint(BaseModel):
    """What an LMS administrator pastes into one standard's settings."""

    url: str = Field(description="Where the LMS sends (for xAPI: the LRS endpoint, its base URL).")
    auth: str = Field(description="How the LMS authenticates, in the words of its settings page.")
    username: str | None = Field(default=None, description="xAPI: the LRS key (Basic auth user).")
    password: str | None = Field(default=None, description="xAPI: the LRS secret (Basic auth password).")
    token: str | None = Field(default=None, description="Caliper: the Bearer token.")


class IntegrationSecretRead(IntegrationRead):
    """An integration with its credentials: shown once, at creation or rotation."""

    secret: str = Field(description="Standard Webhooks secret (`whsec_...`): sign each request with it.")
    webhook_urls: dict[str, str] = Field(description="Where to post each format signed with `secret`.")
    endpoints: dict[str, Endpoint] = Field(
        description="Per standard (`xapi`, `caliper`, `canvas`, `standard_webhooks`): the URL and "
        "credentials an LMS is configured with. All derive from `secret`: rotating it rotates them."
    )


class UnmatchedActorRead(BaseModel):
    """An actor no rostered person matched: the name its events are stored under, how it was seen."""

    model_config = ConfigDict(from_attributes=True)

    actor_key: str = Field(description="The name its events are counted under until it is matched.")
    identifiers: list[str] = Field(
        description="Every identifier seen (`kind:value`: sourced, sis, username, email, sha1, id, "
        "id.<system>, openid), tried against the roster in this order."
    )
    events: int
    first_seen: dt.datetime
    last_seen: dt.datetime


class UnrecognizedRead(BaseModel):
    """A verb, Caliper `Type:Action` or Canvas event name no vocabulary knows."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    events: int
    last_seen: dt.datetime
