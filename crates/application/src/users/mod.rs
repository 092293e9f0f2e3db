//! A client's end users as operators manage them.

mod manage_user;

pub use manage_user::{ManageUser, ManageUserError, UserSearchInput};
