"""Vendors: the companies behind the district's tools."""
