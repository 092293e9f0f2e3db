//! Operator authentication.

mod authenticate_admin;

pub use authenticate_admin::{AuthenticateAdmin, AuthenticateAdminError};
