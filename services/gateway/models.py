"""The gateway's tables: identity providers, pending logins, sessions, signing keys, the audit."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.gateway.db import Base
from shared.db import JSONType, UTCDateTime, new_id

URL = String(2048)
NAME = String(200)


class IdentityProvider(Base):
    """A district's OpenID Provider: where its people sign in, and how their claims read."""

    __tablename__ = "identity_provider"
    __table_args__ = (Index("ix_identity_provider_issuer", "issuer"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(NAME)
    preset: Mapped[str] = mapped_column(String(20))
    issuer: Mapped[str] = mapped_column(URL)
    discovery_url: Mapped[str] = mapped_column(URL)
    client_id: Mapped[str] = mapped_column(String(400))
    client_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Encrypted with the gateway's secret key (`signin.secrets`); never returned by the API."""
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    tenant_claim: Mapped[str | None] = mapped_column(String(100))
    tenant: Mapped[str | None] = mapped_column(String(400))
    roles_claim: Mapped[str | None] = mapped_column(String(100))
    role_map: Mapped[dict[str, str]] = mapped_column(JSONType)
    default_roles: Mapped[list[str]] = mapped_column(JSONType)
    sourced_id_claim: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """A sign-in sent to a provider and not yet back: its state, nonce and PKCE verifier (used once)."""

    __tablename__ = "login_attempt"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    return_to: Mapped[str] = mapped_column(URL)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class WebSession(Base):
    """A signed-in person: the cookie holds a random value, the table only its SHA-256."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    district_id: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSONType)
    name: Mapped[str | None] = mapped_column(NAME)
    email: Mapped[str | None] = mapped_column(String(320))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    """None: signed in with the development issuer."""
    idp_subject: Mapped[str | None] = mapped_column(String(400))
    id_token: Mapped[str | None] = mapped_column(Text)
    """The provider's ID token, kept as the hint of RP-initiated logout."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """A key of the platform's token issuer: published from `created_at`, signing from `signs_from`,
    published until `expires_at` (after the last token it signed has expired)."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    """PKCS#8 PEM, encrypted with the gateway's secret key."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signs_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuthEvent(Base):
    """The sign-in audit: sign-ins, failed sign-ins, sign-outs and provider changes."""

    __tablename__ = "auth_event"
    __table_args__ = (Index("ix_auth_event_district_id_at", "district_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    district_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(400))
    """Who: the person signing in or out, or who changed a provider."""
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
