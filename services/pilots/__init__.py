"""Pilots: 4-week classroom pilots, observations, surveys, error logs, coaching and the decision."""
