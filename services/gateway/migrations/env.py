"""Alembic environment of the gateway (its version table lives in the `gateway` schema)."""

import services.gateway.models  # noqa: F401  (registers every table on the metadata)
from services.gateway.db import Base
from shared.migrations import run_env

run_env(Base.metadata)
