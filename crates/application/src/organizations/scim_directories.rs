//! Organizations' SCIM directories (enterprise onboarding): managed by members with
//! `enterprise:write` (`enterprise:read` to read) and a recent sign-in to mint a token, or by
//! operators. A directory's bearer token is shown at creation and rotation only; a rotation
//! ends the old token at once.

use authservice_domain::organization::GroupSource;
use authservice_domain::scim::directory::{MAX_DIRECTORIES, new_token};
use authservice_domain::scim::{DirectoryStatus, ScimDirectory};
use authservice_domain::sso::parse_connection_name;
use authservice_domain::{EventType, ValidationError};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use super::domains::{
    DomainActor, acting_client, acting_org, list_scope, require_covers_mappings,
    require_member_write,
};
use super::{OrgError, require_recent_auth};
use crate::auth::AuthConfig;
use crate::context::{AuditDraft, RequestCtx};
use crate::pagination::{Page, PageRequest};
use crate::ports::{Ports, Write};

/// A directory body: every field optional (a patch); the creation needs `organization_id` and
/// `name`.
#[derive(Debug, Default)]
pub struct DirectoryInput {
    pub organization_id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
}

/// The directory as audit events and answers show it (never the token).
#[must_use]
pub fn directory_snapshot(d: &ScimDirectory) -> Value {
    json!({
        "id": d.id.to_string(),
        "organization_id": d.organization_id.as_uuid().to_string(),
        "name": d.name,
        "status": d.status.as_str(),
        "token_prefix": d.token_prefix,
    })
}

pub struct ManageScimDirectories {
    ports: Ports,
    config: AuthConfig,
}

impl ManageScimDirectories {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Directory `id` the actor may see (`write`: and change).
    async fn directory(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
        write: bool,
    ) -> Result<ScimDirectory, OrgError> {
        let id = Uuid::try_parse(id.trim()).map_err(|_| OrgError::DirectoryNotFound)?;
        let client = acting_client(ctx, actor, write)?;
        let directory = self
            .ports
            .scim_directories
            .get(client, id)
            .await?
            .ok_or(OrgError::DirectoryNotFound)?;
        require_member_write(
            &self.ports,
            actor,
            directory.organization_id,
            OrgError::DirectoryNotFound,
        )
        .await?;
        Ok(directory)
    }

    /// A member minting a token signed in recently (operators pass).
    fn require_recent(&self, actor: DomainActor<'_>) -> Result<(), OrgError> {
        match actor {
            DomainActor::Member(caller) => require_recent_auth(&self.ports, &self.config, caller),
            DomainActor::Operator { .. } => Ok(()),
        }
    }

    fn event(ctx: &RequestCtx, event: EventType, d: &ScimDirectory) -> AuditDraft {
        ctx.audit(event)
            .client(d.client_id)
            .target("scim_directory", d.id)
            .metadata(json!({ "organization_id": d.organization_id.as_uuid().to_string() }))
    }

    /// Adds a directory to organization `input.organization_id`: the directory and its token.
    ///
    /// # Errors
    /// `Invalid` (a field, too many directories), `NotFound`/`Forbidden`,
    /// `ReauthenticationRequired` (a member without a recent sign-in), a store failure.
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        input: &DirectoryInput,
    ) -> Result<(ScimDirectory, SecretString), OrgError> {
        let org_ref = input
            .organization_id
            .as_deref()
            .ok_or_else(|| ValidationError::new("organization_id", "is required"))?;
        let name = parse_connection_name(input.name.as_deref().unwrap_or_default())?;
        let org = acting_org(&self.ports, ctx, actor, org_ref, true).await?;
        self.require_recent(actor)?;
        require_covers_mappings(&self.ports, actor, org.id, GroupSource::Scim).await?;
        let count = self
            .ports
            .scim_directories
            .count(org.client_id, org.id)
            .await?;
        if count >= MAX_DIRECTORIES {
            return Err(ValidationError::new(
                "organization_id",
                format!("an organization has at most {MAX_DIRECTORIES} SCIM directories"),
            )
            .into());
        }
        let (token, token_hash, token_prefix) = new_token(&self.ports.random.bytes32());
        let now = self.ports.clock.now();
        let mut directory = ScimDirectory {
            id: Uuid::now_v7(),
            client_id: org.client_id,
            organization_id: org.id,
            name,
            status: DirectoryStatus::Active,
            token_prefix,
            created_at: now,
            updated_at: now,
            last_sync_at: None,
        };
        if let Some(status) = &input.status {
            directory.status = DirectoryStatus::parse(status)?;
        }
        let event = Self::event(ctx, EventType::ScimDirectoryCreated, &directory)
            .after(directory_snapshot(&directory))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::CreateScimDirectory {
                    directory: directory.clone(),
                    token_hash,
                },
                Write::Audit(event),
            ])
            .await?;
        Ok((directory, SecretString::from(token)))
    }

    /// One page of the directories of organization `org` (or, for an operator, of the client).
    ///
    /// # Errors
    /// `NotFound`/`Forbidden`, `Invalid` (a member without `organization_id`), a store failure.
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        org: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ScimDirectory>, OrgError> {
        let (client, org) = list_scope(&self.ports, ctx, actor, org).await?;
        let rows = self.ports.scim_directories.list(client, org, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |d| d.id))
    }

    /// Directory `id`.
    ///
    /// # Errors
    /// `DirectoryNotFound`, a store failure.
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<ScimDirectory, OrgError> {
        self.directory(ctx, actor, id, false).await
    }

    /// Renames directory `id` or changes its status (`disabled`: its token is refused until
    /// it is `active` again).
    ///
    /// # Errors
    /// `DirectoryNotFound`, `Invalid`, a store failure.
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
        input: &DirectoryInput,
    ) -> Result<ScimDirectory, OrgError> {
        let mut directory = self.directory(ctx, actor, id, true).await?;
        if input.organization_id.is_some() {
            return Err(ValidationError::new("organization_id", "cannot change").into());
        }
        let before = directory_snapshot(&directory);
        let was = directory.status;
        if let Some(name) = &input.name {
            directory.name = parse_connection_name(name)?;
        }
        if let Some(status) = &input.status {
            directory.status = DirectoryStatus::parse(status)?;
        }
        let now = self.ports.clock.now();
        directory.updated_at = now;
        let event = Self::event(ctx, EventType::ScimDirectoryUpdated, &directory)
            .before(before)
            .after(directory_snapshot(&directory))
            .at(now);
        let mut writes = vec![Write::UpdateScimDirectory(directory.clone())];
        // A disabled directory's groups grant nothing (and grant again when it is enabled):
        // its members' names are recomputed with the change.
        let accounts = if was == directory.status {
            Vec::new()
        } else {
            self.ports.scim_groups.accounts_in(directory.id).await?
        };
        if !accounts.is_empty() {
            writes.push(Write::SyncScimMemberGroups {
                client: directory.client_id,
                org: directory.organization_id,
                accounts: accounts.clone(),
            });
        }
        writes.push(Write::Audit(event));
        let committed = self.ports.uow.commit(writes).await?;
        if !committed.is_all() {
            return Err(OrgError::DirectoryNotFound);
        }
        if !accounts.is_empty() {
            crate::tokens::note_membership_change(
                &self.ports,
                self.config.access_ttl,
                directory.organization_id,
                None,
            )
            .await?;
        }
        Ok(directory)
    }

    /// A new token for directory `id`; the old one stops at once.
    ///
    /// # Errors
    /// `DirectoryNotFound`, `ReauthenticationRequired`, a store failure.
    pub async fn rotate_token(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<(ScimDirectory, SecretString), OrgError> {
        let mut directory = self.directory(ctx, actor, id, true).await?;
        self.require_recent(actor)?;
        require_covers_mappings(
            &self.ports,
            actor,
            directory.organization_id,
            GroupSource::Scim,
        )
        .await?;
        let before = directory_snapshot(&directory);
        let (token, token_hash, token_prefix) = new_token(&self.ports.random.bytes32());
        let now = self.ports.clock.now();
        directory.token_prefix = token_prefix;
        directory.updated_at = now;
        let event = Self::event(ctx, EventType::ScimDirectoryTokenRotated, &directory)
            .before(before)
            .after(directory_snapshot(&directory))
            .at(now);
        let committed = self
            .ports
            .uow
            .commit(vec![
                Write::SetScimDirectoryToken {
                    directory: directory.clone(),
                    token_hash,
                },
                Write::Audit(event),
            ])
            .await?;
        if !committed.is_all() {
            return Err(OrgError::DirectoryNotFound);
        }
        Ok((directory, SecretString::from(token)))
    }
}
