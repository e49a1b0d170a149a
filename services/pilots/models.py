"""Pilots models."""

from services.pilots.db import Base

__all__ = ["Base"]
