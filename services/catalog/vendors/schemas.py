"""Request and response bodies for vendors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class VendorCreate(BaseModel):
    """A vendor to add to the district."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=500)
    contact_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    privacy_policy_url: str | None = Field(default=None, max_length=500)
    dpa_signed: bool = Field(
        default=False, description="A data privacy agreement is signed with the district."
    )


class VendorUpdate(BaseModel):
    """Fields to change on a vendor."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=500)
    contact_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    privacy_policy_url: str | None = Field(default=None, max_length=500)
    dpa_signed: bool | None = None


class VendorMemberCreate(BaseModel):
    """Invite a person to act for the vendor: its own tools' standards and documents, nothing else."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        min_length=1, max_length=200, description="Their subject at the district's identity provider."
    )


class VendorMemberRead(BaseModel):
    """An invited person of a vendor."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vendor_id: uuid.UUID
    subject: str
    invited_by: str
    invited_at: dt.datetime


class VendorRead(BaseModel):
    """A vendor as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    website: str | None
    contact_email: str | None
    privacy_policy_url: str | None
    dpa_signed: bool
    created_at: dt.datetime
    updated_at: dt.datetime
