//! A client's settings: the JSON object operators write (`settings` on the admin API, patched
//! with RFC 7396 merge semantics) and the typed [`ClientPolicy`] read from it.
//!
//! Every key is declared in [`KEYS`], with its type and default in one place. A written object
//! is validated key by key: an unknown key or a value of the wrong type or range is refused
//! with the key named (`settings.auth_ui.primary_color: must be a hex colour`). Rows written
//! before a key was checked are read leniently ([`ClientSettings::from_stored`]): what does not
//! parse falls back to its default, and the next write must fix it.

use std::time::Duration;

use serde_json::{Map, Value};

use super::ValidationError;

mod parse;

use parse::{Parsed, kind_of, merge_patch, parse_value};

/// Where the WebAuthn attestation preference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Attestation {
    #[default]
    None,
    Indirect,
    Direct,
    Enterprise,
}

impl Attestation {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Indirect => "indirect",
            Self::Direct => "direct",
            Self::Enterprise => "enterprise",
        }
    }
}

/// The client's WebAuthn relying party and attestation rules (`webauthn_*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebauthnPolicy {
    /// `webauthn_rp_id` (default: the host of the origin).
    pub rp_id: Option<String>,
    /// `webauthn_rp_origin`: an absolute http(s) origin (default: `BASE_URL`'s).
    pub rp_origin: Option<String>,
    /// `webauthn_display_name` (default: the brand name).
    pub display_name: Option<String>,
    /// `webauthn_attestation` (default `none`).
    pub attestation: Attestation,
    /// `webauthn_require_attestation`: certificate-backed attestation only.
    pub require_attestation: bool,
    /// `webauthn_allowed_attestation_formats` (empty: any).
    pub allowed_attestation_formats: Vec<String>,
}

/// The hosted pages' and emails' look (`auth_ui`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUi {
    /// `auth_ui.brand_name` (default: the client's name), at most 100 characters.
    pub brand_name: Option<String>,
    /// `auth_ui.logo_url`: an absolute http(s) URL.
    pub logo_url: Option<String>,
    /// `auth_ui.primary_color`: `#rgb` or `#rrggbb`.
    pub primary_color: Option<String>,
    /// `auth_ui.locale`: the client's default language tag.
    pub locale: Option<String>,
    /// `auth_ui.magic_link` (default on): the hosted login offers magic links.
    pub magic_link: bool,
    /// `auth_ui.passkey` (default on): the hosted login offers passkeys.
    pub passkey: bool,
}

impl Default for AuthUi {
    fn default() -> Self {
        Self {
            brand_name: None,
            logo_url: None,
            primary_color: None,
            locale: None,
            magic_link: true,
            passkey: true,
        }
    }
}

/// What a client's settings decide, typed. Read fields; never the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    /// `require_verified_email` (default off): no session before the address is verified.
    pub require_verified_email: bool,
    /// `send_verification_email` (default on): signup emails a verification link.
    pub send_verification_email: bool,
    /// `signup_enumeration_protection` (default: `require_verified_email`).
    pub signup_enumeration_protection: bool,
    /// `session_max_lifetime` (default: the server's `SESSION_MAX_LIFETIME`).
    pub session_max_lifetime: Option<Duration>,
    /// `session_idle_timeout` (default: the server's `SESSION_IDLE_TIMEOUT`).
    pub session_idle_timeout: Option<Duration>,
    /// `audit_retention_days` (default: the server's `AUDIT_RETENTION_DAYS`): the client's
    /// audit events may be purged after this many days.
    pub audit_retention_days: Option<u32>,
    pub webauthn: WebauthnPolicy,
    pub auth_ui: AuthUi,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        Self {
            require_verified_email: false,
            send_verification_email: true,
            signup_enumeration_protection: false,
            session_max_lifetime: None,
            session_idle_timeout: None,
            audit_retention_days: None,
            webauthn: WebauthnPolicy::default(),
            auth_ui: AuthUi::default(),
        }
    }
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// Seconds or a duration such as `"12h"`, from one minute to 400 days.
    SessionDuration,
    /// Text of at most this many characters.
    Text(usize),
    /// An absolute http(s) URL.
    HttpUrl,
    /// `#rgb` or `#rrggbb`.
    HexColor,
    /// A language tag such as `de` or `pt-BR`.
    LanguageTag,
    /// A host name (WebAuthn RP id).
    Host,
    /// `none`, `indirect`, `direct` or `enterprise`.
    Attestation,
    /// A list of attestation format names.
    AttestationFormats,
    /// A whole number of days, 1 to 36500.
    Days,
}

/// Every setting a client may write: its path (`auth_ui.locale`) and type. Defaults are
/// [`ClientPolicy::default`]; docs/api.md lists both (checked by a test).
pub const KEYS: &[(&str, Kind)] = &[
    ("require_verified_email", Kind::Bool),
    ("send_verification_email", Kind::Bool),
    ("signup_enumeration_protection", Kind::Bool),
    ("session_max_lifetime", Kind::SessionDuration),
    ("session_idle_timeout", Kind::SessionDuration),
    ("audit_retention_days", Kind::Days),
    ("webauthn_rp_id", Kind::Host),
    ("webauthn_rp_origin", Kind::HttpUrl),
    ("webauthn_display_name", Kind::Text(100)),
    ("webauthn_attestation", Kind::Attestation),
    ("webauthn_require_attestation", Kind::Bool),
    (
        "webauthn_allowed_attestation_formats",
        Kind::AttestationFormats,
    ),
    ("auth_ui.brand_name", Kind::Text(100)),
    ("auth_ui.logo_url", Kind::HttpUrl),
    ("auth_ui.primary_color", Kind::HexColor),
    ("auth_ui.locale", Kind::LanguageTag),
    ("auth_ui.magic_link", Kind::Bool),
    ("auth_ui.passkey", Kind::Bool),
];

impl Kind {
    /// What a settings form needs to know of a value of this kind (`GET
    /// /api/admin/client-settings`).
    #[must_use]
    pub fn describe(self) -> Value {
        match self {
            Self::Bool => serde_json::json!({ "type": "boolean" }),
            Self::SessionDuration => {
                serde_json::json!({ "type": "duration", "min": "1m", "max": "400d" })
            }
            Self::Text(max) => serde_json::json!({ "type": "text", "max_length": max }),
            Self::HttpUrl => serde_json::json!({ "type": "url" }),
            Self::HexColor => serde_json::json!({ "type": "color" }),
            Self::LanguageTag => serde_json::json!({ "type": "language" }),
            Self::Host => serde_json::json!({ "type": "host" }),
            Self::Attestation => serde_json::json!({
                "type": "choice",
                "choices": ["none", "indirect", "direct", "enterprise"],
            }),
            Self::AttestationFormats => serde_json::json!({
                "type": "list",
                "choices": parse::ATTESTATION_FORMATS,
            }),
            Self::Days => serde_json::json!({ "type": "days", "min": 1, "max": 36_500 }),
        }
    }
}

impl ClientPolicy {
    fn apply(&mut self, path: &str, parsed: Parsed) {
        let ui = &mut self.auth_ui;
        let wa = &mut self.webauthn;
        match (path, parsed) {
            ("require_verified_email", Parsed::Bool(b)) => self.require_verified_email = b,
            ("send_verification_email", Parsed::Bool(b)) => self.send_verification_email = b,
            ("signup_enumeration_protection", Parsed::Bool(b)) => {
                self.signup_enumeration_protection = b;
            }
            ("session_max_lifetime", Parsed::Duration(d)) => self.session_max_lifetime = Some(d),
            ("session_idle_timeout", Parsed::Duration(d)) => self.session_idle_timeout = Some(d),
            ("audit_retention_days", Parsed::Days(d)) => self.audit_retention_days = Some(d),
            ("webauthn_rp_id", Parsed::Text(s)) => wa.rp_id = Some(s),
            ("webauthn_rp_origin", Parsed::Text(s)) => wa.rp_origin = Some(s),
            ("webauthn_display_name", Parsed::Text(s)) => wa.display_name = Some(s),
            ("webauthn_attestation", Parsed::Attestation(a)) => wa.attestation = a,
            ("webauthn_require_attestation", Parsed::Bool(b)) => wa.require_attestation = b,
            ("webauthn_allowed_attestation_formats", Parsed::List(l)) => {
                wa.allowed_attestation_formats = l;
            }
            ("auth_ui.brand_name", Parsed::Text(s)) => ui.brand_name = Some(s),
            ("auth_ui.logo_url", Parsed::Text(s)) => ui.logo_url = Some(s),
            ("auth_ui.primary_color", Parsed::Text(s)) => ui.primary_color = Some(s),
            ("auth_ui.locale", Parsed::Text(s)) => ui.locale = Some(s),
            ("auth_ui.magic_link", Parsed::Bool(b)) => ui.magic_link = b,
            ("auth_ui.passkey", Parsed::Bool(b)) => ui.passkey = b,
            // `KEYS` and this table are kept together by `every_key_applies`.
            _ => {}
        }
    }

    /// Reads `map`; with `strict`, the first unknown key or bad value is an error naming it,
    /// else such entries are skipped (their defaults stay).
    fn read(map: &Map<String, Value>, strict: bool) -> Result<Self, ValidationError> {
        let mut policy = Self::default();
        let mut explicit_enumeration = false;
        let mut entries: Vec<(String, &Value)> = Vec::new();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("auth_ui", Value::Object(ui)) => {
                    entries.extend(ui.iter().map(|(k, v)| (format!("auth_ui.{k}"), v)));
                }
                _ => entries.push((key.clone(), value)),
            }
        }
        for (path, value) in entries {
            let refuse = |message: String| Err(ValidationError::setting(&path, message));
            let Some(kind) = kind_of(&path) else {
                if strict {
                    let message = if path == "auth_ui" {
                        "must be an object".to_owned()
                    } else {
                        "is not a known setting (see docs/api.md, \"Client settings\")".to_owned()
                    };
                    return refuse(message);
                }
                continue;
            };
            match parse_value(kind, value) {
                Ok(parsed) => {
                    explicit_enumeration |= path == "signup_enumeration_protection";
                    policy.apply(&path, parsed);
                }
                Err(message) if strict => return refuse(message),
                Err(_) => {}
            }
        }
        if !explicit_enumeration {
            policy.signup_enumeration_protection = policy.require_verified_email;
        }
        Ok(policy)
    }
}

/// The settings object as written, with the policy it decides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientSettings {
    raw: Map<String, Value>,
    policy: ClientPolicy,
}

impl ClientSettings {
    pub const MAX_BYTES: usize = 64 * 1024;

    /// A written object: every key known, every value valid.
    pub fn parse(value: Value) -> Result<Self, ValidationError> {
        match value {
            Value::Object(map) => Self::checked(map),
            Value::Null => Ok(Self::default()),
            _ => Err(ValidationError::new("settings", "must be a JSON object")),
        }
    }

    /// A stored object, read leniently (see the module documentation).
    #[must_use]
    pub fn from_stored(value: Value) -> Self {
        match value {
            Value::Object(raw) => {
                let policy = ClientPolicy::read(&raw, false).unwrap_or_default();
                Self { raw, policy }
            }
            _ => Self::default(),
        }
    }

    fn checked(raw: Map<String, Value>) -> Result<Self, ValidationError> {
        if Value::Object(raw.clone()).to_string().len() > Self::MAX_BYTES {
            return Err(ValidationError::new("settings", "must be at most 64 KiB"));
        }
        let policy = ClientPolicy::read(&raw, true)?;
        Ok(Self { raw, policy })
    }

    /// What the settings decide.
    #[must_use]
    pub fn policy(&self) -> &ClientPolicy {
        &self.policy
    }

    /// RFC 7396 JSON merge patch: objects merge recursively, `null` removes a key.
    pub fn merge(&self, patch: &Value) -> Result<Self, ValidationError> {
        let Value::Object(_) = patch else {
            return Err(ValidationError::new("settings", "must be a JSON object"));
        };
        let mut target = Value::Object(self.raw.clone());
        merge_patch(&mut target, patch);
        match target {
            Value::Object(map) => Self::checked(map),
            _ => Err(ValidationError::new("settings", "must be a JSON object")),
        }
    }

    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }
}

#[cfg(test)]
mod tests;
