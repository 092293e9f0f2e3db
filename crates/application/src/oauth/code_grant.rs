//! The token endpoint's user grants for OIDC apps: `authorization_code` (the code taken once:
//! a second presentation revokes the session issued from it, RFC 6749 §4.1.2) and
//! `refresh_token` (the session family's rotation with reuse detection); both answer an ID
//! token when `openid` was granted (OpenID Connect Core 3.1.3.3 and 12.2).

use authservice_domain::oidc_app::{GrantType, OidcApp};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::sign_in::{self, Proof, SecondFactors};
use authservice_domain::{Client, EventType, User, UserId};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use super::authorize::{CodeGrant, code_key, used_code_key};
use super::{OAuthError, tenant_issuer};
use crate::audit::record_quietly;
use crate::auth::{AppStamp, AuthConfig, RefreshSession, RefreshSessionError};
use crate::context::RequestCtx;
use crate::ports::Ports;

/// What the token endpoint answers an app for a user (no `Debug`: it holds tokens).
pub struct UserGrant {
    pub access_token: String,
    pub expires_in: u64,
    pub scopes: Vec<String>,
    pub id_token: Option<String>,
    /// Only with `offline_access`.
    pub refresh_token: Option<SecretString>,
}

pub struct CodeExchange {
    ports: Ports,
    config: AuthConfig,
    refresh: RefreshSession,
    base_url: String,
}

/// The claims an ID token and `/userinfo` share for `scopes`.
pub(crate) fn user_claims(user: &User, scopes: &[String]) -> Value {
    let mut out = json!({ "sub": user.id.to_string() });
    if scopes.iter().any(|s| s == "email") {
        out["email"] = json!(user.email.as_str());
        out["email_verified"] = json!(user.email_verified);
    }
    if scopes.iter().any(|s| s == "profile") {
        if let Some(name) = &user.display_name {
            out["name"] = json!(name);
        }
        if let Some(locale) = &user.locale {
            out["locale"] = json!(locale);
        }
        if let Some(zone) = &user.timezone {
            out["zoneinfo"] = json!(zone);
        }
        out["updated_at"] = json!(user.updated_at.timestamp());
    }
    out
}

impl CodeExchange {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            refresh: RefreshSession::new(ports, config),
            base_url: config.issuer.trim_end_matches('/').to_owned(),
        }
    }

    /// The ID token of `user` for `app` in session `sid`.
    #[allow(clippy::too_many_arguments)]
    async fn id_token(
        &self,
        client: &Client,
        app: &OidcApp,
        user: &User,
        scopes: &[String],
        sid: Uuid,
        auth_time: i64,
        amr: &[String],
        nonce: Option<&str>,
        access_token: &str,
    ) -> anyhow::Result<Option<String>> {
        if !scopes.iter().any(|s| s == "openid") {
            return Ok(None);
        }
        let now = self.ports.clock.now().timestamp();
        let mut claims = user_claims(user, scopes);
        claims["iss"] = json!(tenant_issuer(&self.base_url, client));
        claims["aud"] = json!(app.public_id);
        claims["azp"] = json!(app.public_id);
        claims["iat"] = json!(now);
        claims["exp"] = json!(now + i64::try_from(self.config.access_ttl.as_secs()).unwrap_or(900));
        claims["auth_time"] = json!(auth_time);
        claims["acr"] = json!(authservice_domain::sign_in::acr(amr));
        if !amr.is_empty() {
            claims["amr"] = json!(amr);
        }
        claims["sid"] = json!(sid.to_string());
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        self.ports
            .tokens
            .sign_id_token(client, &claims, Some(access_token))
            .await
            .map(Some)
    }

    /// `grant_type=authorization_code` for `app` (authenticated, or a public app by its id).
    ///
    /// # Errors
    /// `UnauthorizedClient` (an app not allowed the grant), `InvalidGrant` (unknown, expired,
    /// replayed or foreign code, another redirect URI, a wrong or missing PKCE verifier, a user
    /// who may no longer sign in), `InvalidRequest` (a parameter missing).
    #[tracing::instrument(name = "oauth_code_exchange", level = "debug", skip_all)]
    pub async fn exchange(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        app: &OidcApp,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<UserGrant, OAuthError> {
        if !app.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(OAuthError::UnauthorizedClient(
                "this app may not use the authorization_code grant".into(),
            ));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
        let redirect_uri = redirect_uri
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("redirect_uri is required".into()))?;
        if code.len() > 128 {
            return Err(OAuthError::InvalidGrant("the code is not valid".into()));
        }
        let hash = hex(&sha256(code.as_bytes()));
        let unknown = || {
            OAuthError::InvalidGrant(
                "the code is not valid: unknown, expired or already used".into(),
            )
        };
        // Read first: a code presented by another app (which may have stolen it) is refused
        // without spending it; the app's own presentation then takes it atomically.
        let Some(peeked) = self.ports.ephemeral.get_value(&code_key(&hash)).await? else {
            self.replayed(ctx, client, &hash).await?;
            return Err(unknown());
        };
        let grant: CodeGrant = serde_json::from_str(&peeked).map_err(anyhow::Error::from)?;
        if grant.client_id != client.id.as_uuid() || grant.app_id != app.id {
            return Err(OAuthError::InvalidGrant(
                "the code was issued to another client".into(),
            ));
        }
        if self.ports.ephemeral.take(&code_key(&hash)).await?.is_none() {
            self.replayed(ctx, client, &hash).await?;
            return Err(unknown());
        }
        let now = self.ports.clock.now();
        if grant.expires_at < now.timestamp() {
            return Err(OAuthError::InvalidGrant("the code has expired".into()));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri differs from the authorization request's".into(),
            ));
        }
        match (
            &grant.code_challenge,
            code_verifier.filter(|v| !v.is_empty()),
        ) {
            (Some(challenge), Some(verifier))
                if authservice_domain::pkce::verifier_matches(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(OAuthError::InvalidGrant(
                    "code_verifier does not match the code_challenge".into(),
                ));
            }
            (Some(_), None) => {
                return Err(OAuthError::InvalidGrant("code_verifier is required".into()));
            }
            (None, Some(_)) => {
                return Err(OAuthError::InvalidGrant(
                    "the authorization request carried no code_challenge".into(),
                ));
            }
            (None, None) => {}
        }
        let user = self
            .ports
            .users
            .get(client.id, UserId::from_uuid(grant.user_id))
            .await?
            .ok_or_else(|| OAuthError::InvalidGrant("the user no longer exists".into()))?
            .user;
        if sign_in::admit(client, &user, Proof::Refresh, SecondFactors::default()).is_err() {
            return Err(OAuthError::InvalidGrant("the user may not sign in".into()));
        }
        let stamp = AppStamp {
            issuer: tenant_issuer(&self.base_url, client),
            azp: app.public_id.clone(),
            scopes: grant.scopes.clone(),
        };
        let auth_time = chrono::DateTime::from_timestamp(grant.auth_time, 0).unwrap_or(now);
        let sign_in = crate::auth::SignIn {
            auth_time,
            amr: grant.amr.clone(),
        };
        let prepared = crate::auth::prepare_app_session(
            &self.ports,
            &self.config,
            ctx,
            client,
            user,
            sign_in,
            Some((app.id, &stamp)),
        )
        .await?;
        // Remembered before the session is stored: a replay from here on revokes it.
        self.ports
            .ephemeral
            .put_value(
                &used_code_key(&hash),
                &json!({
                    "user_id": grant.user_id,
                    "family_id": prepared.session.family_id,
                })
                .to_string(),
                super::authorize::REQUEST_TTL,
            )
            .await?;
        let mut login = crate::auth::login_event(&self.ports, ctx, &prepared);
        login.metadata["method"] = json!("oidc_code");
        login.metadata["client_id"] = json!(app.public_id);
        login.metadata["scopes"] = json!(grant.scopes);
        self.ports
            .sessions
            .create(&prepared.session, &login)
            .await?;
        let tokens = prepared.tokens;
        let id_token = self
            .id_token(
                client,
                app,
                &tokens.user,
                &grant.scopes,
                tokens.session_id,
                grant.auth_time,
                &grant.amr,
                grant.nonce.as_deref(),
                &tokens.access_token,
            )
            .await?;
        let offline = grant.scopes.iter().any(|s| s == "offline_access");
        Ok(UserGrant {
            access_token: tokens.access_token,
            expires_in: tokens.expires_in,
            scopes: grant.scopes,
            id_token,
            refresh_token: offline.then_some(tokens.refresh_token),
        })
    }

    /// A code presented again: the session issued from it is revoked (its refresh tokens at
    /// once, its access tokens through the session check).
    async fn replayed(&self, ctx: &RequestCtx, client: &Client, hash: &str) -> anyhow::Result<()> {
        let Some(used) = self.ports.ephemeral.get_value(&used_code_key(hash)).await? else {
            return Ok(());
        };
        let used: Value = serde_json::from_str(&used)?;
        let (Some(user), Some(family)) = (
            used["user_id"]
                .as_str()
                .and_then(|u| Uuid::parse_str(u).ok()),
            used["family_id"]
                .as_str()
                .and_then(|f| Uuid::parse_str(f).ok()),
        ) else {
            return Ok(());
        };
        let user = UserId::from_uuid(user);
        let now = self.ports.clock.now();
        self.ports
            .sessions
            .revoke_family(client.id, user, family, "authorization_code_replay", now)
            .await?;
        crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client.id, user)
            .await?;
        let mut event = ctx
            .audit(EventType::OAuthCodeReplayed)
            .client(client.id)
            .target("session", family)
            .metadata(json!({ "action": "session_revoked" }))
            .at(now);
        event.user_id = Some(user.as_uuid());
        record_quietly(&self.ports, &event).await;
        Ok(())
    }

    /// `grant_type=refresh_token` for `app`.
    ///
    /// # Errors
    /// `UnauthorizedClient` (an app not allowed the grant), `InvalidGrant` (a token unknown,
    /// spent, revoked, expired, of another app; a reuse revokes the session), `InvalidRequest`.
    #[tracing::instrument(name = "oauth_refresh", level = "debug", skip_all)]
    pub async fn refresh(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        app: &OidcApp,
        refresh_token: Option<&str>,
        scope: Option<&str>,
    ) -> Result<UserGrant, OAuthError> {
        if !app.grant_types.contains(&GrantType::RefreshToken) {
            return Err(OAuthError::UnauthorizedClient(
                "this app may not use the refresh_token grant".into(),
            ));
        }
        let presented = refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".into()))?;
        let issuer = tenant_issuer(&self.base_url, client);
        let mut ctx = ctx.clone();
        ctx.client = Some(client.clone());
        let (tokens, scopes) = self
            .refresh
            .execute_for_app(&ctx, client, app, &issuer, presented)
            .await
            .map_err(|e| match e {
                RefreshSessionError::Unexpected(e) => OAuthError::Unexpected(e),
                RefreshSessionError::Reused => OAuthError::InvalidGrant(
                    "the refresh token was already used; the session has been revoked".into(),
                ),
                RefreshSessionError::EmailNotVerified => {
                    OAuthError::InvalidGrant("the user's email address is not verified".into())
                }
                RefreshSessionError::Invalid | RefreshSessionError::ClientMismatch => {
                    OAuthError::InvalidGrant(
                        "the refresh token is not valid: unknown, expired or revoked".into(),
                    )
                }
            })?;
        // A `scope` parameter is not honoured: the refresh carries what was granted (RFC 6749
        // §6 lets a client ask for less; it never gets more).
        let _ = scope;
        let auth_time = tokens.auth_time.timestamp();
        let id_token = self
            .id_token(
                client,
                app,
                &tokens.user,
                &scopes,
                tokens.session_id,
                auth_time,
                &tokens.amr,
                None,
                &tokens.access_token,
            )
            .await?;
        Ok(UserGrant {
            access_token: tokens.access_token,
            expires_in: tokens.expires_in,
            scopes,
            id_token,
            refresh_token: Some(tokens.refresh_token),
        })
    }
}
