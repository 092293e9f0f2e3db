//! WebAuthn ceremonies through webauthn-rs. One `Webauthn` per relying party, cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use authservice_application::ports::{
    RegisteredPasskey, RelyingParty, StoredPasskey, VerifiedAssertion, WebauthnEngine,
    WebauthnRefusal,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

#[derive(Default)]
pub struct WebauthnRs {
    instances: Mutex<HashMap<String, Arc<Webauthn>>>,
}

fn refuse(what: &str, e: impl std::fmt::Display) -> WebauthnRefusal {
    WebauthnRefusal(format!("{what}: {e}"))
}

fn b64url(raw: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')).ok()
}

impl WebauthnRs {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn instance(&self, rp: &RelyingParty) -> anyhow::Result<Arc<Webauthn>> {
        let key = format!(
            "{}|{}|{}|{}",
            rp.id,
            rp.origin,
            rp.extra_origins.join(","),
            rp.name
        );
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = instances.get(&key) {
            return Ok(found.clone());
        }
        let origin = Url::parse(&rp.origin).context("relying party origin")?;
        let mut builder = WebauthnBuilder::new(&rp.id, &origin)
            .map_err(|e| anyhow::anyhow!("relying party {} / {}: {e}", rp.id, rp.origin))?
            .rp_name(&rp.name);
        for extra in &rp.extra_origins {
            if let Ok(url) = Url::parse(extra) {
                builder = builder.append_allowed_origin(&url);
            }
        }
        let built = Arc::new(
            builder
                .build()
                .map_err(|e| anyhow::anyhow!("relying party {}: {e}", rp.id))?,
        );
        if instances.len() >= 1024 {
            instances.clear();
        }
        instances.insert(key, built.clone());
        Ok(built)
    }
}

fn passkey_of(stored: &StoredPasskey) -> anyhow::Result<Passkey> {
    serde_json::from_value(stored.passkey.clone()).context("stored passkey record")
}

impl WebauthnEngine for WebauthnRs {
    fn start_registration(
        &self,
        rp: &RelyingParty,
        user_handle: Uuid,
        user_name: &str,
        display_name: &str,
        exclude: &[StoredPasskey],
    ) -> anyhow::Result<(Value, Value)> {
        let webauthn = self.instance(rp)?;
        let exclude = exclude
            .iter()
            .map(|p| passkey_of(p).map(|k| k.cred_id().clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (options, state) = webauthn
            .start_passkey_registration(
                user_handle,
                user_name,
                display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| anyhow::anyhow!("starting registration: {e}"))?;
        Ok((serde_json::to_value(options)?, serde_json::to_value(state)?))
    }

    fn finish_registration(
        &self,
        rp: &RelyingParty,
        response: &Value,
        state: &Value,
    ) -> Result<RegisteredPasskey, WebauthnRefusal> {
        let webauthn = self.instance(rp).map_err(|e| refuse("relying party", e))?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|e| refuse("malformed credential", e))?;
        let state: PasskeyRegistration =
            serde_json::from_value(state.clone()).map_err(|e| refuse("ceremony state", e))?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| refuse("registration refused", e))?;
        let record = serde_json::to_value(&passkey).map_err(|e| refuse("passkey record", e))?;
        let cred = &record["cred"];
        let attestation_type = match &cred["attestation"]["data"] {
            Value::String(kind) => kind.clone(),
            Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
            _ => "None".to_owned(),
        };
        Ok(RegisteredPasskey {
            credential_id: AsRef::<[u8]>::as_ref(passkey.cred_id()).to_vec(),
            attestation_format: cred["attestation_format"]
                .as_str()
                .unwrap_or("none")
                .to_owned(),
            attestation_type,
            backed_up: cred["backup_state"].as_bool().unwrap_or(false),
            counter: cred["counter"]
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
            passkey: record,
        })
    }

    fn start_authentication(
        &self,
        rp: &RelyingParty,
        credentials: &[StoredPasskey],
    ) -> anyhow::Result<(Value, Value)> {
        let webauthn = self.instance(rp)?;
        let passkeys = credentials
            .iter()
            .map(passkey_of)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| anyhow::anyhow!("starting authentication: {e}"))?;
        Ok((serde_json::to_value(options)?, serde_json::to_value(state)?))
    }

    fn start_discoverable(&self, rp: &RelyingParty) -> anyhow::Result<(Value, Value)> {
        let webauthn = self.instance(rp)?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| anyhow::anyhow!("starting authentication: {e}"))?;
        Ok((serde_json::to_value(options)?, serde_json::to_value(state)?))
    }

    fn identify(&self, response: &Value) -> Result<(Option<Uuid>, Vec<u8>), WebauthnRefusal> {
        let credential_id = response["rawId"]
            .as_str()
            .or_else(|| response["id"].as_str())
            .and_then(b64url)
            .filter(|id| !id.is_empty() && id.len() <= 1023)
            .ok_or_else(|| WebauthnRefusal("malformed credential id".to_owned()))?;
        let handle = match response["response"]["userHandle"].as_str() {
            None | Some("") => None,
            Some(raw) => Some(
                b64url(raw)
                    .and_then(|bytes| Uuid::from_slice(&bytes).ok())
                    .ok_or_else(|| WebauthnRefusal("malformed user handle".to_owned()))?,
            ),
        };
        Ok((handle, credential_id))
    }

    fn finish_authentication(
        &self,
        rp: &RelyingParty,
        response: &Value,
        state: &Value,
        discoverable: bool,
        credential: &StoredPasskey,
    ) -> Result<VerifiedAssertion, WebauthnRefusal> {
        let webauthn = self.instance(rp).map_err(|e| refuse("relying party", e))?;
        let assertion: PublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|e| refuse("malformed assertion", e))?;
        let mut passkey = passkey_of(credential).map_err(|e| refuse("passkey record", e))?;
        let result = if discoverable {
            let state: DiscoverableAuthentication =
                serde_json::from_value(state.clone()).map_err(|e| refuse("ceremony state", e))?;
            webauthn.finish_discoverable_authentication_v2(&assertion, state, &passkey)
        } else {
            let state: PasskeyAuthentication =
                serde_json::from_value(state.clone()).map_err(|e| refuse("ceremony state", e))?;
            webauthn.finish_passkey_authentication(&assertion, &state)
        }
        .map_err(|e| match e {
            webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise => {
                WebauthnRefusal(format!(
                    "{} (possible cloned authenticator)",
                    WebauthnRefusal::SIGN_COUNT_REGRESSION
                ))
            }
            other => refuse("assertion refused", other),
        })?;
        if result.cred_id() != passkey.cred_id() {
            return Err(WebauthnRefusal(
                "assertion of another credential".to_owned(),
            ));
        }
        passkey.update_credential(&result);
        Ok(VerifiedAssertion {
            counter: result.counter(),
            updated: serde_json::to_value(&passkey).map_err(|e| refuse("passkey record", e))?,
        })
    }
}
