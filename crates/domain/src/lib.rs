//! The business vocabulary of AuthService: entities, value objects and pure rules.
//!
//! Nothing here performs I/O, awaits, or knows about HTTP, SQL or Redis. Value objects parse
//! their raw input once (`Slug::parse`, `AllowedOrigin::parse`, ...); holding one is proof that
//! it is valid.

pub mod admin;
pub mod api_key;
pub mod audit;
pub mod audit_chain;
pub mod client;
pub mod duration;
pub mod email;
pub mod oidc_app;
pub mod organization;
pub mod password;
pub mod pkce;
pub mod principal;
pub mod scim;
pub mod secret;
pub mod service_account;
pub mod sign_in;
pub mod social;
pub mod sso;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod user;
pub mod webhook;

pub use api_key::{ApiKey, ApiKeyHash};
pub use audit::{ActorType, AuditEvent, EventType};
pub use client::{
    AllowedOrigin, Client, ClientId, ClientName, ClientPatch, ClientPolicy, ClientSettings,
    ClientStatus, RedirectUri, SigningAlgorithm, Slug, TokenMode, ValidationError, WebhookUrl,
};
pub use email::{
    Branding, ClientEmailConfig, LinkBase, Locale, Message, Notice, SmtpServer, SmtpTls,
    TokenPurpose,
};
pub use password::{PasswordPolicy, PasswordRule};
pub use principal::{AdminKind, AdminPrincipal, AdminScope, Permission, Principal};
pub use user::{Email, User, UserId, UserStatus};
