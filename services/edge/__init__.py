"""The public edge: nginx in the distributed mode, configured from one definition of the routes."""
