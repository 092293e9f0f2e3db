//! Operator authentication.

mod authenticate_admin;

pub use authenticate_admin::{ADMIN_FAILURE_RULE, AuthenticateAdmin, AuthenticateAdminError};
