//! Housekeeping: delete refresh-session rows and emailed one-time tokens that expired more
//! than a day ago (a consumed token
//! older than its own expiry can no longer be presented, so nothing is lost for reuse
//! detection). Run periodically by the server.

use std::time::Duration;

use crate::ports::Ports;

/// How long expired rows are kept (for the session list's history and investigations).
pub const EXPIRED_SESSION_GRACE: Duration = Duration::from_secs(24 * 3600);

pub struct PurgeExpiredSessions {
    ports: Ports,
}

impl PurgeExpiredSessions {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Returns how many rows were deleted.
    #[tracing::instrument(name = "purge_expired_sessions", level = "debug", skip_all)]
    pub async fn execute(&self) -> anyhow::Result<usize> {
        let before = self.ports.clock.now() - chrono::Duration::from_std(EXPIRED_SESSION_GRACE)?;
        let sessions = self.ports.sessions.purge_expired(before).await?;
        let tokens = self.ports.one_time_tokens.purge_expired(before).await?;
        Ok(sessions + tokens)
    }
}
