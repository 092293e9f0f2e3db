//! Invitations into an organization: an emailed, single-use token for one address and role.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{OrgRole, OrganizationId};
use crate::client::{ClientId, ValidationError};
use crate::user::{Email, UserId};

/// How long an invitation lives unless the inviter says otherwise (days), and at most.
pub const DEFAULT_INVITATION_DAYS: u32 = 7;
pub const MAX_INVITATION_DAYS: u32 = 30;

/// An invitation as stored (the token itself only as its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub email: Email,
    pub role: OrgRole,
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

impl Invitation {
    /// The status at `now`: accepted and revoked are final; a pending one expires.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if self.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }

    /// The lifetime an inviter asked for: 1 to 30 days, 7 when omitted.
    ///
    /// # Errors
    /// Outside 1–30.
    pub fn lifetime(days: Option<i64>) -> Result<Duration, ValidationError> {
        let days = days.unwrap_or(i64::from(DEFAULT_INVITATION_DAYS));
        if !(1..=i64::from(MAX_INVITATION_DAYS)).contains(&days) {
            return Err(ValidationError::new(
                "expires_in_days",
                "must be between 1 and 30",
            ));
        }
        Ok(Duration::days(days))
    }
}
