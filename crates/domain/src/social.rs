//! Social sign-in: a client's accounts at consumer identity providers — Google, Microsoft and
//! Apple (OpenID Connect), GitHub and Discord (OAuth 2.0 and a profile API), or any OpenID
//! Connect provider. Each is configured per client with the client's own credentials there;
//! every URL is overridable (a test IdP, a sovereign cloud).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::client::{ClientId, ValidationError};
use crate::sso::{OIDC_ENDPOINT_FIELDS, OidcIdp, check_idp_url};

/// A provider a client can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocialKind {
    Google,
    /// Microsoft accounts and Entra ID (multi-tenant `common` by default).
    Microsoft,
    /// Sign in with Apple (its client secret is a JWT signed with the team's key).
    Apple,
    /// GitHub (OAuth 2.0; the profile and verified addresses from its API).
    Github,
    /// Discord (OAuth 2.0; the profile from its API).
    Discord,
    /// Any OpenID Connect provider (its `issuer` is required).
    Oidc,
}

/// How a provider is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialProtocol {
    /// Discovery from the issuer, code + PKCE + nonce, an ID token.
    OpenIdConnect,
    /// Code + PKCE at fixed endpoints, then the provider's profile API with the access token.
    OAuth2,
}

impl SocialKind {
    pub const ALL: [Self; 6] = [
        Self::Google,
        Self::Microsoft,
        Self::Apple,
        Self::Github,
        Self::Discord,
        Self::Oidc,
    ];

    /// # Errors
    /// Not a provider this server offers.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "provider",
                    "must be google, microsoft, apple, github, discord or oidc",
                )
            })
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Microsoft => "microsoft",
            Self::Apple => "apple",
            Self::Github => "github",
            Self::Discord => "discord",
            Self::Oidc => "oidc",
        }
    }

    #[must_use]
    pub fn protocol(self) -> SocialProtocol {
        match self {
            Self::Github | Self::Discord => SocialProtocol::OAuth2,
            _ => SocialProtocol::OpenIdConnect,
        }
    }

    /// The issuer used when the configuration names none (for OAuth 2.0 providers, the name
    /// that identifies them: a change of it needs a new secret like a new issuer).
    #[must_use]
    pub fn default_issuer(self) -> Option<&'static str> {
        match self {
            Self::Google => Some("https://accounts.google.com"),
            Self::Microsoft => Some("https://login.microsoftonline.com/common/v2.0"),
            Self::Apple => Some("https://appleid.apple.com"),
            Self::Github => Some("https://github.com"),
            Self::Discord => Some("https://discord.com"),
            Self::Oidc => None,
        }
    }

    /// Scopes asked for when the configuration names none.
    #[must_use]
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Apple => &["name", "email"],
            Self::Github => &["read:user", "user:email"],
            Self::Discord => &["identify", "email"],
            _ => &["email", "profile"],
        }
    }

    /// An OAuth 2.0 provider's endpoints when the configuration overrides none.
    #[must_use]
    pub fn default_endpoints(self) -> Option<OAuth2Endpoints> {
        let of = |authorization: &str, token: &str, userinfo: &str| OAuth2Endpoints {
            authorization: authorization.to_owned(),
            token: token.to_owned(),
            userinfo: userinfo.to_owned(),
        };
        match self {
            Self::Github => Some(of(
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/user",
            )),
            Self::Discord => Some(of(
                "https://discord.com/oauth2/authorize",
                "https://discord.com/api/oauth2/token",
                "https://discord.com/api/users/@me",
            )),
            _ => None,
        }
    }

    /// Whether the provider answers on the callback by a cross-site form POST
    /// (`response_mode=form_post`: Apple, when it is asked for a name or an address), so the
    /// attempt's cookie must be `SameSite=None`.
    #[must_use]
    pub fn posts_back(self) -> bool {
        self == Self::Apple
    }
}

/// Where an OAuth 2.0 provider authorizes, exchanges codes and tells who the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Endpoints {
    pub authorization: String,
    pub token: String,
    /// The profile (`GET` with the access token); GitHub's verified addresses are at
    /// `{userinfo}/emails`.
    pub userinfo: String,
}

/// Apple's client secret: an ES256 JWT signed with the team's private key (the PEM of the
/// `.p8` file is the sealed `client_secret`), naming the team and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
}

/// A client's configuration of one provider (the client secret is sealed apart).
#[derive(Clone)]
pub struct SocialProvider {
    pub client_id: ClientId,
    pub kind: SocialKind,
    pub enabled: bool,
    /// The issuer (or the OAuth 2.0 provider's name), client id at the provider and scopes.
    pub idp: OidcIdp,
    /// OAuth 2.0 providers' endpoints.
    pub endpoints: Option<OAuth2Endpoints>,
    /// Apple's team and key.
    pub apple: Option<AppleKey>,
    /// Keep the provider's access and refresh tokens (sealed) with the identity, for the app
    /// to call the provider's API on the user's behalf. Off by default.
    pub store_tokens: bool,
    /// The client secret at the provider (Apple: the private key PEM), sealed with
    /// `ENCRYPTION_KEY`.
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
            .field("endpoints", &self.endpoints)
            .field("apple", &self.apple)
            .field("store_tokens", &self.store_tokens)
            .finish_non_exhaustive()
    }
}

/// What a provider's configuration holds besides its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialSettings {
    pub idp: OidcIdp,
    pub endpoints: Option<OAuth2Endpoints>,
    pub apple: Option<AppleKey>,
    pub store_tokens: bool,
}

const ENDPOINT_FIELDS: [&str; 3] = [
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
];

impl SocialProvider {
    /// The body `{client_id, scopes?, issuer?, authorization_endpoint?, token_endpoint?,
    /// userinfo_endpoint?, jwks_uri?, team_id?, key_id?, store_tokens?}`: `issuer` defaults for
    /// named providers and is required for `oidc`; OAuth 2.0 providers (GitHub, Discord) take
    /// endpoint overrides one by one, OpenID Connect ones find theirs by discovery unless
    /// `authorization_endpoint`, `token_endpoint` and `jwks_uri` are given together; Apple
    /// needs `team_id` and `key_id`.
    ///
    /// # Errors
    /// A missing or unsafe URL, a missing client id, bad scopes, a field the provider does not
    /// take.
    pub fn settings(
        kind: SocialKind,
        body: &Value,
        allow_insecure: bool,
    ) -> Result<SocialSettings, ValidationError> {
        let issuer = body
            .get("issuer")
            .and_then(Value::as_str)
            .or(kind.default_issuer())
            .ok_or_else(|| ValidationError::new("issuer", "is required for provider oidc"))?;
        check_idp_url(issuer, allow_insecure)
            .map_err(|e| ValidationError::new("issuer", e.message))?;
        let mut settings = json!({ "issuer": issuer, "client_id": body.get("client_id") });
        settings["scopes"] = match body.get("scopes") {
            Some(scopes) if !scopes.is_null() => scopes.clone(),
            _ => json!(kind.default_scopes()),
        };
        let endpoints = match kind.default_endpoints() {
            Some(defaults) => {
                if body.get("jwks_uri").is_some_and(|v| !v.is_null()) {
                    return Err(ValidationError::new(
                        "jwks_uri",
                        "is for OpenID Connect providers (GitHub and Discord sign no ID tokens)",
                    ));
                }
                Some(endpoints(body, defaults, allow_insecure)?)
            }
            None => {
                // OpenID Connect: discovery from the issuer, or these endpoints by hand.
                for field in OIDC_ENDPOINT_FIELDS {
                    if let Some(value) = body.get(field) {
                        settings[field] = value.clone();
                    }
                }
                None
            }
        };
        let idp = OidcIdp::parse(&settings, allow_insecure)?;
        let apple = if kind == SocialKind::Apple {
            let id = |name: &'static str| {
                body.get(name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|v| {
                        (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
                    })
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ValidationError::new(name, "is required for apple (letters and digits)")
                    })
            };
            Some(AppleKey {
                team_id: id("team_id")?,
                key_id: id("key_id")?,
            })
        } else {
            None
        };
        let store_tokens = match body.get("store_tokens") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(on)) => *on,
            Some(_) => return Err(ValidationError::new("store_tokens", "must be a boolean")),
        };
        Ok(SocialSettings {
            idp,
            endpoints,
            apple,
            store_tokens,
        })
    }

    /// Whether the provider is still the same one: a new issuer, client id, endpoint (a token
    /// endpoint elsewhere would receive the secret; other keys or another server mean other
    /// subjects), Apple team or key needs a new secret and forgets the identities.
    #[must_use]
    pub fn same_credentials(&self, settings: &SocialSettings) -> bool {
        self.idp.issuer == settings.idp.issuer
            && self.idp.client_id == settings.idp.client_id
            && self.idp.endpoints == settings.idp.endpoints
            && self.endpoints == settings.endpoints
            && self.apple == settings.apple
    }

    /// The stored configuration (everything but the secret).
    #[must_use]
    pub fn config(&self) -> Value {
        let mut config = self.idp.to_value();
        if let Some(e) = &self.endpoints {
            config["authorization_endpoint"] = json!(e.authorization);
            config["token_endpoint"] = json!(e.token);
            config["userinfo_endpoint"] = json!(e.userinfo);
        }
        if let Some(apple) = &self.apple {
            config["team_id"] = json!(apple.team_id);
            config["key_id"] = json!(apple.key_id);
        }
        config["store_tokens"] = json!(self.store_tokens);
        config
    }

    /// Reads a stored configuration back ([`Self::config`]), trusting what was checked when it
    /// was written.
    ///
    /// # Errors
    /// A configuration missing its issuer or client id.
    pub fn read_config(
        kind: SocialKind,
        config: &Value,
    ) -> Result<SocialSettings, ValidationError> {
        let text = |name: &'static str| {
            config
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ValidationError::new(name, "is missing from the stored provider"))
        };
        let idp = OidcIdp::from_stored(config).ok_or_else(|| {
            ValidationError::new("issuer", "or client_id is missing from the stored provider")
        })?;
        let endpoints = match kind.default_endpoints() {
            Some(defaults) => Some(OAuth2Endpoints {
                authorization: text("authorization_endpoint").unwrap_or(defaults.authorization),
                token: text("token_endpoint").unwrap_or(defaults.token),
                userinfo: text("userinfo_endpoint").unwrap_or(defaults.userinfo),
            }),
            None => None,
        };
        let apple = match kind {
            SocialKind::Apple => Some(AppleKey {
                team_id: text("team_id")?,
                key_id: text("key_id")?,
            }),
            _ => None,
        };
        Ok(SocialSettings {
            idp,
            endpoints,
            apple,
            store_tokens: config.get("store_tokens").and_then(Value::as_bool) == Some(true),
        })
    }
}

fn endpoints(
    body: &Value,
    defaults: OAuth2Endpoints,
    allow_insecure: bool,
) -> Result<OAuth2Endpoints, ValidationError> {
    let url = |name: &'static str, default: String| -> Result<String, ValidationError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::String(url)) => {
                check_idp_url(url.trim(), allow_insecure)
                    .map_err(|e| ValidationError::new(name, e.message))?;
                Ok(url.trim().to_owned())
            }
            Some(_) => Err(ValidationError::new(name, "must be a URL")),
        }
    };
    Ok(OAuth2Endpoints {
        authorization: url(ENDPOINT_FIELDS[0], defaults.authorization)?,
        token: url(ENDPOINT_FIELDS[1], defaults.token)?,
        userinfo: url(ENDPOINT_FIELDS[2], defaults.userinfo)?,
    })
}

/// Microsoft's multi-tenant endpoints (`common`, `organizations`, `consumers`) publish an issuer
/// with a `{tenantid}` placeholder: a token's `iss` must be that issuer with the token's own
/// `tid`. Any other issuer must match exactly.
#[must_use]
pub fn issuer_matches(published: &str, claims: &Map<String, Value>) -> bool {
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return false;
    };
    if !published.contains("{tenantid}") {
        return iss == published;
    }
    claims
        .get("tid")
        .and_then(Value::as_str)
        .filter(|tid| {
            !tid.is_empty()
                && tid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .is_some_and(|tid| iss == published.replace("{tenantid}", tid))
}

/// The tenant of personal Microsoft accounts (whose addresses Microsoft verified).
const MICROSOFT_CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Whether the provider vouches that the user owns `claims.email`: `email_verified` true (Apple
/// sends the string `"true"`); Microsoft sends no `email_verified` — its `email` is whatever
/// an Entra tenant's admin typed unless the optional claim `xms_edov` (the domain's owner
/// verified it) is true or the account is a personal Microsoft account.
#[must_use]
pub fn email_verified(kind: SocialKind, claims: &Map<String, Value>) -> bool {
    let truthy = |name: &str| match claims.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    match kind {
        // (Microsoft never sends `email_verified`: a tenant-defined claim of that name is not
        // believed.)
        SocialKind::Microsoft => {
            truthy("xms_edov")
                || claims.get("tid").and_then(Value::as_str) == Some(MICROSOFT_CONSUMERS_TENANT)
        }
        SocialKind::Apple => truthy("email_verified"),
        _ => claims.get("email_verified").and_then(Value::as_bool) == Some(true),
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
        assert_eq!(google.idp.issuer, "https://accounts.google.com");
        assert!(google.endpoints.is_none());
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
        assert!(SocialKind::parse("myspace").is_err());
        for kind in SocialKind::ALL {
            assert_eq!(SocialKind::parse(kind.as_str()).unwrap(), kind);
        }
    }

    #[test]
    fn oauth2_providers_take_endpoint_overrides_and_oidc_ones_all_three_or_discovery() {
        let github = SocialProvider::settings(
            SocialKind::Github,
            &json!({ "client_id": "gh", "token_endpoint": "https://ghe.example.com/token" }),
            false,
        )
        .unwrap();
        let endpoints = github.endpoints.unwrap();
        assert_eq!(endpoints.token, "https://ghe.example.com/token");
        assert_eq!(endpoints.userinfo, "https://api.github.com/user");
        assert_eq!(github.idp.scopes, ["read:user", "user:email"]);
        let internal = SocialProvider::settings(
            SocialKind::Discord,
            &json!({ "client_id": "d", "userinfo_endpoint": "https://127.0.0.1/me" }),
            false,
        );
        assert_eq!(internal.unwrap_err().field, "userinfo_endpoint");
        let google = SocialProvider::settings(
            SocialKind::Google,
            &json!({ "client_id": "g", "token_endpoint": "https://example.com/t" }),
            false,
        );
        assert_eq!(google.unwrap_err().field, "oidc", "all three or none");
        let google = SocialProvider::settings(
            SocialKind::Google,
            &json!({ "client_id": "g", "token_endpoint": "https://example.com/t",
                     "authorization_endpoint": "https://example.com/a",
                     "jwks_uri": "https://example.com/k" }),
            false,
        )
        .unwrap();
        assert_eq!(
            google.idp.endpoints.unwrap().jwks_uri,
            "https://example.com/k"
        );
        let github = SocialProvider::settings(
            SocialKind::Github,
            &json!({ "client_id": "gh", "jwks_uri": "https://example.com/k" }),
            false,
        );
        assert_eq!(github.unwrap_err().field, "jwks_uri");
    }

    #[test]
    fn apple_needs_its_team_and_key_and_a_change_of_them_needs_a_new_secret() {
        assert_eq!(
            SocialProvider::settings(SocialKind::Apple, &json!({ "client_id": "a" }), false)
                .unwrap_err()
                .field,
            "team_id"
        );
        let body = json!({ "client_id": "a", "team_id": "TEAM1", "key_id": "KEY1" });
        let settings = SocialProvider::settings(SocialKind::Apple, &body, false).unwrap();
        let provider = SocialProvider {
            client_id: ClientId::from_uuid(uuid::Uuid::nil()),
            kind: SocialKind::Apple,
            enabled: true,
            idp: settings.idp.clone(),
            endpoints: None,
            apple: settings.apple.clone(),
            store_tokens: false,
            sealed_secret: Vec::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(provider.same_credentials(&settings));
        let read = SocialProvider::read_config(SocialKind::Apple, &provider.config()).unwrap();
        assert_eq!(read, settings);
        let other = json!({ "client_id": "a", "team_id": "TEAM1", "key_id": "KEY2" });
        let other = SocialProvider::settings(SocialKind::Apple, &other, false).unwrap();
        assert!(!provider.same_credentials(&other));
    }

    #[test]
    fn a_multi_tenant_issuer_is_the_tokens_own_tenant_and_nothing_else() {
        let published = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let claims = |iss: &str, tid: &str| {
            json!({ "iss": iss, "tid": tid })
                .as_object()
                .unwrap()
                .clone()
        };
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
        assert!(issuer_matches(published, &claims(&iss, tid)));
        assert!(!issuer_matches(published, &claims(&iss, "another-tenant")));
        assert!(!issuer_matches(
            published,
            &claims("https://evil.example/x/v2.0", "x")
        ));
        assert!(!issuer_matches(
            published,
            &claims("https://login.microsoftonline.com/a/b/v2.0", "a/b")
        ));
        assert!(issuer_matches(
            "https://idp.example",
            &claims("https://idp.example", "")
        ));
        assert!(!issuer_matches(
            "https://idp.example",
            &claims("https://idp.example/", "")
        ));
    }

    #[test]
    fn only_a_provider_that_vouches_for_the_address_makes_it_verified() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        let entra = claims(json!({ "email": "a@b.test", "tid": "t" }));
        assert!(!email_verified(SocialKind::Microsoft, &entra));
        let edov = claims(json!({ "email": "a@b.test", "tid": "t", "xms_edov": true }));
        assert!(email_verified(SocialKind::Microsoft, &edov));
        let personal = claims(json!({ "tid": MICROSOFT_CONSUMERS_TENANT }));
        assert!(email_verified(SocialKind::Microsoft, &personal));
        let apple = claims(json!({ "email_verified": "true" }));
        assert!(email_verified(SocialKind::Apple, &apple));
        assert!(!email_verified(SocialKind::Google, &apple));
        let google = claims(json!({ "email_verified": true }));
        assert!(email_verified(SocialKind::Google, &google));
    }
}
