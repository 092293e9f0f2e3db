//! Passkeys (WebAuthn through webauthn-rs): registration by a signed-in user, login
//! (usernameless/discoverable or email-first), and completing a login challenge as a second
//! factor. Ceremony states live 5 minutes in the ephemeral store, single use, bound to their
//! client (and user). The relying party comes from the client's settings (`webauthn_rp_id`,
//! `webauthn_rp_origin`, `webauthn_display_name`, `webauthn_attestation`,
//! `webauthn_require_attestation`, `webauthn_allowed_attestation_formats`), else `BASE_URL`.

use authservice_domain::EventType;
use authservice_domain::sign_in::{self, Proof, SecondFactors};
use authservice_domain::{Branding, Client, ClientId, Email, LinkBase, User, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::challenge::CompleteChallenge;
use super::{CEREMONY_TTL, MfaError, new_token, token_key};
use crate::audit::record_quietly;
use crate::auth::{AuthConfig, AuthenticatedUser, IssuedTokens, login_event, prepare_session};
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::ports::{Ports, RelyingParty, StoredPasskey};

/// A started ceremony: the browser's options and the id to finish it with.
#[derive(Debug, Clone)]
pub struct PasskeyCeremony {
    pub session_id: String,
    pub options: Value,
    pub expires_in: u64,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub backed_up: bool,
    pub attestation_format: Option<String>,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            backed_up: p.backed_up,
            attestation_format: p.attestation_format.clone(),
        }
    }
}

/// How a login ceremony starts.
#[derive(Default)]
pub struct BeginPasskeyLogin {
    /// Email-first: a discoverable ceremony like usernameless login (the answer does not tell
    /// whether the address has passkeys, or an account), finished only by a passkey of that
    /// account.
    pub email: Option<String>,
    /// Complete this login challenge with a passkey (second factor).
    pub two_factor_token: Option<String>,
}

impl std::fmt::Debug for BeginPasskeyLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeginPasskeyLogin")
            .field("email", &self.email)
            .field(
                "two_factor_token",
                &self.two_factor_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The relying party of `client`.
fn relying_party(client: &Client, base_url: &LinkBase) -> Result<RelyingParty, MfaError> {
    let base = url::Url::parse(base_url.as_str()).map_err(anyhow::Error::from)?;
    let webauthn = &client.policy().webauthn;
    let origin = webauthn
        .rp_origin
        .clone()
        .unwrap_or_else(|| base_url.origin());
    // Validated as an absolute http(s) URL when the client was written.
    let origin_host = url::Url::parse(&origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let id = webauthn
        .rp_id
        .clone()
        .or(origin_host)
        .or_else(|| base.host_str().map(str::to_owned))
        .unwrap_or_default();
    // WebAuthn relying parties are registrable domains; an IP address (or nothing) is none.
    let bare = id.trim_start_matches('[').trim_end_matches(']');
    if id.is_empty() || bare.parse::<std::net::IpAddr>().is_ok() {
        return Err(MfaError::PasskeysNotConfigured);
    }
    let same_site = |host: &str| host == id || host.ends_with(&format!(".{id}"));
    let extra_origins = client
        .allowed_origins
        .iter()
        .map(|o| o.as_str().to_owned())
        .filter(|o| *o != origin)
        .filter(|o| {
            url::Url::parse(o)
                .ok()
                .and_then(|u| u.host_str().map(same_site))
                .unwrap_or(false)
        })
        .collect();
    let name = webauthn
        .display_name
        .clone()
        .unwrap_or_else(|| Branding::of(client).name);
    let attestation = webauthn.attestation.as_str().to_owned();
    Ok(RelyingParty {
        id,
        origin,
        extra_origins,
        name,
        attestation,
    })
}

/// The client's attestation policy applied to a registration's verified attestation (format
/// and type). "Required" accepts certificate-backed attestation only (`Basic`, `AttCa`,
/// `AnonCa`); the chain is checked for its signature, not against vendor roots.
fn check_attestation(client: &Client, format: &str, kind: &str) -> Result<(), MfaError> {
    let webauthn = &client.policy().webauthn;
    if webauthn.require_attestation && !matches!(kind, "Basic" | "AttCa" | "AnonCa") {
        return Err(MfaError::AttestationRefused(
            "this application requires an attested authenticator".to_owned(),
        ));
    }
    let allowed = &webauthn.allowed_attestation_formats;
    if !allowed.is_empty() && !allowed.iter().any(|f| f == format) {
        return Err(MfaError::AttestationRefused(format!(
            "attestation format '{format}' is not allowed"
        )));
    }
    Ok(())
}

fn parse_name(raw: Option<&str>) -> Result<Option<String>, MfaError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(authservice_domain::ValidationError::new(
            "name",
            "must be 1-64 characters without control characters",
        )
        .into());
    }
    Ok(Some(name.to_owned()))
}

/// Stores a ceremony state; returns its session id.
async fn store_ceremony(ports: &Ports, state: &Value) -> anyhow::Result<String> {
    let session_id = new_token(ports);
    ports
        .ephemeral
        .put_value(
            &token_key("webauthn", &session_id),
            &state.to_string(),
            CEREMONY_TTL,
        )
        .await?;
    Ok(session_id)
}

/// Takes a ceremony (single use) of `kind`s for `client`.
async fn take_ceremony(
    ports: &Ports,
    session_id: &str,
    client: ClientId,
) -> Result<Value, MfaError> {
    let stored = ports
        .ephemeral
        .take(&token_key("webauthn", session_id.trim()))
        .await?
        .ok_or(MfaError::CeremonyInvalid)?;
    let state: Value = serde_json::from_str(&stored).map_err(anyhow::Error::from)?;
    if state["client_id"].as_str() != Some(client.to_string().as_str()) {
        return Err(MfaError::CeremonyInvalid);
    }
    Ok(state)
}

mod login;
mod manage;

pub use login::PasskeyLogin;
pub use manage::ManagePasskeys;
