//! Update the current user's profile: display name, time zone, locale. Absent fields are kept;
//! an empty string clears one.

use authservice_domain::EventType;
use authservice_domain::User;
use authservice_domain::ValidationError;
use authservice_domain::user::{parse_display_name, parse_locale, parse_timezone};
use serde_json::json;

use super::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Debug, Clone, Default)]
pub struct UpdateProfileInput {
    pub display_name: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for UpdateProfileError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct UpdateProfile {
    ports: Ports,
}

fn profile(user: &User) -> serde_json::Value {
    json!({ "display_name": user.display_name, "timezone": user.timezone, "locale": user.locale })
}

impl UpdateProfile {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "update_profile", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        input: UpdateProfileInput,
    ) -> Result<User, UpdateProfileError> {
        let mut user = caller.user;
        let before = profile(&user);
        if let Some(raw) = input.display_name {
            user.display_name = parse_display_name(&raw)?;
        }
        if let Some(raw) = input.timezone {
            user.timezone = parse_timezone(&raw)?;
        }
        if let Some(raw) = input.locale {
            user.locale = parse_locale(&raw)?;
        }
        let after = profile(&user);
        if before == after {
            return Ok(user);
        }
        let now = self.ports.clock.now();
        user.updated_at = now;
        let mut event = ctx
            .audit(EventType::ProfileUpdated)
            .client(user.client_id)
            .target("user", user.id)
            .before(before)
            .after(after)
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        let writes = vec![
            crate::ports::Write::UpdateUserProfile(user.clone()),
            crate::ports::Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(anyhow::anyhow!("the user no longer exists").into());
        }
        Ok(user)
    }
}
