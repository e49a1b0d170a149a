"""The catalog's schema: its declarative base and the platform tables (outbox, inbox)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata
from shared.outbox import outbox_table, processed_event_table

SCHEMA = "catalog"


class Base(DeclarativeBase):
    """Base of every catalog model; tables live in the `catalog` schema."""

    metadata = make_metadata(SCHEMA)


outbox = outbox_table(Base.metadata)
processed_events = processed_event_table(Base.metadata)
