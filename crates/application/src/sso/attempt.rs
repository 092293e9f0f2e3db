//! One SSO attempt: begun at the IdP with its state, nonce and PKCE verifier kept server-side
//! (under the SHA-256 of the state, for [`super::SSO_STATE_TTL`]), and the IdP's answer checked
//! and mapped onto a profile.

use authservice_domain::secret::{hex, sha256};
use authservice_domain::sso::{ExternalProfile, SsoConnection, SsoProtocol};
use secrecy::SecretString;
use serde_json::Value;

use super::{SSO_STATE_TTL, SsoError};
use crate::organizations::SsoSettings;
use crate::ports::{IdpAssertion, IdpError, OidcAuthRequest, OidcCallback, Ports, SealedSecret};

/// The cookie binding the attempt with this `state` to its browser (one per attempt, so
/// attempts in several tabs do not overwrite each other).
#[must_use]
pub fn binding_cookie_name(state: &str) -> String {
    format!("sso_{}", &hex(&sha256(state.as_bytes()))[..16])
}

pub(super) fn state_key(state: &str) -> String {
    format!("sso_state:{}", hex(&sha256(state.as_bytes())))
}

/// Begins an attempt at `connection`'s IdP: where to send the browser, and the attempt's
/// `state`. `stored` carries what the way back needs besides the connection, nonce and
/// verifier (the binding, the app's redirect URI, a test's id).
///
/// # Errors
/// The connection cannot sign in (protocol), the IdP's discovery failed, a store failure.
pub(crate) async fn begin(
    ports: &Ports,
    settings: &SsoSettings,
    connection: &SsoConnection,
    login_hint: Option<&str>,
    mut stored: Value,
) -> Result<(String, String), SsoError> {
    let (Some(idp), SsoProtocol::Oidc) = (&connection.oidc, connection.protocol) else {
        return Err(SsoError::Failed("protocol not available".to_owned()));
    };
    let state = hex(&ports.random.bytes32());
    let nonce = hex(&ports.random.bytes32());
    // 64 hex characters: a valid PKCE verifier (43–128 unreserved characters).
    let verifier = hex(&ports.random.bytes32());
    let callback = settings.callback_url(connection.id);
    let location = ports
        .oidc_rp
        .authorization_url(OidcAuthRequest {
            idp,
            redirect_uri: &callback,
            state: &state,
            nonce: &nonce,
            code_verifier: &verifier,
            login_hint,
        })
        .await
        .map_err(idp_error)?;
    stored["client_id"] = Value::from(connection.client_id.to_string());
    stored["connection_id"] = Value::from(connection.id.to_string());
    stored["nonce"] = Value::from(nonce);
    stored["verifier"] = Value::from(verifier);
    ports
        .ephemeral
        .put_value(&state_key(&state), &stored.to_string(), SSO_STATE_TTL)
        .await?;
    Ok((location, state))
}

/// The IdP's answer to the attempt `stored`: the code exchanged (with the attempt's verifier),
/// the ID token verified (with its nonce), and the claims mapped by the connection.
///
/// # Errors
/// `Failed` (no code, a refused exchange or token, an unusable profile), `IdpUnavailable`.
pub(super) async fn answer(
    ports: &Ports,
    settings: &SsoSettings,
    connection: &SsoConnection,
    code: Option<&str>,
    stored: &Value,
) -> Result<(IdpAssertion, ExternalProfile), SsoError> {
    let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
    let code = code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| SsoError::Failed("no_code".to_owned()))?;
    let (Some(idp), Some(sealed)) = (&connection.oidc, &connection.sealed_secret) else {
        return Err(SsoError::Failed("connection_incomplete".to_owned()));
    };
    let secret = ports.secret_box.open(&SealedSecret(sealed.clone()))?;
    let secret = SecretString::from(String::from_utf8_lossy(&secret).into_owned());
    let callback = settings.callback_url(connection.id);
    let assertion = ports
        .oidc_rp
        .finish(OidcCallback {
            idp,
            client_secret: &secret,
            redirect_uri: &callback,
            code,
            code_verifier: field("verifier"),
            nonce: field("nonce"),
        })
        .await
        .map_err(idp_error)?;
    let profile = connection
        .attribute_mapping
        .profile(&assertion.subject, &assertion.claims)
        .map_err(|e| SsoError::Failed(format!("profile: {e}")))?;
    Ok((assertion, profile))
}

pub(super) fn idp_error(e: IdpError) -> SsoError {
    match e {
        IdpError::Unavailable(why) => SsoError::IdpUnavailable(why),
        IdpError::Refused(why) => SsoError::Failed(why),
    }
}

/// The IdP's `amr` values that RFC 8176 registers (how the user signed in there), if it sent
/// any.
pub(super) fn idp_amr(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    const REGISTERED: &[&str] = &[
        "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd", "rba",
        "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
    ];
    claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| REGISTERED.contains(v))
                .take(10)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
