//! End users. A user belongs to exactly one client: the same email in two clients is two users.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{ClientId, ValidationError};

/// Identifier of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    #[must_use]
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| ValidationError::new("user_id", "must be a UUID"))
    }

    #[must_use]
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A lowercased email address: at most 254 characters, an ASCII local part of 1–64
/// characters, a domain with a dot and a top-level label of at least two letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "email";
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValidationError::new(FIELD, "is required"));
        }
        if email.len() > 254 {
            return Err(ValidationError::new(
                FIELD,
                "must be at most 254 characters",
            ));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(ValidationError::new(FIELD, "must contain '@'"));
        };
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(ValidationError::new(FIELD, "has an invalid local part"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| {
                tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
            });
        if !domain_ok {
            return Err(ValidationError::new(FIELD, "has an invalid domain"));
        }
        Ok(Self(email))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }

    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// A display name: at most 100 characters after trimming, no control characters. Empty means
/// none.
pub fn parse_display_name(raw: &str) -> Result<Option<String>, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 100 {
        return Err(ValidationError::new(
            "display_name",
            "must be at most 100 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "display_name",
            "must not contain control characters",
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(ValidationError::new(
                "status",
                "must be 'active' or 'disabled'",
            )),
        }
    }
}

/// An end user of one client.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub client_id: ClientId,
    pub email: Email,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub role: String,
    pub status: UserStatus,
    pub totp_enabled: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new active user of `client` (role `user`, no second factor), created `now`.
    #[must_use]
    pub fn new(
        client: ClientId,
        email: Email,
        email_verified: bool,
        display_name: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: UserId::from_uuid(uuid::Uuid::now_v7()),
            client_id: client,
            email,
            email_verified,
            display_name,
            timezone: None,
            locale: None,
            role: "user".to_owned(),
            status: UserStatus::Active,
            totp_enabled: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Whether the email's domain (or a parent domain) is a known disposable-mail provider
/// (mailchecker's maintained list) or listed in `extra` (`BLOCKED_EMAIL_DOMAINS`). An `extra`
/// entry written `!domain` overrides the list: that domain (and its subdomains) is accepted.
#[must_use]
pub fn is_blocked_domain(email: &Email, extra: &[String]) -> bool {
    let domain = email.domain();
    let covers = |entry: &str| {
        let entry = entry.trim().trim_start_matches('.').to_ascii_lowercase();
        !entry.is_empty() && (domain == entry || domain.ends_with(&format!(".{entry}")))
    };
    if extra
        .iter()
        .filter_map(|e| e.trim().strip_prefix('!'))
        .any(covers)
    {
        return false;
    }
    let listed = extra
        .iter()
        .filter(|e| !e.trim().starts_with('!'))
        .any(|e| covers(e));
    // A neutral local part, so only the domain decides (mailchecker also checks format).
    listed || !mailchecker::is_valid(&format!("x@{domain}"))
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`): up to 64 of `A-Za-z0-9_/+-`. Empty means
/// none.
pub fn parse_timezone(raw: &str) -> Result<Option<String>, ValidationError> {
    let tz = raw.trim();
    if tz.is_empty() {
        return Ok(None);
    }
    let ok = tz.len() <= 64
        && tz.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && tz
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'+' | b'-'));
    if ok {
        Ok(Some(tz.to_owned()))
    } else {
        Err(ValidationError::new(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        ))
    }
}

/// A BCP 47 language tag (`en`, `de-DE`, `zh-Hant-TW`): letters, digits and hyphens, up to
/// 35 characters, starting with a 2–3 letter language. Empty means none.
pub fn parse_locale(raw: &str) -> Result<Option<String>, ValidationError> {
    let tag = raw.trim().replace('_', "-");
    if tag.is_empty() {
        return Ok(None);
    }
    let mut parts = tag.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if tag.len() <= 35 && language_ok && rest_ok {
        Ok(Some(tag))
    } else {
        Err(ValidationError::new(
            "locale",
            "must be a language tag such as en or de-DE",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        let e = Email::parse("a.b+c@mail.example.org").unwrap();
        assert_eq!(e.local_part(), "a.b+c");
        assert_eq!(e.domain(), "mail.example.org");
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@b.c",
            "a@-b.com",
            "a..b@x.com",
            ".a@x.com",
            "a b@x.com",
            "ü@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn disposable_and_configured_domains_are_blocked() {
        let extra = vec!["corp-blocked.example".to_owned()];
        let blocked = |e: &str| is_blocked_domain(&Email::parse(e).unwrap(), &extra);
        assert!(blocked("a@mailinator.com"));
        assert!(blocked("a@sub.mailinator.com"));
        assert!(blocked("a@corp-blocked.example"));
        assert!(blocked("a@x.corp-blocked.example"));
        assert!(!blocked("a@gmail.com"));
        assert!(!blocked("a+tag@example.org"));
        let overridden = vec!["!mailinator.com".to_owned()];
        assert!(!is_blocked_domain(
            &Email::parse("a@mailinator.com").unwrap(),
            &overridden
        ));
    }

    #[test]
    fn timezones_and_locales() {
        assert_eq!(
            parse_timezone("Europe/Berlin").unwrap().as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(parse_timezone("UTC").unwrap().as_deref(), Some("UTC"));
        assert!(parse_timezone("../etc/passwd").is_err());
        assert_eq!(parse_locale("de_DE").unwrap().as_deref(), Some("de-DE"));
        assert!(parse_locale("english please").is_err());
        assert_eq!(parse_locale("").unwrap(), None);
    }

    #[test]
    fn display_names() {
        assert_eq!(
            parse_display_name("  Ada ").unwrap().as_deref(),
            Some("Ada")
        );
        assert_eq!(parse_display_name("  ").unwrap(), None);
        assert!(parse_display_name(&"x".repeat(101)).is_err());
    }
}
