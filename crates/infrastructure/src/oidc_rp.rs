//! The OpenID Connect relying party of enterprise SSO, with the `openidconnect` crate:
//! discovery (cached ten minutes per issuer, fetched again once when an ID token's key is
//! unknown), the authorization URL with PKCE (S256), nonce and state, the code exchange
//! (`client_secret_basic`), and the ID token's checks (signature by the IdP's JWKS, issuer,
//! audience, expiry, nonce).
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
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::ExposeSecret;
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

    /// The IdP's discovery document and keys (cached unless `fresh`).
    async fn metadata(&self, issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, IdpError> {
        if !fresh
            && let Some((at, metadata)) =
                self.discovered.lock().expect("discovery cache").get(issuer)
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
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &call)
            .await
            .map_err(|e| IdpError::Unavailable(format!("discovery: {}", chain(&e))))?;
        let mut cache = self.discovered.lock().expect("discovery cache");
        if cache.len() >= 1000 {
            cache.clear();
        }
        cache.insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    async fn exchange(
        &self,
        callback: &OidcCallback<'_>,
        metadata: CoreProviderMetadata,
    ) -> Result<IdpAssertion, IdpError> {
        let redirect = RedirectUrl::new(callback.redirect_uri.to_owned())
            .map_err(|e| IdpError::Refused(format!("redirect URI: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(callback.idp.client_id.clone()),
            Some(ClientSecret::new(
                callback.client_secret.expose_secret().to_owned(),
            )),
        )
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
        let subject = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.subject().as_str().to_owned(),
            // The IdP may have rotated its keys since discovery: check once more with its
            // current keys (the code is spent; only the token's check is repeated).
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.metadata(&callback.idp.issuer, true).await?;
                let verifier = CoreIdTokenVerifier::new_confidential_client(
                    ClientId::new(callback.idp.client_id.clone()),
                    ClientSecret::new(callback.client_secret.expose_secret().to_owned()),
                    fresh.issuer().clone(),
                    fresh.jwks().clone(),
                );
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
        Ok(IdpAssertion {
            subject,
            claims: payload,
        })
    }
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
        let metadata = self.metadata(&request.idp.issuer, false).await?;
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
        let metadata = self.metadata(&callback.idp.issuer, false).await?;
        self.exchange(&callback, metadata).await
    }
}
