//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): directories, and the filter language.

pub mod directory;
pub mod filter;

pub use directory::{DirectoryStatus, ScimDirectory};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, FilterError};
