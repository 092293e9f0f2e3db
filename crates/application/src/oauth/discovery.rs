//! A tenant's issuer (`{BASE_URL}/t/{slug}`): which client it is, and its authorization-server
//! metadata (RFC 8414) listing exactly the endpoints and methods that exist.

use std::sync::Arc;

use authservice_domain::Client;
use serde_json::{Value, json};

use super::tenant_issuer;
use crate::ports::{ClientRepository, Ports};

/// How callers may authenticate at the token, introspection and revocation endpoints.
pub const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];
/// What client assertions (`private_key_jwt`) may be signed with.
pub const ASSERTION_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

pub struct TenantIssuer {
    clients: Arc<dyn ClientRepository>,
    base_url: String,
}

impl TenantIssuer {
    #[must_use]
    pub fn new(ports: &Ports, base_url: &str) -> Self {
        Self {
            clients: ports.clients.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The active client behind `/t/{slug}` (a suspended or unknown one has no issuer).
    ///
    /// # Errors
    /// The store failed.
    pub async fn find(&self, slug: &str) -> anyhow::Result<Option<Client>> {
        if slug.len() > 63 {
            return Ok(None);
        }
        Ok(self
            .clients
            .find_by_slug(slug)
            .await?
            .filter(Client::is_active))
    }

    /// The issuer URL of `client`.
    #[must_use]
    pub fn issuer(&self, client: &Client) -> String {
        tenant_issuer(&self.base_url, client)
    }

    /// The RFC 8414 metadata of `client`'s issuer; with `id_token_algs` (the algorithms of
    /// its asymmetric keys) also the OpenID Connect Discovery 1.0 fields. A `v1_hs256` tenant
    /// has no such keys: its issuer offers the code flow without `openid`.
    #[must_use]
    pub fn metadata(&self, client: &Client, id_token_algs: &[String]) -> Value {
        let issuer = self.issuer(client);
        let mut methods: Vec<&str> = AUTH_METHODS.to_vec();
        methods.push("none");
        let mut scopes = vec!["openid", "profile", "email", "offline_access"];
        if id_token_algs.is_empty() {
            scopes.retain(|s| *s != "openid");
        }
        let mut out = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": scopes,
            "token_endpoint_auth_methods_supported": methods,
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": methods,
            "authorization_response_iss_parameter_supported": true,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "service_documentation": format!("{}/docs", self.base_url),
        });
        if !id_token_algs.is_empty() {
            out["userinfo_endpoint"] = json!(format!("{issuer}/userinfo"));
            out["end_session_endpoint"] = json!(format!("{issuer}/logout"));
            out["subject_types_supported"] = json!(["public"]);
            out["id_token_signing_alg_values_supported"] = json!(id_token_algs);
            out["claims_supported"] = json!([
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "sid",
                "at_hash",
                "email",
                "email_verified",
                "name",
                "locale",
                "zoneinfo",
                "updated_at"
            ]);
            out["acr_values_supported"] = json!([
                authservice_domain::sign_in::ACR_ONE_FACTOR,
                authservice_domain::sign_in::ACR_MULTI_FACTOR
            ]);
            out["claims_parameter_supported"] = json!(false);
            out["request_parameter_supported"] = json!(false);
            out["request_uri_parameter_supported"] = json!(false);
        }
        out
    }
}
