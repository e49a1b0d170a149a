"""The pilot report (evidence and decision) and the three-year rollout plan of an adopted tool."""
