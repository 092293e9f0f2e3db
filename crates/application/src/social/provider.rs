//! Speaking to a provider by its kind: OpenID Connect (Google, Microsoft, Apple, any `oidc`)
//! or OAuth 2.0 and a profile API (GitHub, Discord). Both begin an attempt bound to the
//! browser (a cookie; `SameSite=None` for Apple's cross-site form POST back) and end with an
//! [`IdpAssertion`] whose `email_verified` says whether the provider vouches for the address.

use authservice_domain::secret::{hex, sha256};
use authservice_domain::social::{self, SocialKind, SocialProtocol, SocialProvider};
use secrecy::SecretString;
use serde_json::Value;

use super::callback_url;
use crate::organizations::SsoSettings;
use crate::ports::{
    IdpAssertion, OAuth2AuthRequest, OAuth2Callback, OidcQuirks, Ports, SealedSecret,
};
use crate::sso::attempt::{self, binding_cookie_name, state_key};
use crate::sso::{SSO_STATE_TTL, SsoError, Started};

/// Begins an attempt at `provider` with `stored` (what the way back needs): the provider's
/// authorization URL and the cookie binding the attempt to this browser.
///
/// # Errors
/// `IdpUnavailable` (discovery failed), a store failure.
pub(super) async fn begin(
    ports: &Ports,
    settings: &SsoSettings,
    provider: &SocialProvider,
    mut stored: Value,
    login_hint: Option<&str>,
) -> Result<Started, SsoError> {
    let binding = hex(&ports.random.bytes32());
    let state = hex(&ports.random.bytes32());
    stored["social"] = Value::from(provider.kind.as_str());
    stored["binding"] = Value::from(hex(&sha256(binding.as_bytes())));
    let callback = callback_url(settings, provider.kind);
    let location = match (provider.kind.protocol(), &provider.endpoints) {
        (SocialProtocol::OAuth2, Some(endpoints)) => {
            // 64 hex characters: a valid PKCE verifier.
            let verifier = hex(&ports.random.bytes32());
            let location = ports
                .oauth2
                .authorization_url(OAuth2AuthRequest {
                    kind: provider.kind,
                    endpoints,
                    client_id: &provider.idp.client_id,
                    scopes: &provider.idp.scopes,
                    redirect_uri: &callback,
                    state: &state,
                    code_verifier: &verifier,
                })
                .await
                .map_err(attempt::idp_error)?;
            stored["verifier"] = Value::from(verifier);
            location
        }
        _ => {
            attempt::oidc_authorization(
                ports,
                &provider.idp,
                &callback,
                &state,
                login_hint,
                Some(provider.kind),
                &mut stored,
            )
            .await?
        }
    };
    ports
        .ephemeral
        .put_value(&state_key(&state), &stored.to_string(), SSO_STATE_TTL)
        .await?;
    Ok(Started {
        location,
        cookie_name: binding_cookie_name(&state),
        cookie_value: binding,
        cross_site_post: provider.kind.posts_back(),
    })
}

/// The provider's answer to the attempt `stored`: the code exchanged and the user it names,
/// with `email_verified` set to whether this provider vouches for `email`
/// ([`social::email_verified`]) and Apple's one-time `user` name folded in.
///
/// # Errors
/// `Failed` (no code, a refused exchange or token), `IdpUnavailable`.
pub(super) async fn exchange(
    ports: &Ports,
    settings: &SsoSettings,
    provider: &SocialProvider,
    answer: &crate::sso::CallbackInput,
    stored: &Value,
) -> Result<IdpAssertion, SsoError> {
    let callback = callback_url(settings, provider.kind);
    let code = answer.code.as_deref();
    let mut assertion = match (provider.kind.protocol(), &provider.endpoints) {
        (SocialProtocol::OAuth2, Some(endpoints)) => {
            let code = code
                .filter(|c| !c.is_empty() && c.len() <= 4096)
                .ok_or_else(|| SsoError::Failed("no_code".to_owned()))?;
            let secret = ports
                .secret_box
                .open(&SealedSecret(provider.sealed_secret.clone()))?;
            let secret = SecretString::from(String::from_utf8_lossy(&secret).into_owned());
            ports
                .oauth2
                .finish(OAuth2Callback {
                    kind: provider.kind,
                    endpoints,
                    client_id: &provider.idp.client_id,
                    client_secret: &secret,
                    redirect_uri: &callback,
                    code,
                    code_verifier: stored
                        .get("verifier")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    keep_tokens: provider.store_tokens,
                })
                .await
                .map_err(attempt::idp_error)?
        }
        _ => {
            let quirks = OidcQuirks {
                multi_tenant: provider.kind == SocialKind::Microsoft,
                apple: provider.apple.as_ref(),
                keep_tokens: provider.store_tokens,
            };
            attempt::oidc_exchange(
                ports,
                &provider.idp,
                &provider.sealed_secret,
                &callback,
                code,
                quirks,
                stored,
            )
            .await?
        }
    };
    let verified = social::email_verified(provider.kind, &assertion.claims);
    assertion
        .claims
        .insert("email_verified".to_owned(), Value::Bool(verified));
    if provider.kind == SocialKind::Apple
        && !assertion.claims.contains_key("name")
        && let Some(name) = answer.user.as_deref().and_then(apple_name)
    {
        assertion
            .claims
            .insert("name".to_owned(), Value::String(name));
    }
    Ok(assertion)
}

/// The provider's tokens sealed for keeping, when its configuration keeps them.
///
/// # Errors
/// Sealing failed.
pub(super) fn sealed_tokens(
    ports: &Ports,
    assertion: &IdpAssertion,
) -> anyhow::Result<Option<Vec<u8>>> {
    use secrecy::ExposeSecret;
    assertion
        .provider_tokens
        .as_ref()
        .map(|tokens| Ok(ports.secret_box.seal(tokens.expose_secret().as_bytes())?.0))
        .transpose()
}

/// The name in Apple's `user` form field (`{"name": {"firstName", "lastName"}}`), sent on the
/// first sign-in only and not signed: used for the display name of a new user, nothing else.
fn apple_name(user: &str) -> Option<String> {
    if user.len() > 4096 {
        return None;
    }
    let user: Value = serde_json::from_str(user).ok()?;
    let part = |name: &str| {
        user.pointer(&format!("/name/{name}"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty())
    };
    let name = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::apple_name;

    #[test]
    fn apples_user_field_gives_a_name_or_nothing() {
        assert_eq!(
            apple_name(r#"{"name":{"firstName":"Ann","lastName":"Lee"},"email":"a@b.c"}"#)
                .as_deref(),
            Some("Ann Lee")
        );
        assert_eq!(apple_name(r#"{"email":"a@b.c"}"#), None);
        assert_eq!(apple_name("not json"), None);
    }
}
