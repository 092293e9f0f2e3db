//! An organization's security policy: what its members must have and who may join.

use serde_json::{Map, Value, json};

use crate::client::ValidationError;
use crate::user::Email;

/// `{require_mfa, allowed_email_domains, session_max_hours}`, every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Organization tokens only for members with a second factor (TOTP or a passkey).
    pub require_mfa: bool,
    /// When not empty, only addresses of these domains may be invited or accept.
    pub allowed_email_domains: Vec<String>,
    /// Organization tokens only within this many hours of the member's last sign-in.
    pub session_max_hours: Option<u32>,
}

impl SecurityPolicy {
    pub const MAX_DOMAINS: usize = 100;

    /// Parses a policy body; unknown fields and wrong types are refused with the field named.
    ///
    /// # Errors
    /// A field is unknown or not valid.
    pub fn parse(value: &Value) -> Result<Self, ValidationError> {
        let Value::Object(map) = value else {
            return Err(ValidationError::new(
                "security_policy",
                "must be a JSON object",
            ));
        };
        let mut policy = Self::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("require_mfa", Value::Bool(b)) => policy.require_mfa = *b,
                ("allowed_email_domains", Value::Array(items)) => {
                    policy.allowed_email_domains = domains(items)?;
                }
                ("session_max_hours", Value::Null) => policy.session_max_hours = None,
                ("session_max_hours", Value::Number(n)) => {
                    policy.session_max_hours = Some(
                        n.as_u64()
                            .and_then(|h| u32::try_from(h).ok())
                            .filter(|h| (1..=8760).contains(h))
                            .ok_or_else(|| {
                                ValidationError::new(
                                    "session_max_hours",
                                    "must be between 1 and 8760, or null",
                                )
                            })?,
                    );
                }
                ("require_mfa", _) => {
                    return Err(ValidationError::new("require_mfa", "must be a boolean"));
                }
                ("allowed_email_domains", _) => {
                    return Err(ValidationError::new(
                        "allowed_email_domains",
                        "must be an array of domain names",
                    ));
                }
                ("session_max_hours", _) => {
                    return Err(ValidationError::new(
                        "session_max_hours",
                        "must be a number of hours, or null",
                    ));
                }
                _ => {
                    return Err(ValidationError::new(
                        "security_policy",
                        format!("{key} is not a security policy field"),
                    ));
                }
            }
        }
        Ok(policy)
    }

    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("require_mfa".into(), json!(self.require_mfa));
        map.insert(
            "allowed_email_domains".into(),
            json!(self.allowed_email_domains),
        );
        map.insert("session_max_hours".into(), json!(self.session_max_hours));
        Value::Object(map)
    }

    /// Whether `email` may be invited into or join the organization.
    #[must_use]
    pub fn allows(&self, email: &Email) -> bool {
        let domain = email.domain();
        self.allowed_email_domains.is_empty()
            || self.allowed_email_domains.iter().any(|d| d == domain)
    }
}

fn domains(items: &[Value]) -> Result<Vec<String>, ValidationError> {
    const FIELD: &str = "allowed_email_domains";
    if items.len() > SecurityPolicy::MAX_DOMAINS {
        return Err(ValidationError::new(FIELD, "must list at most 100 domains"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let domain = item
            .as_str()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| {
                d.contains('.')
                    && d.len() <= 253
                    && !d.starts_with('.')
                    && !d.ends_with('.')
                    && d.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            })
            .ok_or_else(|| ValidationError::new(FIELD, "must be domain names like example.com"))?;
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    Ok(out)
}
