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

/// The value of text key `key` in a CBOR map (attestation objects put `fmt` first, with
/// definite lengths; enough to read it without a CBOR library).
fn cbor_text_after(data: &[u8], key: &str) -> Option<String> {
    let mut needle = vec![0x60 + u8::try_from(key.len()).ok()?];
    needle.extend_from_slice(key.as_bytes());
    let at = data.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let header = *data.get(at)?;
    let (len, start) = match header {
        0x60..=0x77 => (usize::from(header - 0x60), at + 1),
        0x78 => (usize::from(*data.get(at + 1)?), at + 2),
        _ => return None,
    };
    String::from_utf8(data.get(start..start + len)?.to_vec()).ok()
}

/// The flags byte of the authenticator data in an attestation object.
fn auth_data_flags(data: &[u8]) -> Option<u8> {
    let needle = b"\x68authData";
    let at = data.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let start = match *data.get(at)? {
        0x40..=0x57 => at + 1,
        0x58 => at + 2,
        0x59 => at + 3,
        _ => return None,
    };
    // rpIdHash (32 bytes), then flags.
    data.get(start + 32).copied()
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
        let attestation = response["response"]["attestationObject"]
            .as_str()
            .and_then(b64url)
            .unwrap_or_default();
        let attestation_format =
            cbor_text_after(&attestation, "fmt").unwrap_or_else(|| "unknown".to_owned());
        let backed_up = auth_data_flags(&attestation).is_some_and(|flags| flags & 0x10 != 0);
        Ok(RegisteredPasskey {
            credential_id: AsRef::<[u8]>::as_ref(passkey.cred_id()).to_vec(),
            passkey: serde_json::to_value(&passkey).map_err(|e| refuse("passkey record", e))?,
            attestation_format,
            backed_up,
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
        .map_err(|e| refuse("assertion refused", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fmt_and_flags_from_an_attestation_object() {
        // {"fmt": "none", "attStmt": {}, "authData": h'<32 bytes>' 0x5d ...}
        let mut data = vec![0xa3, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e'];
        data.extend_from_slice(&[0x67, b'a', b't', b't', b'S', b't', b'm', b't', 0xa0]);
        data.extend_from_slice(b"\x68authData");
        data.push(0x58);
        data.push(37);
        data.extend_from_slice(&[0u8; 32]);
        data.push(0x5d);
        data.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(cbor_text_after(&data, "fmt").as_deref(), Some("none"));
        assert_eq!(auth_data_flags(&data), Some(0x5d));
    }
}
