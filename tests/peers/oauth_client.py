#!/usr/bin/env python3
"""Independent check of the machine-to-machine endpoints with Authlib's OAuth 2.0 client: read
the issuer's RFC 8414 metadata, get client_credentials tokens with client_secret_basic and
client_secret_post, introspect (RFC 7662), revoke (RFC 7009), introspect again, and present a
wrong secret.

usage: oauth_client.py client_credentials ISSUER_URL CLIENT_ID CLIENT_SECRET SCOPE [PUBLIC_BASE]

The endpoint URLs in the metadata are built from the server's configured base URL; when
PUBLIC_BASE is given (e.g. http://localhost:8080), a leading PUBLIC_BASE in the issuer and in
every endpoint URL is replaced by the scheme, host and port of ISSUER_URL.

Prints one JSON object: {"ok": true, "steps": {...}} and exits 0 when every check passes;
{"ok": false, "failed": STEP, "detail": ..., "steps": {...}} and exit status 1 otherwise
(2 for a usage error). Secrets and tokens are never printed.
"""
import json
import sys
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError

TIMEOUT = 15
ENDPOINTS = ("token_endpoint", "introspection_endpoint", "revocation_endpoint")


class Failed(Exception):
    def __init__(self, step, detail):
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def check(step, condition, detail):
    if not condition:
        raise Failed(step, detail)


def body_of(resp):
    """A response body for a report: JSON when it is JSON, else (the start of) the text."""
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]


def session(client_id, client_secret, method):
    return OAuth2Session(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        default_timeout=TIMEOUT,
        # A local test server: no proxies or .netrc from the environment.
        trust_env=False,
    )


def rewrite(url, public_base, origin):
    """`url` with a leading `public_base` replaced by `origin`."""
    if public_base and isinstance(url, str) and url.startswith(public_base):
        rest = url[len(public_base) :]
        if rest == "" or rest[0] in "/?#":
            return origin + rest
    return url


def metadata(issuer_url, public_base):
    step = "metadata"
    parts = urlsplit(issuer_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    with requests.Session() as http:
        http.trust_env = False
        resp = http.get(
            f"{issuer_url}/.well-known/oauth-authorization-server", timeout=TIMEOUT
        )
    check(step, resp.status_code == 200, {"status": resp.status_code, "body": body_of(resp)})
    meta = resp.json()
    check(step, isinstance(meta, dict), {"body": meta})
    for key in ("issuer",) + ENDPOINTS:
        check(step, isinstance(meta.get(key), str) and meta[key], f"{key} missing: {meta}")
        meta[key] = rewrite(meta[key], public_base, origin)
    check(
        step,
        meta["issuer"] == issuer_url,
        f"issuer {meta['issuer']!r} is not {issuer_url!r}",
    )
    for key in ENDPOINTS:
        check(
            step,
            meta[key].startswith(origin + "/"),
            f"{key} {meta[key]!r} is not on {origin}",
        )
    methods = meta.get("token_endpoint_auth_methods_supported")
    if methods is not None:
        for method in ("client_secret_basic", "client_secret_post"):
            check(step, method in methods, f"{method} not in {methods}")
    grants = meta.get("grant_types_supported")
    if grants is not None:
        check(step, "client_credentials" in grants, f"client_credentials not in {grants}")
    return meta


def fetch(step, client, url, scope):
    try:
        token = client.fetch_token(url, grant_type="client_credentials", scope=scope)
    except OAuthError as err:
        raise Failed(step, {"error": err.error, "description": err.description}) from err
    summary = {k: token.get(k) for k in ("token_type", "expires_in", "scope")}
    check(step, token.get("token_type") == "Bearer", summary)
    check(step, isinstance(token.get("access_token"), str) and token["access_token"], summary)
    check(step, isinstance(token.get("expires_in"), int) and token["expires_in"] > 0, summary)
    granted = token.get("scope")
    check(step, isinstance(granted, str) and granted, f"no scope in the answer: {summary}")
    check(
        step,
        set(granted.split()) == set(scope.split()),
        f"granted {granted!r}, asked {scope!r}",
    )
    return token, summary


def introspect(step, client, url, access_token):
    resp = client.introspect_token(url, token=access_token)
    answer = body_of(resp)
    check(step, resp.status_code == 200, {"status": resp.status_code, "body": answer})
    check(step, isinstance(answer, dict), {"body": answer})
    return answer


def run(issuer_url, client_id, client_secret, scope, public_base, steps, at):
    """The checks in order; `at["step"]` names the step under way (for unexpected errors)."""
    at["step"] = "metadata"
    meta = metadata(issuer_url, public_base)
    steps["metadata"] = {k: meta[k] for k in ("issuer",) + ENDPOINTS}

    at["step"] = "token_basic"
    basic = session(client_id, client_secret, "client_secret_basic")
    token, steps["token_basic"] = fetch("token_basic", basic, meta["token_endpoint"], scope)

    at["step"] = "token_post"
    post = session(client_id, client_secret, "client_secret_post")
    _, steps["token_post"] = fetch("token_post", post, meta["token_endpoint"], scope)

    step = at["step"] = "introspect_active"
    answer = introspect(step, basic, meta["introspection_endpoint"], token["access_token"])
    steps[step] = {
        k: answer.get(k) for k in ("active", "client_id", "scope", "token_type", "token_use")
    }
    check(step, answer.get("active") is True, steps[step])
    check(step, answer.get("client_id") == client_id, steps[step])
    check(step, answer.get("scope") == token["scope"], steps[step])
    check(step, answer.get("token_type") == "Bearer", steps[step])

    step = at["step"] = "revoke"
    resp = basic.revoke_token(
        meta["revocation_endpoint"],
        token=token["access_token"],
        token_type_hint="access_token",
    )
    steps[step] = {"status": resp.status_code}
    check(step, resp.status_code == 200, {"status": resp.status_code, "body": body_of(resp)})

    step = at["step"] = "introspect_revoked"
    answer = introspect(step, basic, meta["introspection_endpoint"], token["access_token"])
    steps[step] = {"active": answer.get("active")}
    check(step, answer.get("active") is False, answer)

    step = at["step"] = "wrong_secret"
    last = client_secret[-1:]
    wrong_secret = client_secret[:-1] + ("1" if last == "0" else "0")
    wrong = session(client_id, wrong_secret, "client_secret_basic")
    seen = {}

    def remember(resp):
        seen["status"] = resp.status_code
        seen["www_authenticate"] = resp.headers.get("WWW-Authenticate")
        return resp

    wrong.register_compliance_hook("access_token_response", remember)
    try:
        wrong.fetch_token(meta["token_endpoint"], grant_type="client_credentials", scope=scope)
    except OAuthError as err:
        steps[step] = {"error": err.error, **seen}
        check(step, err.error == "invalid_client", steps[step])
        check(step, seen.get("status") == 401, steps[step])
        check(step, bool(seen.get("www_authenticate")), steps[step])
    else:
        raise Failed(step, {"detail": "a wrong secret got a token", **seen})


def main() -> int:
    args = sys.argv[1:]
    if len(args) not in (5, 6) or args[0] != "client_credentials":
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        print(json.dumps({"ok": False, "failed": "usage", "detail": "bad arguments"}))
        return 2
    _, issuer_url, client_id, client_secret, scope = args[:5]
    issuer_url = issuer_url.rstrip("/")
    public_base = args[5].rstrip("/") if len(args) == 6 else None

    steps = {}
    at = {"step": "start"}
    try:
        run(issuer_url, client_id, client_secret, scope, public_base, steps, at)
    except Failed as err:
        print(json.dumps({"ok": False, "failed": err.step, "detail": err.detail, "steps": steps}))
        return 1
    except Exception as err:  # noqa: BLE001 - report anything that went wrong
        detail = f"{type(err).__name__}: {err}"
        print(json.dumps({"ok": False, "failed": at["step"], "detail": detail, "steps": steps}))
        return 1
    print(json.dumps({"ok": True, "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
