use serde_json::json;

use super::*;

fn refused(value: Value) -> String {
    let err = ClientSettings::parse(value).unwrap_err();
    if !err.message.contains("64 KiB") {
        let path = err.setting.clone().expect("names the setting");
        assert!(err.message.starts_with(&path), "{err}");
    }
    err.message
}

#[test]
fn defaults_in_one_place() {
    let policy = ClientSettings::parse(Value::Null).unwrap().policy().clone();
    assert_eq!(policy, ClientPolicy::default());
    assert!(!policy.require_verified_email);
    assert!(policy.send_verification_email);
    assert!(policy.auth_ui.magic_link && policy.auth_ui.passkey);
    assert_eq!(policy.webauthn.attestation, Attestation::None);
}

#[test]
fn fields_are_typed_and_enumeration_protection_follows_verification() {
    let s = ClientSettings::parse(json!({
        "require_verified_email": true,
        "session_max_lifetime": "12h",
        "session_idle_timeout": 3600,
        "webauthn_attestation": "Direct",
        "webauthn_allowed_attestation_formats": ["packed", "tpm"],
        "auth_ui": {"brand_name": " Acme ", "primary_color": "#ff5500", "passkey": false},
    }))
    .unwrap();
    let p = s.policy();
    assert!(p.require_verified_email && p.signup_enumeration_protection);
    assert_eq!(p.session_max_lifetime, Some(Duration::from_secs(12 * 3600)));
    assert_eq!(p.session_idle_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(p.webauthn.attestation, Attestation::Direct);
    assert_eq!(p.webauthn.allowed_attestation_formats, ["packed", "tpm"]);
    assert_eq!(p.auth_ui.brand_name.as_deref(), Some("Acme"));
    assert!(!p.auth_ui.passkey && p.auth_ui.magic_link);
    let off = ClientSettings::parse(json!({
        "require_verified_email": true, "signup_enumeration_protection": false
    }))
    .unwrap();
    assert!(!off.policy().signup_enumeration_protection);
}

#[test]
fn unknown_and_ill_typed_keys_are_named() {
    assert!(
        refused(json!({"requre_verified_email": true})).contains("requre_verified_email: is not")
    );
    assert!(refused(json!({"auth_ui": {"colour": "#fff"}})).contains("auth_ui.colour: is not"));
    assert!(refused(json!({"auth_ui": "dark"})).contains("auth_ui: must be an object"));
    let bad = [
        (
            json!({"require_verified_email": "yes"}),
            "require_verified_email: must be true",
        ),
        (json!({"session_idle_timeout": 5}), "between 1 minute"),
        (
            json!({"auth_ui": {"primary_color": "red"}}),
            "primary_color: must be a hex",
        ),
        (
            json!({"auth_ui": {"logo_url": "javascript:x"}}),
            "logo_url: must be an absolute",
        ),
        (
            json!({"auth_ui": {"locale": "<b>"}}),
            "locale: must be a language tag",
        ),
        (
            json!({"webauthn_rp_id": "a b"}),
            "webauthn_rp_id: must be a host",
        ),
        (
            json!({"webauthn_attestation": "maybe"}),
            "must be none, indirect",
        ),
        (
            json!({"webauthn_allowed_attestation_formats": ["x"]}),
            "must list formats",
        ),
        (
            json!({"auth_ui": {"brand_name": "x".repeat(101)}}),
            "1 to 100 characters",
        ),
    ];
    for (value, expected) in bad {
        let message = refused(value.clone());
        assert!(message.contains(expected), "{value}: {message}");
    }
}

#[test]
fn stored_rows_are_read_leniently() {
    let s = ClientSettings::from_stored(json!({
        "legacy": 1, "require_verified_email": "yes", "auth_ui": {"primary_color": "#123"}
    }));
    assert!(!s.policy().require_verified_email);
    assert_eq!(s.policy().auth_ui.primary_color.as_deref(), Some("#123"));
    assert_eq!(s.to_value()["legacy"], 1);
    // The next write must fix (or remove) what does not parse.
    assert!(s.merge(&json!({"auth_ui": {"locale": "de"}})).is_err());
    let fixed = s
        .merge(&json!({"legacy": null, "require_verified_email": true}))
        .unwrap();
    assert!(fixed.policy().require_verified_email);
}

#[test]
fn every_key_applies() {
    // Each declared key changes the policy when given a valid non-default value.
    let sample = |kind: Kind| match kind {
        Kind::Bool => json!(true),
        Kind::SessionDuration => json!("2h"),
        Kind::Text(_) => json!("X"),
        Kind::HttpUrl => json!("https://x.example"),
        Kind::HexColor => json!("#abc"),
        Kind::LanguageTag => json!("de"),
        Kind::Host => json!("x.example"),
        Kind::Attestation => json!("direct"),
        Kind::AttestationFormats => json!(["packed"]),
        Kind::Days => json!(30),
    };
    for (path, kind) in KEYS {
        let mut value = sample(*kind);
        let defaults = ClientPolicy::default();
        for flip in [false, true] {
            let object = match path.split_once('.') {
                Some((outer, inner)) => json!({ outer: { inner: value.clone() } }),
                None => json!({ *path: value.clone() }),
            };
            let policy = ClientSettings::parse(object).unwrap().policy().clone();
            if policy != defaults {
                break;
            }
            assert!(!flip, "{path} does not change the policy");
            value = json!(false);
        }
    }
}

#[test]
fn docs_list_exactly_the_declared_settings() {
    let docs = include_str!("../../../../../docs/api.md");
    let section = docs
        .split("### Client settings")
        .nth(1)
        .and_then(|rest| rest.split("\n#").next())
        .expect("docs/api.md has a \"Client settings\" section");
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let declared: Vec<&str> = KEYS.iter().map(|(path, _)| *path).collect();
    assert_eq!(documented, declared);
}

#[test]
fn merge_patch_and_size() {
    let base = ClientSettings::parse(
        json!({"require_verified_email": true, "auth_ui": {"locale": "de", "passkey": false}}),
    )
    .unwrap();
    let merged = base
        .merge(&json!({"require_verified_email": null, "auth_ui": {"passkey": true}}))
        .unwrap();
    assert_eq!(
        merged.to_value(),
        json!({"auth_ui": {"locale": "de", "passkey": true}})
    );
    assert!(ClientSettings::parse(json!([1])).is_err());
    assert!(base.merge(&json!("x")).is_err());
    let huge = json!({"auth_ui": {"brand_name": "x".repeat(70 * 1024)}});
    assert!(refused(huge).contains("64 KiB"));
}
