//! The HTTP client of every call to an identity provider (OIDC discovery, keys and tokens;
//! SAML metadata): it follows no redirects, times out, reads at most 1 MiB, and — unless
//! `ALLOW_INSECURE_IDP_URLS` — calls only `https` URLs of public hosts whose names resolve to
//! public addresses, whatever an IdP's documents name.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authservice_domain::sso::{check_idp_url, is_public_ip};
use openidconnect::{HttpRequest, HttpResponse};

/// The most a response body may be.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The HTTP client every IdP request goes through.
#[derive(Clone)]
pub(crate) struct IdpHttp {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl IdpHttp {
    /// # Errors
    /// The client cannot be built (no TLS backend).
    pub(crate) fn new(allow_insecure: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent("authservice-sso")
            // A proxy would resolve names itself, past the public-address rule.
            .no_proxy();
        if !allow_insecure {
            builder = builder.https_only(true).dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_insecure,
        })
    }

    /// Whether `ALLOW_INSECURE_IDP_URLS` is on.
    pub(crate) fn allow_insecure(&self) -> bool {
        self.allow_insecure
    }

    /// GETs `url` (checked like every IdP URL): the body of a 2xx answer.
    ///
    /// # Errors
    /// A refused URL, a transport failure, another status, a body over 1 MiB.
    pub(crate) async fn get(&self, url: &str) -> Result<Vec<u8>, HttpError> {
        let request = openidconnect::http::Request::builder()
            .uri(url)
            .method("GET")
            .body(Vec::new())
            .map_err(|e| HttpError(format!("{url}: {e}")))?;
        let response = self.call(request).await?;
        if !response.status().is_success() {
            return Err(HttpError(format!("{url}: status {}", response.status())));
        }
        Ok(response.into_body())
    }

    pub(crate) async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.uri().to_string();
        check_idp_url(&url, self.allow_insecure)
            .map_err(|e| HttpError(format!("refused URL {url}: {}", e.message)))?;
        let (parts, body) = request.into_parts();
        let mut response = self
            .client
            .request(parts.method, &url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpError(format!("{url}: {e}")))?;
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpError(format!("{url}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError(format!("{url}: the response exceeds 1 MiB")));
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| HttpError(format!("{url}: {e}")))
    }
}

/// Resolves host names to their public addresses only.
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
