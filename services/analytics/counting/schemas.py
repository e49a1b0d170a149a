"""How fresh a dashboard's figures are."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class Freshness(BaseModel):
    """Up to when a dashboard's usage figures are complete."""

    complete_through: dt.datetime = Field(
        description="Every usage event received before this instant is counted in the figures."
    )
    pending_events: int = Field(description="Events of the district received but not counted yet.")
    groups_current: bool = Field(
        description="False while the counters are being regrouped after a roster import "
        "(grade, subject and school figures may still follow the previous roster)."
    )
