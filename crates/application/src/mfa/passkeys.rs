//! Passkeys (WebAuthn through webauthn-rs): registration by a signed-in user, login
//! (usernameless/discoverable or email-first), and completing a login challenge as a second
//! factor. Ceremony states live 5 minutes in the ephemeral store, single use, bound to their
//! client (and user). The relying party comes from the client's settings (`webauthn_rp_id`,
//! `webauthn_rp_origin`, `webauthn_display_name`, `webauthn_attestation`,
//! `webauthn_require_attestation`, `webauthn_allowed_attestation_formats`), else `BASE_URL`.

use authservice_domain::sign_in::{self, Proof, SecondFactors};
use authservice_domain::{Branding, Client, ClientId, Email, LinkBase, User, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::challenge::CompleteChallenge;
use super::{CEREMONY_TTL, MfaError, new_token, token_key};
use crate::audit::record_quietly;
use crate::auth::{AuthConfig, AuthenticatedUser, IssuedTokens, login_event, prepare_session};
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::ports::{Ports, RelyingParty, StoredPasskey};

/// A started ceremony: the browser's options and the id to finish it with.
#[derive(Debug, Clone)]
pub struct PasskeyCeremony {
    pub session_id: String,
    pub options: Value,
    pub expires_in: u64,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub backed_up: bool,
    pub attestation_format: Option<String>,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            backed_up: p.backed_up,
            attestation_format: p.attestation_format.clone(),
        }
    }
}

/// How a login ceremony starts.
#[derive(Default)]
pub struct BeginPasskeyLogin {
    /// Email-first: a discoverable ceremony like usernameless login (the answer does not tell
    /// whether the address has passkeys, or an account), finished only by a passkey of that
    /// account.
    pub email: Option<String>,
    /// Complete this login challenge with a passkey (second factor).
    pub two_factor_token: Option<String>,
}

impl std::fmt::Debug for BeginPasskeyLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeginPasskeyLogin")
            .field("email", &self.email)
            .field(
                "two_factor_token",
                &self.two_factor_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The relying party of `client`.
fn relying_party(client: &Client, base_url: &LinkBase) -> Result<RelyingParty, MfaError> {
    let base = url::Url::parse(base_url.as_str()).map_err(anyhow::Error::from)?;
    let webauthn = &client.policy().webauthn;
    let origin = webauthn
        .rp_origin
        .clone()
        .unwrap_or_else(|| base_url.origin());
    // Validated as an absolute http(s) URL when the client was written.
    let origin_host = url::Url::parse(&origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let id = webauthn
        .rp_id
        .clone()
        .or(origin_host)
        .or_else(|| base.host_str().map(str::to_owned))
        .unwrap_or_default();
    let same_site = |host: &str| host == id || host.ends_with(&format!(".{id}"));
    let extra_origins = client
        .allowed_origins
        .iter()
        .map(|o| o.as_str().to_owned())
        .filter(|o| *o != origin)
        .filter(|o| {
            url::Url::parse(o)
                .ok()
                .and_then(|u| u.host_str().map(same_site))
                .unwrap_or(false)
        })
        .collect();
    let name = webauthn
        .display_name
        .clone()
        .unwrap_or_else(|| Branding::of(client).name);
    let attestation = webauthn.attestation.as_str().to_owned();
    Ok(RelyingParty {
        id,
        origin,
        extra_origins,
        name,
        attestation,
    })
}

/// The client's attestation policy applied to a registration's verified attestation (format
/// and type). "Required" accepts certificate-backed attestation only (`Basic`, `AttCa`,
/// `AnonCa`); the chain is checked for its signature, not against vendor roots.
fn check_attestation(client: &Client, format: &str, kind: &str) -> Result<(), MfaError> {
    let webauthn = &client.policy().webauthn;
    if webauthn.require_attestation && !matches!(kind, "Basic" | "AttCa" | "AnonCa") {
        return Err(MfaError::AttestationRefused(
            "this application requires an attested authenticator".to_owned(),
        ));
    }
    let allowed = &webauthn.allowed_attestation_formats;
    if !allowed.is_empty() && !allowed.iter().any(|f| f == format) {
        return Err(MfaError::AttestationRefused(format!(
            "attestation format '{format}' is not allowed"
        )));
    }
    Ok(())
}

fn parse_name(raw: Option<&str>) -> Result<Option<String>, MfaError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(authservice_domain::ValidationError::new(
            "name",
            "must be 1-64 characters without control characters",
        )
        .into());
    }
    Ok(Some(name.to_owned()))
}

/// Stores a ceremony state; returns its session id.
async fn store_ceremony(ports: &Ports, state: &Value) -> anyhow::Result<String> {
    let session_id = new_token(ports);
    ports
        .ephemeral
        .put_value(
            &token_key("webauthn", &session_id),
            &state.to_string(),
            CEREMONY_TTL,
        )
        .await?;
    Ok(session_id)
}

/// Takes a ceremony (single use) of `kind`s for `client`.
async fn take_ceremony(
    ports: &Ports,
    session_id: &str,
    client: ClientId,
) -> Result<Value, MfaError> {
    let stored = ports
        .ephemeral
        .take(&token_key("webauthn", session_id.trim()))
        .await?
        .ok_or(MfaError::CeremonyInvalid)?;
    let state: Value = serde_json::from_str(&stored).map_err(anyhow::Error::from)?;
    if state["client_id"].as_str() != Some(client.to_string().as_str()) {
        return Err(MfaError::CeremonyInvalid);
    }
    Ok(state)
}

pub struct ManagePasskeys {
    ports: Ports,
    config: AuthConfig,
    mail: crate::email::MailConfig,
    base_url: LinkBase,
}

impl ManagePasskeys {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &crate::email::MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
            base_url: mail.base_url.clone(),
        }
    }

    fn event(
        &self,
        ctx: &RequestCtx,
        user: &User,
        event_type: &str,
        metadata: Value,
    ) -> authservice_domain::AuditEvent {
        let mut event = ctx
            .audit(event_type)
            .client(user.client_id)
            .target("user", user.id)
            .metadata(metadata)
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        event
    }

    pub async fn register_begin(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        name: Option<&str>,
    ) -> Result<PasskeyCeremony, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        // Finishing needs this ceremony, so one recent authentication covers both steps.
        super::require_recent_auth(&self.ports, &self.config, &caller)?;
        let user = caller.user;
        let name = parse_name(name)?;
        let rp = relying_party(client, &self.base_url)?;
        let existing = self.ports.passkeys.list(client.id, user.id).await?;
        let display = user
            .display_name
            .clone()
            .unwrap_or_else(|| user.email.as_str().to_owned());
        let (mut options, state) = self.ports.webauthn.start_registration(
            &rp,
            user.id.as_uuid(),
            user.email.as_str(),
            &display,
            &existing,
        )?;
        // Passkeys should be discoverable (usernameless login, autofill).
        if let Some(selection) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
            selection.insert("residentKey".to_owned(), json!("preferred"));
        }
        options["publicKey"]["attestation"] = json!(rp.attestation);
        let session_id = store_ceremony(
            &self.ports,
            &json!({
                "kind": "register",
                "client_id": client.id.to_string(),
                "user_id": user.id.to_string(),
                "name": name,
                "state": state,
            }),
        )
        .await?;
        Ok(PasskeyCeremony {
            session_id,
            options,
            expires_in: CEREMONY_TTL.as_secs(),
        })
    }

    pub async fn register_finish(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        session_id: &str,
        response: &Value,
        name: Option<&str>,
    ) -> Result<PasskeyView, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let user = caller.user;
        let ceremony = take_ceremony(&self.ports, session_id, client.id).await?;
        if ceremony["kind"] != "register" || ceremony["user_id"] != json!(user.id.to_string()) {
            return Err(MfaError::CeremonyInvalid);
        }
        let rp = relying_party(client, &self.base_url)?;
        let registered =
            match self
                .ports
                .webauthn
                .finish_registration(&rp, response, &ceremony["state"])
            {
                Ok(r) => r,
                Err(refusal) => {
                    let event = self.event(
                        ctx,
                        &user,
                        "passkey_registration_failed",
                        json!({ "reason": refusal.0 }),
                    );
                    record_quietly(&self.ports, &event).await;
                    return Err(refusal.into());
                }
            };
        if let Err(err) = check_attestation(
            client,
            &registered.attestation_format,
            &registered.attestation_type,
        ) {
            let event = self.event(
                ctx,
                &user,
                "passkey_registration_failed",
                json!({ "reason": err.to_string() }),
            );
            record_quietly(&self.ports, &event).await;
            return Err(err);
        }
        let name = parse_name(name)?
            .or_else(|| ceremony["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "Passkey".to_owned());
        let now = self.ports.clock.now();
        let stored = StoredPasskey {
            id: Uuid::now_v7(),
            client_id: client.id,
            user_id: user.id,
            credential_id: registered.credential_id,
            passkey: registered.passkey,
            name,
            sign_count: registered.counter,
            attestation_format: Some(registered.attestation_format),
            backed_up: registered.backed_up,
            created_at: now,
            last_used_at: None,
        };
        let event = self.event(
            ctx,
            &user,
            "passkey_added",
            json!({ "passkey_id": stored.id.to_string(), "name": stored.name, "attestation_format": stored.attestation_format }),
        );
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::PasskeyAdded,
        )
        .await?;
        if !self
            .ports
            .passkeys
            .insert(&stored, &event, Some(&notice))
            .await?
        {
            return Err(MfaError::PasskeyExists);
        }
        self.ports.outbox_signal.wake();
        Ok(PasskeyView::from(&stored))
    }

    pub async fn list(&self, caller: &AuthenticatedUser) -> Result<Vec<PasskeyView>, MfaError> {
        let user = &caller.user;
        Ok(self
            .ports
            .passkeys
            .list(user.client_id, user.id)
            .await?
            .iter()
            .map(PasskeyView::from)
            .collect())
    }

    fn parse_id(raw: &str) -> Result<Uuid, MfaError> {
        Uuid::parse_str(raw.trim()).map_err(|_| MfaError::PasskeyNotFound)
    }

    pub async fn rename(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        id: &str,
        name: &str,
    ) -> Result<(), MfaError> {
        let user = caller.user;
        let id = Self::parse_id(id)?;
        let name = parse_name(Some(name))?
            .ok_or_else(|| authservice_domain::ValidationError::new("name", "is required"))?;
        let event = self.event(
            ctx,
            &user,
            "passkey_renamed",
            json!({ "passkey_id": id.to_string(), "name": name }),
        );
        if self
            .ports
            .passkeys
            .rename(user.client_id, user.id, id, &name, &event)
            .await?
        {
            Ok(())
        } else {
            Err(MfaError::PasskeyNotFound)
        }
    }

    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        id: &str,
    ) -> Result<(), MfaError> {
        super::require_recent_auth(&self.ports, &self.config, &caller)?;
        let user = caller.user;
        let id = Self::parse_id(id)?;
        let event = self.event(
            ctx,
            &user,
            "passkey_removed",
            json!({ "passkey_id": id.to_string() }),
        );
        let client = crate::auth::require_client(ctx)?;
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::PasskeyRemoved,
        )
        .await?;
        if self
            .ports
            .passkeys
            .delete(user.client_id, user.id, id, &event, Some(&notice))
            .await?
        {
            self.ports.outbox_signal.wake();
            Ok(())
        } else {
            Err(MfaError::PasskeyNotFound)
        }
    }
}

pub struct PasskeyLogin {
    ports: Ports,
    config: AuthConfig,
    base_url: LinkBase,
    challenges: CompleteChallenge,
}

impl PasskeyLogin {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, base_url: &LinkBase) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            base_url: base_url.clone(),
            challenges: CompleteChallenge::new(ports, config),
        }
    }

    pub async fn begin(
        &self,
        ctx: &RequestCtx,
        input: BeginPasskeyLogin,
    ) -> Result<PasskeyCeremony, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        self.ports
            .limits
            .take(Limit::PasskeyBegin, &subject::ip(ctx))
            .await?
            .map_err(|retry_after| MfaError::RateLimited { retry_after })?;
        let rp = relying_party(client, &self.base_url)?;
        let (options, state, kind, user, token, email_first) = if let Some(token) = input
            .two_factor_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        {
            let challenge = self.challenges.load(ctx, token, false).await?;
            let credentials = self
                .ports
                .passkeys
                .list(client.id, challenge.user.id)
                .await?;
            if credentials.is_empty() {
                return Err(MfaError::PasskeyNotFound);
            }
            let (options, state) = self
                .ports
                .webauthn
                .start_authentication(&rp, &credentials)?;
            (
                options,
                state,
                "second_factor",
                Some(challenge.user.id),
                Some(challenge.key),
                false,
            )
        } else {
            // Email-first and usernameless alike get a discoverable ceremony (no list of
            // credential ids): the answer looks the same for an address with passkeys, one
            // without, and one without an account. With an email, finish accepts only a
            // passkey of that account.
            let user = match input.email.as_deref().map(Email::parse) {
                Some(Ok(email)) => self
                    .ports
                    .users
                    .find_by_email(client.id, &email)
                    .await?
                    .map(|f| f.user),
                Some(Err(e)) => return Err(e.into()),
                None => None,
            };
            let (options, state) = self.ports.webauthn.start_discoverable(&rp)?;
            (
                options,
                state,
                "discoverable",
                user.map(|u| u.id),
                None,
                input.email.is_some(),
            )
        };
        let session_id = store_ceremony(
            &self.ports,
            &json!({
                "kind": kind,
                "client_id": client.id.to_string(),
                "user_id": user.map(|u| u.to_string()),
                "email_first": email_first,
                "challenge_key": token,
                "state": state,
            }),
        )
        .await?;
        Ok(PasskeyCeremony {
            session_id,
            options,
            expires_in: CEREMONY_TTL.as_secs(),
        })
    }

    async fn refuse(
        &self,
        ctx: &RequestCtx,
        client: ClientId,
        user: Option<UserId>,
        reason: &str,
        event_type: &str,
    ) -> MfaError {
        let mut event = ctx
            .audit(event_type)
            .client(client)
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        event.user_id = user.map(|u| u.as_uuid());
        if let Some(user) = user {
            event.target_type = Some("user".to_owned());
            event.target_id = Some(user.to_string());
        }
        record_quietly(&self.ports, &event).await;
        MfaError::PasskeyRefused(reason.to_owned())
    }

    /// Verifies the assertion; returns tokens (a login, or the completed challenge).
    pub async fn finish(
        &self,
        ctx: &RequestCtx,
        session_id: &str,
        response: &Value,
    ) -> Result<IssuedTokens, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let (ceremony, credential) = self
            .verify_assertion(
                ctx,
                client,
                &["discoverable", "second_factor"],
                session_id,
                response,
            )
            .await?;
        let kind = ceremony["kind"].as_str().unwrap_or_default().to_owned();
        let now = self.ports.clock.now();
        if kind == "second_factor" {
            let key = ceremony["challenge_key"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let challenge = self.challenges.load_key(ctx, key, false).await?;
            if challenge.user.id != credential.user_id {
                return Err(MfaError::ChallengeInvalid);
            }
            return self.challenges.succeed(ctx, challenge, "passkey").await;
        }
        let mut user = self
            .ports
            .users
            .get(client.id, credential.user_id)
            .await?
            .ok_or(MfaError::PasskeyNotFound)?
            .user;
        sign_in::admit(client, &user, Proof::Passkey, SecondFactors::default())?;
        user.last_login_at = Some(now);
        let prepared = prepare_session(&self.ports, &self.config, ctx, client, user).await?;
        let mut login = login_event(&self.ports, ctx, &prepared);
        login.metadata["method"] = json!("passkey");
        login.metadata["passkey_id"] = json!(credential.id.to_string());
        self.ports
            .sessions
            .create(&prepared.session, &login)
            .await?;
        self.ports
            .users
            .record_login(client.id, prepared.tokens.user.id, now, None)
            .await?;
        Ok(prepared.tokens)
    }

    /// A passkey ceremony proving the signed-in user is present (re-authentication).
    pub async fn begin_reauth(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
    ) -> Result<PasskeyCeremony, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let user = &caller.user;
        let credentials = self.ports.passkeys.list(client.id, user.id).await?;
        if credentials.is_empty() {
            return Err(MfaError::PasskeyNotFound);
        }
        let rp = relying_party(client, &self.base_url)?;
        let (options, state) = self
            .ports
            .webauthn
            .start_authentication(&rp, &credentials)?;
        let session_id = store_ceremony(
            &self.ports,
            &json!({
                "kind": "reauth",
                "client_id": client.id.to_string(),
                "user_id": user.id.to_string(),
                "session": caller.claims.sid,
                "state": state,
            }),
        )
        .await?;
        Ok(PasskeyCeremony {
            session_id,
            options,
            expires_in: CEREMONY_TTL.as_secs(),
        })
    }

    /// Checks a re-authentication assertion: a passkey of the caller, in the ceremony begun
    /// for this session.
    pub(crate) async fn finish_reauth(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        session_id: &str,
        response: &Value,
    ) -> Result<(), MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let (ceremony, credential) = self
            .verify_assertion(ctx, client, &["reauth"], session_id, response)
            .await?;
        if credential.user_id != caller.user.id || ceremony["session"] != json!(caller.claims.sid) {
            return Err(MfaError::CeremonyInvalid);
        }
        Ok(())
    }

    /// Takes the ceremony (one of `kinds`) and verifies the assertion against the stored
    /// credential: owner, signature, counter; records the use.
    async fn verify_assertion(
        &self,
        ctx: &RequestCtx,
        client: &authservice_domain::Client,
        kinds: &[&str],
        session_id: &str,
        response: &Value,
    ) -> Result<(Value, crate::ports::StoredPasskey), MfaError> {
        let ceremony = take_ceremony(&self.ports, session_id, client.id).await?;
        let kind = ceremony["kind"].as_str().unwrap_or_default().to_owned();
        if !kinds.contains(&kind.as_str()) {
            return Err(MfaError::CeremonyInvalid);
        }
        let expected_user = ceremony["user_id"]
            .as_str()
            .and_then(|u| UserId::parse(u).ok());
        let (handle, credential_id) = match self.ports.webauthn.identify(response) {
            Ok(found) => found,
            Err(refusal) => {
                return Err(self
                    .refuse(
                        ctx,
                        client.id,
                        expected_user,
                        &refusal.0,
                        "passkey_login_failed",
                    )
                    .await);
            }
        };
        let Some(credential) = self
            .ports
            .passkeys
            .find_by_credential(client.id, &credential_id)
            .await?
        else {
            return Err(self
                .refuse(
                    ctx,
                    client.id,
                    expected_user,
                    "unknown credential",
                    "passkey_login_failed",
                )
                .await);
        };
        let email_first = ceremony["email_first"].as_bool().unwrap_or(false);
        let owner_matches = match (kind.as_str(), expected_user) {
            ("discoverable", _) => {
                handle == Some(credential.user_id.as_uuid())
                    && (!email_first || expected_user == Some(credential.user_id))
            }
            (_, Some(user)) => credential.user_id == user,
            _ => false,
        };
        if !owner_matches {
            return Err(self
                .refuse(
                    ctx,
                    client.id,
                    expected_user,
                    "credential of another user",
                    "passkey_login_failed",
                )
                .await);
        }
        let rp = relying_party(client, &self.base_url)?;
        let verified = match self.ports.webauthn.finish_authentication(
            &rp,
            response,
            &ceremony["state"],
            kind == "discoverable",
            &credential,
        ) {
            Ok(v) => v,
            Err(refusal) => {
                let event_type = if refusal.is_sign_count_regression() {
                    "passkey_sign_count_regression"
                } else {
                    "passkey_login_failed"
                };
                return Err(self
                    .refuse(
                        ctx,
                        client.id,
                        Some(credential.user_id),
                        &refusal.0,
                        event_type,
                    )
                    .await);
            }
        };
        // A counter that does not move forward means a cloned authenticator (counters of 0
        // mean the authenticator does not count).
        if (verified.counter > 0 || credential.sign_count > 0)
            && verified.counter <= credential.sign_count
        {
            return Err(self
                .refuse(
                    ctx,
                    client.id,
                    Some(credential.user_id),
                    "sign count went backwards",
                    "passkey_sign_count_regression",
                )
                .await);
        }
        let now = self.ports.clock.now();
        if !self
            .ports
            .passkeys
            .record_use(
                credential.id,
                &verified.updated,
                credential.sign_count,
                verified.counter,
                now,
            )
            .await?
        {
            return Err(self
                .refuse(
                    ctx,
                    client.id,
                    Some(credential.user_id),
                    "concurrent use of the same assertion counter",
                    "passkey_sign_count_regression",
                )
                .await);
        }
        Ok((ceremony, credential))
    }
}
