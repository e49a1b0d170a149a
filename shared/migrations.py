"""Alembic per service: each history lives in `services/<name>/migrations`, its version table in
the service's own schema, and each service can be migrated alone.

A service's `migrations/env.py` is two lines: import its MetaData and call `run_env(metadata)`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import Database

SERVICES_WITH_DATABASE = ("catalog", "pilots", "analytics")
"""The services behind the gateway, each with its schema, outbox and events."""
SCHEMAS = (*SERVICES_WITH_DATABASE, "gateway")
"""Every schema and its Alembic history: the services' and the gateway's (sign-in)."""


def alembic_config(service: str, database_url: str) -> Config:
    """The Alembic configuration of one service, pointed at `database_url`."""
    package = importlib.import_module(f"services.{service}")
    assert package.__file__ is not None
    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    cfg.set_main_option("version_locations", str(Path(package.__file__).parent / "migrations" / "versions"))
    cfg.attributes["database_url"] = database_url
    return cfg


def service_database_url(service: str) -> str:
    """The database URL a service's settings name (its `<SERVICE>_DATABASE_URL`)."""
    settings_module = importlib.import_module(f"services.{service}.config")
    settings: Any = settings_module.Settings()
    return str(settings.database_url)


def upgrade(service: str, database_url: str | None = None, revision: str = "head") -> None:
    """Migrate one service's schema up to `revision`."""
    command.upgrade(alembic_config(service, database_url or service_database_url(service)), revision)


def downgrade(service: str, database_url: str | None = None, revision: str = "base") -> None:
    """Migrate one service's schema down to `revision`."""
    command.downgrade(alembic_config(service, database_url or service_database_url(service)), revision)


def _ensure_schema(conn: Connection, schema: str) -> None:
    if conn.dialect.name != "postgresql":
        return
    exists = conn.execute(
        text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
    ).scalar()
    if not exists:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.commit()


def run_env(metadata: MetaData) -> None:
    """The body of a service's `env.py`: run its migrations online against its own schema."""
    schema = metadata.schema
    assert schema is not None, "the service MetaData must name its schema"
    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migration")

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "schema" or name == schema

    def run(conn: Connection) -> None:
        _ensure_schema(conn, schema)
        context.configure(
            connection=conn,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
            compare_type=True,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        db = Database(url, schema, pool_size=1)
        try:
            async with db.engine.connect() as conn:
                await conn.run_sync(run)
                await conn.commit()
        finally:
            await db.dispose()

    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    # Called from async code (a test or benchmark): run the migration's own loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()
