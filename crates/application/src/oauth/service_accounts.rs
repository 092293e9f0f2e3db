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

    /// The account and every key of it (`clients:read`).
    pub async fn keys(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
    ) -> Result<(ServiceAccount, Vec<ServiceAccountKey>), ServiceAccountError> {
        let account = self
            .load(ctx, client, account, Permission::ClientsRead)
            .await?;
        let keys = self.accounts.keys(account.client_id, account.id).await?;
        Ok((account, keys))
    }

    fn new_key(
        &self,
        account: &ServiceAccount,
        input: KeyInput,
        now: DateTime<Utc>,
    ) -> Result<(ServiceAccountKey, SecretString, [u8; 32]), ServiceAccountError> {
        let scopes = input.scopes.as_deref().map(scope_names).transpose()?;
        if let Some(scopes) = &scopes
            && let Some(extra) = scopes.iter().find(|s| !account.scopes.contains(s))
        {
            return Err(ValidationError::new(
                "scopes",
                format!("'{extra}' is not a scope of the service account"),
            )
            .into());
        }
        if input.expires_at.is_some_and(|at| at <= now) {
            return Err(ValidationError::new("expires_at", "must be in the future").into());
        }
        let secret = format!("m2m_{}", hex(&self.ports.random.bytes32()));
        let key = ServiceAccountKey {
            id: Uuid::now_v7(),
            client_id: account.client_id,
            service_account_id: account.id,
            prefix: secret[..16].to_owned(),
            scopes,
            expires_at: input.expires_at,
            revoked_at: None,
            created_at: now,
        };
        let hash = sha256(secret.as_bytes());
        Ok((key, SecretString::from(secret), hash))
    }

    /// A new key (`clients:rotate_keys`); its secret is in the answer only.
    #[tracing::instrument(name = "create_service_account_key", level = "debug", skip_all)]
    pub async fn create_key(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
        input: KeyInput,
    ) -> Result<CreatedKey, ServiceAccountError> {
        let account = self
            .load(ctx, client, account, Permission::ClientsRotateKeys)
            .await?;
        if account.status != ServiceAccountStatus::Active {
            return Err(ValidationError::new("status", "the service account is disabled").into());
        }
        let now = self.ports.clock.now();
        let (key, secret, hash) = self.new_key(&account, input, now)?;
        let event = Self::event(ctx, EventType::ServiceAccountKeyCreated, &account)
            .metadata(key_snapshot(&key, now))
            .at(now);
        let writes = vec![
            Write::AddServiceAccountKey {
                key: key.clone(),
                secret_hash: hash,
                max_live: MAX_KEYS,
            },
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(ServiceAccountError::TooManyKeys);
        }
        Ok(CreatedKey { key, secret })
    }

    /// Revokes a key (`clients:rotate_keys`): it stops authenticating at once, and the
    /// account's tokens issued before now stop validating.
    #[tracing::instrument(name = "revoke_service_account_key", level = "debug", skip_all)]
    pub async fn revoke_key(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
        key: &str,
    ) -> Result<(), ServiceAccountError> {
        let account = self
            .load(ctx, client, account, Permission::ClientsRotateKeys)
            .await?;
        let key = Uuid::try_parse(key.trim()).map_err(|_| ServiceAccountError::KeyNotFound)?;
        let now = self.ports.clock.now();
        let event = Self::event(ctx, EventType::ServiceAccountKeyRevoked, &account)
            .metadata(json!({ "key_id": key.to_string() }))
            .at(now);
        let writes = vec![
            Write::RevokeServiceAccountKey {
                client: account.client_id,
                account: account.id,
                key,
                at: now,
            },
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(ServiceAccountError::KeyNotFound);
        }
        self.note_change(&account).await?;
        Ok(())
    }

    /// Replaces a key by a new one with the same scopes (`clients:rotate_keys`); the old one
    /// keeps working for `overlap_hours` (0: stops at once), so deployments can switch.
    #[tracing::instrument(name = "rotate_service_account_key", level = "debug", skip_all)]
    pub async fn rotate_key(
        &self,
        ctx: &RequestCtx,
        client: &str,
        account: &str,
        key: &str,
        overlap_hours: u32,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CreatedKey, ServiceAccountError> {
        if overlap_hours > MAX_OVERLAP_HOURS {
            return Err(ValidationError::new("overlap_hours", "at most 720 (30 days)").into());
        }
        let account = self
            .load(ctx, client, account, Permission::ClientsRotateKeys)
            .await?;
        if account.status != ServiceAccountStatus::Active {
            return Err(ValidationError::new("status", "the service account is disabled").into());
        }
        let old_id = Uuid::try_parse(key.trim()).map_err(|_| ServiceAccountError::KeyNotFound)?;
        let now = self.ports.clock.now();
        let old = self
            .accounts
            .keys(account.client_id, account.id)
            .await?
            .into_iter()
            .find(|k| k.id == old_id && k.usable_at(now))
            .ok_or(ServiceAccountError::KeyNotFound)?;
        let (new_key, secret, hash) = self.new_key(
            &account,
            KeyInput {
                scopes: old.scopes.clone(),
                expires_at,
            },
            now,
        )?;
        let old_expires_at = now + chrono::Duration::hours(i64::from(overlap_hours));
        let event = Self::event(ctx, EventType::ServiceAccountKeyRotated, &account)
            .metadata(json!({
                "old_key_id": old.id.to_string(),
                "old_key_expires_at": old_expires_at.to_rfc3339(),
                "new_key": key_snapshot(&new_key, now),
            }))
            .at(now);
        let writes = vec![
            Write::RotateServiceAccountKey {
                old: old.id,
                old_expires_at,
                new_key: new_key.clone(),
                secret_hash: hash,
            },
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(ServiceAccountError::KeyNotFound);
        }
        // The old key's new expiry must reach every replica's key cache.
        self.note_change(&account).await?;
        Ok(CreatedKey {
            key: new_key,
            secret,
        })
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
