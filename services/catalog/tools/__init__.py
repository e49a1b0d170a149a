"""Tools: registration, reading, listing and the lifecycle state machine."""
