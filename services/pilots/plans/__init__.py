"""Pilot plans and their lifecycle: planned -> active -> evaluating -> decided, or cancelled."""
