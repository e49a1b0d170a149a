"""The local copy of catalog tools and their status, and the check that a tool may be piloted."""
