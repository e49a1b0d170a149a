"""pilots."""
