//! An operator reads one end user of a client, or disables / re-enables them. Disabling ends
//! every session of the user at once: refresh tokens stop, the account routes refuse the
//! user's access tokens, and `ValidateToken` answers `user_disabled` within a second.

use authservice_domain::EventType;
use authservice_domain::organization::OrganizationId;
use authservice_domain::{ClientId, Permission, User, UserId, UserStatus, ValidationError};
use serde_json::json;

use crate::audit::record_quietly;
use crate::auth::AuthConfig;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::{Page, PageRequest};
use crate::ports::{Committed, Ports, UserFilter, Write, Written};

#[derive(Debug, thiserror::Error)]
pub enum ManageUserError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Page(#[from] crate::pagination::PageError),
    #[error("the address is already verified")]
    AlreadyVerified,
    #[error("the user is the last owner of an organization")]
    LastOwner,
    #[error("too many emails to this address; try again later")]
    RateLimited { retry_after: std::time::Duration },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::email::EmailFlowError> for ManageUserError {
    fn from(err: crate::email::EmailFlowError) -> Self {
        match err {
            crate::email::EmailFlowError::RateLimited { retry_after } => {
                Self::RateLimited { retry_after }
            }
            crate::email::EmailFlowError::AlreadyVerified => Self::AlreadyVerified,
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl UseCaseError for ManageUserError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) | Self::Page(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::UserNotFound,
            Self::AlreadyVerified => ErrorKind::EmailAlreadyVerified,
            Self::LastOwner => ErrorKind::LastOwner,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// The query of an operator's user search (raw values).
#[derive(Debug, Clone, Default)]
pub struct UserSearchInput {
    /// A prefix of the address, the display name or the id.
    pub q: Option<String>,
    pub status: Option<String>,
    pub email_verified: Option<String>,
    pub has_mfa: Option<String>,
    pub organization_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub struct ManageUser {
    pub(super) ports: Ports,
    pub(super) config: AuthConfig,
    pub(super) mail: crate::email::MailConfig,
}

impl ManageUser {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &crate::email::MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
        }
    }

    pub(super) fn ids(
        ctx: &RequestCtx,
        permission: Permission,
        client: &str,
        user: &str,
    ) -> Result<(ClientId, UserId), ManageUserError> {
        ctx.require(permission)?;
        let client = ClientId::parse(client)?;
        ctx.require_for_client(permission, client)?;
        // Any malformed id is simply not one of this client's users.
        let user = UserId::parse(user).map_err(|_| ManageUserError::NotFound)?;
        Ok((client, user))
    }

    /// A page of the client's users matching `input` (oldest first); audited `users.listed`
    /// with the query.
    pub async fn search(
        &self,
        ctx: &RequestCtx,
        client: &str,
        input: &UserSearchInput,
    ) -> Result<Page<User>, ManageUserError> {
        ctx.require(Permission::UsersRead)?;
        let client = ClientId::parse(client)?;
        ctx.require_for_client(Permission::UsersRead, client)?;
        let page = PageRequest::parse(input.limit, input.cursor.as_deref())?;
        let flag =
            |name: &'static str, raw: &Option<String>| -> Result<Option<bool>, ValidationError> {
                match raw.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some("true") => Ok(Some(true)),
                    Some("false") => Ok(Some(false)),
                    Some(_) => Err(ValidationError::new(name, "must be true or false")),
                }
            };
        let prefix = input
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if prefix
            .as_ref()
            .is_some_and(|q| q.chars().count() > 254 || q.contains('\0'))
        {
            return Err(ValidationError::new("q", "at most 254 characters, no NUL").into());
        }
        let filter = UserFilter {
            prefix,
            status: input
                .status
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(UserStatus::parse)
                .transpose()?,
            email_verified: flag("email_verified", &input.email_verified)?,
            has_mfa: flag("has_mfa", &input.has_mfa)?,
            organization: input
                .organization_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|raw| {
                    uuid::Uuid::try_parse(raw)
                        .map(OrganizationId::from_uuid)
                        .map_err(|_| ValidationError::new("organization_id", "must be a UUID"))
                })
                .transpose()?,
        };
        let rows = self.ports.users.search(client, &filter, page).await?;
        let found = Page::from_overfetch(rows, page.limit, |u| u.id.as_uuid());
        let event = ctx
            .audit(EventType::UsersListed)
            .client(client)
            .metadata(json!({
                "q": filter.prefix,
                "status": filter.status.map(UserStatus::as_str),
                "email_verified": filter.email_verified,
                "has_mfa": filter.has_mfa,
                "organization_id": filter.organization.map(|o| o.as_uuid().to_string()),
                "returned": found.items.len(),
            }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(found)
    }

    /// Ends every session of the user: refresh tokens stop, the account routes and
    /// `ValidateToken` refuse its access tokens within a second. Audited `session.revoked`
    /// with the operator as actor.
    pub async fn revoke_sessions(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<(), ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        self.ports
            .users
            .get(client, user)
            .await?
            .ok_or(ManageUserError::NotFound)?;
        let now = self.ports.clock.now();
        let mut event = ctx
            .audit(EventType::SessionRevoked)
            .client(client)
            .target("user", user)
            .metadata(json!({ "sessions": "all", "by": "operator" }))
            .at(now);
        event.user_id = Some(user.as_uuid());
        self.ports
            .uow
            .commit(vec![
                Write::RevokeUserSessions {
                    client,
                    user,
                    keep: None,
                    reason: "operator",
                    at: now,
                },
                Write::Audit(event),
            ])
            .await?;
        crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client, user).await?;
        Ok(())
    }

    /// Sets `status` (`active` | `disabled`); audited `user_disabled` / `user_enabled`.
    pub async fn set_status(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
        status: &str,
    ) -> Result<User, ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        let status = UserStatus::parse(status.trim())?;
        let now = self.ports.clock.now();
        let action = match status {
            UserStatus::Active => EventType::UserEnabled,
            UserStatus::Disabled => EventType::UserDisabled,
        };
        let mut event = ctx
            .audit(action)
            .client(client)
            .target("user", user)
            .metadata(json!({ "sessions_revoked": status == UserStatus::Disabled }))
            .at(now);
        event.user_id = Some(user.as_uuid());
        // Disabling ends every session of the user with the change.
        let mut writes = vec![Write::SetUserStatus {
            client,
            user,
            status,
            at: now,
        }];
        if status == UserStatus::Disabled {
            writes.push(Write::RevokeUserSessions {
                client,
                user,
                keep: None,
                reason: "user_disabled",
                at: now,
            });
        }
        writes.push(Write::Audit(event));
        let Committed::All(written) = self.ports.uow.commit(writes).await? else {
            return Err(ManageUserError::NotFound);
        };
        let Some(Written::User(updated)) = written.into_iter().next() else {
            return Err(anyhow::anyhow!("a status change answers the user").into());
        };
        if status == UserStatus::Disabled {
            crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client, user)
                .await?;
        }
        Ok(updated)
    }
}
