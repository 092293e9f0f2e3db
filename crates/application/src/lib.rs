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
pub mod mfa;
pub mod pagination;
pub mod ports;
pub mod services;
pub mod tokens;
pub mod users;

pub use context::{AuditDraft, RequestCtx};
pub use error::{ErrorKind, UseCaseError};
pub use services::Services;
