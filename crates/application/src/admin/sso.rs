//! Operators signing in through their organization's OpenID Connect provider
//! (`ADMIN_OIDC_ISSUER`): authorization code with PKCE, state and nonce, the ID token really
//! verified (signature by the IdP's published keys, issuer, audience, expiry, nonce) by the
//! relying party port, the address a verified `email` of an existing, active admin user — and
//! then the account's authenticator, as after a password: the IdP replaces the password, never
//! the second factor. The attempt is bound to the browser that began it (a cookie holds a
//! secret whose digest the state keeps), and what the callback hands the portal is a one-time
//! token good for five minutes.

use std::time::Duration;

use authservice_domain::secret::{hex, secrets_equal, sha256};
use authservice_domain::sso::OidcIdp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{AdminAuthError, AdminLoginOutcome, AdminSignIn};
use crate::context::RequestCtx;
use std::sync::Arc;

use crate::ports::{
    EphemeralStore, OidcAuthRequest, OidcCallback, OidcQuirks, OidcRelyingParty, Ports,
};

/// How long an attempt may take at the IdP.
const STATE_TTL: Duration = Duration::from_secs(600);
/// How long the portal has to complete the sign-in with the authenticator code.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// The operators' identity provider.
#[derive(Clone)]
pub struct AdminSsoConfig {
    pub idp: OidcIdp,
    pub client_secret: SecretString,
    /// `{BASE_URL}/api/admin/auth/sso/callback`.
    pub redirect_uri: String,
}

impl std::fmt::Debug for AdminSsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSsoConfig")
            .field("idp", &self.idp)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// [`AdminSsoConfig`] with the ports it uses: the relying party, and where attempts wait.
pub struct AdminSso {
    config: AdminSsoConfig,
    oidc_rp: Arc<dyn OidcRelyingParty>,
    ephemeral: Arc<dyn EphemeralStore>,
}

impl AdminSso {
    #[must_use]
    pub fn new(config: AdminSsoConfig, ports: &Ports) -> Self {
        Self {
            config,
            oidc_rp: ports.oidc_rp.clone(),
            ephemeral: ports.ephemeral.clone(),
        }
    }
}

/// A begun attempt: where to send the browser, and the secret its cookie keeps.
#[derive(Debug)]
pub struct AdminSsoStart {
    pub authorization_url: String,
    pub binding: String,
}

fn state_key(state: &str) -> String {
    format!("admin_sso_state:{}", hex(&sha256(state.as_bytes())))
}

fn token_key(token: &str) -> String {
    format!("admin_sso_token:{}", hex(&sha256(token.as_bytes())))
}

impl AdminSignIn {
    /// Whether operators may sign in through an identity provider.
    #[must_use]
    pub fn sso_enabled(&self) -> bool {
        self.sso.is_some()
    }

    fn random(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.ports.random.bytes32())
    }

    /// `POST /api/admin/auth/sso/start`: the IdP's authorization URL for a new attempt.
    ///
    /// # Errors
    /// Not configured; the IdP's discovery failed.
    pub async fn sso_start(&self) -> Result<AdminSsoStart, AdminAuthError> {
        let sso = self.sso.as_ref().ok_or(AdminAuthError::SsoNotConfigured)?;
        let (state, nonce, verifier, binding) =
            (self.random(), self.random(), self.random(), self.random());
        let authorization_url = sso
            .oidc_rp
            .authorization_url(OidcAuthRequest {
                idp: &sso.config.idp,
                redirect_uri: &sso.config.redirect_uri,
                state: &state,
                nonce: &nonce,
                code_verifier: &verifier,
                login_hint: None,
                form_post: false,
                multi_tenant: false,
            })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "operators' identity provider unavailable");
                AdminAuthError::SsoFailed
            })?;
        let pending = json!({
            "nonce": nonce,
            "verifier": verifier,
            "binding": hex(&sha256(binding.as_bytes())),
        });
        sso.ephemeral
            .put_value(&state_key(&state), &pending.to_string(), STATE_TTL)
            .await?;
        Ok(AdminSsoStart {
            authorization_url,
            binding,
        })
    }

    /// `GET /api/admin/auth/sso/callback`: checks the attempt (once, from the browser that
    /// began it), has the IdP's answer verified, and finds the admin user by its verified
    /// address; a one-time token for [`AdminSignIn::sso_complete`].
    ///
    /// # Errors
    /// `SsoStateInvalid` (unknown, used, expired, another browser), `SsoFailed` (the IdP's
    /// answer refused, no verified address, no such active operator — audited with the reason).
    pub async fn sso_callback(
        &self,
        ctx: &RequestCtx,
        code: &str,
        state: &str,
        binding: Option<&str>,
    ) -> Result<String, AdminAuthError> {
        let sso = self.sso.as_ref().ok_or(AdminAuthError::SsoNotConfigured)?;
        let pending = sso.ephemeral.take(&state_key(state)).await?;
        let Some(pending) = pending.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
            self.failed(ctx, None, "sso_state").await;
            return Err(AdminAuthError::SsoStateInvalid);
        };
        let field = |name: &str| pending[name].as_str().unwrap_or_default().to_owned();
        let same_browser = binding.is_some_and(|b| {
            secrets_equal(
                hex(&sha256(b.as_bytes())).as_bytes(),
                field("binding").as_bytes(),
            )
        });
        if !same_browser {
            self.failed(ctx, None, "sso_other_browser").await;
            return Err(AdminAuthError::SsoStateInvalid);
        }
        let assertion = sso
            .oidc_rp
            .finish(OidcCallback {
                idp: &sso.config.idp,
                client_secret: &sso.config.client_secret,
                redirect_uri: &sso.config.redirect_uri,
                code,
                code_verifier: &field("verifier"),
                nonce: &field("nonce"),
                quirks: OidcQuirks::default(),
            })
            .await;
        let assertion = match assertion {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "operators' identity provider answer refused");
                self.failed(ctx, None, "sso_refused").await;
                return Err(AdminAuthError::SsoFailed);
            }
        };
        let verified = matches!(
            assertion.claims.get("email_verified"),
            Some(Value::Bool(true))
        ) || assertion.claims.get("email_verified") == Some(&json!("true"));
        let email = assertion
            .claims
            .get("email")
            .and_then(Value::as_str)
            .map(|e| e.trim().to_lowercase());
        let Some(email) = email.filter(|_| verified) else {
            self.failed(ctx, None, "sso_unverified_email").await;
            return Err(AdminAuthError::SsoFailed);
        };
        let creds = self.ports.admins.credentials(&email).await?;
        let Some(creds) = creds else {
            self.failed(ctx, None, "sso_unknown_operator").await;
            return Err(AdminAuthError::SsoFailed);
        };
        if creds.admin.status == authservice_domain::admin::AdminStatus::Disabled {
            self.failed(ctx, Some(&creds.admin), "disabled").await;
            return Err(AdminAuthError::Disabled);
        }
        let token = format!("adm_sso_{}", self.random());
        sso.ephemeral
            .put_value(&token_key(&token), &email, TOKEN_TTL)
            .await?;
        Ok(token)
    }

    /// `POST /api/admin/auth/sso/complete`: the one-time token of a callback, then the
    /// account's authenticator code (or, on a first sign-in, its setup token) as after a
    /// password.
    ///
    /// # Errors
    /// `SsoStateInvalid` for an unknown, used or expired token; the second step's errors.
    pub async fn sso_complete(
        &self,
        ctx: &RequestCtx,
        sso_token: &str,
        totp_code: Option<&str>,
        setup_token: Option<&str>,
    ) -> Result<AdminLoginOutcome, AdminAuthError> {
        let sso = self.sso.as_ref().ok_or(AdminAuthError::SsoNotConfigured)?;
        // Peeked, not taken: a mistyped code may be tried again (the failure limits count
        // each try); the token is spent once the sign-in succeeds or its five minutes pass.
        let key = token_key(sso_token.trim());
        let Some(email) = sso.ephemeral.get_value(&key).await? else {
            self.failed(ctx, None, "sso_token").await;
            return Err(AdminAuthError::SsoStateInvalid);
        };
        let attempt = self.attempt(ctx, &email).await?;
        let Some(creds) = self.ports.admins.credentials(&email).await? else {
            return Err(AdminAuthError::SsoStateInvalid);
        };
        let outcome = self
            .second_step(ctx, attempt, &creds, totp_code, setup_token)
            .await?;
        // Spent once signed in (a second completion with the same code is refused anyway:
        // each authenticator step is accepted once).
        if matches!(outcome, AdminLoginOutcome::SignedIn(_)) {
            sso.ephemeral.take(&key).await?;
        }
        Ok(outcome)
    }
}
