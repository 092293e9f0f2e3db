//! Roles and permissions inside an organization. Routes check a permission, never a role name;
//! a role is a named set of permissions. The built-in roles are fixed; an organization's
//! authorization policy may declare more.

use std::collections::BTreeSet;

use crate::client::ValidationError;

macro_rules! permissions {
    ($($variant:ident => $name:literal,)*) => {
        /// The built-in permissions of an organization.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OrgPermission {
            $($variant,)*
        }

        impl OrgPermission {
            /// Every built-in permission, in declaration order.
            pub const ALL: &'static [OrgPermission] = &[$(OrgPermission::$variant,)*];

            /// The stable name (`org:read`, …).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(OrgPermission::$variant => $name,)*
                }
            }
        }
    };
}

permissions! {
    OrgRead => "org:read",
    OrgUpdate => "org:update",
    OrgDelete => "org:delete",
    MembersRead => "members:read",
    MembersInvite => "members:invite",
    MembersUpdate => "members:update",
    MembersRemove => "members:remove",
    InvitationsRead => "invitations:read",
    InvitationsRevoke => "invitations:revoke",
    AuthorizationRead => "authorization:read",
    AuthorizationWrite => "authorization:write",
    EnterpriseRead => "enterprise:read",
    EnterpriseWrite => "enterprise:write",
}

/// The built-in roles and their permissions: owner every one; admin every one but
/// `org:delete`; member reads (and nothing of enterprise writes); viewer the organization and
/// its members.
pub const BUILTIN_ROLES: &[(&str, &[OrgPermission])] = {
    use OrgPermission::*;
    &[
        (
            "owner",
            &[
                OrgRead,
                OrgUpdate,
                OrgDelete,
                MembersRead,
                MembersInvite,
                MembersUpdate,
                MembersRemove,
                InvitationsRead,
                InvitationsRevoke,
                AuthorizationRead,
                AuthorizationWrite,
                EnterpriseRead,
                EnterpriseWrite,
            ],
        ),
        (
            "admin",
            &[
                OrgRead,
                OrgUpdate,
                MembersRead,
                MembersInvite,
                MembersUpdate,
                MembersRemove,
                InvitationsRead,
                InvitationsRevoke,
                AuthorizationRead,
                AuthorizationWrite,
                EnterpriseRead,
                EnterpriseWrite,
            ],
        ),
        (
            "member",
            &[
                OrgRead,
                MembersRead,
                InvitationsRead,
                AuthorizationRead,
                EnterpriseRead,
            ],
        ),
        ("viewer", &[OrgRead, MembersRead]),
    ]
};

/// A role's name: a built-in one or one the organization's policy declares; 1–64 of
/// `a-z 0-9 _ - :`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgRole(String);

impl OrgRole {
    /// The role of an organization's creator, the one that holds every permission.
    pub const OWNER: &'static str = "owner";

    /// # Errors
    /// Not a well-formed role name (whether the organization has it is checked elsewhere).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let ok = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-:".contains(&b));
        if !ok {
            return Err(ValidationError::new(
                "role",
                "must be 1 to 64 of a-z 0-9 _ - : starting with a letter",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn owner() -> Self {
        Self(Self::OWNER.to_owned())
    }

    #[must_use]
    pub fn is_owner(&self) -> bool {
        self.0 == Self::OWNER
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The permissions of a built-in role; `None` for any other name.
    #[must_use]
    pub fn builtin_permissions(&self) -> Option<RoleSet> {
        BUILTIN_ROLES
            .iter()
            .find(|(name, _)| *name == self.0)
            .map(|(_, perms)| perms.iter().map(|p| p.as_str().to_owned()).collect())
    }
}

/// A set of permission names (a role's, or a member's effective ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSet(BTreeSet<String>);

impl RoleSet {
    #[must_use]
    pub fn allows(&self, permission: OrgPermission) -> bool {
        self.0.contains(permission.as_str())
    }

    #[must_use]
    pub fn contains(&self, permission: &str) -> bool {
        self.0.contains(permission)
    }

    /// Whether every permission of `other` is here too (who may grant a role: only one who
    /// holds all its permissions).
    #[must_use]
    pub fn covers(&self, other: &RoleSet) -> bool {
        other.0.is_subset(&self.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl FromIterator<String> for RoleSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}
