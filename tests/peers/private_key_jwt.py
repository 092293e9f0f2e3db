#!/usr/bin/env python3
"""private_key_jwt (RFC 7523) against the machine endpoints, with Authlib as the client.

usage:
  private_key_jwt.py keygen
      prints {"public_jwk": {...}, "private_pem": "..."} (RSA 2048, with a kid)
  private_key_jwt.py grant ISSUER_URL CLIENT_ID PEM_FILE SCOPE PUBLIC_BASE
      Authlib's OAuth2Session with PrivateKeyJWT gets a client_credentials token at the
      issuer's token endpoint (assertion audience = the token endpoint as the metadata names
      it), checks it, introspects it with the same authentication; prints {"ok": true, ...}.
  private_key_jwt.py assertion CLIENT_ID PEM_FILE AUDIENCE [EXPIRES_IN]
      prints one signed assertion (for replay and expiry checks by the caller).

PUBLIC_BASE (the server's configured base URL) in the metadata's URLs is replaced by the
scheme, host and port of ISSUER_URL to reach the server; the assertion keeps the configured
URL as its audience, as a real client would.
"""
import json
import sys
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import RSAKey

TIMEOUT = 15


def keygen():
    key = RSAKey.generate_key(2048, auto_kid=True)
    print(json.dumps({"public_jwk": key.as_dict(private=False), "private_jwk": key.as_dict(private=True), "private_pem": key.as_pem(private=True).decode()}))
    return 0


def reach(url, issuer_url, public_base):
    if public_base and url.startswith(public_base):
        parts = urlsplit(issuer_url)
        return f"{parts.scheme}://{parts.netloc}{url[len(public_base):]}"
    return url


def grant(issuer_url, client_id, pem_file, scope, public_base):
    pem = open(pem_file).read()
    meta = requests.get(f"{issuer_url}/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    if "private_key_jwt" not in meta.get("token_endpoint_auth_methods_supported", []):
        return fail("metadata", meta)
    token_endpoint = meta["token_endpoint"]
    session = OAuth2Session(
        client_id=client_id,
        client_secret=pem,
        token_endpoint_auth_method="private_key_jwt",
        default_timeout=TIMEOUT,
        trust_env=False,
    )
    # The assertion's audience: the token endpoint as the server names it.
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    token = session.fetch_token(reach(token_endpoint, issuer_url, public_base), grant_type="client_credentials", scope=scope)
    if token.get("token_type") != "Bearer" or not token.get("access_token") or token.get("scope") != scope:
        return fail("token", {k: v for k, v in token.items() if k != "access_token"})
    resp = session.introspect_token(reach(meta["introspection_endpoint"], issuer_url, public_base), token=token["access_token"])
    body = resp.json()
    if resp.status_code != 200 or body.get("active") is not True or body.get("client_id") != client_id:
        return fail("introspect", body)
    print(json.dumps({"ok": True, "scope": token["scope"], "introspected_client_id": body["client_id"], "token_use": body.get("token_use")}))
    return 0


def assertion(client_id, pem_file, audience, expires_in=None):
    pem = open(pem_file).read()
    kwargs = {} if expires_in is None else {"expires_in": int(expires_in)}
    print(private_key_jwt_sign(RSAKey.import_key(pem), client_id, audience, alg="RS256", **kwargs))
    return 0


def fail(step, detail):
    print(json.dumps({"ok": False, "failed": step, "detail": detail}))
    return 1


def main(argv):
    if argv[:1] == ["keygen"]:
        return keygen()
    if argv[:1] == ["grant"] and len(argv) == 6:
        return grant(*argv[1:])
    if argv[:1] == ["assertion"] and len(argv) in (4, 5):
        return assertion(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
