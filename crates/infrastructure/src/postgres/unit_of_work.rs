//! The unit of work: a list of writes across aggregates applied in one transaction, each by
//! the module of its table. A required write that changes nothing rolls the unit back.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{Committed, UnitOfWork, Write, Written};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::PgPool;

pub struct PgUnitOfWork {
    pool: PgPool,
}

impl PgUnitOfWork {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Applies one write; `None` when a required write changed nothing.
async fn apply(tx: &mut AsyncPgConnection, write: &Write) -> Result<Option<Written>, DieselError> {
    let required = |changed: bool| changed.then_some(Written::Done);
    Ok(match write {
        Write::Audit(event) => {
            super::audit::insert_event(tx, event).await?;
            Some(Written::Done)
        }
        Write::CreateOidcApp { app, secret_hash } => {
            required(super::oidc_apps::insert(tx, app, secret_hash.as_ref()).await?)
        }
        Write::UpdateOidcApp(app) => required(super::oidc_apps::update(tx, app).await?),
        Write::SetOidcAppSecret { app, secret_hash } => {
            required(super::oidc_apps::set_secret(tx, app, secret_hash.as_ref()).await?)
        }
        Write::DeleteOidcApp { client, app } => {
            required(super::oidc_apps::delete(tx, *client, *app).await?)
        }
        Write::GrantConsent {
            client,
            user,
            app,
            scopes,
            at,
        } => required(super::consents::grant(tx, *client, *user, *app, scopes, *at).await?),
        Write::ForgetConsent { client, user, app } => {
            required(super::consents::forget(tx, *client, *user, *app).await?)
        }
        Write::EndAppSessions {
            client,
            user,
            app,
            at,
            reason,
        } => Some(Written::EndedSessions(
            super::sessions::end_app_sessions(tx, *client, *user, *app, *at, reason).await?,
        )),
        Write::UpdateUserProfile(user) => required(super::users::update_profile(tx, user).await?),
        Write::SetUserStatus {
            client,
            user,
            status,
            at,
        } => super::users::set_status(tx, *client, *user, *status, *at)
            .await?
            .map(Written::User),
        Write::SetPasswordHash {
            client,
            user,
            hash,
            at,
        } => required(super::users::set_password_hash(tx, *client, *user, hash, *at).await?),
        Write::RevokeUserSessions {
            client,
            user,
            keep,
            reason,
            at,
        } => {
            super::sessions::revoke_where(tx, *client, *user, None, *keep, reason, *at).await?;
            Some(Written::Done)
        }
        Write::QueueEmail(email) => {
            super::outbox::insert_queued(tx, email).await?;
            Some(Written::Done)
        }
        Write::EnableTotp {
            client,
            user,
            secret,
            step,
            at,
        } => required(super::mfa::enable_totp(tx, *client, *user, secret, *step, *at).await?),
        Write::DisableTotp { client, user, at } => {
            required(super::mfa::disable_totp(tx, *client, *user, *at).await?)
        }
        Write::ReplaceRecoveryCodes {
            client,
            user,
            codes,
            at,
        } => {
            super::mfa::store_codes(tx, *client, *user, codes, *at).await?;
            Some(Written::Done)
        }
        Write::AddPasskey(passkey) => required(super::passkeys::insert(tx, passkey).await?),
        Write::RenamePasskey {
            client,
            user,
            id,
            name,
        } => required(super::passkeys::rename(tx, *client, *user, *id, name).await?),
        Write::DeletePasskey { client, user, id } => {
            required(super::passkeys::delete(tx, *client, *user, *id).await?)
        }
        Write::PutEmailConfig { client, config } => {
            required(super::email_configs::put(tx, *client, config).await?)
        }
        Write::DeleteEmailConfig(client) => {
            required(super::email_configs::delete(tx, *client).await?)
        }
        Write::RotateSigningKey {
            client,
            key,
            overlap,
            at,
        } => required(super::signing_keys::rotate(tx, *client, key, *overlap, *at).await?),
        Write::CreateOrganization { org, owner } => {
            required(super::organizations::create(tx, org, owner).await?)
        }
        Write::UpdateOrganization(org) => required(super::organizations::update(tx, org).await?),
        Write::SetOrgSecurityPolicy(org) => {
            required(super::organizations::set_security_policy(tx, org).await?)
        }
        Write::DeleteOrganization { client, org } => {
            required(super::organizations::delete(tx, *client, *org).await?)
        }
        Write::CreateInvitation {
            invitation,
            token_hash,
        } => required(super::invitations::create(tx, invitation, token_hash).await?),
        Write::AddOrgDomain(domain) => required(super::org_domains::insert(tx, domain).await?),
        Write::VerifyOrgDomain { client, id, at } => {
            required(super::org_domains::verify(tx, *client, *id, *at).await?)
        }
        Write::DeleteOrgDomain { client, id } => {
            required(super::org_domains::delete(tx, *client, *id).await?)
        }
        Write::CreateSsoConnection(c) => required(super::sso::insert(tx, c).await?),
        Write::UpdateSsoConnection(c) => required(super::sso::update(tx, c).await?),
        Write::DeleteSsoConnection { client, id } => {
            required(super::sso::delete(tx, *client, *id).await?)
        }
        Write::CreateScimUser(user) => required(super::scim_users::insert(tx, user).await?),
        Write::ReplaceScimUser(user) => required(super::scim_users::replace(tx, user).await?),
        Write::DeleteScimUser {
            directory,
            id,
            version,
        } => required(super::scim_users::delete(tx, *directory, *id, *version).await?),
        Write::SetUserEmail {
            client,
            user,
            email,
            verified,
            at,
        } => required(super::users::set_email(tx, *client, *user, email, *verified, *at).await?),
        Write::EraseUser {
            client,
            user,
            pseudonym,
        } => required(super::users::erase(tx, *client, *user, *pseudonym).await?),
        Write::CreateScimGroup(group) => required(super::scim_groups::insert(tx, group).await?),
        Write::ReplaceScimGroup(group) => required(super::scim_groups::replace(tx, group).await?),
        Write::DeleteScimGroup {
            directory,
            id,
            version,
        } => required(super::scim_groups::delete(tx, *directory, *id, *version).await?),
        Write::SyncScimMemberGroups {
            client,
            org,
            accounts,
        } => {
            super::scim_groups::sync_member_groups(tx, *client, *org, accounts).await?;
            Some(Written::Done)
        }
        Write::CreateScimDirectory {
            directory,
            token_hash,
        } => required(super::scim::insert(tx, directory, token_hash).await?),
        Write::UpdateScimDirectory(directory) => {
            required(super::scim::update(tx, directory).await?)
        }
        Write::SetScimDirectoryToken {
            directory,
            token_hash,
        } => required(super::scim::set_token(tx, directory, token_hash).await?),
        Write::PutSocialProvider(p) => required(super::social::put(tx, p).await?),
        Write::UnlinkSocialIdentity { client, user, kind } => {
            required(super::social::unlink(tx, *client, *user, *kind).await?)
        }
        Write::DeleteSocialProvider { client, kind } => {
            required(super::social::delete(tx, *client, *kind).await?)
        }
        Write::LinkSocialIdentity {
            client,
            kind,
            subject,
            user,
            at,
            tokens,
        } => required(
            super::social::link_identity(
                tx,
                *client,
                *kind,
                subject,
                *user,
                *at,
                tokens.as_deref(),
            )
            .await?,
        ),
        Write::DeleteSsoIdentities { client, connection } => {
            super::sso::delete_identities(tx, *client, *connection).await?;
            Some(Written::Done)
        }
        Write::LinkSsoIdentity {
            client,
            connection,
            external_id,
            user,
            at,
        } => required(
            super::sso::link_identity(tx, *client, *connection, external_id, *user, *at).await?,
        ),
        Write::CreateUser(user) => required(super::users::insert_without_password(tx, user).await?),
        Write::AddMember(member) => {
            super::organizations::add_member(tx, member).await?;
            Some(Written::Done)
        }
        Write::SetMemberGroups {
            client,
            org,
            user,
            groups,
        } => required(
            super::organizations::set_member_groups(tx, *client, *org, *user, groups).await?,
        ),
        Write::CreateServiceAccount(account) => {
            required(super::service_accounts::insert_account(tx, account).await?)
        }
        Write::UpdateServiceAccount(account) => {
            required(super::service_accounts::update_account(tx, account).await?)
        }
        Write::AddServiceAccountKey {
            key,
            secret_hash,
            max_live,
        } => required(super::service_accounts::add_key(tx, key, secret_hash, *max_live).await?),
        Write::RevokeServiceAccountKey {
            client,
            account,
            key,
            at,
        } => required(super::service_accounts::revoke_key(tx, *client, *account, *key, *at).await?),
        Write::RotateServiceAccountKey {
            old,
            old_expires_at,
            new_key,
            secret_hash,
        } => required(
            super::service_accounts::rotate_key(tx, *old, *old_expires_at, new_key, secret_hash)
                .await?,
        ),
    })
}

#[async_trait]
impl UnitOfWork for PgUnitOfWork {
    #[tracing::instrument(name = "pg.unit_of_work.commit", level = "debug", skip_all, fields(writes = writes.len()))]
    async fn commit(&self, writes: Vec<Write>) -> anyhow::Result<Committed> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut refused = None;
        let mut at = 0;
        let outcome = conn
            .transaction::<_, DieselError, _>(async |tx| {
                let mut written = Vec::with_capacity(writes.len());
                for (i, write) in writes.iter().enumerate() {
                    at = i;
                    match apply(tx, write).await? {
                        Some(w) => written.push(w),
                        None => {
                            refused = Some(i);
                            return Err(DieselError::RollbackTransaction);
                        }
                    }
                }
                Ok(written)
            })
            .await;
        match (outcome, refused) {
            (Ok(written), _) => Ok(Committed::All(written)),
            (Err(DieselError::RollbackTransaction), Some(i)) => Ok(Committed::Refused(i)),
            (Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)), _) => {
                Ok(Committed::Duplicate(at))
            }
            // What the write names was deleted meanwhile (a group's member, say).
            (Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)), _) => {
                Ok(Committed::Refused(at))
            }
            (Err(e), _) => Err(e).context("committing a unit of work"),
        }
    }
}
