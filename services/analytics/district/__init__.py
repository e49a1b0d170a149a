"""district."""
