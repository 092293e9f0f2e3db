//! Social sign-in: a client's accounts at consumer identity providers (Google, or any OpenID
//! Connect provider). Each is configured per client with the client's own credentials there.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::client::{ClientId, ValidationError};
use crate::sso::{OidcIdp, check_idp_url};

/// A provider a client can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocialKind {
    Google,
    /// Any OpenID Connect provider (its `issuer` is required).
    Oidc,
}

impl SocialKind {
    /// # Errors
    /// Not a provider this server offers (GitHub, Microsoft, Apple and Discord are not yet).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "google" => Ok(Self::Google),
            "oidc" => Ok(Self::Oidc),
            _ => Err(ValidationError::new(
                "provider",
                "must be google or oidc (github, microsoft, apple and discord are not offered yet)",
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Oidc => "oidc",
        }
    }

    /// The issuer used when the configuration names none.
    #[must_use]
    pub fn default_issuer(self) -> Option<&'static str> {
        match self {
            Self::Google => Some("https://accounts.google.com"),
            Self::Oidc => None,
        }
    }
}

/// A client's configuration of one provider (the client secret is sealed apart).
#[derive(Clone)]
pub struct SocialProvider {
    pub client_id: ClientId,
    pub kind: SocialKind,
    pub enabled: bool,
    /// The issuer, client id (at the provider) and scopes.
    pub idp: OidcIdp,
    /// The client secret at the provider, sealed with `ENCRYPTION_KEY`.
    pub sealed_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for SocialProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialProvider")
            .field("client_id", &self.client_id)
            .field("kind", &self.kind)
            .field("enabled", &self.enabled)
            .field("idp", &self.idp)
            .finish_non_exhaustive()
    }
}

impl SocialProvider {
    /// `{client_id, scopes?, issuer?}` of the body (`issuer` defaults for named providers and
    /// is required for `oidc`); scopes default to `email profile`.
    ///
    /// # Errors
    /// A missing or unsafe issuer, a missing client id, bad scopes.
    pub fn settings(
        kind: SocialKind,
        body: &Value,
        allow_insecure: bool,
    ) -> Result<OidcIdp, ValidationError> {
        let issuer = body
            .get("issuer")
            .and_then(Value::as_str)
            .or(kind.default_issuer())
            .ok_or_else(|| ValidationError::new("issuer", "is required for provider oidc"))?;
        check_idp_url(issuer, allow_insecure)
            .map_err(|e| ValidationError::new("issuer", e.message))?;
        let mut settings = json!({ "issuer": issuer, "client_id": body.get("client_id") });
        if let Some(scopes) = body.get("scopes") {
            settings["scopes"] = scopes.clone();
        }
        OidcIdp::parse(&settings, allow_insecure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_providers_default_their_issuer_and_oidc_needs_one() {
        let google =
            SocialProvider::settings(SocialKind::Google, &json!({ "client_id": "g" }), false)
                .unwrap();
        assert_eq!(google.issuer, "https://accounts.google.com");
        assert!(
            SocialProvider::settings(SocialKind::Oidc, &json!({ "client_id": "x" }), false)
                .is_err()
        );
        assert!(
            SocialProvider::settings(
                SocialKind::Oidc,
                &json!({ "client_id": "x", "issuer": "http://10.0.0.1" }),
                false
            )
            .is_err()
        );
        assert!(SocialKind::parse("github").is_err());
    }
}
