//! Passkey ceremonies that sign in: usernameless or email-first login, the second factor of
//! a challenge, and re-authentication.

#![allow(clippy::wildcard_imports)]

use super::*;

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
        event_type: EventType,
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
        // A passkey is a first factor too: an organization enforcing SSO for the address's
        // domain (e.g. to cut off people it offboards at its IdP) refuses it.
        if let Some(sso) =
            crate::sso::required_for(&self.ports, &self.config.issuer, client.id, &user.email)
                .await?
        {
            return Err(MfaError::SsoRequired(sso));
        }
        user.last_login_at = Some(now);
        let prepared = prepare_session(
            &self.ports,
            &self.config,
            ctx,
            client,
            user,
            &[authservice_domain::sign_in::AuthMethod::Passkey],
        )
        .await?;
        let mut login = login_event(&self.ports, ctx, &prepared);
        login.metadata["method"] = json!("passkey");
        login.metadata["passkey_id"] = json!(credential.id.to_string());
        self.ports
            .sessions
            .create(&prepared.session, &login)
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
                        EventType::PasskeyLoginFailed,
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
                    EventType::PasskeyLoginFailed,
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
                    EventType::PasskeyLoginFailed,
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
                    EventType::PasskeySignCountRegression
                } else {
                    EventType::PasskeyLoginFailed
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
                    EventType::PasskeySignCountRegression,
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
                    EventType::PasskeySignCountRegression,
                )
                .await);
        }
        Ok((ceremony, credential))
    }
}
