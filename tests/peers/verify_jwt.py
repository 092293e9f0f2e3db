#!/usr/bin/env python3
"""Independent check of an AuthService access token with PyJWT: fetch the live JWKS, pick the
key by `kid`, verify the signature, `iss`, `aud` and `exp`, and print the claims as JSON.

usage: verify_jwt.py JWKS_URL TOKEN ISSUER AUDIENCE
Exit status 0 when valid, 1 when PyJWT rejects the token.
"""
import json
import sys

import jwt
from jwt import PyJWKClient


def main() -> int:
    jwks_url, token, issuer, audience = sys.argv[1:5]
    try:
        key = PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["ES256", "RS256", "EdDSA"],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except Exception as err:  # noqa: BLE001 - report any rejection
        print(json.dumps({"error": type(err).__name__, "detail": str(err)}))
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
