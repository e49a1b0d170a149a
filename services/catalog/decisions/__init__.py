"""Pilot decisions the catalog keeps from `pilot-completed`: whether a pilot decided to adopt a tool."""
