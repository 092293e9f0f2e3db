//! The request itself: `GET|POST {issuer}/authorize` checked in order (who asks, where it may
//! be answered, then everything else), what comes next (sign-in, consent or the code), and the
//! code.

use authservice_domain::oidc_app::{AppType, GrantType, OidcApp};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{Client, TokenMode, User};
use base64::Engine;

use super::{
    Authorize, AuthorizeOutcome, AuthorizeParams, CodeGrant, MAX_CODE_TTL, MAX_ECHO_LEN, Pending,
    code_key, parse_prompt, parse_scopes, request_key, with_query,
};
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::ports::PresentedToken;

impl Authorize {
    /// `GET|POST {issuer}/authorize`. `cookie`: the browser's `auth_refresh` cookie.
    ///
    /// # Errors
    /// A store failed.
    #[tracing::instrument(name = "oauth_authorize", level = "debug", skip_all)]
    pub async fn begin(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        params: &AuthorizeParams,
        cookie: Option<&str>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        // Each request may park a pending request in the store: counted per address first.
        if let Err(retry_after) = self
            .ports
            .limits
            .take(Limit::Authorize, &subject::ip(ctx))
            .await?
        {
            return Ok(AuthorizeOutcome::RateLimited { retry_after });
        }
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        // 1. Who asks, and where it may be answered: failures are shown, not redirected.
        let Some(client_id) = get("client_id").filter(|c| c.len() <= 64) else {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "client_id is required".into(),
            });
        };
        let app = match self.ports.oidc_apps.by_public_id(client_id).await? {
            Some((app, _)) if app.client_id == client.id => app,
            _ => {
                return Ok(AuthorizeOutcome::Refuse {
                    error: "invalid_client",
                    description: "no such application at this issuer".into(),
                });
            }
        };
        let Some(redirect_uri) = get("redirect_uri") else {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "redirect_uri is required".into(),
            });
        };
        if !app.redirect_uris.iter().any(|u| u.as_str() == redirect_uri) {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "redirect_uri is not registered for this application".into(),
            });
        }
        // 2. Everything else is answered at the redirect URI.
        let state = get("state");
        if state.is_some_and(|s| s.len() > MAX_ECHO_LEN) {
            return Ok(self.error_to(
                client,
                redirect_uri,
                None,
                "invalid_request",
                "state is too long",
            ));
        }
        let fail = |error: &str, description: &str| {
            Ok(self.error_to(client, redirect_uri, state, error, description))
        };
        if get("request").is_some() {
            return fail("request_not_supported", "request objects are not supported");
        }
        if get("request_uri").is_some() {
            return fail("request_uri_not_supported", "request_uri is not supported");
        }
        match get("response_type") {
            Some("code") => {}
            None => return fail("invalid_request", "response_type is required"),
            Some(_) => {
                return fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                );
            }
        }
        if get("response_mode").is_some_and(|m| m != "query") {
            return fail("invalid_request", "only response_mode=query is supported");
        }
        if !app.grant_types.contains(&GrantType::AuthorizationCode) {
            return fail(
                "unauthorized_client",
                "this application may not use the authorization code flow",
            );
        }
        let scopes = match parse_scopes(get("scope"), &app) {
            Ok(scopes) => scopes,
            Err(e) => return fail("invalid_scope", &e),
        };
        if scopes.iter().any(|s| s == "openid") && client.token_mode != TokenMode::V2Jwks {
            return fail(
                "invalid_scope",
                "this tenant signs with a shared secret (v1_hs256): ID tokens need its v2_jwks keys",
            );
        }
        let prompt = match parse_prompt(get("prompt")) {
            Ok(prompt) => prompt,
            Err(e) => return fail("invalid_request", &e),
        };
        let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
            (None, None) if app.app_type == AppType::Public => {
                return fail(
                    "invalid_request",
                    "PKCE is required: code_challenge with code_challenge_method=S256",
                );
            }
            (None, None) => None,
            (Some(challenge), Some("S256"))
                if authservice_domain::pkce::is_s256_challenge(challenge) =>
            {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return fail("invalid_request", "code_challenge is not a S256 challenge");
            }
            (_, Some("plain") | None) => {
                return fail(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted)",
                );
            }
            (_, Some(_)) => {
                return fail("invalid_request", "code_challenge_method must be S256");
            }
        };
        let nonce = get("nonce");
        if nonce.is_some_and(|n| n.len() > MAX_ECHO_LEN) {
            return fail("invalid_request", "nonce is too long");
        }
        let max_age = match get("max_age").map(str::parse::<i64>) {
            None => None,
            Some(Ok(age)) if age >= 0 => Some(age),
            Some(_) => return fail("invalid_request", "max_age must be a number of seconds"),
        };
        let login_hint = get("login_hint").map(|h| h.chars().take(320).collect::<String>());
        let ui_locale = get("ui_locales")
            .and_then(|l| l.split(' ').next())
            .map(|l| l.chars().take(16).collect::<String>());
        let pending = Pending {
            client_id: client.id.as_uuid(),
            app_id: app.id,
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt,
            max_age,
            login_hint,
            ui_locale,
            created_at: self.ports.clock.now().timestamp(),
            consent_for: None,
            browser: None,
        };
        let session = self.browser_session(client, cookie).await?;
        self.decide(client, &app, pending, None, session).await
    }

    /// What comes next for `pending`: sign-in, consent, or the code. `handle`: the request is
    /// stored already under it (the browser comes back from a hosted page).
    pub(super) async fn decide(
        &self,
        client: &Client,
        app: &OidcApp,
        pending: Pending,
        handle: Option<&str>,
        session: Option<(User, PresentedToken)>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let now = self.ports.clock.now().timestamp();
        let has = |p: &str| pending.prompt.iter().any(|v| v == p);
        // Back from the hosted page, a sign-in since the request began satisfies prompt=login
        // and any max_age; otherwise a session does only what max_age allows.
        let fresh =
            |s: &PresentedToken| handle.is_some() && s.auth_time.timestamp() >= pending.created_at;
        let needs_login = match &session {
            None => true,
            Some((_, s)) => {
                !fresh(s)
                    && (has("login")
                        || pending
                            .max_age
                            .is_some_and(|age| now - s.auth_time.timestamp() > age))
            }
        };
        let state = pending.state.as_deref();
        if needs_login {
            if has("none") {
                return Ok(self.error_to(
                    client,
                    &pending.redirect_uri,
                    state,
                    "login_required",
                    "the user is not signed in",
                ));
            }
            let mut extra = Vec::new();
            if let Some(hint) = &pending.login_hint {
                extra.push(("email", hint.clone()));
            }
            if let Some(locale) = &pending.ui_locale {
                extra.push(("locale", locale.clone()));
            }
            return self.park(pending, handle, "login.html", &extra).await;
        }
        let Some((user, session)) = session else {
            return Err(anyhow::anyhow!("unreachable: a session is present here"));
        };
        if !app.first_party {
            let granted = self
                .ports
                .consents
                .granted(client.id, user.id, app.id)
                .await?
                .unwrap_or_default();
            let covered = pending.scopes.iter().all(|s| granted.contains(s));
            if has("consent") || !covered {
                if has("none") {
                    return Ok(self.error_to(
                        client,
                        &pending.redirect_uri,
                        state,
                        "consent_required",
                        "the user has not allowed this application",
                    ));
                }
                let pending = Pending {
                    consent_for: Some(user.id.as_uuid()),
                    ..pending
                };
                return self.park(pending, handle, "consent.html", &[]).await;
            }
        }
        // A waiting request is answered once: of concurrent continuations one takes it.
        if let Some(handle) = handle
            && self
                .ports
                .ephemeral
                .take(&request_key(handle))
                .await?
                .is_none()
        {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "the authorization request was already answered".into(),
            });
        }
        self.issue_code(client, &pending, &user, &session).await
    }

    pub(super) async fn issue_code(
        &self,
        client: &Client,
        pending: &Pending,
        user: &User,
        session: &PresentedToken,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let code =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.ports.random.bytes32());
        let hash = hex(&sha256(code.as_bytes()));
        let ttl = self.config.oidc_code_ttl.min(MAX_CODE_TTL);
        let grant = CodeGrant {
            client_id: client.id.as_uuid(),
            app_id: pending.app_id,
            user_id: user.id.as_uuid(),
            redirect_uri: pending.redirect_uri.clone(),
            scopes: pending.scopes.clone(),
            nonce: pending.nonce.clone(),
            code_challenge: pending.code_challenge.clone(),
            auth_time: session.auth_time.timestamp(),
            amr: session.amr.clone(),
            expires_at: self.ports.clock.now().timestamp()
                + i64::try_from(ttl.as_secs()).unwrap_or(60),
        };
        self.ports
            .ephemeral
            .put_value(&code_key(&hash), &serde_json::to_string(&grant)?, ttl)
            .await?;
        let issuer = self.issuer(client);
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &pending.state {
            params.push(("state", state.as_str()));
        }
        params.push(("iss", issuer.as_str()));
        Ok(AuthorizeOutcome::Redirect(with_query(
            &pending.redirect_uri,
            &params,
        )))
    }
}
