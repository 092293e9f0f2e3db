//! A service account's keys: listing, a new key (secret shown once), revocation (what the key
//! minted dies with it) and rotation with an overlap.

#![allow(clippy::wildcard_imports)]

use super::*;

impl ManageServiceAccounts {
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

    pub(super) fn new_key(
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
