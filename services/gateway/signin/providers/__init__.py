"""The districts' identity providers, registered through the API (`/auth/providers`)."""
