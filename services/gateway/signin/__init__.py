"""District sign-in: the gateway brokers each district's OpenID Provider and issues the platform's
own short-lived tokens, which every service verifies with one JWKS (README: District sign-in).

- `providers`: the districts' identity providers as data (presets for Google, Entra, Clever,
  ClassLink), registered through the API;
- `oidc`: the relying party (discovery, the authorization code flow with PKCE, ID token checks);
- `issuer`: the platform's signing keys (in the database, rotated) and the tokens it mints;
- `session`: the HTTP-only session cookie of the web pages, and the tokens a session obtains;
- `audit`: every sign-in, failed sign-in, sign-out and provider change;
- `router`: `/auth/login`, `/auth/callback`, `/auth/token`, `/auth/logout`, `/auth/jwks.json`...
"""
