//! Enterprise SSO: an organization's connection to its own identity provider (IdP), how the
//! IdP's claims map onto a user, and which IdP addresses the server may call.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::client::{ClientId, ValidationError};
use crate::organization::{OrganizationId, parse_domain};
use crate::user::Email;

/// How many domains one connection routes.
pub const MAX_CONNECTION_DOMAINS: usize = 50;

/// The protocol a connection speaks with its IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoProtocol {
    Oidc,
    Saml,
}

impl SsoProtocol {
    /// # Errors
    /// Neither `oidc` nor `saml`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "oidc" => Ok(Self::Oidc),
            "saml" => Ok(Self::Saml),
            _ => Err(ValidationError::new("protocol", "must be oidc or saml")),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Saml => "saml",
        }
    }
}

/// Whether a connection signs users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Active,
    Disabled,
}

impl ConnectionStatus {
    /// # Errors
    /// Neither `active` nor `disabled`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(ValidationError::new("status", "must be active or disabled")),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// Which IdP claim (OIDC) or attribute (SAML) holds each of the user's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMapping {
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub groups: String,
}

impl Default for AttributeMapping {
    fn default() -> Self {
        Self {
            email: "email".to_owned(),
            given_name: "given_name".to_owned(),
            family_name: "family_name".to_owned(),
            groups: "groups".to_owned(),
        }
    }
}

impl AttributeMapping {
    /// `{email?, given_name?, family_name?, groups?}` (claim names; the standard ones by
    /// default). `null` is the default mapping.
    ///
    /// # Errors
    /// Not an object, an unknown key, or a name that is not 1–256 characters.
    pub fn parse(value: &Value) -> Result<Self, ValidationError> {
        let bad = |why: String| ValidationError::new("attribute_mapping", why);
        let mut mapping = Self::default();
        let object = match value {
            Value::Null => return Ok(mapping),
            Value::Object(object) => object,
            _ => return Err(bad("must be an object".to_owned())),
        };
        for (key, name) in object {
            let slot = match key.as_str() {
                "email" => &mut mapping.email,
                "given_name" => &mut mapping.given_name,
                "family_name" => &mut mapping.family_name,
                "groups" => &mut mapping.groups,
                other => return Err(bad(format!("unknown key {other:?}"))),
            };
            let name = name.as_str().map(str::trim).unwrap_or_default();
            if name.is_empty() || name.chars().count() > 256 {
                return Err(bad(format!("{key}: a claim name of 1 to 256 characters")));
            }
            name.clone_into(slot);
        }
        Ok(mapping)
    }

    #[must_use]
    pub fn to_value(&self) -> Value {
        json!({
            "email": self.email,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "groups": self.groups,
        })
    }

    /// The user the IdP vouched for: `subject` (its stable id) and the mapped claims.
    ///
    /// # Errors
    /// The subject is empty or too long, or the email claim is missing or not an address.
    pub fn profile(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
    ) -> Result<ExternalProfile, ProfileError> {
        let subject = subject.trim();
        if subject.is_empty() || subject.len() > 255 {
            return Err(ProfileError::Subject);
        }
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(100).collect::<String>())
        };
        let email = claims
            .get(&self.email)
            .and_then(Value::as_str)
            .ok_or(ProfileError::Email)
            .and_then(|raw| Email::parse(raw).map_err(|_| ProfileError::Email))?;
        // Only the standard `email` claim has an `email_verified` companion.
        let email_verified = if self.email == "email" {
            claims.get("email_verified").and_then(Value::as_bool)
        } else {
            None
        };
        let groups = match claims.get(&self.groups) {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|g| !g.is_empty() && g.chars().count() <= 256)
                .take(100)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) if !one.trim().is_empty() => vec![one.trim().to_owned()],
            _ => Vec::new(),
        };
        Ok(ExternalProfile {
            subject: subject.to_owned(),
            email,
            email_verified,
            given_name: text(&self.given_name),
            family_name: text(&self.family_name),
            groups,
        })
    }
}

/// Why the IdP's answer does not describe a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the identity provider sent no usable subject")]
    Subject,
    #[error("the identity provider sent no valid email address")]
    Email,
}

/// A user as the IdP describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalProfile {
    /// The IdP's stable id of the user (OIDC `sub`): with the connection, the identity.
    pub subject: String,
    pub email: Email,
    /// What the IdP says of the address (OIDC `email_verified`), when it says anything: an
    /// address it calls unverified never links an account nor creates one.
    pub email_verified: Option<bool>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub groups: Vec<String>,
}

impl ExternalProfile {
    /// "Given Family", or whichever of the two there is.
    #[must_use]
    pub fn display_name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.given_name, &self.family_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// An OpenID Connect IdP as a connection names it (its client secret is kept sealed apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdp {
    /// The issuer: discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// This server's client id at the IdP.
    pub client_id: String,
    /// Requested besides `openid` (default `email profile`).
    pub scopes: Vec<String>,
    /// Endpoints given instead of discovery.
    pub endpoints: Option<OidcEndpoints>,
}

/// An IdP's endpoints named by hand (an IdP without a discovery document, a test IdP): the
/// ID token's issuer is still checked against [`OidcIdp::issuer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcEndpoints {
    pub authorization: String,
    pub token: String,
    pub jwks_uri: String,
    pub userinfo: Option<String>,
}

/// The body fields of [`OidcEndpoints`].
pub const OIDC_ENDPOINT_FIELDS: [&str; 4] = [
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
];

impl OidcEndpoints {
    /// `authorization_endpoint`, `token_endpoint` and `jwks_uri` together (with
    /// `userinfo_endpoint` optional), or none of them.
    ///
    /// # Errors
    /// Only some of them, or an unsafe URL.
    pub fn parse(
        object: &serde_json::Map<String, Value>,
        allow_insecure: bool,
    ) -> Result<Option<Self>, ValidationError> {
        if !OIDC_ENDPOINT_FIELDS
            .iter()
            .any(|f| object.get(*f).is_some_and(|v| !v.is_null()))
        {
            return Ok(None);
        }
        let url = |name: &str| -> Result<Option<String>, ValidationError> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(url)) => {
                    check_idp_url(url.trim(), allow_insecure).map_err(|e| {
                        ValidationError::new("oidc", format!("{name}: {}", e.message))
                    })?;
                    Ok(Some(url.trim().to_owned()))
                }
                Some(_) => Err(ValidationError::new(
                    "oidc",
                    format!("{name} must be a URL"),
                )),
            }
        };
        let required = |name: &str| {
            url(name)?.ok_or_else(|| {
                ValidationError::new(
                    "oidc",
                    "authorization_endpoint, token_endpoint and jwks_uri go together \
                     (or none: discovery)",
                )
            })
        };
        Ok(Some(Self {
            authorization: required(OIDC_ENDPOINT_FIELDS[0])?,
            token: required(OIDC_ENDPOINT_FIELDS[1])?,
            jwks_uri: required(OIDC_ENDPOINT_FIELDS[2])?,
            userinfo: url(OIDC_ENDPOINT_FIELDS[3])?,
        }))
    }
}

impl OidcIdp {
    /// From the connection body's `oidc` object (`client_secret` is read by the caller).
    ///
    /// # Errors
    /// A missing or unsafe issuer (see [`check_idp_url`]), a missing client id, bad scopes.
    pub fn parse(value: &Value, allow_insecure: bool) -> Result<Self, ValidationError> {
        let object = value
            .as_object()
            .ok_or_else(|| ValidationError::new("oidc", "is required for protocol oidc"))?;
        let issuer = object
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| ValidationError::new("oidc", "issuer is required"))?;
        check_idp_url(issuer, allow_insecure)
            .map_err(|e| ValidationError::new("oidc", format!("issuer: {}", e.message)))?;
        let client_id = object
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| (1..=255).contains(&c.len()))
            .ok_or_else(|| ValidationError::new("oidc", "client_id of 1 to 255 characters"))?;
        let scopes = match object.get("scopes") {
            None | Some(Value::Null) => vec!["email".to_owned(), "profile".to_owned()],
            Some(Value::Array(items)) => {
                let mut scopes = Vec::new();
                for item in items {
                    let scope = item.as_str().map(str::trim).unwrap_or_default();
                    let ok = (1..=64).contains(&scope.len())
                        && scope.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
                    if !ok || scopes.len() >= 20 {
                        return Err(ValidationError::new(
                            "oidc",
                            "scopes: at most 20 names of 1 to 64 printable characters",
                        ));
                    }
                    if scope != "openid" && !scopes.iter().any(|s| s == scope) {
                        scopes.push(scope.to_owned());
                    }
                }
                scopes
            }
            Some(_) => return Err(ValidationError::new("oidc", "scopes must be a list")),
        };
        Ok(Self {
            // Kept exactly as given: discovery and ID tokens must name this very issuer.
            issuer: issuer.trim().to_owned(),
            client_id: client_id.to_owned(),
            scopes,
            endpoints: OidcEndpoints::parse(object, allow_insecure)?,
        })
    }

    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut value =
            json!({ "issuer": self.issuer, "client_id": self.client_id, "scopes": self.scopes });
        if let Some(e) = &self.endpoints {
            value["authorization_endpoint"] = json!(e.authorization);
            value["token_endpoint"] = json!(e.token);
            value["jwks_uri"] = json!(e.jwks_uri);
            value["userinfo_endpoint"] = json!(e.userinfo);
        }
        value
    }

    /// The stored settings ([`Self::to_value`]), read back without re-checking the issuer's
    /// address; `None` without an issuer or client id.
    #[must_use]
    pub fn from_stored(value: &Value) -> Option<Self> {
        Some(Self {
            issuer: value.get("issuer")?.as_str()?.to_owned(),
            client_id: value.get("client_id")?.as_str()?.to_owned(),
            scopes: value
                .get("scopes")
                .and_then(Value::as_array)
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            endpoints: value
                .as_object()
                .and_then(|object| OidcEndpoints::parse(object, true).ok().flatten()),
        })
    }
}

/// A SAML 2.0 IdP as a connection trusts it: its entityID (the `Issuer` it must send), where
/// AuthnRequests go (HTTP-Redirect binding), and the certificates its signatures must verify
/// with (two during a rotation). The certificates are base64 DER, as in metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlIdp {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<String>,
    /// IdP-initiated (unsolicited) sign-in is off unless this names where it lands: a
    /// registered redirect URI of the client, which receives the `auth_code`.
    pub idp_initiated_redirect_uri: Option<String>,
}

impl SamlIdp {
    /// Most certificates a connection trusts at once.
    pub const MAX_CERTIFICATES: usize = 4;

    /// Checks what was read from metadata or given: an entityID, a safe SSO URL, one to
    /// [`Self::MAX_CERTIFICATES`] certificates (never none: nothing unsigned is accepted).
    ///
    /// # Errors
    /// A missing or unsafe part.
    pub fn checked(self, allow_insecure: bool) -> Result<Self, ValidationError> {
        let bad = |why: String| ValidationError::new("saml", why);
        let entity_id = self.entity_id.trim().to_owned();
        if entity_id.is_empty() || entity_id.len() > 1024 {
            return Err(bad("idp_entity_id of 1 to 1,024 characters".to_owned()));
        }
        check_idp_url(&self.sso_url, allow_insecure)
            .map_err(|e| bad(format!("idp_sso_url: {}", e.message)))?;
        if self.certificates.is_empty() || self.certificates.len() > Self::MAX_CERTIFICATES {
            return Err(bad(format!(
                "1 to {} signing certificates are required",
                Self::MAX_CERTIFICATES
            )));
        }
        Ok(Self {
            entity_id,
            sso_url: self.sso_url.trim().to_owned(),
            certificates: self.certificates,
            idp_initiated_redirect_uri: self.idp_initiated_redirect_uri,
        })
    }

    #[must_use]
    pub fn to_value(&self) -> Value {
        json!({
            "idp_entity_id": self.entity_id,
            "idp_sso_url": self.sso_url,
            "idp_certificates": self.certificates,
            "idp_initiated_redirect_uri": self.idp_initiated_redirect_uri,
        })
    }

    /// The stored settings (checked when written).
    #[must_use]
    pub fn from_stored(value: &Value) -> Option<Self> {
        Some(Self {
            entity_id: value.get("idp_entity_id")?.as_str()?.to_owned(),
            sso_url: value.get("idp_sso_url")?.as_str()?.to_owned(),
            certificates: value
                .get("idp_certificates")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            idp_initiated_redirect_uri: value
                .get("idp_initiated_redirect_uri")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// An organization's connection to its IdP.
#[derive(Clone)]
pub struct SsoConnection {
    pub id: Uuid,
    pub client_id: ClientId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub protocol: SsoProtocol,
    pub status: ConnectionStatus,
    /// Lower-case domain names; they route sign-ins (and enforce SSO) only while verified
    /// for the organization.
    pub domains: Vec<String>,
    /// Whether other sign-in methods are refused for addresses of those domains.
    pub enforce_for_domains: bool,
    /// Whether the first sign-in of an unknown user creates them.
    pub jit: bool,
    pub attribute_mapping: AttributeMapping,
    pub oidc: Option<OidcIdp>,
    pub saml: Option<SamlIdp>,
    /// The OIDC client secret, sealed with `ENCRYPTION_KEY`.
    pub sealed_secret: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SsoConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConnection")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("organization_id", &self.organization_id)
            .field("protocol", &self.protocol)
            .field("status", &self.status)
            .field("domains", &self.domains)
            .field("oidc", &self.oidc)
            .field("saml", &self.saml.as_ref().map(|s| &s.entity_id))
            .field(
                "sealed_secret",
                &self.sealed_secret.as_ref().map(|_| "[sealed]"),
            )
            .finish_non_exhaustive()
    }
}

impl SsoConnection {
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == ConnectionStatus::Active
    }
}

/// The ASCII (IDNA, `xn--`) form of an address's domain, as organizations claim domains: an
/// address written with a Unicode domain routes and is enforced like its ASCII form.
#[must_use]
pub fn ascii_domain(email: &Email) -> String {
    match url::Host::parse(email.domain()) {
        Ok(url::Host::Domain(ascii)) => ascii.to_ascii_lowercase(),
        _ => email.domain().to_ascii_lowercase(),
    }
}

/// A connection's name: 1–100 characters once trimmed.
///
/// # Errors
/// Empty or too long.
pub fn parse_connection_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new("name", "1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// A connection's domains: valid names, lower-cased, without duplicates, at most
/// [`MAX_CONNECTION_DOMAINS`].
///
/// # Errors
/// Not a list of domain names, or too many.
pub fn parse_connection_domains(value: &Value) -> Result<Vec<String>, ValidationError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(ValidationError::new("domains", "must be a list of domains")),
    };
    if items.len() > MAX_CONNECTION_DOMAINS {
        return Err(ValidationError::new(
            "domains",
            format!("at most {MAX_CONNECTION_DOMAINS} domains"),
        ));
    }
    let mut domains: Vec<String> = Vec::new();
    for item in items {
        let raw = item
            .as_str()
            .ok_or_else(|| ValidationError::new("domains", "must be a list of domains"))?;
        let domain = parse_domain(raw).map_err(|e| ValidationError::new("domains", e.message))?;
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    Ok(domains)
}

/// An IdP URL the server may call: `https` with a host name or a public address; with
/// `allow_insecure` (development and tests: `ALLOW_INSECURE_IDP_URLS`) also `http` and loopback
/// or private hosts. Neither credentials nor a fragment.
///
/// # Errors
/// Not such a URL.
pub fn check_idp_url(raw: &str, allow_insecure: bool) -> Result<url::Url, ValidationError> {
    let bad = |why: &str| ValidationError::new("url", why.to_owned());
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("not an absolute URL"))?;
    if raw.len() > 2048 {
        return Err(bad("at most 2,048 characters"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err(bad("must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(bad("no credentials or fragment"));
    }
    let Some(host) = url.host() else {
        return Err(bad("needs a host"));
    };
    if !allow_insecure {
        let public = match host {
            url::Host::Domain(name) => {
                let name = name.to_ascii_lowercase();
                name.contains('.') && name != "localhost" && !name.ends_with(".localhost")
            }
            url::Host::Ipv4(ip) => is_public_ip(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => is_public_ip(IpAddr::V6(ip)),
        };
        if !public {
            return Err(bad("must be a public host"));
        }
    }
    Ok(url)
}

/// Whether `ip` is a globally routable address (not loopback, private, link-local, shared,
/// documentation, multicast, unspecified or their IPv6 counterparts).
#[must_use]
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo
            // (2001::/32) embed IPv4 addresses: refused rather than decoded.
            let embeds_v4 = v6.segments()[..6].iter().all(|s| *s == 0)
                || (first == 0x64 && second == 0xff9b)
                || first == 0x2002
                || (first == 0x2001 && second == 0);
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || embeds_v4
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && second == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_reads_the_named_claims_and_trusts_email_verified_only_for_email() {
        let claims = json!({
            "email": "Ann@Example.com", "email_verified": true, "given_name": "Ann",
            "family_name": "Lee", "groups": ["eng", "", "admins"], "mail": "a@b.example",
        });
        let claims = claims.as_object().unwrap();
        let profile = AttributeMapping::default().profile("u-1", claims).unwrap();
        assert_eq!(profile.email.as_str(), "ann@example.com");
        assert_eq!(profile.email_verified, Some(true));
        assert_eq!(profile.groups, ["eng", "admins"]);
        assert_eq!(profile.display_name().as_deref(), Some("Ann Lee"));

        let mapping = AttributeMapping::parse(&json!({ "email": "mail" })).unwrap();
        let profile = mapping.profile("u-1", claims).unwrap();
        assert_eq!(profile.email.as_str(), "a@b.example");
        assert_eq!(
            profile.email_verified, None,
            "email_verified speaks of `email` only"
        );

        assert_eq!(
            AttributeMapping::default().profile(" ", claims),
            Err(ProfileError::Subject)
        );
        let no_email = json!({ "email": "not an address" });
        assert_eq!(
            AttributeMapping::default().profile("u", no_email.as_object().unwrap()),
            Err(ProfileError::Email)
        );
        assert!(AttributeMapping::parse(&json!({ "phone": "x" })).is_err());
        assert!(AttributeMapping::parse(&json!({ "email": "" })).is_err());
    }

    #[test]
    fn idp_urls_must_be_https_and_public_unless_insecure_ones_are_allowed() {
        assert!(check_idp_url("https://idp.example.com/oauth2", false).is_ok());
        for bad in [
            "http://idp.example.com",
            "https://localhost/x",
            "https://127.0.0.1",
            "https://10.0.0.8",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://intranet/",
            "https://user:pw@idp.example.com",
            "ftp://idp.example.com",
        ] {
            assert!(check_idp_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_idp_url("http://127.0.0.1:9000", true).is_ok());
        assert!(check_idp_url("ftp://127.0.0.1:9000", true).is_err());
        assert!(is_public_ip("8.8.8.8".parse().unwrap()));
        assert!(!is_public_ip("::ffff:10.1.2.3".parse().unwrap()));
        for embedded in [
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:0:a00:1::",
        ] {
            assert!(!is_public_ip(embedded.parse().unwrap()), "{embedded}");
        }
        assert!(is_public_ip("2a00:1450:4001::1".parse().unwrap()));
        let email = Email::parse("a@Bücher.de").unwrap();
        assert_eq!(ascii_domain(&email), "xn--bcher-kva.de");
    }

    #[test]
    fn oidc_settings_default_their_scopes_and_refuse_unsafe_issuers() {
        let idp = OidcIdp::parse(
            &json!({ "issuer": "https://idp.example.com/", "client_id": "app" }),
            false,
        )
        .unwrap();
        assert_eq!(idp.issuer, "https://idp.example.com/");
        assert_eq!(idp.scopes, ["email", "profile"]);
        let idp = OidcIdp::parse(
            &json!({ "issuer": "https://idp.example.com", "client_id": "app",
                     "scopes": ["openid", "groups", "groups"] }),
            false,
        )
        .unwrap();
        assert_eq!(idp.scopes, ["groups"]);
        assert!(
            OidcIdp::parse(
                &json!({ "issuer": "http://10.0.0.1", "client_id": "app" }),
                false
            )
            .is_err()
        );
        assert!(OidcIdp::parse(&json!({ "issuer": "https://idp.example.com" }), false).is_err());
        assert_eq!(
            parse_connection_domains(&json!(["Example.com", "example.com."])).unwrap(),
            ["example.com"]
        );
        assert!(parse_connection_domains(&json!(["not a domain"])).is_err());
    }
}
