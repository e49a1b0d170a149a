"""Alembic environment of the pilots (its version table lives in the `pilots` schema)."""

import services.pilots.models  # noqa: F401  (registers every table on the metadata)
from services.pilots.db import Base
from shared.migrations import run_env

run_env(Base.metadata)
