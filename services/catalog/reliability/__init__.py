"""Reliability: technical errors reported for a tool (`error-logged`), summarised as a note."""
