"""Gateway: the one public entry point; authenticates, routes to the services, one OpenAPI."""
