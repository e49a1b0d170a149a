"""The pilots's schema: its declarative base and the platform tables (outbox, inbox)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata
from shared.outbox import outbox_table, processed_event_table

SCHEMA = "pilots"


class Base(DeclarativeBase):
    """Base of every pilots model; tables live in the `pilots` schema."""

    metadata = make_metadata(SCHEMA)


outbox = outbox_table(Base.metadata)
processed_events = processed_event_table(Base.metadata)
