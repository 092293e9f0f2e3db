use serde::{Deserialize, Serialize};

/// Every claim an AuthService access token may carry: user tokens, organization tokens
/// (`org_*`) and machine tokens (`token_use`, `scope`, `service_account_*`). Absent claims are
/// empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub client_id: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    /// The session the token belongs to.
    pub sid: String,
    pub org_id: String,
    pub org_slug: String,
    pub org_role: String,
    pub org_permissions: Vec<String>,
    /// `access` for user tokens, `client_credentials` for machine tokens.
    pub token_use: String,
    /// Space-separated scopes.
    pub scope: String,
    pub scopes: Vec<String>,
    pub service_account_id: String,
    pub service_account_name: String,
}

impl Claims {
    /// Every scope granted (`scopes`, plus the words of `scope`).
    #[must_use]
    pub fn all_scopes(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        all.extend(self.scope.split_whitespace());
        all.sort_unstable();
        all.dedup();
        all
    }
}
