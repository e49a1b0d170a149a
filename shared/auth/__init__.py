"""Authentication: OIDC bearer tokens validated against JWKS, and the development issuer."""

from shared.auth.dev_issuer import DevIssuer
from shared.auth.tokens import Principal, TokenVerifier

__all__ = ["DevIssuer", "Principal", "TokenVerifier"]
