"""What the pilots service publishes (through its outbox) and the events it consumes."""

from __future__ import annotations

from typing import Any

from services.pilots.db import outbox as outbox_table
from shared.outbox import Outbox

outbox = Outbox(outbox_table, source="/edtech/pilots")

HANDLERS: dict[Any, Any] = {}
