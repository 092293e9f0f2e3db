//! Token introspection (RFC 7662): whether an access token is active, asked by an app or a
//! service account of the token's own tenant. "Active" is the same verdict sibling services get
//! from `ValidateToken`: signature, expiry, `jti` revocation, the session's end, a disabled user
//! or service account — a token of another tenant is simply not active.

use authservice_domain::Client;

use crate::ports::AccessClaims;
use crate::tokens::ValidateToken;

/// The answer: the claims of an active token, or nothing.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub claims: Option<AccessClaims>,
}

pub struct Introspect {
    validate: ValidateToken,
}

impl Introspect {
    #[must_use]
    pub fn new(validate: ValidateToken) -> Self {
        Self { validate }
    }

    /// Introspects `token` for a caller of `tenant`.
    ///
    /// # Errors
    /// Only when a dependency fails.
    #[tracing::instrument(name = "introspect", level = "debug", skip_all)]
    pub async fn execute(&self, tenant: &Client, token: &str) -> anyhow::Result<Introspection> {
        let verdict = self.validate.execute(token, None).await?;
        let claims = verdict
            .claims
            .filter(|c| c.client_id == tenant.id.to_string());
        Ok(Introspection { claims })
    }
}
