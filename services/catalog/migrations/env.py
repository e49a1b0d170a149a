"""Alembic environment of the catalog (its version table lives in the `catalog` schema)."""

import services.catalog.models  # noqa: F401  (registers every table on the metadata)
from services.catalog.db import Base
from shared.migrations import run_env

run_env(Base.metadata)
