"""What the analytics service publishes (through its outbox) and the events it consumes."""

from __future__ import annotations

from typing import Any

from services.analytics.db import outbox as outbox_table
from shared.outbox import Outbox

outbox = Outbox(outbox_table, source="/edtech/analytics")

HANDLERS: dict[Any, Any] = {}
