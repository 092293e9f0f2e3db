//! The SCIM 2.0 service provider (RFC 7644) of a directory: every request names its directory
//! (`/scim/v2/{directory}/…`) and carries that directory's bearer token; what it reads and
//! writes is that directory's alone.

use authservice_domain::ClientStatus;
use authservice_domain::scim::directory::presented_digest;
use authservice_domain::scim::{DirectoryStatus, ScimDirectory};
use uuid::Uuid;

use crate::limits::Limit;
use crate::ports::Ports;

mod accounts;
mod bulk;
mod groups;
mod listing;
mod users;
pub use bulk::{BULK_MAX_OPERATIONS, BulkResult};
pub use listing::{ListParams, MixedPage};
pub use users::{DEFAULT_COUNT, MAX_COUNT};

/// Why a SCIM request was refused; [`ScimError::status`] and [`ScimError::scim_type`] are what
/// the SCIM error answer says.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error("a valid bearer token of this directory is required")]
    Unauthorized,
    #[error("the directory is disabled")]
    DirectoryDisabled,
    #[error("the application is suspended")]
    ClientSuspended,
    #[error("{}", .0.detail)]
    Problem(authservice_domain::scim::ScimProblem),
    #[error("no such resource")]
    NotFound,
    #[error("the resource changed since that version (If-Match)")]
    PreconditionFailed,
    #[error("the directory's organization no longer owns the account's address domain")]
    DomainNotOwned,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many requests for this directory")]
    RateLimited(std::time::Duration),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ScimError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::DirectoryDisabled | Self::ClientSuspended | Self::DomainNotOwned => 403,
            Self::Problem(p) => p.scim_type.status(),
            Self::NotFound => 404,
            Self::Conflict(_) => 409,
            Self::PreconditionFailed => 412,
            Self::TooLarge(_) => 413,
            Self::RateLimited(_) => 429,
            Self::Unexpected(_) => 500,
        }
    }

    /// How long to wait before the next request, when rate limited.
    #[must_use]
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited(after) => Some(*after),
            _ => None,
        }
    }

    /// The SCIM `scimType` (RFC 7644 §3.12), for the errors that have one.
    #[must_use]
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            Self::Problem(p) => Some(p.scim_type.as_str()),
            _ => None,
        }
    }
}

/// How often a PATCH without `If-Match` is applied again when the resource changed under it:
/// each failure means another change landed, so up to this many changes at once all land.
const RETRIES: u32 = 16;

/// Runs a read-modify-write again while it meets a concurrent change (412 from the versioned
/// write) and the caller asked for no version (`If-Match`); up to [`RETRIES`] times.
async fn retrying<T, F, Fut>(if_match: Option<&str>, mut attempt: F) -> Result<T, ScimError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ScimError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(ScimError::PreconditionFailed) if if_match.is_none() && tries < RETRIES => {
                tries += 1;
            }
            done => return done,
        }
    }
}

pub struct Scim {
    ports: Ports,
    /// `JWT_ACCESS_TTL`: how long a deprovisioned account's tokens must be checked against
    /// the store.
    access_ttl: std::time::Duration,
}

impl Scim {
    #[must_use]
    pub fn new(ports: &Ports, access_ttl: std::time::Duration) -> Self {
        Self {
            ports: ports.clone(),
            access_ttl,
        }
    }

    /// The directory `directory` names if `bearer` is its current token, it is active and its
    /// application is not suspended; records the call as the directory's last sync.
    ///
    /// # Errors
    /// `Unauthorized` (no such directory, another directory's or an old token — all alike),
    /// `DirectoryDisabled`, `ClientSuspended`, `RateLimited`, a store or limiter failure.
    #[tracing::instrument(name = "scim.authenticate", level = "debug", skip_all)]
    pub async fn authenticate(
        &self,
        directory: &str,
        bearer: Option<&str>,
    ) -> Result<ScimDirectory, ScimError> {
        let id = Uuid::try_parse(directory).map_err(|_| ScimError::Unauthorized)?;
        let digest = bearer
            .and_then(|b| presented_digest(b.trim()))
            .ok_or(ScimError::Unauthorized)?;
        let found = self
            .ports
            .scim_directories
            .authenticate(id, &digest)
            .await?
            .ok_or(ScimError::Unauthorized)?;
        if found.status != DirectoryStatus::Active {
            return Err(ScimError::DirectoryDisabled);
        }
        // Each directory's identity provider gets its own budget (SCIM_RATE_LIMIT).
        if let Err(after) = self
            .ports
            .limits
            .take(Limit::ScimRequest, &found.id.to_string())
            .await?
        {
            return Err(ScimError::RateLimited(after));
        }
        let client = self.ports.clients.get(found.client_id).await?;
        if client.is_none_or(|c| c.status != ClientStatus::Active) {
            return Err(ScimError::ClientSuspended);
        }
        // Recorded at most once a minute: no write on every request of a sync.
        let now = self.ports.clock.now();
        if found.sync_is_stale(now) {
            self.ports.scim_directories.touch(found.id, now).await?;
        }
        Ok(found)
    }
}
