"""Alembic environment of the analytics (its version table lives in the `analytics` schema)."""

import services.analytics.models  # registers every table on the metadata
import services.analytics.outcomes.models  # noqa: F401
from services.analytics.db import Base
from shared.migrations import run_env

run_env(Base.metadata)
