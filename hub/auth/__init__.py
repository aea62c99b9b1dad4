"""API authentication: password hashing, signed access tokens, roles."""
