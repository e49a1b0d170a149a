"""Retention: usage older than a district's school years is deleted; monthly partitions are kept."""
