//! Writes that span aggregates, committed together: a use case lists what changes (an app, a
//! consent, the sessions it ends, the audit event that records it) and the adapter applies the
//! list in one transaction it owns — all or nothing. Repositories keep their reads and the
//! writes that touch their aggregate alone.

use async_trait::async_trait;
use authservice_domain::oidc_app::OidcApp;
use authservice_domain::organization::{MemberGroups, Membership, OrganizationId};
use authservice_domain::service_account::{ServiceAccount, ServiceAccountKey};
use authservice_domain::sso::SsoConnection;
use authservice_domain::{AuditEvent, ClientId, User, UserId, UserStatus};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One write of a unit. A *required* write that finds nothing to change refuses the whole
/// unit (nothing is written; [`Committed::Refused`] names it).
#[derive(Debug, Clone)]
pub enum Write {
    /// Appends the event to the audit log.
    Audit(AuditEvent),
    /// Stores a new OIDC app with the SHA-256 of its secret, if it has one.
    CreateOidcApp {
        app: OidcApp,
        secret_hash: Option<[u8; 32]>,
    },
    /// Stores the app's fields (not its secret). Required.
    UpdateOidcApp(OidcApp),
    /// Replaces the app's secret: its hash and the app's `secret_prefix` (`None` removes it);
    /// the old secret stops working at once. Required.
    SetOidcAppSecret {
        app: OidcApp,
        secret_hash: Option<[u8; 32]>,
    },
    /// Deletes the app (its consents and sessions go with it). Required.
    DeleteOidcApp { client: ClientId, app: Uuid },
    /// Remembers that `user` allowed app `app` the `scopes`, added to what was allowed before.
    /// Required: the app must be the client's.
    GrantConsent {
        client: ClientId,
        user: UserId,
        app: Uuid,
        scopes: Vec<String>,
        at: DateTime<Utc>,
    },
    /// Forgets what `user` allowed app `app`. Required.
    ForgetConsent {
        client: ClientId,
        user: UserId,
        app: Uuid,
    },
    /// Ends every live session `user` holds through app `app`: their refresh tokens stop at
    /// once, a refresh in flight included. Answers [`Written::EndedSessions`].
    EndAppSessions {
        client: ClientId,
        user: UserId,
        app: Uuid,
        at: DateTime<Utc>,
        reason: &'static str,
    },
    /// Stores the profile fields of the user (display name, timezone, locale). Required.
    UpdateUserProfile(User),
    /// Sets the user's status. Required; answers [`Written::User`] (the user as stored).
    SetUserStatus {
        client: ClientId,
        user: UserId,
        status: UserStatus,
        at: DateTime<Utc>,
    },
    /// Replaces the user's password hash. Required.
    SetPasswordHash {
        client: ClientId,
        user: UserId,
        hash: String,
        at: DateTime<Utc>,
    },
    /// Revokes every live session of the user but `keep` (a refresh in flight included).
    RevokeUserSessions {
        client: ClientId,
        user: UserId,
        keep: Option<Uuid>,
        reason: &'static str,
        at: DateTime<Utc>,
    },
    /// Queues a message in the email outbox (sent after the commit, never lost with it).
    QueueEmail(super::QueuedEmail),
    /// Enables TOTP with the sealed `secret` (`step` counts as used). Required: TOTP was off.
    EnableTotp {
        client: ClientId,
        user: UserId,
        secret: super::SealedSecret,
        step: u64,
        at: DateTime<Utc>,
    },
    /// Disables TOTP and forgets its secret. Required: TOTP was on.
    DisableTotp {
        client: ClientId,
        user: UserId,
        at: DateTime<Utc>,
    },
    /// Replaces the user's recovery codes by these (SHA-256 digests; none deletes them all):
    /// the old ones stop working.
    ReplaceRecoveryCodes {
        client: ClientId,
        user: UserId,
        codes: Vec<[u8; 32]>,
        at: DateTime<Utc>,
    },
    /// Stores a new passkey. Required: its credential is not registered with the client yet.
    AddPasskey(super::StoredPasskey),
    /// Renames passkey `id` of the user. Required.
    RenamePasskey {
        client: ClientId,
        user: UserId,
        id: Uuid,
        name: String,
    },
    /// Deletes passkey `id` of the user. Required.
    DeletePasskey {
        client: ClientId,
        user: UserId,
        id: Uuid,
    },
    /// Creates or replaces the client's email settings.
    PutEmailConfig {
        client: ClientId,
        config: super::StoredEmailConfig,
    },
    /// Deletes the client's email settings. Required.
    DeleteEmailConfig(ClientId),
    /// Makes `key` the client's active signing key; the previous active key stays published
    /// for `overlap` (retired at once when zero).
    RotateSigningKey {
        client: ClientId,
        key: super::SealedSigningKey,
        overlap: std::time::Duration,
        at: DateTime<Utc>,
    },
    /// Stores a new organization with its first member. Its slug must be free in the client
    /// ([`Committed::Duplicate`] otherwise).
    CreateOrganization {
        org: authservice_domain::organization::Organization,
        owner: authservice_domain::organization::Membership,
    },
    /// Stores the organization's name, slug, metadata and logo (its policy changes through its
    /// own versioned write). Required; the slug must be free ([`Committed::Duplicate`]).
    UpdateOrganization(authservice_domain::organization::Organization),
    /// Stores the organization's security policy. Required.
    SetOrgSecurityPolicy(authservice_domain::organization::Organization),
    /// Deletes the organization with its memberships (their organization tokens stop
    /// validating). Required.
    DeleteOrganization {
        client: ClientId,
        org: authservice_domain::organization::OrganizationId,
    },
    /// Stores an invitation with the SHA-256 of its token; the earlier pending invitations of
    /// the same address into the same organization are revoked by it.
    CreateInvitation {
        invitation: authservice_domain::organization::Invitation,
        token_hash: [u8; 32],
    },
    /// Stores an organization's new (pending) claim on a domain. Required: the organization
    /// does not claim it yet.
    AddOrgDomain(authservice_domain::organization::OrgDomain),
    /// Marks a pending claim verified. Required: still pending, and the domain is verified for
    /// no other organization of the client.
    VerifyOrgDomain {
        client: ClientId,
        id: Uuid,
        at: DateTime<Utc>,
    },
    /// Deletes a claim. Required.
    DeleteOrgDomain { client: ClientId, id: Uuid },
    /// Stores a new SSO connection.
    CreateSsoConnection(SsoConnection),
    /// Stores a connection's fields; required (the connection exists).
    UpdateSsoConnection(SsoConnection),
    /// Deletes a connection with its identities; required.
    DeleteSsoConnection { client: ClientId, id: Uuid },
    /// Stores a new SCIM user. Required; a `userName` or account the directory has already
    /// is [`Committed::Duplicate`].
    CreateScimUser(authservice_domain::scim::ScimUser),
    /// Replaces a SCIM user's fields if its stored version is `user.version - 1`. Required (a
    /// concurrent change refuses it).
    ReplaceScimUser(authservice_domain::scim::ScimUser),
    /// Deletes SCIM user `id` of `directory` if it is still at `version`. Required.
    DeleteScimUser {
        directory: Uuid,
        id: Uuid,
        version: i64,
    },
    /// Sets the user's address and whether it is proven (`verified`), at `at`, and voids the
    /// emailed links still out (they went to the old address). Required; an address another
    /// account of the client has is [`Committed::Duplicate`].
    SetUserEmail {
        client: ClientId,
        user: UserId,
        email: authservice_domain::Email,
        verified: bool,
        at: DateTime<Utc>,
    },
    /// Erases a user: the account and everything that cascades from it (sessions, factors,
    /// identities, memberships, links), its queued and sent emails, and pseudonymises its audit
    /// events (`pseudonym` replaces its id; IP, user agent, snapshots and addresses removed).
    /// Required: refused when the user is gone or is the last owner of an organization.
    EraseUser {
        client: ClientId,
        user: UserId,
        pseudonym: Uuid,
    },
    /// Stores a new SCIM group with those of its members that are users of its directory.
    /// Required; a `displayName` the directory has already is [`Committed::Duplicate`].
    CreateScimGroup(authservice_domain::scim::ScimGroup),
    /// Replaces a SCIM group's fields and members (those that are users of its directory) if
    /// its stored version is `group.version - 1`. Required (a concurrent change refuses it); a
    /// taken `displayName` is [`Committed::Duplicate`].
    ReplaceScimGroup(authservice_domain::scim::ScimGroup),
    /// Deletes SCIM group `id` of `directory` if it is still at `version`. Required.
    DeleteScimGroup {
        directory: Uuid,
        id: Uuid,
        version: i64,
    },
    /// Sets the `scim` groups of each of `accounts`' membership in `org` to the names of the
    /// SCIM groups (of the organization's directories) holding them, as stored once the
    /// unit's earlier writes are — serialized per organization, so concurrent changes of
    /// groups never leave a membership with a stale list.
    SyncScimMemberGroups {
        client: ClientId,
        org: OrganizationId,
        accounts: Vec<UserId>,
    },
    /// Stores a new SCIM directory with the SHA-256 of its token. Required.
    CreateScimDirectory {
        directory: authservice_domain::scim::ScimDirectory,
        token_hash: [u8; 32],
    },
    /// Stores the directory's name and status. Required.
    UpdateScimDirectory(authservice_domain::scim::ScimDirectory),
    /// Replaces the directory's token (its SHA-256 and the directory's `token_prefix`): the old
    /// token stops at once. Required.
    SetScimDirectoryToken {
        directory: authservice_domain::scim::ScimDirectory,
        token_hash: [u8; 32],
    },
    /// Stores a client's configuration of a social provider (replacing it).
    PutSocialProvider(authservice_domain::social::SocialProvider),
    /// Deletes a social provider with the identities it linked; required.
    DeleteSocialProvider {
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
    },
    /// Links identity (`kind`, `subject`) to `user`, or stamps its sign-in; required: refused
    /// when it belongs to another user.
    LinkSocialIdentity {
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
        subject: String,
        user: UserId,
        at: DateTime<Utc>,
        /// The provider's tokens, sealed (replacing any kept before; `None` forgets them).
        tokens: Option<Vec<u8>>,
    },
    /// Forgets `user`'s identity at provider `kind`; required.
    UnlinkSocialIdentity {
        client: ClientId,
        user: UserId,
        kind: authservice_domain::social::SocialKind,
    },
    /// Forgets every identity a connection linked (its IdP changed).
    DeleteSsoIdentities { client: ClientId, connection: Uuid },
    /// Links identity (`connection`, `external_id`) to `user` (or notes its sign-in when it is
    /// linked to them already) and stamps the connection's last sign-in; required: refused
    /// when the identity belongs to another user.
    LinkSsoIdentity {
        client: ClientId,
        connection: Uuid,
        external_id: String,
        user: UserId,
        at: DateTime<Utc>,
    },
    /// Stores a new user without a password (signed in by an identity provider); a taken
    /// email is [`Committed::Duplicate`].
    CreateUser(User),
    /// Makes the user a member (nothing when they are one already).
    AddMember(Membership),
    /// Replaces a member's groups; required (the membership exists).
    SetMemberGroups {
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        groups: MemberGroups,
    },
    /// Stores a new service account.
    CreateServiceAccount(ServiceAccount),
    /// Stores the account's name, scopes, status and `tokens_valid_after`. Required.
    UpdateServiceAccount(ServiceAccount),
    /// Stores a new key with the SHA-256 of its secret, unless the account is gone or already
    /// holds `max_live` keys usable at `key.created_at` (serialized per account). Required.
    AddServiceAccountKey {
        key: ServiceAccountKey,
        secret_hash: [u8; 32],
        max_live: usize,
    },
    /// Revokes key `key` of `account` at `at` and makes the account's tokens issued before
    /// `at` stop counting (what the key minted dies with it). Required: a live key.
    RevokeServiceAccountKey {
        client: ClientId,
        account: Uuid,
        key: Uuid,
        at: DateTime<Utc>,
    },
    /// Key `old` expires at `old_expires_at` (or earlier, if it already did) and `new_key` is
    /// stored. Required: `old` usable at `new_key.created_at`.
    RotateServiceAccountKey {
        old: Uuid,
        old_expires_at: DateTime<Utc>,
        new_key: ServiceAccountKey,
        secret_hash: [u8; 32],
    },
}

/// What one write did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Done,
    /// The session families an [`Write::EndAppSessions`] ended.
    EndedSessions(Vec<Uuid>),
    /// The user as a [`Write::SetUserStatus`] left it.
    User(User),
}

/// How a unit ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// Every write, in order, with what each did.
    All(Vec<Written>),
    /// The required write at this index found nothing to change, or what it refers to is
    /// gone: nothing was written.
    Refused(usize),
    /// The write at this index would have duplicated a unique value (a slug): nothing was
    /// written.
    Duplicate(usize),
}

impl Committed {
    /// Whether everything was written.
    #[must_use]
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All(_))
    }
}

/// Applies units of work.
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Applies `writes` in order in one transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn commit(&self, writes: Vec<Write>) -> anyhow::Result<Committed>;
}
