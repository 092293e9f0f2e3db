//! OIDC applications of a client: the relying parties that sign users in through the client's
//! issuer with standard OpenID Connect / OAuth 2.0 (their flows come with the provider
//! endpoints; this is what an operator registers).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::client::{ClientId, ClientName, RedirectUri, ValidationError};

/// Confidential apps hold a secret (or a key); public apps (SPAs, native) hold nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    Confidential,
    Public,
}

/// How an app authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

/// The grants an app may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

macro_rules! names {
    ($ty:ident, $field:literal, $($variant:ident => $name:literal,)*) => {
        impl $ty {
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// # Errors
            /// Not one of the names.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                match raw {
                    $($name => Ok(Self::$variant),)*
                    _ => Err(ValidationError::new(
                        $field,
                        concat!("must be one of:", $(" ", $name,)*),
                    )),
                }
            }
        }
    };
}

names!(AppType, "type", Confidential => "confidential", Public => "public",);
names!(AuthMethod, "token_endpoint_auth_method",
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    PrivateKeyJwt => "private_key_jwt",
    None => "none",
);
names!(GrantType, "grant_types",
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    ClientCredentials => "client_credentials",
);

/// The standard scopes every app may be allowed; apps may add their own names.
pub const STANDARD_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A registered OIDC application.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcApp {
    pub id: Uuid,
    pub client_id: ClientId,
    /// What relying parties send as `client_id` (`app_` + 32 hex).
    pub public_id: String,
    pub name: ClientName,
    pub app_type: AppType,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    /// The app's public keys, for `private_key_jwt`.
    pub jwks: Option<Value>,
    /// First-party apps skip the consent screen.
    pub first_party: bool,
    /// The first characters of the secret, to tell secrets apart (never the secret).
    pub secret_prefix: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OidcApp {
    pub const MAX_URIS: usize = 20;
    pub const MAX_SCOPES: usize = 50;

    /// Checks the fields together: at least one redirect URI for the code flow; public apps
    /// use no secret (`none`) and no `client_credentials`; confidential apps never `none`;
    /// `private_key_jwt` needs the app's JWKS.
    ///
    /// # Errors
    /// The first rule broken, with the field named.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.redirect_uris.len() > Self::MAX_URIS
            || self.post_logout_redirect_uris.len() > Self::MAX_URIS
        {
            return Err(ValidationError::new("redirect_uris", "at most 20 each"));
        }
        if self.grant_types.is_empty() {
            return Err(ValidationError::new("grant_types", "must not be empty"));
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            return Err(ValidationError::new(
                "redirect_uris",
                "the authorization_code grant needs at least one",
            ));
        }
        match (self.app_type, self.auth_method) {
            (AppType::Public, AuthMethod::None)
            | (
                AppType::Confidential,
                AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::PrivateKeyJwt,
            ) => {}
            (AppType::Public, _) => {
                return Err(ValidationError::new(
                    "token_endpoint_auth_method",
                    "public apps hold no secret: none",
                ));
            }
            (AppType::Confidential, AuthMethod::None) => {
                return Err(ValidationError::new(
                    "token_endpoint_auth_method",
                    "confidential apps authenticate: client_secret_basic, client_secret_post or private_key_jwt",
                ));
            }
        }
        if self.app_type == AppType::Public
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(ValidationError::new(
                "grant_types",
                "public apps cannot use client_credentials",
            ));
        }
        if self.auth_method == AuthMethod::PrivateKeyJwt {
            let keys = self
                .jwks
                .as_ref()
                .and_then(|j| j.get("keys"))
                .and_then(Value::as_array);
            if keys.is_none_or(Vec::is_empty) {
                return Err(ValidationError::new(
                    "jwks",
                    "private_key_jwt needs the app's public keys ({keys: [...]})",
                ));
            }
        } else if self.jwks.is_some() {
            return Err(ValidationError::new("jwks", "only for private_key_jwt"));
        }
        Ok(())
    }

    /// Whether the app holds a secret (confidential apps with a client-secret method).
    #[must_use]
    pub fn uses_secret(&self) -> bool {
        matches!(
            self.auth_method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }

    /// Parses redirect URIs for `field` (https, or http on loopback; exact, no fragment).
    ///
    /// # Errors
    /// A URI is not acceptable.
    pub fn uris(field: &'static str, raw: &[String]) -> Result<Vec<RedirectUri>, ValidationError> {
        let mut out: Vec<RedirectUri> = Vec::with_capacity(raw.len());
        for uri in raw {
            let uri =
                RedirectUri::parse(uri).map_err(|e| ValidationError::new(field, e.message))?;
            if !out.contains(&uri) {
                out.push(uri);
            }
        }
        Ok(out)
    }

    /// Scope names: the standard ones and the app's own (`a-z 0-9 : . _ -`, 1–64 each).
    ///
    /// # Errors
    /// A name is malformed or there are too many.
    pub fn scope_names(raw: &[String]) -> Result<Vec<String>, ValidationError> {
        if raw.len() > Self::MAX_SCOPES {
            return Err(ValidationError::new("scopes", "at most 50"));
        }
        let mut out: Vec<String> = Vec::with_capacity(raw.len());
        for scope in raw {
            let ok = (1..=64).contains(&scope.len())
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":._-".contains(&b));
            if !ok {
                return Err(ValidationError::new(
                    "scopes",
                    format!("'{scope}' is not a scope name (a-z 0-9 : . _ -)"),
                ));
            }
            if !out.contains(scope) {
                out.push(scope.clone());
            }
        }
        Ok(out)
    }
}
