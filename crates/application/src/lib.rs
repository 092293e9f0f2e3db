//! Use cases of AuthService and the ports (traits) they need.
//!
//! One use case per file (`<area>/<verb_noun>.rs`), each with its input, output and error enum
//! and an `execute(&self, ctx, input)` method. Adapters implement the traits in `ports`; nothing
//! here knows HTTP, gRPC, SQL or Redis.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod context;
pub mod email;
pub mod error;
pub mod health;
pub mod limits;
pub mod mfa;
pub mod oauth;
pub mod oidc;
pub mod organizations;
pub mod pagination;
pub mod ports;
pub mod scim;
pub mod services;
pub mod social;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use context::{AuditDraft, RequestCtx};
pub use error::{ErrorKind, UseCaseError};
pub use services::Services;

#[cfg(test)]
mod debug_redaction {
    /// Secrets and one-time values never show in `Debug` output (it ends up in logs).
    #[test]
    fn secrets_never_show_in_debug() {
        let secret = "s3cr3t-value-0123456789";
        let outputs = [
            format!(
                "{:?}",
                crate::mfa::DisableTotpInput {
                    code: Some(secret.into()),
                    password: Some(secret.into()),
                }
            ),
            format!(
                "{:?}",
                crate::mfa::BeginPasskeyLogin {
                    email: None,
                    two_factor_token: Some(secret.into()),
                }
            ),
            format!(
                "{:?}",
                crate::email::ResetPasswordInput {
                    token: secret.into(),
                    new_password: secret.into(),
                }
            ),
            format!(
                "{:?}",
                crate::clients::AuthenticateClientInput {
                    api_key: Some(secret),
                    origin: None,
                }
            ),
            format!(
                "{:?}",
                crate::ports::TotpProvisioning {
                    secret_base32: secret.into(),
                    otpauth_url: secret.into(),
                    qr_png_base64: secret.into(),
                }
            ),
            format!("{:?}", crate::auth::ReauthProof::TotpCode(secret.into())),
            format!("{:?}", crate::auth::ReauthProof::Password(secret.into())),
            format!(
                "{:?}",
                crate::auth::Reauthenticated {
                    access_token: secret.into(),
                    expires_in: 1,
                    auth_time: 1,
                }
            ),
            format!(
                "{:?}",
                crate::email::MagicLinkAnswer::RedirectCode(secret.into())
            ),
            format!(
                "{:?}",
                crate::email::ExchangeRedirectCodeInput {
                    code: secret,
                    code_verifier: Some(secret),
                    redirect_uri: None,
                    state: Some(secret),
                }
            ),
            format!(
                "{:?}",
                crate::oauth::PresentedClient {
                    client_id: "x".into(),
                    secret: Some(secret.into()),
                    method: crate::oauth::PresentedMethod::Basic,
                    assertion: Some(secret.into()),
                }
            ),
        ];
        for out in outputs {
            assert!(!out.contains(secret), "{out}");
        }
    }
}
