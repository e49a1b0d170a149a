"""Retirement notices: one per teacher who used a retiring tool, sent by email and listed for them."""
