"""Catalog tools as analytics knows them, and their error counts."""
