//! Managing a client's service accounts and their keys (operators, `X-Admin-Key`). A key's
//! secret (`m2m_` + 64 hex) is shown once and kept only as its SHA-256 with a 16-character
//! prefix. Disabling an account or revoking a key reaches token validation at once: the
//! account's machine tokens issued before stop validating (a marker makes validation check the
//! database while such tokens can live).

use std::sync::Arc;
use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::service_account::{
    MAX_KEYS, MAX_OVERLAP_HOURS, ServiceAccount, ServiceAccountKey, ServiceAccountStatus,
    scope_names,
};
use authservice_domain::{ClientName, EventType, Permission, ValidationError};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use super::account_change_key;
use crate::clients::{ClientActionError, existing_client};
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{Ports, ServiceAccountRepository, Write};

mod keys;

/// An account's fields as sent: all on create, those present on update.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountInput {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub status: Option<String>,
}

/// A new key's fields.
#[derive(Debug, Clone, Default)]
pub struct KeyInput {
    /// Within the account's scopes; `None` = all of them, whatever they become.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just made, with its secret (shown once).
#[derive(Debug)]
pub struct CreatedKey {
    pub key: ServiceAccountKey,
    pub secret: SecretString,
}

pub struct ManageServiceAccounts {
    ports: Ports,
    accounts: Arc<dyn ServiceAccountRepository>,
    /// How long a token issued before a change can still be presented (access TTL + leeway).
    marker_ttl: Duration,
}

impl ManageServiceAccounts {
    #[must_use]
    pub fn new(ports: &Ports, access_ttl: Duration) -> Self {
        Self {
            ports: ports.clone(),
            accounts: ports.service_accounts.clone(),
            marker_ttl: access_ttl + Duration::from_secs(120),
        }
    }

    async fn load(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
        permission: Permission,
    ) -> Result<ServiceAccount, ServiceAccountError> {
        let client = existing_client(&self.ports, ctx, client, permission).await?;
        let id = Uuid::try_parse(account.trim()).map_err(|_| ServiceAccountError::NotFound)?;
        self.accounts
            .get(client.id, id)
            .await?
            .ok_or(ServiceAccountError::NotFound)
    }

    fn event(
        ctx: &RequestCtx,
        event: EventType,
        account: &ServiceAccount,
    ) -> crate::context::AuditDraft {
        ctx.audit(event)
            .client(account.client_id)
            .target("service_account", account.id)
    }

    /// Tells validation to check this account's tokens against the database for as long as a
    /// token issued before now can live.
    async fn note_change(&self, account: &ServiceAccount) -> anyhow::Result<()> {
        self.ports
            .ephemeral
            .put(
                &account_change_key(account.client_id, account.id),
                self.marker_ttl,
            )
            .await
    }

    /// Creates an account (`clients:update`).
    #[tracing::instrument(name = "create_service_account", level = "debug", skip_all)]
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        client: &str,
        input: ServiceAccountInput,
    ) -> Result<ServiceAccount, ServiceAccountError> {
        let client = existing_client(&self.ports, ctx, client, Permission::ClientsUpdate).await?;
        let now = self.ports.clock.now();
        let account = ServiceAccount {
            id: Uuid::now_v7(),
            client_id: client.id,
            name: ClientName::parse(input.name.as_deref().unwrap_or_default())?,
            scopes: scope_names(input.scopes.as_deref().unwrap_or_default())?,
            status: ServiceAccountStatus::parse(input.status.as_deref().unwrap_or("active"))?,
            tokens_valid_after: None,
            created_at: now,
            updated_at: now,
        };
        let event = Self::event(ctx, EventType::ServiceAccountCreated, &account)
            .after(account_snapshot(&account))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::CreateServiceAccount(account.clone()),
                Write::Audit(event),
            ])
            .await?;
        Ok(account)
    }

    /// One page of the client's accounts (`clients:read`).
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        client: &str,
        page: PageRequest,
    ) -> Result<Page<ServiceAccount>, ServiceAccountError> {
        let client = existing_client(&self.ports, ctx, client, Permission::ClientsRead).await?;
        let rows = self.accounts.list(client.id, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |a| a.id))
    }

    /// One account (`clients:read`).
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
    ) -> Result<ServiceAccount, ServiceAccountError> {
        self.load(ctx, client, account, Permission::ClientsRead)
            .await
    }

    /// Changes name, scopes or status (`clients:update`). Disabling stops new tokens and makes
    /// the account's tokens stop validating; enabling it again does not revive tokens issued
    /// before it was disabled.
    #[tracing::instrument(name = "update_service_account", level = "debug", skip_all)]
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
        input: ServiceAccountInput,
    ) -> Result<ServiceAccount, ServiceAccountError> {
        let mut account = self
            .load(ctx, client, account, Permission::ClientsUpdate)
            .await?;
        let before = account_snapshot(&account);
        let was_active = account.status == ServiceAccountStatus::Active;
        if let Some(name) = input.name.as_deref() {
            account.name = ClientName::parse(name)?;
        }
        if let Some(scopes) = input.scopes.as_deref() {
            account.scopes = scope_names(scopes)?;
        }
        if let Some(status) = input.status.as_deref() {
            account.status = ServiceAccountStatus::parse(status)?;
        }
        let now = self.ports.clock.now();
        account.updated_at = now;
        let disabling = was_active && account.status == ServiceAccountStatus::Disabled;
        if disabling {
            account.tokens_valid_after = Some(now);
        }
        let event_type = if disabling {
            EventType::ServiceAccountDisabled
        } else {
            EventType::ServiceAccountUpdated
        };
        let event = Self::event(ctx, event_type, &account)
            .before(before)
            .after(account_snapshot(&account))
            .at(now);
        let writes = vec![
            Write::UpdateServiceAccount(account.clone()),
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(ServiceAccountError::NotFound);
        }
        if disabling {
            self.note_change(&account).await?;
        }
        Ok(account)
    }

    /// Disables an account (`DELETE`; `clients:update`): the record and its audit trail stay.
    pub async fn disable(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
    ) -> Result<ServiceAccount, ServiceAccountError> {
        self.update(
            ctx,
            client,
            account,
            ServiceAccountInput {
                status: Some("disabled".into()),
                ..ServiceAccountInput::default()
            },
        )
        .await
    }
}

/// The JSON of an account (answers and audit snapshots).
#[must_use]
pub fn account_snapshot(account: &ServiceAccount) -> Value {
    json!({
        "id": account.id.to_string(),
        "name": account.name.as_str(),
        "scopes": account.scopes,
        "status": account.status.as_str(),
    })
}

/// The JSON of a key (never its secret or hash), with its status at `now`.
#[must_use]
pub fn key_snapshot(key: &ServiceAccountKey, now: DateTime<Utc>) -> Value {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    json!({
        "id": key.id.to_string(),
        "prefix": key.prefix,
        "scopes": key.scopes,
        "expires_at": time(key.expires_at),
        "revoked_at": time(key.revoked_at),
        "created_at": time(Some(key.created_at)),
        "status": key.status_at(now),
    })
}

/// What managing service accounts fails with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceAccountError {
    #[error(transparent)]
    Client(#[from] ClientActionError),
    #[error("no such service account")]
    NotFound,
    #[error("no such active key")]
    KeyNotFound,
    #[error("the service account holds the most keys it may (20)")]
    TooManyKeys,
    #[error(transparent)]
    Page(#[from] crate::pagination::PageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ValidationError> for ServiceAccountError {
    fn from(err: ValidationError) -> Self {
        Self::Client(err.into())
    }
}

impl crate::error::UseCaseError for ServiceAccountError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::Client(e) => e.kind(),
            Self::NotFound => ErrorKind::ServiceAccountNotFound,
            Self::KeyNotFound => ErrorKind::ServiceAccountKeyNotFound,
            Self::TooManyKeys => ErrorKind::TooManyKeys,
            Self::Page(crate::pagination::PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Page(_) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}
