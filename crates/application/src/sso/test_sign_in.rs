//! Test sign-ins: an admin setting a connection up runs the flow at the IdP and sees what it
//! sends (the subject, the mapped profile, every claim) — or why it failed — without anyone
//! being signed in, created or linked. The result waits ten minutes for the admin's API call.

use authservice_domain::sso::SsoConnection;
use authservice_domain::{ClientId, EventType};
use serde_json::{Value, json};
use uuid::Uuid;

use super::attempt;
use super::sign_in::SsoSignIn;
use super::{SSO_STATE_TTL, SsoError};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::organizations::SsoSettings;
use crate::ports::Ports;

fn result_key(test: Uuid) -> String {
    format!("sso_test:{test}")
}

/// Begins a test sign-in at `connection`'s IdP: `(test id, where to send a browser)`.
///
/// # Errors
/// The connection cannot sign in, the IdP's discovery failed, a store failure.
pub(crate) async fn begin(
    ports: &Ports,
    settings: &SsoSettings,
    connection: &SsoConnection,
) -> Result<(Uuid, String), SsoError> {
    let test = Uuid::now_v7();
    let (location, _) = attempt::begin(
        ports,
        settings,
        connection,
        None,
        json!({ "test_id": test.to_string() }),
    )
    .await?;
    Ok((test, location))
}

/// The result of test `test` of `connection`, if it finished.
///
/// # Errors
/// A store failure.
pub(crate) async fn result(
    ports: &Ports,
    connection: &SsoConnection,
    test: Uuid,
) -> anyhow::Result<Option<Value>> {
    let stored = ports.ephemeral.get_value(&result_key(test)).await?;
    Ok(stored
        .and_then(|v| serde_json::from_str::<Value>(&v).ok())
        .filter(|v| v["connection_id"] == connection.id.to_string().as_str()))
}

impl SsoSignIn {
    /// The IdP's answer to a test attempt: checked like a sign-in, then shown, never used.
    pub(super) async fn finish_test(
        &self,
        ctx: &RequestCtx,
        input: &super::CallbackInput,
        stored: &Value,
    ) -> Value {
        let connection_in_path = input.connection.as_str();
        let idp_error = input.error.as_deref();
        let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
        let test = Uuid::try_parse(field("test_id")).ok();
        let client = ClientId::parse(field("client_id")).ok();
        let connection = match (client, Uuid::try_parse(field("connection_id"))) {
            (Some(client), Ok(id)) if id.to_string() == connection_in_path.trim() => self
                .ports
                .sso_connections
                .get(client, id)
                .await
                .ok()
                .flatten(),
            _ => None,
        };
        let outcome = match (&connection, idp_error) {
            (None, _) => Err(SsoError::StateInvalid),
            (Some(_), Some(error)) => Err(SsoError::Failed(format!(
                "idp_error:{}",
                error.chars().take(64).collect::<String>()
            ))),
            (Some(c), None) => {
                attempt::answer(&self.ports, &self.settings, c, input.idp_answer(), stored).await
            }
        };
        let mut result = match outcome {
            Ok((assertion, profile)) => json!({
                "ok": true,
                "subject": profile.subject,
                "profile": {
                    "email": profile.email.as_str(),
                    "email_verified": profile.email_verified,
                    "given_name": profile.given_name,
                    "family_name": profile.family_name,
                    "groups": profile.groups,
                },
                "claims": assertion.claims,
            }),
            // The admin sees why (the IdP's answer is theirs to fix); nobody was signed in.
            Err(e) => json!({
                "ok": false,
                "error": e.code(),
                "reason": e.to_string().chars().take(500).collect::<String>(),
            }),
        };
        result["connection_id"] = json!(field("connection_id"));
        result["test_id"] = json!(field("test_id"));
        if let (Some(c), Some(test)) = (&connection, test) {
            let _ = self
                .ports
                .ephemeral
                .put_value(&result_key(test), &result.to_string(), SSO_STATE_TTL)
                .await;
            let event = ctx
                .audit(EventType::SsoConnectionTested)
                .client(c.client_id)
                .target("sso_connection", c.id)
                .metadata(json!({ "ok": result["ok"], "error": result.get("error") }))
                .at(self.ports.clock.now());
            record_quietly(&self.ports, &event).await;
        }
        result
    }
}
