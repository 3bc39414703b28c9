"""Bearer-token security: RS256 JWTs checked against an issuer's JWKS, Keycloak's roles,
and a local development issuer. Nothing here knows about HTTP frameworks."""
