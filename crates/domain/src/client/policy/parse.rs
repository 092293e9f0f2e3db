//! Parsing one setting's value by its [`Kind`], and the JSON merge patch.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{Attestation, KEYS, Kind};

/// Attestation statement formats webauthn-rs verifies.
pub(super) const ATTESTATION_FORMATS: &[&str] = &[
    "packed",
    "tpm",
    "android-key",
    "android-safetynet",
    "fido-u2f",
    "apple",
    "none",
];

/// A setting's value, parsed.
pub(super) enum Parsed {
    Bool(bool),
    Duration(Duration),
    Text(String),
    Attestation(Attestation),
    List(Vec<String>),
    Days(u32),
}

pub(super) fn kind_of(path: &str) -> Option<Kind> {
    KEYS.iter().find(|(p, _)| *p == path).map(|(_, kind)| *kind)
}

pub(super) fn parse_value(kind: Kind, value: &Value) -> Result<Parsed, String> {
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
        Kind::Days => value
            .as_u64()
            .filter(|d| (1..=36_500).contains(d))
            .and_then(|d| u32::try_from(d).ok())
            .map(Parsed::Days)
            .ok_or_else(|| "must be a whole number of days from 1 to 36500".to_owned()),
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

/// A session duration setting: seconds (number) or a duration string (`12h`, `30d`), from one
/// minute to 400 days.
pub(super) fn session_duration(value: &Value) -> Result<Duration, String> {
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

pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
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
