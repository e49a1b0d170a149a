"""The platform's services: gateway, catalog, pilots and analytics."""
