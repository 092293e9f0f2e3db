//! The in-memory second factors, passkeys and signing keys.

#![allow(clippy::wildcard_imports)]

use super::*;

impl State {
    pub(super) fn enable_totp(
        &mut self,
        client: ClientId,
        user: UserId,
        secret: &SealedSecret,
        step: u64,
        at: DateTime<Utc>,
    ) -> bool {
        let Some((stored, _)) = self.user_mut(client, user) else {
            return false;
        };
        if stored.totp_enabled {
            return false;
        }
        stored.totp_enabled = true;
        stored.updated_at = at;
        self.totp.insert(
            (client, user),
            TotpState {
                secret: secret.clone(),
                last_step: Some(step),
            },
        );
        true
    }

    pub(super) fn disable_totp(
        &mut self,
        client: ClientId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> bool {
        let Some((stored, _)) = self.user_mut(client, user) else {
            return false;
        };
        if !stored.totp_enabled {
            return false;
        }
        stored.totp_enabled = false;
        stored.updated_at = at;
        self.totp.remove(&(client, user));
        true
    }

    pub(super) fn replace_recovery_codes(
        &mut self,
        client: ClientId,
        user: UserId,
        codes: &[[u8; 32]],
    ) {
        self.recovery
            .retain(|(c, u, _, _)| !(*c == client && *u == user));
        self.recovery
            .extend(codes.iter().map(|h| (client, user, *h, false)));
    }
}

#[async_trait]
impl MfaRepository for MemoryDb {
    async fn totp(&self, client: ClientId, user: UserId) -> anyhow::Result<Option<TotpState>> {
        Ok(self.lock().totp.get(&(client, user)).cloned())
    }

    async fn use_totp_step(
        &self,
        client: ClientId,
        user: UserId,
        step: u64,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(state) = st.totp.get_mut(&(client, user)) else {
            return Ok(false);
        };
        if state.last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        state.last_step = Some(step);
        Ok(true)
    }

    async fn recovery_code_counts(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<(u32, u32)> {
        let st = self.lock();
        let mine = st
            .recovery
            .iter()
            .filter(|(c, u, _, _)| *c == client && *u == user);
        let (mut unused, mut used) = (0, 0);
        for (_, _, _, was_used) in mine {
            if *was_used {
                used += 1;
            } else {
                unused += 1;
            }
        }
        Ok((unused, used))
    }

    async fn use_recovery_code(
        &self,
        client: ClientId,
        user: UserId,
        hash: &[u8; 32],
        _at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(code) = st
            .recovery
            .iter_mut()
            .find(|(c, u, h, used)| *c == client && *u == user && h == hash && !*used)
        else {
            return Ok(false);
        };
        code.3 = true;
        Ok(true)
    }
}

#[async_trait]
impl PasskeyRepository for MemoryDb {
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .filter(|p| p.client_id == client && p.user_id == user)
            .cloned()
            .collect())
    }

    async fn find_by_credential(
        &self,
        client: ClientId,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .find(|p| p.client_id == client && p.credential_id == credential_id)
            .cloned())
    }

    async fn record_use(
        &self,
        id: Uuid,
        passkey: &serde_json::Value,
        previous: u32,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(p) = st
            .passkeys
            .iter_mut()
            .find(|p| p.id == id && p.sign_count == previous)
        else {
            return Ok(false);
        };
        p.passkey = passkey.clone();
        p.sign_count = sign_count;
        p.last_used_at = Some(at);
        Ok(true)
    }
}

impl State {
    pub(super) fn add_passkey(&mut self, passkey: &StoredPasskey) -> bool {
        if self
            .passkeys
            .iter()
            .any(|p| p.client_id == passkey.client_id && p.credential_id == passkey.credential_id)
        {
            return false;
        }
        self.passkeys.push(passkey.clone());
        true
    }

    pub(super) fn rename_passkey(
        &mut self,
        client: ClientId,
        user: UserId,
        id: Uuid,
        name: &str,
    ) -> bool {
        let Some(p) = self
            .passkeys
            .iter_mut()
            .find(|p| p.client_id == client && p.user_id == user && p.id == id)
        else {
            return false;
        };
        name.clone_into(&mut p.name);
        true
    }

    pub(super) fn delete_passkey(&mut self, client: ClientId, user: UserId, id: Uuid) -> bool {
        let was = self.passkeys.len();
        self.passkeys
            .retain(|p| !(p.client_id == client && p.user_id == user && p.id == id));
        self.passkeys.len() < was
    }
}

#[async_trait]
impl SigningKeyStore for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        _now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SigningKeyInfo>> {
        Ok(self
            .lock()
            .signing_keys
            .iter()
            .rev()
            .filter(|(c, _)| *c == client)
            .map(|(_, k)| k.clone())
            .collect())
    }
}

impl State {
    pub(super) fn rotate_signing_key(
        &mut self,
        client: ClientId,
        new_key: &SealedSigningKey,
        overlap: Duration,
        now: DateTime<Utc>,
    ) {
        let retires = now + chrono::Duration::from_std(overlap).unwrap_or_default();
        for (c, key) in &mut self.signing_keys {
            if *c == client && key.status == "active" {
                key.status = if overlap.is_zero() {
                    "retired"
                } else {
                    "published"
                }
                .to_owned();
                key.retires_at = Some(retires);
            }
        }
        self.signing_keys.push((
            client,
            SigningKeyInfo {
                kid: new_key.kid.clone(),
                alg: new_key.alg.clone(),
                status: "active".to_owned(),
                created_at: now,
                retires_at: None,
            },
        ));
    }
}
