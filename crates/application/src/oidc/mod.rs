//! The OpenID Connect provider's configuration: a client's OIDC applications (operators,
//! `X-Admin-Key`).

mod apps;

pub use apps::{ManageOidcApps, OidcAppError, OidcAppInput, SavedOidcApp, snapshot};
