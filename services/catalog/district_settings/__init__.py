"""District settings: a district's own values for the catalog's domain numbers."""
