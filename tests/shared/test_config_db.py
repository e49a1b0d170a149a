"""Settings refuse unsafe production setups; timestamps are aware UTC on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, Table, exc, select, text

from shared.config import CommonSettings, ServiceSettings
from shared.db import UTCDateTime, try_advisory_lock, try_advisory_locks, utcnow
from tests.shared.conftest import TestSchema

PG = "postgresql+asyncpg://svc@db:5432/edtech"


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGET_")


def test_production_refuses_the_dev_issuer() -> None:
    with pytest.raises(ValidationError, match="auth_dev_issuer must be off in production"):
        ServiceSettings(environment="production", database_url=PG, auth_dev_issuer=True)
    with pytest.raises(ValidationError, match="auth_dev_issuer"):
        CommonSettings(environment="production", auth_dev_issuer=True)


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL"):
        ServiceSettings(environment="production", database_url="sqlite+aiosqlite:///var/catalog.db")


def test_development_may_use_both() -> None:
    settings = ServiceSettings(
        environment="development", database_url="sqlite+aiosqlite:///x.db", auth_dev_issuer=True
    )
    assert settings.auth_dev_issuer and not settings.json_logs
    production = ServiceSettings(environment="production", database_url=PG)
    assert production.json_logs and production.kafka_enable_idempotence and production.kafka_acks == "all"


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDGET_ENVIRONMENT", "production")
    monkeypatch.setenv("WIDGET_DATABASE_URL", PG)
    monkeypatch.setenv(
        "WIDGET_AUTH_ISSUERS",
        '[{"issuer": "https://idp.d1.example", "audience": "edtech", '
        '"jwks_url": "https://idp.d1.example/jwks", "district_id": "d1", '
        '"role_map": {"Teacher": "teacher"}}]',
    )
    settings = WidgetSettings()
    assert settings.environment == "production" and settings.database_url == PG
    assert settings.auth_issuers[0].district_id == "d1"
    assert settings.auth_issuers[0].role_map == {"Teacher": "teacher"}
    monkeypatch.setenv("WIDGET_AUTH_DEV_ISSUER", "true")
    with pytest.raises(ValidationError):
        WidgetSettings()
    monkeypatch.setenv(
        "WIDGET_AUTH_ISSUERS",
        '[{"issuer": "x", "audience": "y", "jwks_url": "z", "role_map": {"Teacher": "superuser"}}]',
    )
    with pytest.raises(ValidationError):
        WidgetSettings()


def test_utc_datetime_rejects_naive_values() -> None:
    column_type = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column_type.process_bind_param(dt.datetime(2026, 1, 1, 12, 0), dialect=None)  # type: ignore[arg-type]


async def test_utc_datetime_on_postgresql(test_schema: TestSchema) -> None:
    stamp = Table(
        "stamp",
        test_schema.metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
    )
    async with test_schema.db.engine.begin() as conn:
        await conn.run_sync(stamp.create)
    paris = dt.timezone(dt.timedelta(hours=1))
    async with test_schema.db.transaction() as session:
        await session.execute(stamp.insert().values(id=1, at=dt.datetime(2026, 1, 1, 13, 0, tzinfo=paris)))
    with pytest.raises(exc.StatementError, match="naive"):
        async with test_schema.db.transaction() as session:
            await session.execute(stamp.insert().values(id=2, at=dt.datetime(2026, 1, 1, 12, 0)))
    async with test_schema.db.transaction() as session:
        rows = (await session.execute(select(stamp.c.id, stamp.c.at))).all()
        # the session's time zone must not matter
        await session.execute(text("SET LOCAL TIME ZONE 'America/Chicago'"))
        again = await session.scalar(select(stamp.c.at))
    assert rows == [(1, dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC))]
    assert rows[0].at.utcoffset() == dt.timedelta(0)
    assert again == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC) and again.utcoffset() == dt.timedelta(0)
    assert utcnow().tzinfo is dt.UTC


async def test_some_advisory_locks_are_taken_in_order_skipping_held_ones(test_schema: TestSchema) -> None:
    names = [f"test:{test_schema.name}:{n}" for n in "abcd"]
    async with test_schema.db.transaction() as holder:
        assert await try_advisory_locks(holder, [names[1]], want=1) == [0]
        async with test_schema.db.transaction() as other:
            assert await try_advisory_locks(other, names, want=2) == [0, 2]  # b is held: a and c
            assert await try_advisory_lock(other, names[3], shared=True)  # d is free (shared)
    async with test_schema.db.transaction() as later:  # all released at commit
        assert await try_advisory_locks(later, names, want=4) == [0, 1, 2, 3]
