//! Registering, listing, renaming and removing the signed-in user's passkeys.

#![allow(clippy::wildcard_imports)]

use super::*;

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
        event_type: EventType,
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
        crate::mfa::require_recent_auth(&self.ports, &self.config, &caller)?;
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
                        EventType::PasskeyRegistrationFailed,
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
                EventType::PasskeyRegistrationFailed,
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
            EventType::PasskeyAdded,
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
        let writes = vec![
            crate::ports::Write::AddPasskey(stored.clone()),
            crate::ports::Write::Audit(event),
            crate::ports::Write::QueueEmail(notice),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
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
            EventType::PasskeyRenamed,
            json!({ "passkey_id": id.to_string(), "name": name }),
        );
        let writes = vec![
            crate::ports::Write::RenamePasskey {
                client: user.client_id,
                user: user.id,
                id,
                name,
            },
            crate::ports::Write::Audit(event),
        ];
        if self.ports.uow.commit(writes).await?.is_all() {
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
        crate::mfa::require_recent_auth(&self.ports, &self.config, &caller)?;
        let user = caller.user;
        let id = Self::parse_id(id)?;
        let event = self.event(
            ctx,
            &user,
            EventType::PasskeyRemoved,
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
        let writes = vec![
            crate::ports::Write::DeletePasskey {
                client: user.client_id,
                user: user.id,
                id,
            },
            crate::ports::Write::Audit(event),
            crate::ports::Write::QueueEmail(notice),
        ];
        if self.ports.uow.commit(writes).await?.is_all() {
            self.ports.outbox_signal.wake();
            Ok(())
        } else {
            Err(MfaError::PasskeyNotFound)
        }
    }
}
