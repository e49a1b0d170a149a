"""Licenses: seats, price, term, renewal, allocation per school, cost per seat and per student."""
