#!/usr/bin/env python3
"""A confidential OpenID Connect relying party built on Authlib: authorization code with PKCE
(S256) against a tenant issuer, for a first-party app (no consent screen).

usage:
  oidc_code_flow.py --issuer URL --api-key KEY --email EMAIL --password PASSWORD
                    --client-id APP_ID --redirect-uri URI
                    (--client-secret SECRET [--auth-method client_secret_basic|client_secret_post]
                     | --private-key-jwk FILE)
                    [--public-base URL]

--issuer is the tenant issuer as reached (e.g. http://127.0.0.1:41234/t/acme); the user signs
in through the REST API at the issuer's origin (`POST {BASE}/api/auth/login` with X-API-Key and
`token_transport=cookie`), which leaves the `auth_refresh` session cookie in the "browser"
(a requests session that follows no redirects). --private-key-jwk names a file holding one
private JWK (with `kid`): the app then authenticates with private_key_jwt, assertions signed by
Authlib with that key (alg from the JWK's `alg`, else RS256 / ES256 / ES384 / ES512 / EdDSA by key
type), audience the issuer. With --public-base (the server's configured base URL, e.g.
http://localhost:8080), the issuer expected in the metadata, the `iss` parameter and the ID token
is --issuer with its origin replaced by it, and a leading PUBLIC_BASE in the endpoint URLs is
replaced by the origin of --issuer to reach the server.

Steps: sign in; discovery (`{issuer}/.well-known/openid-configuration`); authorize (expect a
302 to the redirect URI with code, state and iss); code exchange and ID token validation
(signature with the JWKS, iss, aud, exp, iat, nonce, azp, at_hash when present); userinfo;
replay of the same code (expect 400 invalid_grant, then the first access token refused by
userinfo and the first refresh token refused); a second authorization; refresh (rotation); the
spent refresh token again; revocation of the newest refresh token; a refresh with it.

Prints ONE JSON object on stdout and exits 0 when the flow could be run to its end; the
protocol outcomes below are recorded, not judged (the caller asserts on them). Fields:
  ok                          true
  auth_method                 client_secret_basic | client_secret_post | private_key_jwt
  signin_status               status of POST /api/auth/login
  session_cookie              the auth_refresh cookie was set
  discovery_ok                every required metadata field checked out
  discovery_problems          [..] what did not (empty when discovery_ok)
  issuer                      the metadata's issuer
  id_token_alg                the ID token's JWS alg
  authorize_status            status of the first GET /authorize (302 expected)
  iss_param_ok                the redirect's `iss` equals the issuer
  state_ok                    the redirect's `state` equals the one sent
  token_type                  as answered by the code exchange ("Bearer")
  token_scope                 the granted scope
  has_refresh_token           the code exchange returned a refresh token
  id_token_valid              the ID token passed every check (else the run fails)
  id_token_sub, id_token_email, id_token_email_verified, id_token_aud, id_token_azp,
  id_token_acr, id_token_amr  claims of the ID token
  id_token_claims             the names of all its claims, sorted
  at_hash_checked             at_hash was present and matched the access token
  userinfo_status             status of GET /userinfo with the access token
  userinfo_sub_matches        userinfo's sub equals the ID token's
  userinfo_email, userinfo_email_verified, userinfo_name
  replay_status, replay_error the same code exchanged again (400, invalid_grant expected)
  userinfo_after_replay       status of userinfo with the first access token after the replay
  refresh_after_replay_error  error of a refresh with the first code's refresh token after the
                              replay (null when it succeeded)
  second_authorize_status     status of the second GET /authorize
  second_id_token_sub         sub of the second code exchange's ID token
  refresh_rotated             the refresh answer carried a new, different refresh token
  refresh_access_changed      ... and a different access token
  refresh_scope               the scope of the refresh answer
  refresh_id_token            "absent" or "valid" (an ID token in the refresh answer, with the
                              same iss, sub and aud)
  old_refresh_status, old_refresh_error         the spent refresh token again
  revoke_status                                 RFC 7009 revocation of the newest refresh token
  revoked_refresh_status, revoked_refresh_error a refresh with the revoked token
On an unexpected failure: the error on stderr, and on stdout
{"ok": false, "failed": STEP, "detail": ..., plus the fields observed so far}; exit status 1
(2 for a usage error). Secrets and tokens are never printed.
"""
import argparse
import json
import secrets
import sys
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

TIMEOUT = 15
LEEWAY = 60
SCOPE = "openid email profile offline_access"
ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
)


class Failed(Exception):
    def __init__(self, step, detail):
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def check(step, condition, detail):
    if not condition:
        raise Failed(step, detail)


def body_of(resp):
    try:
        return resp.json()
    except ValueError:
        return resp.text[:300]


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def http_session():
    s = requests.Session()
    s.trust_env = False  # a local test server: no proxies or .netrc from the environment
    return s


def load_private_key(path):
    """The private JWK of the file, its kid and the alg to sign with."""
    with open(path) as f:
        jwk = json.load(f)
    kty = jwk.get("kty")
    if kty == "RSA":
        key, alg = RSAKey.import_key(jwk), "RS256"
    elif kty == "EC":
        key = ECKey.import_key(jwk)
        alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(jwk.get("crv"), "ES256")
    elif kty == "OKP":
        key, alg = OKPKey.import_key(jwk), "EdDSA"
    else:
        raise Failed("private_key", f"unsupported JWK kty {kty!r}")
    return key, jwk.get("kid"), jwk.get("alg") or alg


class Peer:
    def __init__(self, args):
        self.args = args
        self.reached_issuer = args.issuer.rstrip("/")
        self.origin = origin_of(self.reached_issuer)
        self.public_base = args.public_base.rstrip("/") if args.public_base else None
        if self.public_base:
            self.issuer = self.public_base + self.reached_issuer[len(self.origin) :]
        else:
            self.issuer = self.reached_issuer
        self.base = self.reached_issuer.rsplit("/t/", 1)[0]
        self.report = {"ok": True}
        self.step = "start"
        # The user agent: holds the session cookie, follows no redirects.
        self.browser = http_session()
        # Plain calls of the RP's back end (discovery, JWKS, userinfo).
        self.api = http_session()
        self.last_status = {}

    def reach(self, url):
        """`url` as reachable: a leading PUBLIC_BASE replaced by the issuer's origin."""
        if self.public_base and isinstance(url, str) and url.startswith(self.public_base):
            rest = url[len(self.public_base) :]
            if rest == "" or rest[0] in "/?#":
                return self.origin + rest
        return url

    # ------------------------------------------------------------------ steps
    def sign_in(self):
        self.step = "signin"
        resp = self.browser.post(
            f"{self.base}/api/auth/login",
            headers={"X-API-Key": self.args.api_key},
            json={
                "email": self.args.email,
                "password": self.args.password,
                "token_transport": "cookie",
            },
            timeout=TIMEOUT,
        )
        self.report["signin_status"] = resp.status_code
        check(self.step, resp.status_code == 200, {"status": resp.status_code, "body": body_of(resp)})
        cookies = [c for c in self.browser.cookies if c.name == "auth_refresh" and c.value]
        self.report["session_cookie"] = bool(cookies)
        check(self.step, cookies, "no auth_refresh cookie after sign-in")
        for cookie in cookies:
            # A browser treats loopback http as a secure context and sends Secure cookies there;
            # Python's cookie jar would not.
            if cookie.secure and self.base.startswith("http://"):
                host = urlsplit(self.base).hostname
                if host in ("127.0.0.1", "localhost", "::1"):
                    cookie.secure = False

    def discovery(self):
        self.step = "discovery"
        resp = self.api.get(f"{self.reached_issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
        check(self.step, resp.status_code == 200, {"status": resp.status_code, "body": body_of(resp)})
        meta = resp.json()
        check(self.step, isinstance(meta, dict), {"body": meta})
        problems = []
        if meta.get("issuer") != self.issuer:
            problems.append(f"issuer {meta.get('issuer')!r} is not {self.issuer!r}")
        for key in ENDPOINTS + ("introspection_endpoint", "end_session_endpoint"):
            if not isinstance(meta.get(key), str) or not meta[key].startswith(self.issuer + "/"):
                problems.append(f"{key} {meta.get(key)!r} is not under the issuer")
        for key, value in (
            ("code_challenge_methods_supported", "S256"),
            ("response_types_supported", "code"),
            ("grant_types_supported", "authorization_code"),
            ("grant_types_supported", "refresh_token"),
            ("scopes_supported", "openid"),
            ("scopes_supported", "offline_access"),
            ("token_endpoint_auth_methods_supported", self.auth_method),
        ):
            if value not in (meta.get(key) or []):
                problems.append(f"{value!r} not in {key} {meta.get(key)!r}")
        if meta.get("authorization_response_iss_parameter_supported") is not True:
            problems.append("authorization_response_iss_parameter_supported is not true")
        if not meta.get("id_token_signing_alg_values_supported"):
            problems.append("no id_token_signing_alg_values_supported")
        self.report["discovery_ok"] = not problems
        self.report["discovery_problems"] = problems
        self.report["issuer"] = meta.get("issuer")
        for key in ENDPOINTS:
            check(self.step, isinstance(meta.get(key), str), f"{key} missing: {meta}")
        self.meta = meta
        self.url = {key: self.reach(meta[key]) for key in ENDPOINTS}
        self.algs = meta.get("id_token_signing_alg_values_supported") or ["RS256"]

    def client(self):
        self.step = "client"
        args = self.args
        if args.private_key_jwk:
            key, kid, alg = load_private_key(args.private_key_jwk)
            secret = key
        else:
            secret = args.client_secret
        self.rp = OAuth2Session(
            client_id=args.client_id,
            client_secret=secret,
            token_endpoint_auth_method=self.auth_method,
            revocation_endpoint_auth_method=self.auth_method,
            scope=SCOPE,
            redirect_uri=args.redirect_uri,
            code_challenge_method="S256",
            default_timeout=TIMEOUT,
            trust_env=False,
        )
        if args.private_key_jwk:
            # The assertion's audience: the issuer (accepted for every endpoint of the tenant).
            self.rp.register_client_auth_method(
                PrivateKeyJWT(self.issuer, headers={"kid": kid} if kid else None, alg=alg)
            )

        def remember(resp):
            self.last_status["status"] = resp.status_code
            return resp

        self.rp.register_compliance_hook("access_token_response", remember)
        self.rp.register_compliance_hook("refresh_token_response", remember)

    def authorize(self, label):
        """One authorization request in the signed-in browser: (redirect URL, state, nonce,
        verifier)."""
        self.step = f"{label}_authorize"
        state = secrets.token_urlsafe(16)
        nonce = secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        url, _ = self.rp.create_authorization_url(
            self.url["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
        resp = self.browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        self.report[f"{label}_authorize_status"] = resp.status_code
        location = urljoin(url, resp.headers.get("Location", ""))
        check(
            self.step,
            resp.status_code in (302, 303) and location.startswith(self.args.redirect_uri),
            {"status": resp.status_code, "location": location.split("?")[0], "body": body_of(resp)},
        )
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        check(
            self.step,
            "error" not in params,
            {"error": params.get("error"), "error_description": params.get("error_description")},
        )
        check(self.step, "code" in params, f"no code in the redirect: {sorted(params)}")
        return location, params, state, nonce, verifier

    def exchange(self, label, location, state, verifier):
        self.step = f"{label}_token"
        try:
            return self.rp.fetch_token(
                self.url["token_endpoint"],
                authorization_response=location,
                state=state,
                code_verifier=verifier,
            )
        except OAuthError as err:
            raise Failed(
                self.step,
                {"status": self.last_status.get("status"), "error": err.error, "description": err.description},
            ) from err

    def jwks(self):
        resp = self.api.get(self.url["jwks_uri"], timeout=TIMEOUT)
        check(self.step, resp.status_code == 200, {"jwks_status": resp.status_code})
        return KeySet.import_key_set(resp.json())

    def id_token(self, raw, access_token, nonce=None):
        """The validated claims of an ID token (signature, iss, aud, exp, iat, azp, nonce when
        given, at_hash when present)."""
        try:
            token = jwt.decode(
                raw, self.jwks(), registry=JWSRegistry(algorithms=self.algs, strict_check_header=False)
            )
        except Exception as err:  # noqa: BLE001 - report why
            raise Failed(self.step, f"ID token signature: {type(err).__name__}: {err}") from err
        options = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.args.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        params = {"client_id": self.args.client_id, "access_token": access_token}
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
            params["nonce"] = nonce
        claims = CodeIDToken(token.claims, token.header, options, params)
        try:
            claims.validate(leeway=LEEWAY)
        except Exception as err:  # noqa: BLE001 - report why
            raise Failed(
                self.step, f"ID token claims: {type(err).__name__}: {err}; claims {sorted(claims)}"
            ) from err
        return claims

    def userinfo(self, access_token):
        return self.api.get(
            self.url["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
        )

    def refresh(self, refresh_token):
        """(token, None) or (None, error) for a refresh_token grant."""
        self.last_status.clear()
        try:
            # No scope parameter: the refreshed grant keeps the original scope.
            return self.rp.refresh_token(
                self.url["token_endpoint"], refresh_token=refresh_token, scope=None
            ), None
        except OAuthError as err:
            return None, err.error

    # ------------------------------------------------------------------ the flow
    def run(self):
        args = self.args
        if args.private_key_jwk:
            self.auth_method = "private_key_jwt"
        else:
            self.auth_method = args.auth_method
        self.report["auth_method"] = self.auth_method
        r = self.report

        self.sign_in()
        self.discovery()
        self.client()

        # First authorization and code exchange.
        location, params, state, nonce, verifier = self.authorize("first")
        r["authorize_status"] = r.pop("first_authorize_status")
        r["iss_param_ok"] = params.get("iss") == self.issuer
        r["state_ok"] = params.get("state") == state
        check(self.step, r["state_ok"], "the state came back changed")
        token = self.exchange("first", location, state, verifier)
        r["token_type"] = token.get("token_type")
        r["token_scope"] = token.get("scope")
        r["has_refresh_token"] = bool(token.get("refresh_token"))
        check(self.step, token.get("access_token"), "no access_token")
        check(self.step, token.get("id_token"), "no id_token for scope openid")
        self.step = "id_token"
        claims = self.id_token(token["id_token"], token["access_token"], nonce)
        r["id_token_alg"] = claims.header.get("alg")
        r["id_token_valid"] = True
        for name in ("sub", "email", "email_verified", "aud", "azp", "acr", "amr"):
            r[f"id_token_{name}"] = claims.get(name)
        r["id_token_claims"] = sorted(claims)
        r["at_hash_checked"] = "at_hash" in claims

        self.step = "userinfo"
        resp = self.userinfo(token["access_token"])
        r["userinfo_status"] = resp.status_code
        check(self.step, resp.status_code == 200, {"status": resp.status_code, "body": body_of(resp)})
        info = resp.json()
        r["userinfo_sub_matches"] = info.get("sub") == claims["sub"]
        r["userinfo_email"] = info.get("email")
        r["userinfo_email_verified"] = info.get("email_verified")
        r["userinfo_name"] = info.get("name")

        # The same code again: refused, and what it had issued is revoked.
        self.step = "replay"
        self.last_status.clear()
        try:
            self.rp.fetch_token(
                self.url["token_endpoint"],
                authorization_response=location,
                state=state,
                code_verifier=verifier,
            )
            r["replay_error"] = None
        except OAuthError as err:
            r["replay_error"] = err.error
        r["replay_status"] = self.last_status.get("status")
        r["userinfo_after_replay"] = self.userinfo(token["access_token"]).status_code
        if token.get("refresh_token"):
            _, r["refresh_after_replay_error"] = self.refresh(token["refresh_token"])
        else:
            r["refresh_after_replay_error"] = None

        # A second authorization for fresh tokens, then refresh (rotation) and revocation.
        location, params, state, nonce, verifier = self.authorize("second")
        check(self.step, params.get("state") == state, "the state came back changed")
        second = self.exchange("second", location, state, verifier)
        self.step = "second_id_token"
        r["second_id_token_sub"] = self.id_token(second["id_token"], second["access_token"], nonce)["sub"]
        first_refresh = second.get("refresh_token")
        check(self.step, first_refresh, "no refresh_token with offline_access")

        self.step = "refresh"
        refreshed, error = self.refresh(first_refresh)
        check(self.step, refreshed is not None, {"status": self.last_status.get("status"), "error": error})
        new_refresh = refreshed.get("refresh_token")
        r["refresh_rotated"] = bool(new_refresh) and new_refresh != first_refresh
        r["refresh_access_changed"] = refreshed.get("access_token") != second.get("access_token")
        r["refresh_scope"] = refreshed.get("scope")
        if refreshed.get("id_token"):
            again = self.id_token(refreshed["id_token"], refreshed["access_token"])
            check(self.step, again["sub"] == r["second_id_token_sub"], "the refreshed ID token names another sub")
            r["refresh_id_token"] = "valid"
        else:
            r["refresh_id_token"] = "absent"

        self.step = "old_refresh"
        _, r["old_refresh_error"] = self.refresh(first_refresh)
        r["old_refresh_status"] = self.last_status.get("status")

        self.step = "revoke"
        check(self.step, new_refresh and new_refresh != first_refresh, "no new refresh token to revoke")
        resp = self.rp.revoke_token(
            self.url["revocation_endpoint"], token=new_refresh, token_type_hint="refresh_token"
        )
        r["revoke_status"] = resp.status_code

        self.step = "revoked_refresh"
        _, r["revoked_refresh_error"] = self.refresh(new_refresh)
        r["revoked_refresh_status"] = self.last_status.get("status")
        return r


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Authlib OpenID Connect relying party (authorization code + PKCE)."
    )
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--redirect-uri", required=True)
    auth = parser.add_mutually_exclusive_group(required=True)
    auth.add_argument("--client-secret")
    auth.add_argument("--private-key-jwk", metavar="FILE")
    parser.add_argument(
        "--auth-method",
        choices=("client_secret_basic", "client_secret_post"),
        default="client_secret_basic",
        help="with --client-secret (default client_secret_basic)",
    )
    parser.add_argument("--public-base", help="the server's configured base URL, when it differs")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)  # exits 2 on a usage error
    peer = Peer(args)
    try:
        report = peer.run()
    except Failed as err:
        print(f"oidc_code_flow: {err.step}: {err.detail}", file=sys.stderr)
        print(json.dumps({**peer.report, "ok": False, "failed": err.step, "detail": err.detail}, default=str))
        return 1
    except Exception as err:  # noqa: BLE001 - report anything that went wrong
        detail = f"{type(err).__name__}: {err}"
        print(f"oidc_code_flow: {peer.step}: {detail}", file=sys.stderr)
        print(json.dumps({**peer.report, "ok": False, "failed": peer.step, "detail": detail}, default=str))
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
