//! The traits adapters implement. Each method documents the errors an adapter must return;
//! anything else is `Unexpected` and reaches the caller as an opaque 500.

use std::sync::Arc;

mod audit;
mod clients;
mod crypto;
mod health;
mod rate_limit;

pub use audit::{AuditFilter, AuditLog};
pub use clients::{ClientRepository, ClientWriteError};
pub use crypto::{Clock, Random, SealedSecret, SecretBox, SystemClock};
pub use health::{PoolStats, Probe};
pub use rate_limit::{RateDecision, RateLimiter, RateRule};

/// Every adapter the use cases need.
#[derive(Clone)]
pub struct Ports {
    pub clients: Arc<dyn ClientRepository>,
    pub audit: Arc<dyn AuditLog>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub secret_box: Arc<dyn SecretBox>,
    pub random: Arc<dyn Random>,
    pub clock: Arc<dyn Clock>,
    pub probes: Vec<Arc<dyn Probe>>,
}
