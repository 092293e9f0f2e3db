//! Domains an organization claims (`acme.com`), proven by a DNS TXT record before they route
//! sign-ins or enforce SSO. One verified claim per domain and client.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::OrganizationId;
use crate::client::{ClientId, ValidationError};

/// The label the TXT record goes under: `_authservice-verification.{domain}`.
pub const TXT_LABEL: &str = "_authservice-verification";
/// The start of the record's value: `authservice-domain-verification={token}`.
pub const TXT_VALUE_PREFIX: &str = "authservice-domain-verification=";

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainStatus {
    Pending,
    Verified,
}

impl DomainStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
        }
    }

    /// # Errors
    /// Not a status.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "pending" => Ok(Self::Pending),
            "verified" => Ok(Self::Verified),
            _ => Err(ValidationError::new("status", "pending or verified")),
        }
    }
}

/// An organization's claim on a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDomain {
    pub id: Uuid,
    pub client_id: ClientId,
    pub organization_id: OrganizationId,
    /// Lowercase ASCII (`xn--` for international names), no trailing dot.
    pub domain: String,
    pub status: DomainStatus,
    /// The record the organization publishes: name and value.
    pub txt_name: String,
    pub txt_value: String,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
}

impl OrgDomain {
    /// A new pending claim on `domain` (already parsed), to be proven by a TXT record whose
    /// value carries `token`.
    #[must_use]
    pub fn claim(
        client_id: ClientId,
        organization_id: OrganizationId,
        domain: String,
        token: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            client_id,
            organization_id,
            txt_name: format!("{TXT_LABEL}.{domain}"),
            txt_value: format!("{TXT_VALUE_PREFIX}{token}"),
            domain,
            status: DomainStatus::Pending,
            created_at: now,
            verified_at: None,
        }
    }

    /// Whether one of the TXT strings found at `txt_name` is the expected value.
    #[must_use]
    pub fn proven_by(&self, found: &[String]) -> bool {
        found.iter().any(|v| v.trim() == self.txt_value)
    }
}

/// A domain name as organizations claim it: letters, digits and hyphens in at least two
/// labels of 1–63 characters (253 in all), lowercased, a trailing dot dropped. International
/// names go in their `xn--` form; addresses and single labels are refused.
///
/// # Errors
/// The name is not acceptable (the message says why).
pub fn parse_domain(raw: &str) -> Result<String, ValidationError> {
    let invalid = |why: &str| ValidationError::new("domain", why.to_owned());
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || domain.len() > 253 {
        return Err(invalid("a domain name of 1 to 253 characters"));
    }
    if !domain.is_ascii() {
        return Err(invalid(
            "use the ASCII (xn--) form of an international name",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid(
            "a domain name has at least two labels (example.com)",
        ));
    }
    for label in &labels {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(invalid(
                "each label is 1 to 63 letters, digits or inner hyphens",
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("an address is not a domain name"));
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lowercased_and_checked() {
        assert_eq!(parse_domain(" Acme.COM. ").unwrap(), "acme.com");
        assert_eq!(
            parse_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            "com",
            "10.0.0.1",
            "-acme.com",
            "acme-.com",
            "ac me.com",
            "bücher.de",
            "a..b",
            "under_score.com",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_domain(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn a_claim_is_proven_only_by_its_own_value() {
        let claim = OrgDomain::claim(
            ClientId::from_uuid(Uuid::nil()),
            OrganizationId::from_uuid(Uuid::nil()),
            "acme.com".into(),
            "t0k3n",
            Utc::now(),
        );
        assert_eq!(claim.txt_name, "_authservice-verification.acme.com");
        assert!(claim.proven_by(&["v=spf1 -all".into(), claim.txt_value.clone()]));
        assert!(!claim.proven_by(&["authservice-domain-verification=other".into()]));
        assert!(!claim.proven_by(&[]));
    }
}
