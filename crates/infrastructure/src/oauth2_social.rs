//! Social providers that speak OAuth 2.0 but not OpenID Connect: GitHub and Discord. The code
//! is exchanged with PKCE (`client_secret_post`), then the access token reads who the user is
//! from the provider's API — GitHub's `/user` and `/user/emails` (only an address GitHub marks
//! primary and verified counts as verified), Discord's `/users/@me` (`verified`). Every call
//! goes through [`IdpHttp`] (no redirects, bounded, public addresses only unless
//! `ALLOW_INSECURE_IDP_URLS`).

use async_trait::async_trait;
use authservice_application::ports::{
    IdpAssertion, IdpError, OAuth2AuthRequest, OAuth2Callback, OAuth2Client,
};
use authservice_domain::secret::sha256;
use authservice_domain::social::SocialKind;
use base64::Engine;
use openidconnect::http::{Method, Request, header};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::idp_http::IdpHttp;

pub struct OAuth2Social {
    http: IdpHttp,
}

impl OAuth2Social {
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend).
    pub fn new(allow_insecure: bool) -> anyhow::Result<Self> {
        Ok(Self {
            http: IdpHttp::new(allow_insecure)?,
        })
    }

    /// Sends `request`; the JSON of a 2xx answer. A 4xx is the provider refusing (`Refused`),
    /// anything else its being unavailable.
    async fn json(&self, what: &str, request: Request<Vec<u8>>) -> Result<Value, IdpError> {
        let response = self
            .http
            .call(request)
            .await
            .map_err(|e| IdpError::Unavailable(format!("{what}: {e}")))?;
        let status = response.status();
        if status.is_client_error() {
            return Err(IdpError::Refused(format!("{what}: status {status}")));
        }
        if !status.is_success() {
            return Err(IdpError::Unavailable(format!("{what}: status {status}")));
        }
        serde_json::from_slice(response.body())
            .map_err(|e| IdpError::Unavailable(format!("{what}: {e}")))
    }

    /// `GET url` with the user's access token.
    async fn api(&self, what: &str, url: &str, token: &str) -> Result<Value, IdpError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| IdpError::Unavailable(format!("{what}: {e}")))?;
        self.json(what, request).await
    }

    /// Who the token's user is, as claims `email`, `email_verified`, `name`; the subject.
    async fn profile(
        &self,
        kind: SocialKind,
        userinfo: &str,
        token: &str,
    ) -> Result<(String, Map<String, Value>), IdpError> {
        let user = self.api("profile", userinfo, token).await?;
        let id = match user.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(IdpError::Refused("profile: no id".to_owned())),
        };
        let text = |name: &str| {
            user.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (email, verified, name) = match kind {
            SocialKind::Github => {
                let emails = self
                    .api("emails", &format!("{userinfo}/emails"), token)
                    .await?;
                let primary = emails.as_array().and_then(|list| {
                    list.iter()
                        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                });
                let email = primary
                    .and_then(|e| e.get("email").and_then(Value::as_str))
                    .map(str::to_owned)
                    .or_else(|| text("email"));
                let verified =
                    primary.and_then(|e| e.get("verified").and_then(Value::as_bool)) == Some(true);
                (email, verified, text("name").or_else(|| text("login")))
            }
            _ => (
                text("email"),
                user.get("verified").and_then(Value::as_bool) == Some(true),
                text("global_name").or_else(|| text("username")),
            ),
        };
        let mut claims = Map::new();
        claims.insert("sub".to_owned(), Value::String(id.clone()));
        if let Some(email) = email {
            claims.insert("email".to_owned(), Value::String(email));
        }
        claims.insert("email_verified".to_owned(), Value::Bool(verified));
        if let Some(name) = name {
            claims.insert("name".to_owned(), Value::String(name));
        }
        Ok((id, claims))
    }
}

#[async_trait]
impl OAuth2Client for OAuth2Social {
    #[tracing::instrument(name = "oauth2.authorization_url", level = "debug", skip_all)]
    async fn authorization_url(&self, request: OAuth2AuthRequest<'_>) -> Result<String, IdpError> {
        let mut url = reqwest::Url::parse(&request.endpoints.authorization)
            .map_err(|e| IdpError::Unavailable(format!("authorization endpoint: {e}")))?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha256(request.code_verifier.as_bytes()));
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", request.client_id)
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("scope", &request.scopes.join(" "))
            .append_pair("state", request.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        authservice_domain::sso::check_idp_url(url.as_str(), self.http.allow_insecure())
            .map_err(|e| IdpError::Unavailable(format!("authorization endpoint: {}", e.message)))?;
        Ok(url.into())
    }

    #[tracing::instrument(name = "oauth2.finish", level = "debug", skip_all)]
    async fn finish(&self, callback: OAuth2Callback<'_>) -> Result<IdpAssertion, IdpError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", callback.code),
                ("redirect_uri", callback.redirect_uri),
                ("client_id", callback.client_id),
                ("client_secret", callback.client_secret.expose_secret()),
                ("code_verifier", callback.code_verifier),
            ])
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(&callback.endpoints.token)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(form.into_bytes())
            .map_err(|e| IdpError::Unavailable(format!("token request: {e}")))?;
        let token = self.json("token", request).await?;
        // GitHub answers a refused code with 200 and an `error`.
        if let Some(error) = token.get("error").and_then(Value::as_str) {
            let why: String = error.chars().take(64).collect();
            return Err(IdpError::Refused(format!("token: {why}")));
        }
        let access = token
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| IdpError::Refused("token: no access token".to_owned()))?;
        let bearer = token
            .get("token_type")
            .and_then(Value::as_str)
            .is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
        if !bearer {
            return Err(IdpError::Refused("token: not a bearer token".to_owned()));
        }
        let (subject, claims) = self
            .profile(callback.kind, &callback.endpoints.userinfo, access)
            .await?;
        let provider_tokens = callback.keep_tokens.then(|| {
            crate::oidc_rp::provider_tokens(
                access,
                token.get("refresh_token").and_then(Value::as_str),
                token
                    .get("expires_in")
                    .and_then(Value::as_u64)
                    .map(std::time::Duration::from_secs),
                token
                    .get("scope")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        });
        Ok(IdpAssertion {
            subject,
            claims,
            provider_tokens,
        })
    }
}
