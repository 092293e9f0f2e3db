//! IdP-initiated (unsolicited) SAML sign-in: off unless a connection names where it lands.

use serde_json::json;
use uuid::Uuid;

use super::attempt::success_location;
use super::sign_in::{CallbackInput, Landed, SsoSignIn};
use super::{ReturnTo, SsoError, SsoFailure};
use crate::context::RequestCtx;

impl SsoSignIn {
    /// An IdP-initiated sign-in (SAML), only for a connection that names where it lands
    /// (`idp_initiated_redirect_uri`, a registered redirect URI of the client; a RelayState
    /// that is exactly another registered one is used instead). The response must answer no
    /// request; everything else is checked as for an attempt. Without a binding to a browser
    /// this is open to login CSRF by design, which is why it is off unless configured.
    pub(super) async fn unsolicited(
        &self,
        ctx: &RequestCtx,
        input: &CallbackInput,
    ) -> Result<Landed, SsoFailure> {
        let refused = |error: SsoError| SsoFailure {
            error,
            return_to: ReturnTo::default(),
        };
        let connection = match Uuid::try_parse(input.connection.trim()) {
            Ok(id) => self
                .ports
                .sso_connections
                .find(id)
                .await
                .map_err(|e| refused(e.into()))?,
            Err(_) => None,
        };
        let (Some(connection), Some(target)) = (
            connection.as_ref(),
            connection
                .as_ref()
                .and_then(|c| c.saml.as_ref())
                .and_then(|s| s.idp_initiated_redirect_uri.clone()),
        ) else {
            return Err(refused(SsoError::StateInvalid));
        };
        let client = self
            .ports
            .clients
            .get(connection.client_id)
            .await
            .map_err(|e| refused(e.into()))?
            .ok_or_else(|| refused(SsoError::ConnectionNotFound))?;
        let registered = |uri: &str| self.settings.accepts_redirect_uri(&client, uri);
        let redirect = match input.state.as_deref() {
            Some(relay) if registered(relay) => relay.to_owned(),
            _ => target,
        };
        if !registered(&redirect) {
            return Err(refused(SsoError::RedirectUriNotAllowed));
        }
        let return_to = ReturnTo {
            redirect_uri: Some(redirect.clone()),
            app_state: None,
        };
        let stored = json!({
            "client_id": client.id.to_string(),
            "connection_id": connection.id.to_string(),
            "redirect_uri": redirect,
            "idp_initiated": true,
        });
        match self.answered(ctx, input, &stored).await {
            Ok(code) => Ok(Landed::Redirect(success_location(
                &self.settings,
                &return_to,
                &code,
            ))),
            Err((error, connection)) => {
                self.record_failure(ctx, &stored, connection.as_ref(), &error)
                    .await;
                Err(SsoFailure { error, return_to })
            }
        }
    }
}
