//! The browser's way through an SSO connection: start (connection by id, or by the domain of
//! an address) and callback.

use authservice_domain::secret::{hex, sha256};
use authservice_domain::sso::SsoConnection;
use authservice_domain::{Client, ClientId, EventType, ValidationError};
use serde_json::{Value, json};
use uuid::Uuid;

use super::attempt::{self, app_challenge, binding_cookie_name, return_to, success_location};
use super::{SsoError, SsoFailure};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::organizations::SsoSettings;
use crate::ports::Ports;

/// What a browser brings to `/api/auth/sso…` (besides the client of its `api_key`).
#[derive(Debug, Default, Clone)]
pub struct StartInput {
    /// `/api/auth/sso/{connection}`.
    pub connection: Option<String>,
    /// `?domain=` or the domain of `?email=` (home-realm discovery).
    pub domain: Option<String>,
    pub email: Option<String>,
    /// Where the app wants the `auth_code`: exactly a registered redirect URI of the client
    /// (missing: the hosted login page).
    pub redirect_uri: Option<String>,
    /// The app's own `state`, handed back with the code or the error.
    pub app_state: Option<String>,
    /// The app's PKCE challenge (S256), checked at the exchange.
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// Where to send the browser, and the cookie that binds the attempt to it.
#[derive(Debug)]
pub struct Started {
    pub location: String,
    pub cookie_name: String,
    pub cookie_value: String,
    /// The IdP comes back with a cross-site POST (SAML): the cookie must be `SameSite=None`
    /// (and `Secure`) to come along.
    pub cross_site_post: bool,
}

/// The IdP's answer at the callback.
#[derive(Default)]
pub struct CallbackInput {
    pub connection: String,
    pub state: Option<String>,
    pub code: Option<String>,
    /// SAML: the posted `SAMLResponse` (the `state` is its `RelayState`).
    pub saml_response: Option<String>,
    /// The IdP's own refusal (`error=access_denied`, …).
    pub error: Option<String>,
    /// The value of the attempt's binding cookie ([`binding_cookie_name`]) in this browser.
    pub binding: Option<String>,
    /// Apple's `user` form field (the name, on the first sign-in only).
    pub user: Option<String>,
}

impl CallbackInput {
    pub(super) fn idp_answer(&self) -> attempt::IdpAnswer<'_> {
        attempt::IdpAnswer {
            code: self.code.as_deref(),
            saml_response: self.saml_response.as_deref(),
        }
    }
}

impl std::fmt::Debug for CallbackInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackInput")
            .field("connection", &self.connection)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Where the callback leaves the browser.
#[derive(Debug)]
pub enum Landed {
    /// At the app (or the login page) with its `auth_code`.
    Redirect(String),
    /// A test sign-in's result, to show (see [`super::test_sign_in`]).
    Tested(Value),
}

pub struct SsoSignIn {
    pub(super) ports: Ports,
    pub(super) settings: SsoSettings,
}

impl SsoSignIn {
    #[must_use]
    pub fn new(ports: &Ports, settings: &SsoSettings) -> Self {
        Self {
            ports: ports.clone(),
            settings: settings.clone(),
        }
    }

    /// The connection the browser asked for: by id, or the one routing the address's domain.
    async fn connection(
        &self,
        client: &Client,
        input: &StartInput,
    ) -> Result<SsoConnection, SsoError> {
        let found = if let Some(id) = input.connection.as_deref() {
            let id = Uuid::try_parse(id.trim()).map_err(|_| SsoError::ConnectionNotFound)?;
            self.ports
                .sso_connections
                .get(client.id, id)
                .await?
                .ok_or(SsoError::ConnectionNotFound)?
        } else {
            let raw = match (input.domain.as_deref(), input.email.as_deref()) {
                (Some(domain), _) => domain.to_owned(),
                (None, Some(email)) => authservice_domain::Email::parse(email)
                    .map(|e| authservice_domain::sso::ascii_domain(&e))
                    .unwrap_or_default(),
                (None, None) => {
                    return Err(
                        ValidationError::new("domain", "domain or email is required").into(),
                    );
                }
            };
            let domain = authservice_domain::organization::parse_domain(&raw)
                .map_err(|_| SsoError::NotConfigured)?;
            self.ports
                .sso_connections
                .for_domain(client.id, &domain)
                .await?
                .ok_or(SsoError::NotConfigured)?
        };
        if !found.is_active() {
            return Err(SsoError::ConnectionDisabled);
        }
        Ok(found)
    }

    /// Whether the client has an active connection (the hosted login page offers SSO).
    ///
    /// # Errors
    /// The store failed.
    pub async fn offered(&self, client: ClientId) -> anyhow::Result<bool> {
        self.ports.sso_connections.any_active(client).await
    }

    /// This server's SAML SP metadata for connection `id` (public: it names only URLs).
    ///
    /// # Errors
    /// `ConnectionNotFound` (unknown, or not SAML), a store failure.
    pub async fn sp_metadata(&self, id: &str) -> Result<String, SsoError> {
        let id = Uuid::try_parse(id.trim()).map_err(|_| SsoError::ConnectionNotFound)?;
        let connection = self
            .ports
            .sso_connections
            .find(id)
            .await?
            .filter(|c| c.protocol == authservice_domain::sso::SsoProtocol::Saml)
            .ok_or(SsoError::ConnectionNotFound)?;
        self.ports
            .saml_sp
            .sp_metadata(
                &self.settings.metadata_url(connection.id),
                &self.settings.callback_url(connection.id),
            )
            .map_err(|e| SsoError::Unexpected(anyhow::anyhow!(e)))
    }

    /// Begins a sign-in: the IdP's authorization URL and the binding cookie.
    ///
    /// # Errors
    /// A failure with where to report it (the app's redirect URI once it is validated).
    #[tracing::instrument(name = "sso_start", level = "debug", skip_all)]
    pub async fn start(&self, ctx: &RequestCtx, input: StartInput) -> Result<Started, SsoFailure> {
        let client = ctx
            .client
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("SSO start without a client"))?;
        self.ports
            .limits
            .take(Limit::SsoStart, &subject::ip(ctx))
            .await?
            .map_err(|retry_after| SsoError::RateLimited { retry_after })?;
        let return_to = return_to(&self.settings, client, &input)?;
        let fail = |error: SsoError| SsoFailure {
            error,
            return_to: return_to.clone(),
        };
        if !client.is_active() {
            return Err(fail(SsoError::ClientSuspended));
        }
        let app_challenge = app_challenge(&input).map_err(fail)?;
        let connection = self.connection(client, &input).await.map_err(fail)?;
        // Back to the hosted login page: the page's own random `state` binds the code to the
        // tab that began (the exchange must present it), so nobody can plant a code of their
        // sign-in in another browser's login page.
        if return_to.redirect_uri.is_none() && return_to.app_state.is_none() {
            return Err(fail(
                ValidationError::new("state", "is required without a redirect_uri").into(),
            ));
        }
        let binding = hex(&self.ports.random.bytes32());
        let stored = json!({
            "binding": hex(&sha256(binding.as_bytes())),
            "redirect_uri": return_to.redirect_uri,
            "app_state": return_to.app_state,
            "code_challenge": app_challenge,
        });
        let (location, state) = attempt::begin(
            &self.ports,
            &self.settings,
            &connection,
            input.email.as_deref().map(str::trim),
            stored,
        )
        .await
        .map_err(fail)?;
        Ok(Started {
            location,
            cookie_name: binding_cookie_name(&state),
            cookie_value: binding,
            cross_site_post: connection.protocol == authservice_domain::sso::SsoProtocol::Saml,
        })
    }

    /// The IdP sent the browser back: checks the attempt, the IdP's answer and the user, and
    /// answers where to send the browser with its `auth_code`.
    ///
    /// # Errors
    /// A failure with where to report it (the app's redirect URI when the attempt named one).
    #[tracing::instrument(name = "sso_callback", level = "debug", skip_all)]
    pub async fn callback(
        &self,
        ctx: &RequestCtx,
        input: CallbackInput,
    ) -> Result<Landed, SsoFailure> {
        // A SAML Response whose RelayState is none of our attempts: IdP-initiated.
        let ours = input
            .state
            .as_deref()
            .is_some_and(attempt::is_attempt_state);
        if input.saml_response.is_some() && !ours {
            return self.unsolicited(ctx, &input).await;
        }
        let (stored, return_to) = attempt::take(&self.ports, input.state.as_deref()).await?;
        // A test sign-in: checked like one, shown, never used (no binding: nothing is granted).
        if stored.get("test_id").is_some() {
            return Ok(Landed::Tested(self.finish_test(ctx, &input, &stored).await));
        }
        let outcome = self
            .finish(ctx, &input, &stored)
            .await
            .map(|code| success_location(&self.settings, &return_to, &code));
        match outcome {
            Ok(location) => Ok(Landed::Redirect(location)),
            Err((error, connection)) => {
                self.record_failure(ctx, &stored, connection.as_ref(), &error)
                    .await;
                Err(SsoFailure { error, return_to })
            }
        }
    }

    /// The checks after the attempt was found; the connection, when known, for the audit.
    async fn finish(
        &self,
        ctx: &RequestCtx,
        input: &CallbackInput,
        stored: &Value,
    ) -> Result<String, (SsoError, Option<SsoConnection>)> {
        let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
        if !attempt::bound(input.binding.as_deref(), stored)
            || field("connection_id") != input.connection.trim()
        {
            return Err((SsoError::StateInvalid, None));
        }
        self.answered(ctx, input, stored).await
    }

    /// The IdP's answer for the attempt (or unsolicited sign-in) `stored`, its user, and the
    /// one-time code.
    pub(super) async fn answered(
        &self,
        ctx: &RequestCtx,
        input: &CallbackInput,
        stored: &Value,
    ) -> Result<String, (SsoError, Option<SsoConnection>)> {
        let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
        let client_id =
            ClientId::parse(field("client_id")).map_err(|_| (SsoError::StateInvalid, None))?;
        let connection_id =
            Uuid::try_parse(field("connection_id")).map_err(|_| (SsoError::StateInvalid, None))?;
        let connection = self
            .ports
            .sso_connections
            .get(client_id, connection_id)
            .await
            .map_err(|e| (e.into(), None))?
            .ok_or((SsoError::ConnectionNotFound, None))?;
        let with = |e: SsoError| (e, Some(connection.clone()));
        if !connection.is_active() {
            return Err(with(SsoError::ConnectionDisabled));
        }
        if let Some(error) = &input.error {
            let why: String = error.chars().take(64).collect();
            return Err(with(SsoError::Failed(format!("idp_error:{why}"))));
        }
        let (assertion, profile) = attempt::answer(
            &self.ports,
            &self.settings,
            &connection,
            input.idp_answer(),
            stored,
        )
        .await
        .map_err(with)?;
        let amr = attempt::idp_amr(&assertion.claims);
        let user = self
            .sign_in_as(ctx, &connection, &profile)
            .await
            .map_err(with)?;
        let value = json!({
            "client_id": client_id.to_string(),
            "user_id": user.id.to_string(),
            "method": "sso",
            "redirect_uri": stored.get("redirect_uri"),
            "code_challenge": stored.get("code_challenge"),
            // The login page's state (see `start`), as a digest.
            "page_state": attempt::page_state(stored),
            "auth_time": self.ports.clock.now().timestamp(),
            "amr": amr,
        });
        crate::email::redirect_code::mint_code(&self.ports, &value)
            .await
            .map_err(|e| with(e.into()))
    }

    pub(super) async fn record_failure(
        &self,
        ctx: &RequestCtx,
        stored: &Value,
        connection: Option<&SsoConnection>,
        error: &SsoError,
    ) {
        tracing::info!(reason = %error.reason(), "SSO sign-in refused");
        let mut event = ctx.audit(EventType::SsoLoginFailed);
        if let Some(client) = stored
            .get("client_id")
            .and_then(Value::as_str)
            .and_then(|c| ClientId::parse(c).ok())
        {
            event = event.client(client);
        }
        if let Some(c) = connection {
            event = event.target("sso_connection", c.id);
        }
        let event = event
            .metadata(json!({ "reason": error.reason() }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
    }
}
