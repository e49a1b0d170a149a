"""Analytics models."""

from services.analytics.db import Base

__all__ = ["Base"]
