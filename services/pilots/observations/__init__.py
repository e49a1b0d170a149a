"""Observation schedule and classroom observations: time-on-task, SAMR, PICRAT, summaries."""
