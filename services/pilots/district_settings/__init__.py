"""Per-district pilot settings: the domain numbers each district may change."""
