"""Schemas of LMS integrations."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class IntegrationCreate(BaseModel):
    """A new LMS integration; `tool_id` binds every event it posts to one catalog tool."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Canvas - Lincoln High"])
    tool_id: uuid.UUID | None = Field(default=None, description="Leave empty to let events name their tool.")


class IntegrationRead(BaseModel):
    """An integration (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    tool_id: str | None
    enabled: bool
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
