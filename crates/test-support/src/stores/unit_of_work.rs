//! The in-memory unit of work: the writes applied under the one lock, all or nothing (the
//! database is restored when a required write changes nothing).

use authservice_application::ports::{Committed, UnitOfWork, Write, Written};

use super::*;

#[async_trait]
impl UnitOfWork for MemoryDb {
    async fn commit(&self, writes: Vec<Write>) -> anyhow::Result<Committed> {
        let mut st = self.lock();
        // Everything a unit can touch comes back as it was when a write is refused.
        let saved = st.clone();
        let mut written = Vec::with_capacity(writes.len());
        for (i, write) in writes.into_iter().enumerate() {
            let done = match write {
                Write::Audit(event) => {
                    st.audit.push(event);
                    Some(Written::Done)
                }
                Write::CreateOidcApp { app, secret_hash } => {
                    st.insert_oidc_app(&app, secret_hash);
                    Some(Written::Done)
                }
                Write::UpdateOidcApp(app) => st.update_oidc_app(&app).then_some(Written::Done),
                Write::SetOidcAppSecret { app, secret_hash } => st
                    .set_oidc_app_secret(&app, secret_hash)
                    .then_some(Written::Done),
                Write::DeleteOidcApp { client, app } => {
                    st.delete_oidc_app(client, app).then_some(Written::Done)
                }
                Write::GrantConsent {
                    client,
                    user,
                    app,
                    scopes,
                    at,
                } => st
                    .grant_consent(client, user, app, &scopes, at)
                    .then_some(Written::Done),
                Write::ForgetConsent { client, user, app } => st
                    .forget_consent(client, user, app)
                    .then_some(Written::Done),
                Write::EndAppSessions {
                    client,
                    user,
                    app,
                    at,
                    reason,
                } => Some(Written::EndedSessions(
                    st.end_app_sessions(client, user, app, at, reason),
                )),
                Write::UpdateUserProfile(user) => st.update_profile(&user).then_some(Written::Done),
                Write::EraseUser {
                    client,
                    user,
                    pseudonym,
                } => st.erase(client, user, pseudonym).then_some(Written::Done),
                Write::SetUserEmail {
                    client,
                    user,
                    email,
                    verified,
                    at,
                } => match st.set_email(client, user, &email, verified, at) {
                    None => {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    Some(done) => done.then_some(Written::Done),
                },
                Write::SetUserStatus {
                    client,
                    user,
                    status,
                    at,
                } => st.set_status(client, user, status, at).map(Written::User),
                Write::SetPasswordHash {
                    client,
                    user,
                    hash,
                    at,
                } => st
                    .set_password_hash(client, user, &hash, at)
                    .then_some(Written::Done),
                Write::RevokeUserSessions {
                    client,
                    user,
                    keep,
                    reason,
                    at,
                } => {
                    st.revoke(client, user, None, keep, reason, at);
                    Some(Written::Done)
                }
                Write::QueueEmail(email) => {
                    st.queue(&email);
                    Some(Written::Done)
                }
                Write::EnableTotp {
                    client,
                    user,
                    secret,
                    step,
                    at,
                } => st
                    .enable_totp(client, user, &secret, step, at)
                    .then_some(Written::Done),
                Write::DisableTotp { client, user, at } => {
                    st.disable_totp(client, user, at).then_some(Written::Done)
                }
                Write::ReplaceRecoveryCodes {
                    client,
                    user,
                    codes,
                    ..
                } => {
                    st.replace_recovery_codes(client, user, &codes);
                    Some(Written::Done)
                }
                Write::AddPasskey(passkey) => st.add_passkey(&passkey).then_some(Written::Done),
                Write::RenamePasskey {
                    client,
                    user,
                    id,
                    name,
                } => st
                    .rename_passkey(client, user, id, &name)
                    .then_some(Written::Done),
                Write::DeletePasskey { client, user, id } => {
                    st.delete_passkey(client, user, id).then_some(Written::Done)
                }
                Write::PutEmailConfig { client, config } => {
                    st.email_configs.insert(client, config);
                    Some(Written::Done)
                }
                Write::DeleteEmailConfig(client) => st
                    .email_configs
                    .remove(&client)
                    .is_some()
                    .then_some(Written::Done),
                Write::RotateSigningKey {
                    client,
                    key,
                    overlap,
                    at,
                } => {
                    st.rotate_signing_key(client, &key, overlap, at);
                    Some(Written::Done)
                }
                Write::CreateOrganization { org, owner } => {
                    match st.create_organization(&org, &owner) {
                        super::organizations::OrgWrite::Done => Some(Written::Done),
                        super::organizations::OrgWrite::SlugTaken => {
                            *st = saved;
                            return Ok(Committed::Duplicate(i));
                        }
                        super::organizations::OrgWrite::Missing => None,
                    }
                }
                Write::UpdateOrganization(org) => match st.update_organization(&org) {
                    super::organizations::OrgWrite::Done => Some(Written::Done),
                    super::organizations::OrgWrite::SlugTaken => {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    super::organizations::OrgWrite::Missing => None,
                },
                Write::SetOrgSecurityPolicy(org) => {
                    st.set_org_security_policy(&org).then_some(Written::Done)
                }
                Write::DeleteOrganization { client, org } => {
                    st.delete_organization(client, org).then_some(Written::Done)
                }
                Write::CreateInvitation {
                    invitation,
                    token_hash,
                } => {
                    st.create_invitation(&invitation, token_hash);
                    Some(Written::Done)
                }
                Write::AddOrgDomain(claim) => st.add_org_domain(&claim).then_some(Written::Done),
                Write::VerifyOrgDomain { client, id, at } => st
                    .verify_org_domain(client, id, at)
                    .then_some(Written::Done),
                Write::DeleteOrgDomain { client, id } => {
                    st.delete_org_domain(client, id).then_some(Written::Done)
                }
                Write::CreateSsoConnection(c) => {
                    st.sso_connections.push(c);
                    Some(Written::Done)
                }
                Write::UpdateSsoConnection(c) => {
                    st.update_sso_connection(&c).then_some(Written::Done)
                }
                Write::CreateScimUser(user) => {
                    if !st.create_scim_user(user) {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    Some(Written::Done)
                }
                Write::ReplaceScimUser(user) => st.replace_scim_user(user).then_some(Written::Done),
                Write::DeleteScimUser {
                    directory,
                    id,
                    version,
                } => {
                    let before = st.scim_users.len();
                    st.scim_users.retain(|u| {
                        !(u.directory_id == directory && u.id == id && u.version == version)
                    });
                    (st.scim_users.len() < before).then_some(Written::Done)
                }
                Write::CreateScimGroup(group) => match st.put_scim_group(group, false) {
                    None => {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    Some(done) => done.then_some(Written::Done),
                },
                Write::ReplaceScimGroup(group) => match st.put_scim_group(group, true) {
                    None => {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    Some(done) => done.then_some(Written::Done),
                },
                Write::DeleteScimGroup {
                    directory,
                    id,
                    version,
                } => {
                    let before = st.scim_groups.len();
                    st.scim_groups.retain(|g| {
                        !(g.directory_id == directory && g.id == id && g.version == version)
                    });
                    (st.scim_groups.len() < before).then_some(Written::Done)
                }
                Write::SyncScimMemberGroups {
                    client,
                    org,
                    accounts,
                } => {
                    st.sync_scim_member_groups(client, org, &accounts);
                    Some(Written::Done)
                }
                Write::CreateScimDirectory {
                    directory,
                    token_hash,
                } => {
                    st.scim_directories.push((directory, token_hash));
                    Some(Written::Done)
                }
                Write::UpdateScimDirectory(d) => st
                    .change_scim_directory(&d, |stored, _| {
                        stored.name.clone_from(&d.name);
                        stored.status = d.status;
                        stored.updated_at = d.updated_at;
                    })
                    .then_some(Written::Done),
                Write::SetScimDirectoryToken {
                    directory: d,
                    token_hash,
                } => st
                    .change_scim_directory(&d, |stored, hash| {
                        stored.token_prefix.clone_from(&d.token_prefix);
                        stored.updated_at = d.updated_at;
                        *hash = token_hash;
                    })
                    .then_some(Written::Done),
                Write::DeleteSsoConnection { client, id } => st
                    .delete_sso_connection(client, id)
                    .then_some(Written::Done),
                Write::UnlinkSocialIdentity { client, user, kind } => {
                    let before = st.social_identities.len();
                    st.social_identities
                        .retain(|(c, k, _, u)| !(*c == client && *u == user && *k == kind));
                    st.social_tokens
                        .retain(|(c, u, k, _)| !(*c == client && *u == user && *k == kind));
                    (st.social_identities.len() < before).then_some(Written::Done)
                }
                Write::PutSocialProvider(p) => {
                    st.put_social_provider(&p);
                    Some(Written::Done)
                }
                Write::DeleteSocialProvider { client, kind } => st
                    .delete_social_provider(client, kind)
                    .then_some(Written::Done),
                Write::LinkSocialIdentity {
                    client,
                    kind,
                    subject,
                    user,
                    tokens,
                    ..
                } => st
                    .link_social_identity(client, kind, &subject, user, tokens)
                    .then_some(Written::Done),
                Write::DeleteSsoIdentities { client, connection } => {
                    st.forget_sso_identities(client, connection);
                    Some(Written::Done)
                }
                Write::LinkSsoIdentity {
                    client,
                    connection,
                    external_id,
                    user,
                    at,
                } => st
                    .link_sso_identity(client, connection, &external_id, user, at)
                    .then_some(Written::Done),
                Write::CreateUser(user) => {
                    if !st.create_user(&user) {
                        *st = saved;
                        return Ok(Committed::Duplicate(i));
                    }
                    Some(Written::Done)
                }
                Write::AddMember(member) => {
                    st.add_member(&member);
                    Some(Written::Done)
                }
                Write::SetMemberGroups {
                    client,
                    org,
                    user,
                    groups,
                } => st
                    .replace_member_groups(client, org, user, &groups)
                    .then_some(Written::Done),
                Write::CreateServiceAccount(account) => {
                    st.insert_service_account(&account);
                    Some(Written::Done)
                }
                Write::UpdateServiceAccount(account) => {
                    st.update_service_account(&account).then_some(Written::Done)
                }
                Write::AddServiceAccountKey {
                    key,
                    secret_hash,
                    max_live,
                } => st
                    .add_service_account_key(&key, &secret_hash, max_live)
                    .then_some(Written::Done),
                Write::RevokeServiceAccountKey {
                    client,
                    account,
                    key,
                    at,
                } => st
                    .revoke_service_account_key(client, account, key, at)
                    .then_some(Written::Done),
                Write::RotateServiceAccountKey {
                    old,
                    old_expires_at,
                    new_key,
                    secret_hash,
                } => st
                    .rotate_service_account_key(old, old_expires_at, &new_key, &secret_hash)
                    .then_some(Written::Done),
            };
            match done {
                Some(w) => written.push(w),
                None => {
                    *st = saved;
                    return Ok(Committed::Refused(i));
                }
            }
        }
        Ok(Committed::All(written))
    }
}
