//! Adapters: one module per technology. Driver errors are translated here; nothing above this
//! crate sees a diesel or redis error type.

pub mod crypto;
pub mod dns;
pub mod email;
mod idp_http;
pub mod memory;
pub mod oauth2_social;
pub mod oidc_rp;
pub mod postgres;
pub mod redis;
pub mod saml_sp;
pub mod webhook_http;
