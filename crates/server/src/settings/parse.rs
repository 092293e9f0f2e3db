//! Reading one setting: the raw value, its parser and its default, and the parsers the
//! settings share. Every bad value is collected, so startup names them all at once.

use std::time::Duration;

use base64::Engine;
use url::Url;

pub(super) struct Reader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(super) errors: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A plain value with a default.
    pub(super) fn parse<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match self.raw(name) {
            None => default,
            Some(v) => parse(v.trim()).unwrap_or_else(|e| {
                self.errors.push(format!("{name}: {e}"));
                default
            }),
        }
    }

    /// A value whose default is written as text and goes through the same parser, so a default
    /// the server would refuse cannot ship (it is reported like a bad value).
    pub(super) fn parse_or_text<T: Default>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let raw = self.raw(name);
        let (value, what) = match &raw {
            Some(v) => (v.trim(), ""),
            None => (default, "default "),
        };
        parse(value).unwrap_or_else(|e| {
            self.errors.push(format!("{name}: {what}{e}"));
            T::default()
        })
    }

    /// A secret from `NAME` or the file named by `NAME_FILE` (not both).
    pub(super) fn secret(&mut self, name: &str) -> Option<String> {
        let file_var = format!("{name}_FILE");
        match (self.raw(name), self.raw(&file_var)) {
            (Some(_), Some(_)) => {
                self.errors
                    .push(format!("{name}: set either {name} or {file_var}, not both"));
                None
            }
            (Some(v), None) => Some(v.trim().to_owned()),
            (None, Some(path)) => match std::fs::read_to_string(path.trim()) {
                Ok(content) if !content.trim().is_empty() => Some(content.trim().to_owned()),
                Ok(_) => {
                    self.errors
                        .push(format!("{file_var}: file {path} is empty"));
                    None
                }
                Err(e) => {
                    self.errors
                        .push(format!("{file_var}: cannot read {path}: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    pub(super) fn required_secret(&mut self, name: &str) -> Option<String> {
        let value = self.secret(name);
        if value.is_none() && !self.errors.iter().any(|e| e.starts_with(name)) {
            self.errors
                .push(format!("{name}: required (or {name}_FILE)"));
        }
        value
    }
}

pub(super) fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{v}' is not a boolean (true/false)")),
    }
}

/// `900`, `900s`, `15m`, `168h`, `7d` (also `ms`).
pub(super) fn parse_duration(v: &str) -> Result<Duration, String> {
    authservice_domain::duration::parse(v)
}

/// A duration (`0` allowed) within `min..=max`.
pub(super) fn parse_duration_in(v: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = if v == "0" {
        Duration::ZERO
    } else {
        parse_duration(v)?
    };
    if d < min || d > max {
        return Err(format!("'{v}' must be between {min:?} and {max:?}"));
    }
    Ok(d)
}

pub(super) const DEFAULT_EMAIL_FROM: &str = "no-reply@authservice.localhost";

/// `Name <address>` or `address`.
pub(super) fn parse_mailbox(v: &str) -> Result<(Option<String>, String), String> {
    let (name, address) = match v.rsplit_once('<') {
        Some((name, rest)) => {
            let address = rest
                .strip_suffix('>')
                .ok_or_else(|| format!("'{v}' must be 'Name <address>' or an address"))?;
            let name = name.trim().trim_matches('"').trim();
            ((!name.is_empty()).then(|| name.to_owned()), address.trim())
        }
        None => (None, v.trim()),
    };
    let email = authservice_domain::Email::parse(address)
        .map_err(|_| format!("'{address}' is not an email address"))?;
    Ok((name, email.as_str().to_owned()))
}

pub(super) fn parse_in_range(v: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    v.parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "'{v}' must be a number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

pub(super) fn parse_port(v: &str) -> Result<u16, String> {
    v.parse::<u16>()
        .map_err(|_| format!("'{v}' is not a port number (0-65535)"))
}

pub(super) fn parse_list<T>(
    v: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

pub(super) fn parse_encryption_key(v: &str) -> Result<[u8; 32], String> {
    let bytes = if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(v).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v))
            .map_err(|_| "must be 32 bytes as 64 hex characters or base64".to_owned())?
    };
    bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes".to_owned())
}

pub(super) fn parse_url(v: &str, schemes: &[&str]) -> Result<(), String> {
    let url = Url::parse(v).map_err(|_| "is not a valid URL".to_owned())?;
    if schemes.contains(&url.scheme()) {
        Ok(())
    } else {
        Err(format!("scheme must be one of {}", schemes.join(", ")))
    }
}
