//! A client's end users as operators manage them.

mod manage_user;
mod support;

pub use manage_user::{ManageUser, ManageUserError, UserSearchInput};
pub use support::{UserDossier, UserPatch};
