"""Teacher tool requests: a request puts the tool into the catalog as `proposed`."""
