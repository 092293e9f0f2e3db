//! Which browser origins may call: CORS preflights carry no API key, so a preflight is allowed
//! for an origin any active client lists (or `ALLOW_ORIGIN` does); the admin API allows only
//! `ALLOW_ORIGIN`. The real request is checked later against its own client
//! (`AuthenticateClient`).

use authservice_domain::AllowedOrigin;

use crate::ports::Ports;

/// Which part of the API a preflight is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginScope {
    Admin,
    App,
}

pub struct CheckOrigin {
    ports: Ports,
    global_origins: Vec<AllowedOrigin>,
}

impl CheckOrigin {
    #[must_use]
    pub fn new(ports: &Ports, global_origins: Vec<AllowedOrigin>) -> Self {
        Self {
            ports: ports.clone(),
            global_origins,
        }
    }

    /// Whether `origin` (a raw `Origin` header) is in `ALLOW_ORIGIN`.
    #[must_use]
    pub fn is_global(&self, origin: &str) -> bool {
        self.global_origins.iter().any(|o| o.matches(origin))
    }

    /// Whether a preflight from `origin` may proceed. Lookup failures deny (and are logged).
    pub async fn preflight_allowed(&self, origin: &str, scope: OriginScope) -> bool {
        if self.is_global(origin) {
            return true;
        }
        if scope == OriginScope::Admin {
            return false;
        }
        let Ok(origin) = AllowedOrigin::parse(origin) else {
            return false;
        };
        match self
            .ports
            .clients
            .any_active_allows_origin(origin.as_str())
            .await
        {
            Ok(allowed) => allowed,
            Err(err) => {
                tracing::error!(error = %err, "could not check a CORS origin");
                false
            }
        }
    }
}
