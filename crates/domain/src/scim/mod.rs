//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): directories, the resources' schemas, Users,
//! Groups, and the filter language.

pub mod directory;
pub mod filter;
pub mod group;
pub mod patch;
pub mod schema;
pub mod user;

pub use directory::{DirectoryStatus, ScimDirectory};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, FilterError};
pub use group::{GroupInput, GroupMember, ScimGroup};
pub use user::{ScimUser, UserInput};

/// Whether `tags` (an `If-Match` / `If-None-Match` value) names `etag`; weak and strong forms
/// compare alike (RFC 7232 weak comparison), `*` matches.
#[must_use]
pub fn etag_matches(etag: &str, tags: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let current = opaque(etag);
    tags.split(',')
        .any(|t| t.trim() == "*" || opaque(t) == current)
}

/// The `scimType` of an error answer (RFC 7644 §3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }

    /// The HTTP status that goes with it.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            Self::Sensitive => 403,
            _ => 400,
        }
    }
}

/// A request SCIM refuses with a `scimType`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimProblem {
    pub scim_type: ScimType,
    pub detail: String,
}

impl ScimProblem {
    #[must_use]
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            scim_type,
            detail: detail.into(),
        }
    }

    /// The same problem inside attribute `parent` (`name.givenName must be …`).
    #[must_use]
    pub fn prefixed(self, parent: &str) -> Self {
        Self {
            detail: format!("{parent}.{}", self.detail),
            ..self
        }
    }
}

impl From<FilterError> for ScimProblem {
    fn from(e: FilterError) -> Self {
        Self::new(ScimType::InvalidFilter, e.to_string())
    }
}
