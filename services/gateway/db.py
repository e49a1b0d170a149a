"""The gateway's schema: who may sign in (districts' identity providers), sessions, the platform's
signing keys and the sign-in audit. The gateway publishes no events, so it has no outbox."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata

SCHEMA = "gateway"


class Base(DeclarativeBase):
    """Base of every gateway model; tables live in the `gateway` schema."""

    metadata = make_metadata(SCHEMA)
