"""SQL of sign-in: providers, pending logins, sessions, the audit and their purge."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Delete, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuthEvent, IdentityProvider, LoginAttempt, SigningKey, WebSession


class SignInRepository:
    """Queries of the gateway's sign-in tables, in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def provider(
        self, provider_id: uuid.UUID, *, district_id: str | None = None
    ) -> IdentityProvider | None:
        """A provider by id (of `district_id` when given)."""
        row = await self.session.get(IdentityProvider, provider_id)
        return row if row is not None and district_id in (None, row.district_id) else None

    async def providers(
        self, *, district_id: str | None = None, issuer: str | None = None
    ) -> Sequence[IdentityProvider]:
        """A district's providers (or those of an issuer), oldest first."""
        query = select(IdentityProvider).order_by(IdentityProvider.created_at, IdentityProvider.id)
        if district_id is not None:
            query = query.where(IdentityProvider.district_id == district_id)
        if issuer is not None:
            query = query.where(IdentityProvider.issuer == issuer)
        return (await self.session.scalars(query)).all()

    async def named(self, *, district_id: str, name: str) -> IdentityProvider | None:
        """A district's provider by name."""
        query = select(IdentityProvider).where(
            IdentityProvider.district_id == district_id, IdentityProvider.name == name
        )
        return (await self.session.scalars(query)).first()

    def add(self, row: IdentityProvider | LoginAttempt | WebSession | AuthEvent) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def delete_provider(self, row: IdentityProvider) -> None:
        """Remove a provider (its people's sessions end with it)."""
        await self.end_sessions(row.id)
        await self.session.delete(row)

    async def end_sessions(self, provider_id: uuid.UUID) -> int:
        """End the live sessions of the people who signed in with a provider; how many ended."""
        result: Any = await self.session.execute(
            update(WebSession)
            .where(WebSession.provider_id == provider_id, WebSession.ended_at.is_(None))
            .values(ended_at=func.now())
        )
        return int(result.rowcount or 0)

    async def take_attempt(self, state_hash: str, *, now: dt.datetime) -> LoginAttempt | None:
        """The pending login of a state, removed (a state is used once); None if unknown or expired."""
        row = await self.session.get(LoginAttempt, state_hash)
        if row is None:
            return None
        await self.session.delete(row)
        await self.purge_attempts(now=now)
        return row if row.expires_at > now else None

    async def purge_attempts(self, *, now: dt.datetime) -> int:
        """Remove the sign-ins abandoned at the provider (login attempts past their expiry)."""
        return await self._delete(delete(LoginAttempt).where(LoginAttempt.expires_at <= now))

    async def purge_sessions(self, *, now: dt.datetime) -> int:
        """Remove the sessions that ended or expired, with what they kept of the person."""
        return await self._delete(
            delete(WebSession).where(or_(WebSession.ended_at.is_not(None), WebSession.expires_at <= now))
        )

    async def purge_signing_keys(self, *, now: dt.datetime) -> int:
        """Remove the signing keys past their expiry (no token they signed is valid any more)."""
        return await self._delete(
            delete(SigningKey).where(SigningKey.expires_at.is_not(None), SigningKey.expires_at <= now)
        )

    async def purge_events(self, *, before: dt.datetime) -> int:
        """Remove the audit entries older than `before`."""
        return await self._delete(delete(AuthEvent).where(AuthEvent.at < before))

    async def _delete(self, statement: Delete) -> int:
        result: Any = await self.session.execute(statement)
        return int(result.rowcount or 0)

    async def live_session(self, id_hash: str, *, now: dt.datetime) -> WebSession | None:
        """A session that has neither ended nor expired."""
        row = await self.session.get(WebSession, id_hash)
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        return row

    async def events(self, *, district_id: str, limit: int, offset: int) -> tuple[Sequence[AuthEvent], int]:
        """A district's audit, newest first, and how many entries it has."""
        where = AuthEvent.district_id == district_id
        total = await self.session.scalar(select(func.count()).select_from(AuthEvent).where(where))
        rows = await self.session.scalars(
            select(AuthEvent)
            .where(where)
            .order_by(AuthEvent.at.desc(), AuthEvent.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)
