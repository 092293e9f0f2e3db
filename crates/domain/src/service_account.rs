//! Service accounts: the machine identities of a client. A backend authenticates with the
//! account's id and one of its keys (`m2m_…` secrets) at the token endpoint
//! (`grant_type=client_credentials`) and gets an access token for the scopes both the account
//! and the key allow.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{ClientId, ClientName, ValidationError};
use crate::oidc_app::OidcApp;

/// Active accounts get tokens; disabled ones get none and their tokens stop validating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAccountStatus {
    Active,
    Disabled,
}

impl ServiceAccountStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// # Errors
    /// Not `active` or `disabled`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(ValidationError::new(
                "status",
                "must be one of: active disabled",
            )),
        }
    }
}

/// A machine identity of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub client_id: ClientId,
    pub name: ClientName,
    /// Every scope the account may be granted.
    pub scopes: Vec<String>,
    pub status: ServiceAccountStatus,
    /// Tokens issued before this instant no longer count (a key was revoked: what it minted
    /// dies with it).
    pub tokens_valid_after: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceAccount {
    /// Whether a token of this account issued at `iat` (Unix seconds) still counts. `iat` has
    /// whole seconds: a token of the very second of a revocation may be from before it, so only
    /// tokens of the seconds after count (a token minted in that second by another key is
    /// refused too, for at most a second — the client asks again).
    #[must_use]
    pub fn honours_token(&self, iat: i64) -> bool {
        self.status == ServiceAccountStatus::Active
            && self
                .tokens_valid_after
                .is_none_or(|after| iat > after.timestamp())
    }
}

/// A key (secret) of a service account; the secret itself is kept only as its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountKey {
    pub id: Uuid,
    pub client_id: ClientId,
    pub service_account_id: Uuid,
    /// The first 16 characters of the secret (`m2m_` + 12 hex), to tell keys apart.
    pub prefix: String,
    /// The scopes this key may be granted (within the account's); `None` = all of the account's.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ServiceAccountKey {
    /// Whether the key authenticates at `now`: not revoked, not expired.
    #[must_use]
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }

    /// `active`, `expired` or `revoked` at `now`.
    #[must_use]
    pub fn status_at(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|at| now >= at) {
            "expired"
        } else {
            "active"
        }
    }
}

/// The most keys an account holds at once (active or not yet purged).
pub const MAX_KEYS: usize = 20;
/// The longest overlap of a rotation: the old key keeps working this long at most.
pub const MAX_OVERLAP_HOURS: u32 = 24 * 30;

/// Parses scope names (the same rules as OIDC app scopes).
///
/// # Errors
/// A name is malformed or there are too many.
pub fn scope_names(raw: &[String]) -> Result<Vec<String>, ValidationError> {
    OidcApp::scope_names(raw)
}

/// Splits an OAuth `scope` parameter (space-separated) into names.
#[must_use]
pub fn split_scope(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in raw.split(' ').filter(|w| !w.is_empty()) {
        if !out.iter().any(|s| s == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// The scopes a grant gets: those requested (all allowed when none are) that every one of
/// `allowed` permits — requested ∩ account ∩ key. `None` when that leaves nothing (RFC 6749
/// `invalid_scope`); a scope beyond what is allowed is never granted, and the answer's `scope`
/// tells the caller what it got.
#[must_use]
pub fn grant_scopes(requested: &[String], allowed: &[&[String]]) -> Option<Vec<String>> {
    let permitted = |scope: &&String| allowed.iter().all(|set| set.contains(scope));
    let wanted: &[String] = if requested.is_empty() {
        allowed.first()?
    } else {
        requested
    };
    let granted: Vec<String> = wanted.iter().filter(permitted).cloned().collect();
    (!granted.is_empty()).then_some(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn granted_scopes_are_the_request_within_the_account_and_the_key() {
        let account = s(&["a", "b", "c"]);
        let key = s(&["b", "c", "d"]);
        assert_eq!(grant_scopes(&[], &[&account, &key]), Some(s(&["b", "c"])));
        assert_eq!(grant_scopes(&s(&["c"]), &[&account, &key]), Some(s(&["c"])));
        // A scope beyond the account or the key is never granted.
        assert_eq!(
            grant_scopes(&s(&["c", "d", "admin"]), &[&account, &key]),
            Some(s(&["c"]))
        );
        assert_eq!(grant_scopes(&s(&["a"]), &[&account, &key]), None);
        assert_eq!(grant_scopes(&[], &[&s(&["a"]), &s(&["b"])]), None);
    }

    #[test]
    fn a_scope_parameter_splits_on_spaces_without_repeats() {
        assert_eq!(split_scope(" a  b a "), s(&["a", "b"]));
        assert!(split_scope("").is_empty());
    }

    #[test]
    fn a_revoked_or_expired_key_does_not_authenticate() {
        let now = Utc::now();
        let mut key = ServiceAccountKey {
            id: Uuid::nil(),
            client_id: ClientId::from_uuid(Uuid::nil()),
            service_account_id: Uuid::nil(),
            prefix: "m2m_000000000000".into(),
            scopes: None,
            expires_at: Some(now + chrono::Duration::hours(1)),
            revoked_at: None,
            created_at: now,
        };
        assert!(key.usable_at(now));
        assert!(!key.usable_at(now + chrono::Duration::hours(1)));
        assert_eq!(key.status_at(now + chrono::Duration::hours(2)), "expired");
        key.revoked_at = Some(now);
        assert!(!key.usable_at(now));
        assert_eq!(key.status_at(now), "revoked");
    }

    #[test]
    fn tokens_from_before_a_key_revocation_or_of_a_disabled_account_do_not_count() {
        let now = Utc::now();
        let mut account = ServiceAccount {
            id: Uuid::nil(),
            client_id: ClientId::from_uuid(Uuid::nil()),
            name: ClientName::parse("worker").unwrap(),
            scopes: vec![],
            status: ServiceAccountStatus::Active,
            tokens_valid_after: Some(now),
            created_at: now,
            updated_at: now,
        };
        assert!(
            !account.honours_token(now.timestamp()),
            "the second of the revocation is ambiguous: refused"
        );
        assert!(!account.honours_token(now.timestamp() - 1));
        assert!(account.honours_token(now.timestamp() + 1));
        account.status = ServiceAccountStatus::Disabled;
        assert!(!account.honours_token(now.timestamp() + 10));
    }
}
