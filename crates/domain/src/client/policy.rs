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
}

/// Every setting a client may write: its path (`auth_ui.locale`) and type. Defaults are
/// [`ClientPolicy::default`]; docs/api.md lists both (checked by a test).
pub const KEYS: &[(&str, Kind)] = &[
    ("require_verified_email", Kind::Bool),
    ("send_verification_email", Kind::Bool),
    ("signup_enumeration_protection", Kind::Bool),
    ("session_max_lifetime", Kind::SessionDuration),
    ("session_idle_timeout", Kind::SessionDuration),
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

/// Attestation statement formats webauthn-rs verifies.
const ATTESTATION_FORMATS: &[&str] = &[
    "packed",
    "tpm",
    "android-key",
    "android-safetynet",
    "fido-u2f",
    "apple",
    "none",
];

/// A setting's value, parsed.
enum Parsed {
    Bool(bool),
    Duration(Duration),
    Text(String),
    Attestation(Attestation),
    List(Vec<String>),
}

fn kind_of(path: &str) -> Option<Kind> {
    KEYS.iter().find(|(p, _)| *p == path).map(|(_, kind)| *kind)
}

fn parse_value(kind: Kind, value: &Value) -> Result<Parsed, String> {
    let text = |max: usize| -> Result<String, String> {
        let s = value.as_str().ok_or("must be a string")?.trim();
        if s.is_empty() || s.chars().count() > max {
            return Err(format!("must be 1 to {max} characters"));
        }
        Ok(s.to_owned())
    };
    match kind {
        Kind::Bool => value
            .as_bool()
            .map(Parsed::Bool)
            .ok_or_else(|| "must be true or false".to_owned()),
        Kind::SessionDuration => session_duration(value).map(Parsed::Duration),
        Kind::Text(max) => text(max).map(Parsed::Text),
        Kind::HttpUrl => {
            let s = text(2048)?;
            match url::Url::parse(&s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Ok(Parsed::Text(s))
                }
                _ => Err("must be an absolute http(s) URL".to_owned()),
            }
        }
        Kind::HexColor => {
            let s = text(7)?;
            let ok = s.strip_prefix('#').is_some_and(|hex| {
                matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit())
            });
            ok.then_some(Parsed::Text(s))
                .ok_or_else(|| "must be a hex colour such as #2563eb".to_owned())
        }
        Kind::LanguageTag => {
            let s = text(35)?;
            let ok = s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            ok.then_some(Parsed::Text(s))
                .ok_or_else(|| "must be a language tag such as \"de\" or \"pt-BR\"".to_owned())
        }
        Kind::Host => {
            let s = text(253)?.to_ascii_lowercase();
            let ok = s.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            ok.then_some(Parsed::Text(s))
                .ok_or_else(|| "must be a host name such as \"example.com\"".to_owned())
        }
        Kind::Attestation => match text(10)?.to_ascii_lowercase().as_str() {
            "none" => Ok(Parsed::Attestation(Attestation::None)),
            "indirect" => Ok(Parsed::Attestation(Attestation::Indirect)),
            "direct" => Ok(Parsed::Attestation(Attestation::Direct)),
            "enterprise" => Ok(Parsed::Attestation(Attestation::Enterprise)),
            _ => Err("must be none, indirect, direct or enterprise".to_owned()),
        },
        Kind::AttestationFormats => {
            let list = value.as_array().ok_or("must be a list of format names")?;
            list.iter()
                .map(|f| match f.as_str() {
                    Some(f) if ATTESTATION_FORMATS.contains(&f) => Ok(f.to_owned()),
                    _ => Err(format!("must list formats among {ATTESTATION_FORMATS:?}")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Parsed::List)
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

/// A session duration setting: seconds (number) or a duration string (`12h`, `30d`), from one
/// minute to 400 days.
fn session_duration(value: &Value) -> Result<Duration, String> {
    let parsed = match value {
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| "must be a whole number of seconds".to_owned()),
        Value::String(s) => crate::duration::parse(s.trim()),
        _ => Err("must be seconds or a duration such as \"12h\" or \"30d\"".to_owned()),
    }?;
    let range = Duration::from_secs(60)..=Duration::from_secs(400 * 86_400);
    if range.contains(&parsed) {
        Ok(parsed)
    } else {
        Err("must be between 1 minute and 400 days".to_owned())
    }
}

fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(patch_map) = patch {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Value::Object(target_map) = target {
            for (key, value) in patch_map {
                if value.is_null() {
                    target_map.remove(key);
                } else {
                    merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
    } else {
        *target = patch.clone();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(value: Value) -> String {
        let err = ClientSettings::parse(value).unwrap_err();
        if !err.message.contains("64 KiB") {
            let path = err.setting.clone().expect("names the setting");
            assert!(err.message.starts_with(&path), "{err}");
        }
        err.message
    }

    #[test]
    fn defaults_in_one_place() {
        let policy = ClientSettings::parse(Value::Null).unwrap().policy().clone();
        assert_eq!(policy, ClientPolicy::default());
        assert!(!policy.require_verified_email);
        assert!(policy.send_verification_email);
        assert!(policy.auth_ui.magic_link && policy.auth_ui.passkey);
        assert_eq!(policy.webauthn.attestation, Attestation::None);
    }

    #[test]
    fn fields_are_typed_and_enumeration_protection_follows_verification() {
        let s = ClientSettings::parse(json!({
            "require_verified_email": true,
            "session_max_lifetime": "12h",
            "session_idle_timeout": 3600,
            "webauthn_attestation": "Direct",
            "webauthn_allowed_attestation_formats": ["packed", "tpm"],
            "auth_ui": {"brand_name": " Acme ", "primary_color": "#ff5500", "passkey": false},
        }))
        .unwrap();
        let p = s.policy();
        assert!(p.require_verified_email && p.signup_enumeration_protection);
        assert_eq!(p.session_max_lifetime, Some(Duration::from_secs(12 * 3600)));
        assert_eq!(p.session_idle_timeout, Some(Duration::from_secs(3600)));
        assert_eq!(p.webauthn.attestation, Attestation::Direct);
        assert_eq!(p.webauthn.allowed_attestation_formats, ["packed", "tpm"]);
        assert_eq!(p.auth_ui.brand_name.as_deref(), Some("Acme"));
        assert!(!p.auth_ui.passkey && p.auth_ui.magic_link);
        let off = ClientSettings::parse(json!({
            "require_verified_email": true, "signup_enumeration_protection": false
        }))
        .unwrap();
        assert!(!off.policy().signup_enumeration_protection);
    }

    #[test]
    fn unknown_and_ill_typed_keys_are_named() {
        assert!(
            refused(json!({"requre_verified_email": true}))
                .contains("requre_verified_email: is not")
        );
        assert!(refused(json!({"auth_ui": {"colour": "#fff"}})).contains("auth_ui.colour: is not"));
        assert!(refused(json!({"auth_ui": "dark"})).contains("auth_ui: must be an object"));
        let bad = [
            (
                json!({"require_verified_email": "yes"}),
                "require_verified_email: must be true",
            ),
            (json!({"session_idle_timeout": 5}), "between 1 minute"),
            (
                json!({"auth_ui": {"primary_color": "red"}}),
                "primary_color: must be a hex",
            ),
            (
                json!({"auth_ui": {"logo_url": "javascript:x"}}),
                "logo_url: must be an absolute",
            ),
            (
                json!({"auth_ui": {"locale": "<b>"}}),
                "locale: must be a language tag",
            ),
            (
                json!({"webauthn_rp_id": "a b"}),
                "webauthn_rp_id: must be a host",
            ),
            (
                json!({"webauthn_attestation": "maybe"}),
                "must be none, indirect",
            ),
            (
                json!({"webauthn_allowed_attestation_formats": ["x"]}),
                "must list formats",
            ),
            (
                json!({"auth_ui": {"brand_name": "x".repeat(101)}}),
                "1 to 100 characters",
            ),
        ];
        for (value, expected) in bad {
            let message = refused(value.clone());
            assert!(message.contains(expected), "{value}: {message}");
        }
    }

    #[test]
    fn stored_rows_are_read_leniently() {
        let s = ClientSettings::from_stored(json!({
            "legacy": 1, "require_verified_email": "yes", "auth_ui": {"primary_color": "#123"}
        }));
        assert!(!s.policy().require_verified_email);
        assert_eq!(s.policy().auth_ui.primary_color.as_deref(), Some("#123"));
        assert_eq!(s.to_value()["legacy"], 1);
        // The next write must fix (or remove) what does not parse.
        assert!(s.merge(&json!({"auth_ui": {"locale": "de"}})).is_err());
        let fixed = s
            .merge(&json!({"legacy": null, "require_verified_email": true}))
            .unwrap();
        assert!(fixed.policy().require_verified_email);
    }

    #[test]
    fn every_key_applies() {
        // Each declared key changes the policy when given a valid non-default value.
        let sample = |kind: Kind| match kind {
            Kind::Bool => json!(true),
            Kind::SessionDuration => json!("2h"),
            Kind::Text(_) => json!("X"),
            Kind::HttpUrl => json!("https://x.example"),
            Kind::HexColor => json!("#abc"),
            Kind::LanguageTag => json!("de"),
            Kind::Host => json!("x.example"),
            Kind::Attestation => json!("direct"),
            Kind::AttestationFormats => json!(["packed"]),
        };
        for (path, kind) in KEYS {
            let mut value = sample(*kind);
            let defaults = ClientPolicy::default();
            for flip in [false, true] {
                let object = match path.split_once('.') {
                    Some((outer, inner)) => json!({ outer: { inner: value.clone() } }),
                    None => json!({ *path: value.clone() }),
                };
                let policy = ClientSettings::parse(object).unwrap().policy().clone();
                if policy != defaults {
                    break;
                }
                assert!(!flip, "{path} does not change the policy");
                value = json!(false);
            }
        }
    }

    #[test]
    fn docs_list_exactly_the_declared_settings() {
        let docs = include_str!("../../../../docs/api.md");
        let section = docs
            .split("### Client settings")
            .nth(1)
            .and_then(|rest| rest.split("\n#").next())
            .expect("docs/api.md has a \"Client settings\" section");
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let declared: Vec<&str> = KEYS.iter().map(|(path, _)| *path).collect();
        assert_eq!(documented, declared);
    }

    #[test]
    fn merge_patch_and_size() {
        let base = ClientSettings::parse(
            json!({"require_verified_email": true, "auth_ui": {"locale": "de", "passkey": false}}),
        )
        .unwrap();
        let merged = base
            .merge(&json!({"require_verified_email": null, "auth_ui": {"passkey": true}}))
            .unwrap();
        assert_eq!(
            merged.to_value(),
            json!({"auth_ui": {"locale": "de", "passkey": true}})
        );
        assert!(ClientSettings::parse(json!([1])).is_err());
        assert!(base.merge(&json!("x")).is_err());
        let huge = json!({"auth_ui": {"brand_name": "x".repeat(70 * 1024)}});
        assert!(refused(huge).contains("64 KiB"));
    }
}
