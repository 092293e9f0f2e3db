//! One SSO attempt: begun at the IdP with its state, nonce and PKCE verifier kept server-side
//! (under the SHA-256 of the state, for [`super::SSO_STATE_TTL`]), and the IdP's answer checked
//! and mapped onto a profile.

use authservice_domain::secret::{hex, sha256};
use authservice_domain::sso::{ExternalProfile, SsoConnection, SsoProtocol};
use secrecy::SecretString;
use serde_json::Value;

use super::sign_in::StartInput;
use super::{ReturnTo, SSO_STATE_TTL, SsoError};
use crate::organizations::SsoSettings;
use crate::ports::{
    IdpAssertion, IdpError, OidcAuthRequest, OidcCallback, OidcQuirks, Ports, SamlAuthRequest,
    SamlResponseCheck, SealedSecret,
};
use authservice_domain::{Client, ValidationError};

/// The cookie binding the attempt with this `state` to its browser (one per attempt, so
/// attempts in several tabs do not overwrite each other).
#[must_use]
pub fn binding_cookie_name(state: &str) -> String {
    format!("sso_{}", &hex(&sha256(state.as_bytes()))[..16])
}

pub(crate) fn state_key(state: &str) -> String {
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
    let state = hex(&ports.random.bytes32());
    let callback = settings.callback_url(connection.id);
    let location = match (connection.protocol, &connection.oidc, &connection.saml) {
        (SsoProtocol::Oidc, Some(idp), _) => {
            oidc_authorization(ports, idp, &callback, &state, login_hint, None, &mut stored).await?
        }
        (SsoProtocol::Saml, _, Some(idp)) => {
            // An NCName: a letter first.
            let request_id = format!("_{}", hex(&ports.random.bytes32()));
            let sp_entity_id = settings.metadata_url(connection.id);
            let location = ports
                .saml_sp
                .authn_request_url(SamlAuthRequest {
                    idp,
                    sp_entity_id: &sp_entity_id,
                    acs_url: &callback,
                    request_id: &request_id,
                    relay_state: &state,
                })
                .map_err(idp_error)?;
            stored["request_id"] = Value::from(request_id);
            location
        }
        _ => return Err(SsoError::Failed("connection_incomplete".to_owned())),
    };
    stored["client_id"] = Value::from(connection.client_id.to_string());
    stored["connection_id"] = Value::from(connection.id.to_string());
    ports
        .ephemeral
        .put_value(&state_key(&state), &stored.to_string(), SSO_STATE_TTL)
        .await?;
    Ok((location, state))
}

/// An OpenID Connect IdP's authorization URL for the attempt `state` (code flow, PKCE, nonce);
/// the nonce and verifier go into `stored` for the way back.
///
/// # Errors
/// `IdpUnavailable` (discovery failed).
pub(crate) async fn oidc_authorization(
    ports: &Ports,
    idp: &authservice_domain::sso::OidcIdp,
    callback: &str,
    state: &str,
    login_hint: Option<&str>,
    social: Option<authservice_domain::social::SocialKind>,
    stored: &mut Value,
) -> Result<String, SsoError> {
    let nonce = hex(&ports.random.bytes32());
    // 64 hex characters: a valid PKCE verifier (43–128 unreserved characters).
    let verifier = hex(&ports.random.bytes32());
    let location = ports
        .oidc_rp
        .authorization_url(OidcAuthRequest {
            idp,
            redirect_uri: callback,
            state,
            nonce: &nonce,
            code_verifier: &verifier,
            login_hint,
            form_post: social.is_some_and(authservice_domain::social::SocialKind::posts_back),
            multi_tenant: social == Some(authservice_domain::social::SocialKind::Microsoft),
        })
        .await
        .map_err(idp_error)?;
    stored["nonce"] = Value::from(nonce);
    stored["verifier"] = Value::from(verifier);
    Ok(location)
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
    answer: IdpAnswer<'_>,
    stored: &Value,
) -> Result<(IdpAssertion, ExternalProfile), SsoError> {
    let assertion = match connection.protocol {
        SsoProtocol::Oidc => oidc_answer(ports, settings, connection, answer.code, stored).await?,
        SsoProtocol::Saml => {
            saml_answer(ports, settings, connection, answer.saml_response, stored).await?
        }
    };
    let profile = connection
        .attribute_mapping
        .profile(&assertion.subject, &assertion.claims)
        .map_err(|e| SsoError::Failed(format!("profile: {e}")))?;
    Ok((assertion, profile))
}

/// What the IdP brought back: an OIDC `code`, or a SAML `SAMLResponse`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdpAnswer<'a> {
    pub code: Option<&'a str>,
    pub saml_response: Option<&'a str>,
}

/// A SAML Response: validated (signature, issuer, audience, destination, recipient, window,
/// `InResponseTo` = this attempt's request), used once (its assertion ID is remembered until
/// it expires), its `NameID` the subject and its attributes the claims.
async fn saml_answer(
    ports: &Ports,
    settings: &SsoSettings,
    connection: &SsoConnection,
    saml_response: Option<&str>,
    stored: &Value,
) -> Result<IdpAssertion, SsoError> {
    let response = saml_response
        .filter(|r| !r.is_empty() && r.len() <= 1024 * 1024)
        .ok_or_else(|| SsoError::Failed("no_saml_response".to_owned()))?;
    let Some(idp) = &connection.saml else {
        return Err(SsoError::Failed("connection_incomplete".to_owned()));
    };
    let sp_entity_id = settings.metadata_url(connection.id);
    let acs_url = settings.callback_url(connection.id);
    // (None: an IdP-initiated response, which must answer no request.)
    let request_id = stored.get("request_id").and_then(Value::as_str);
    let assertion = ports
        .saml_sp
        .check_response(SamlResponseCheck {
            idp,
            sp_entity_id: &sp_entity_id,
            acs_url: &acs_url,
            saml_response: response,
            request_id,
        })
        .await
        .map_err(idp_error)?;
    // One use per assertion, for as long as it could be accepted.
    let now = ports.clock.now();
    let ttl = assertion
        .not_on_or_after
        .and_then(|t| (t - now).to_std().ok())
        .unwrap_or(SSO_STATE_TTL)
        .max(std::time::Duration::from_secs(60))
        + std::time::Duration::from_secs(300);
    let key = format!(
        "saml_assertion:{}:{}",
        connection.id,
        hex(&sha256(assertion.assertion_id.as_bytes()))
    );
    if !ports.ephemeral.put_new(&key, ttl).await? {
        return Err(SsoError::Failed("assertion_replayed".to_owned()));
    }
    let mut claims = assertion.attributes;
    // A NameID that is an address stands in for a missing `email` attribute.
    if !claims.contains_key(&connection.attribute_mapping.email)
        && connection.attribute_mapping.email == "email"
        && authservice_domain::Email::parse(&assertion.subject).is_ok()
    {
        claims.insert("email".to_owned(), Value::from(assertion.subject.clone()));
    }
    Ok(IdpAssertion {
        subject: assertion.subject,
        claims,
        provider_tokens: None,
    })
}

async fn oidc_answer(
    ports: &Ports,
    settings: &SsoSettings,
    connection: &SsoConnection,
    code: Option<&str>,
    stored: &Value,
) -> Result<IdpAssertion, SsoError> {
    let (Some(idp), Some(sealed)) = (&connection.oidc, &connection.sealed_secret) else {
        return Err(SsoError::Failed("connection_incomplete".to_owned()));
    };
    let callback = settings.callback_url(connection.id);
    oidc_exchange(
        ports,
        idp,
        sealed,
        &callback,
        code,
        OidcQuirks::default(),
        stored,
    )
    .await
}

/// An OpenID Connect IdP's answer: the code exchanged with the attempt's verifier and the
/// client secret (`sealed`), the ID token verified with its nonce.
///
/// # Errors
/// `Failed` (no code, a refused exchange or token), `IdpUnavailable`.
pub(crate) async fn oidc_exchange(
    ports: &Ports,
    idp: &authservice_domain::sso::OidcIdp,
    sealed: &[u8],
    callback: &str,
    code: Option<&str>,
    quirks: OidcQuirks<'_>,
    stored: &Value,
) -> Result<IdpAssertion, SsoError> {
    let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
    let code = code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| SsoError::Failed("no_code".to_owned()))?;
    let secret = ports.secret_box.open(&SealedSecret(sealed.to_vec()))?;
    let secret = SecretString::from(String::from_utf8_lossy(&secret).into_owned());
    let callback = callback.to_owned();
    let assertion = ports
        .oidc_rp
        .finish(OidcCallback {
            idp,
            client_secret: &secret,
            redirect_uri: &callback,
            code,
            code_verifier: field("verifier"),
            nonce: field("nonce"),
            quirks,
        })
        .await
        .map_err(idp_error)?;
    Ok(assertion)
}

pub(crate) fn idp_error(e: IdpError) -> SsoError {
    match e {
        IdpError::Unavailable(why) => SsoError::IdpUnavailable(why),
        IdpError::Refused(why) => SsoError::Failed(why),
    }
}

/// The IdP's `amr` values that RFC 8176 registers (how the user signed in there), if it sent
/// any.
pub(crate) fn idp_amr(claims: &serde_json::Map<String, Value>) -> Vec<String> {
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

/// Where the code (or an error) may be sent: a registered redirect URI of `client`, or
/// the hosted login page when there is none.
pub(crate) fn return_to(
    settings: &SsoSettings,
    client: &Client,
    input: &StartInput,
) -> Result<ReturnTo, SsoError> {
    let app_state = input
        .app_state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(512).collect());
    let Some(uri) = input
        .redirect_uri
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Ok(ReturnTo {
            redirect_uri: None,
            app_state,
        });
    };
    if !settings.accepts_redirect_uri(client, uri) {
        return Err(SsoError::RedirectUriNotAllowed);
    }
    Ok(ReturnTo {
        redirect_uri: Some(uri.to_owned()),
        app_state,
    })
}

/// The app's PKCE challenge, if it sent one (S256 only).
pub(crate) fn app_challenge(input: &StartInput) -> Result<Option<String>, SsoError> {
    let challenge = input
        .code_challenge
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match (challenge, input.code_challenge_method.as_deref()) {
        (None, _) => Ok(None),
        (Some(c), Some("S256")) if authservice_domain::pkce::is_s256_challenge(c) => {
            Ok(Some(c.to_owned()))
        }
        _ => Err(ValidationError::new(
            "code_challenge",
            "must be BASE64URL(SHA-256(code_verifier)) with code_challenge_method=S256",
        )
        .into()),
    }
}

pub(crate) fn success_location(settings: &SsoSettings, return_to: &ReturnTo, code: &str) -> String {
    let base = return_to
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("{}/login.html", settings.base_url));
    let mut url = url::Url::parse(&base).unwrap_or_else(|_| {
        url::Url::parse(&format!("{}/login.html", settings.base_url)).expect("BASE_URL is a URL")
    });
    url.query_pairs_mut().append_pair("auth_code", code);
    if let Some(state) = &return_to.app_state {
        url.query_pairs_mut().append_pair("state", state);
    }
    url.into()
}

/// Whether `state` has the shape of an attempt's state (64 hex characters, [`hex`] of 32
/// random bytes).
pub(crate) fn is_attempt_state(state: &str) -> bool {
    state.len() == 64 && state.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Takes the attempt `state` names (single use, whatever follows) and where it reports to.
///
/// # Errors
/// `StateInvalid` (no state, unknown, expired, used), a store failure.
pub(crate) async fn take(
    ports: &Ports,
    state: Option<&str>,
) -> Result<(Value, ReturnTo), SsoError> {
    let state = state
        .filter(|s| is_attempt_state(s))
        .ok_or(SsoError::StateInvalid)?;
    let stored = ports
        .ephemeral
        .take(&state_key(state))
        .await?
        .and_then(|v| serde_json::from_str::<Value>(&v).ok())
        .ok_or(SsoError::StateInvalid)?;
    let field = |name: &str| stored.get(name).and_then(Value::as_str).map(str::to_owned);
    let return_to = ReturnTo {
        redirect_uri: field("redirect_uri"),
        app_state: field("app_state"),
    };
    Ok((stored, return_to))
}

/// Whether `binding` (the cookie's value in this browser) is the attempt's: its stored hex
/// SHA-256, compared in constant time.
pub(crate) fn bound(binding: Option<&str>, stored: &Value) -> bool {
    let expected = stored
        .get("binding")
        .and_then(Value::as_str)
        .unwrap_or_default();
    binding.is_some_and(|b| {
        authservice_domain::secret::secrets_equal(
            hex(&sha256(b.as_bytes())).as_bytes(),
            expected.as_bytes(),
        )
    })
}

/// The digest of the hosted login page's state a code for that page carries (`None` when the
/// attempt returns to an app's redirect URI).
pub(crate) fn page_state(stored: &Value) -> Option<String> {
    stored
        .get("redirect_uri")
        .filter(|r| r.is_null())
        .and(stored.get("app_state").and_then(Value::as_str))
        .map(|s| hex(&sha256(s.as_bytes())))
}
