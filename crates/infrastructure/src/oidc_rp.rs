//! The OpenID Connect relying party of enterprise SSO and social sign-in, with the
//! `openidconnect` crate: discovery (cached ten minutes per issuer, fetched again once when an
//! ID token's key is unknown), the authorization URL with PKCE (S256), nonce and state, the
//! code exchange (`client_secret_basic`, or `client_secret_post` for a provider that offers
//! only that), and the ID token's checks (signature by the IdP's JWKS, issuer, audience,
//! expiry, nonce). Consumer providers' quirks ([`OidcQuirks`]): Microsoft's multi-tenant
//! issuer (`{tenantid}`, matched against the token's `tid`), Apple's client secret (an ES256
//! JWT signed with the team's key) and its `form_post` answer.
//!
//! Every request goes through [`IdpHttp`] (no redirects, bounded, public addresses only unless
//! `ALLOW_INSECURE_IDP_URLS`): discovery documents name further URLs, and a hostile IdP cannot
//! point them at the internal network.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::{
    IdpAssertion, IdpError, OidcAuthRequest, OidcCallback, OidcRelyingParty,
};
use authservice_domain::sso::{OidcEndpoints, OidcIdp};
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalProviderMetadata, HttpRequest, IssuerUrl, JsonWebKeySet, JsonWebKeySetUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, ResponseTypes,
    Scope, TokenResponse, TokenUrl, UserInfoUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::idp_http::IdpHttp;

/// How long a discovery document (with its keys) is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);

pub struct OpenIdConnectRp {
    http: IdpHttp,
    discovered: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl OpenIdConnectRp {
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend).
    pub fn new(allow_insecure: bool) -> anyhow::Result<Self> {
        Ok(Self {
            http: IdpHttp::new(allow_insecure)?,
            discovered: Mutex::new(HashMap::new()),
        })
    }

    /// The IdP's discovery document and keys (cached unless `fresh`). With `multi_tenant`,
    /// the document may publish an issuer with a `{tenantid}` placeholder standing for the
    /// configured issuer's tenant segment (Microsoft's `common`).
    async fn metadata(
        &self,
        idp: &OidcIdp,
        multi_tenant: bool,
        fresh: bool,
    ) -> Result<CoreProviderMetadata, IdpError> {
        let issuer = idp.issuer.as_str();
        let key = format!("{multi_tenant}|{issuer}|{:?}", idp.endpoints);
        if !fresh
            && let Some((at, metadata)) = self.discovered.lock().expect("discovery cache").get(&key)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| IdpError::Unavailable(format!("issuer: {e}")))?;
        let http = self.http.clone();
        let call = move |request: HttpRequest| {
            let http = http.clone();
            async move { http.call(request).await }
        };
        let metadata = if let Some(endpoints) = &idp.endpoints {
            given_metadata(issuer_url, endpoints, &call).await?
        } else if multi_tenant {
            self.tenant_metadata(issuer, &call).await?
        } else {
            CoreProviderMetadata::discover_async(issuer_url, &call)
                .await
                .map_err(|e| IdpError::Unavailable(format!("discovery: {}", chain(&e))))?
        };
        let mut cache = self.discovered.lock().expect("discovery cache");
        if cache.len() >= 1000 {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Discovery where the published issuer may be a template: `…/{tenantid}/…` matching the
    /// configured issuer with any one segment in its place (else it must be equal).
    async fn tenant_metadata<C>(
        &self,
        issuer: &str,
        call: &C,
    ) -> Result<CoreProviderMetadata, IdpError>
    where
        C: for<'c> openidconnect::AsyncHttpClient<'c>,
    {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let body = self
            .http
            .get(&url)
            .await
            .map_err(|e| IdpError::Unavailable(format!("discovery: {e}")))?;
        let published = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|doc| doc.get("issuer").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| IdpError::Unavailable("discovery: no issuer".to_owned()))?;
        if !template_covers(&published, issuer) {
            return Err(IdpError::Unavailable(format!(
                "discovery: the document's issuer {published} is not {issuer}"
            )));
        }
        let metadata: CoreProviderMetadata = serde_json::from_slice(&body)
            .map_err(|e| IdpError::Unavailable(format!("discovery: {e}")))?;
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), call)
            .await
            .map_err(|e| IdpError::Unavailable(format!("keys: {}", chain(&e))))?;
        Ok(metadata.set_jwks(jwks))
    }

    async fn exchange(
        &self,
        callback: &OidcCallback<'_>,
        metadata: CoreProviderMetadata,
    ) -> Result<IdpAssertion, IdpError> {
        let redirect = RedirectUrl::new(callback.redirect_uri.to_owned())
            .map_err(|e| IdpError::Refused(format!("redirect URI: {e}")))?;
        let quirks = callback.quirks;
        let secret = match quirks.apple {
            Some(apple) => apple_client_secret(callback.idp, apple, callback.client_secret)?,
            None => callback.client_secret.expose_secret().to_owned(),
        };
        let auth_type = auth_type(&metadata);
        let published = metadata.issuer().as_str().to_owned();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(callback.idp.client_id.clone()),
            Some(ClientSecret::new(secret.clone())),
        )
        .set_auth_type(auth_type)
        .set_redirect_uri(redirect);
        let http = self.http.clone();
        let call = move |request: HttpRequest| {
            let http = http.clone();
            async move { http.call(request).await }
        };
        let response = client
            .exchange_code(AuthorizationCode::new(callback.code.to_owned()))
            .map_err(|e| IdpError::Unavailable(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(callback.code_verifier.to_owned()))
            .request_async(&call)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::Request(e) => {
                    IdpError::Unavailable(format!("token request: {}", chain(&e)))
                }
                other => IdpError::Refused(format!("token: {}", chain(&other))),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| IdpError::Refused("no ID token".to_owned()))?;
        let nonce = Nonce::new(callback.nonce.to_owned());
        // A multi-tenant issuer is checked below, against the token's own tenant.
        let verifier = client
            .id_token_verifier()
            .require_issuer_match(!quirks.multi_tenant);
        let subject = match id_token.claims(&verifier, &nonce) {
            Ok(claims) => claims.subject().as_str().to_owned(),
            // The IdP may have rotated its keys since discovery: check once more with its
            // current keys (the code is spent; only the token's check is repeated).
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self
                    .metadata(callback.idp, quirks.multi_tenant, true)
                    .await?;
                // (Through a client, like the first check: the algorithms the IdP publishes,
                // not only RS256.)
                let fresh_client = CoreClient::from_provider_metadata(
                    fresh,
                    ClientId::new(callback.idp.client_id.clone()),
                    Some(ClientSecret::new(secret)),
                );
                let verifier = fresh_client
                    .id_token_verifier()
                    .require_issuer_match(!quirks.multi_tenant);
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| IdpError::Refused(format!("ID token: {e}")))?
                    .subject()
                    .as_str()
                    .to_owned()
            }
            Err(e) => return Err(IdpError::Refused(format!("ID token: {e}"))),
        };
        // Every claim of the token just verified (the mapping may name any of them).
        let jwt = id_token.to_string();
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|p| serde_json::from_slice::<Map<String, Value>>(&p).ok())
            .ok_or_else(|| IdpError::Refused("ID token payload".to_owned()))?;
        if quirks.multi_tenant && !authservice_domain::social::issuer_matches(&published, &payload)
        {
            return Err(IdpError::Refused(
                "ID token: the issuer is not the token's tenant".to_owned(),
            ));
        }
        let provider_tokens = quirks.keep_tokens.then(|| {
            provider_tokens(
                response.access_token().secret(),
                response.refresh_token().map(|t| t.secret().as_str()),
                response.expires_in(),
                response.scopes().map(|s| {
                    s.iter()
                        .map(|s| s.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
            )
        });
        Ok(IdpAssertion {
            subject,
            claims: payload,
            provider_tokens,
        })
    }
}

/// The metadata of an IdP whose endpoints are given by hand (no discovery), with its keys.
async fn given_metadata<C>(
    issuer: IssuerUrl,
    endpoints: &OidcEndpoints,
    call: &C,
) -> Result<CoreProviderMetadata, IdpError>
where
    C: for<'c> openidconnect::AsyncHttpClient<'c>,
{
    let bad = |what: &str, e: &dyn std::fmt::Display| IdpError::Unavailable(format!("{what}: {e}"));
    let authorization = AuthUrl::new(endpoints.authorization.clone())
        .map_err(|e| bad("authorization endpoint", &e))?;
    let jwks_uri =
        JsonWebKeySetUrl::new(endpoints.jwks_uri.clone()).map_err(|e| bad("jwks_uri", &e))?;
    let token = TokenUrl::new(endpoints.token.clone()).map_err(|e| bad("token endpoint", &e))?;
    let userinfo = endpoints
        .userinfo
        .clone()
        .map(UserInfoUrl::new)
        .transpose()
        .map_err(|e| bad("userinfo endpoint", &e))?;
    let metadata = CoreProviderMetadata::new(
        issuer,
        authorization,
        jwks_uri,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(token))
    .set_userinfo_endpoint(userinfo);
    let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), call)
        .await
        .map_err(|e| IdpError::Unavailable(format!("keys: {}", chain(&e))))?;
    Ok(metadata.set_jwks(jwks))
}

/// `client_secret_basic` unless the provider offers only `client_secret_post` (Apple).
fn auth_type(metadata: &CoreProviderMetadata) -> AuthType {
    match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

/// Whether the issuer `published` by a discovery document stands for `configured`: equal, or a
/// template whose `{tenantid}` is one path segment of it (`…/{tenantid}/v2.0` for
/// `…/common/v2.0`).
fn template_covers(published: &str, configured: &str) -> bool {
    match published.split_once("{tenantid}") {
        None => published == configured,
        Some((before, after)) => configured
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(|tenant| {
                !tenant.is_empty() && !tenant.contains('/') && !before.is_empty()
            }),
    }
}

/// Apple's client secret: an ES256 JWT by the team (`iss`), for the app (`sub`), to Apple
/// (`aud`, the issuer), valid five minutes, signed with the team's key (`kid`).
fn apple_client_secret(
    idp: &authservice_domain::sso::OidcIdp,
    apple: &authservice_domain::social::AppleKey,
    pem: &SecretString,
) -> Result<String, IdpError> {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.expose_secret().as_bytes())
        .map_err(|e| IdpError::Unavailable(format!("apple key: {e}")))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(apple.key_id.clone());
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": apple.team_id, "iat": now, "exp": now + 300,
        "aud": idp.issuer, "sub": idp.client_id,
    });
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| IdpError::Unavailable(format!("apple client secret: {e}")))
}

/// The provider's tokens as kept (sealed by the caller): `{access_token, refresh_token?,
/// expires_at?, scope?}`.
pub(crate) fn provider_tokens(
    access: &str,
    refresh: Option<&str>,
    expires_in: Option<Duration>,
    scope: Option<String>,
) -> SecretString {
    let expires_at = expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| (chrono::Utc::now() + d).to_rfc3339());
    SecretString::from(
        serde_json::json!({
            "access_token": access, "refresh_token": refresh,
            "expires_at": expires_at, "scope": scope,
        })
        .to_string(),
    )
}

/// An error with its causes, for logs.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl OidcRelyingParty for OpenIdConnectRp {
    #[tracing::instrument(name = "oidc_rp.authorization_url", level = "debug", skip_all)]
    async fn authorization_url(&self, request: OidcAuthRequest<'_>) -> Result<String, IdpError> {
        let metadata = self
            .metadata(request.idp, request.multi_tenant, false)
            .await?;
        let redirect = RedirectUrl::new(request.redirect_uri.to_owned())
            .map_err(|e| IdpError::Unavailable(format!("redirect URI: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(request.idp.client_id.clone()),
            None,
        )
        .set_redirect_uri(redirect);
        let state = request.state.to_owned();
        let nonce = request.nonce.to_owned();
        let mut auth = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
                &PkceCodeVerifier::new(request.code_verifier.to_owned()),
            ));
        for scope in &request.idp.scopes {
            auth = auth.add_scope(Scope::new(scope.clone()));
        }
        if request.form_post {
            auth = auth.add_extra_param("response_mode", "form_post");
        }
        if let Some(hint) = request
            .login_hint
            .filter(|h| !h.is_empty() && h.len() <= 254)
        {
            auth = auth.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, _, _) = auth.url();
        // The browser is sent there: an https URL of a public host, like every IdP URL.
        authservice_domain::sso::check_idp_url(url.as_str(), self.http.allow_insecure())
            .map_err(|e| IdpError::Unavailable(format!("authorization endpoint: {}", e.message)))?;
        Ok(url.into())
    }

    #[tracing::instrument(name = "oidc_rp.finish", level = "debug", skip_all)]
    async fn finish(&self, callback: OidcCallback<'_>) -> Result<IdpAssertion, IdpError> {
        let metadata = self
            .metadata(callback.idp, callback.quirks.multi_tenant, false)
            .await?;
        self.exchange(&callback, metadata).await
    }
}

#[cfg(test)]
mod tests {
    use super::template_covers;

    #[test]
    fn a_tenant_template_covers_one_segment_of_the_configured_issuer_only() {
        let published = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(template_covers(
            published,
            "https://login.microsoftonline.com/common/v2.0"
        ));
        assert!(!template_covers(
            published,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!template_covers(
            published,
            "https://evil.example/common/v2.0"
        ));
        assert!(!template_covers(
            published,
            "https://login.microsoftonline.com//v2.0"
        ));
        assert!(template_covers(
            "https://idp.example",
            "https://idp.example"
        ));
        assert!(!template_covers(
            "https://idp.example/",
            "https://idp.example"
        ));
    }
}
