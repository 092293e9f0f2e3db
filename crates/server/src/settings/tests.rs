use std::collections::HashMap;

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_lookup(&move |k| map.get(k).cloned())
}

const BASE: [(&str, &str); 3] = [
    ("DATABASE_URL", "postgres://u:p@localhost/db"),
    ("ADMIN_API_KEY", "0123456789abcdef0123456789abcdef"),
    (
        "ENCRYPTION_KEY",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    ),
];

#[test]
fn defaults_apply() {
    let s = load(&BASE).unwrap();
    assert_eq!(s.port, 8080);
    assert_eq!(s.grpc_port, 9090);
    assert!(s.redis_url.is_none());
    assert_eq!(s.redis_key_prefix, "auth:");
    assert!(s.serve_frontend);
    assert!(!s.grpc_reflection);
    assert_eq!(s.encryption_key.0[31], 0x1f);
    assert_eq!(s.jwt_access_ttl, Duration::from_secs(900));
    assert_eq!(s.jwt_refresh_ttl, Duration::from_secs(168 * 3600));
    assert_eq!(s.bcrypt_cost, 12);
    assert_eq!(s.password_policy, PasswordPolicy::default());
    assert!(!s.cookie_secure);
    assert_eq!(s.cookie_same_site, CookieSameSite::Lax);
    let mut https = BASE.to_vec();
    https.push(("BASE_URL", "https://auth.example.com"));
    let s = load(&https).unwrap();
    assert!(s.cookie_secure);
    assert_eq!(s.cookie_same_site, CookieSameSite::None);
    let mut bad = BASE.to_vec();
    bad.push(("COOKIE_SAMESITE", "none"));
    assert!(
        load(&bad)
            .err()
            .unwrap()
            .to_string()
            .contains("COOKIE_SAMESITE")
    );
}

#[test]
fn every_bad_value_is_named() {
    let mut pairs = vec![
        ("PORT", "eighty"),
        ("GRPC_REFLECTION", "maybe"),
        ("TRUSTED_PROXY_CIDRS", "10.0.0.0/8, nope"),
        ("ALLOW_ORIGIN", "*"),
        ("ENCRYPTION_KEY", "short"),
        ("DATABASE_URL", "mysql://x"),
        ("ADMIN_API_KEY", "tiny"),
        ("LOGIN_RATE_LIMIT", "0"),
        ("TOTP_CODE_RATE_LIMIT", "5/forever"),
        ("REVOCATION_CACHE_FALLBACK_TTL", "10s"),
    ];
    pairs.push(("REDIS_URL", "http://x"));
    let err = load(&pairs).err().unwrap().to_string();
    for var in [
        "PORT:",
        "GRPC_REFLECTION:",
        "TRUSTED_PROXY_CIDRS:",
        "ALLOW_ORIGIN:",
        "ENCRYPTION_KEY:",
        "DATABASE_URL:",
        "ADMIN_API_KEY:",
        "REDIS_URL:",
        "LOGIN_RATE_LIMIT:",
        "TOTP_CODE_RATE_LIMIT:",
        "REVOCATION_CACHE_FALLBACK_TTL:",
    ] {
        assert!(err.contains(var), "{var} missing from {err}");
    }
}

#[test]
fn durations_and_auth_limits() {
    let mut pairs = BASE.to_vec();
    pairs.extend([
        ("JWT_ACCESS_TTL", "5m"),
        ("JWT_REFRESH_TTL", "7d"),
        ("BCRYPT_COST", "10"),
    ]);
    let s = load(&pairs).unwrap();
    assert_eq!(s.jwt_access_ttl, Duration::from_secs(300));
    assert_eq!(s.jwt_refresh_ttl, Duration::from_secs(7 * 86_400));
    assert_eq!(s.bcrypt_cost, 10);
    let mut bad = BASE.to_vec();
    bad.extend([
        ("JWT_ACCESS_TTL", "soon"),
        ("BCRYPT_COST", "9"),
        ("BLOCKED_EMAIL_DOMAINS", "a@b"),
    ]);
    let err = load(&bad).err().unwrap().to_string();
    for var in ["JWT_ACCESS_TTL:", "BCRYPT_COST:", "BLOCKED_EMAIL_DOMAINS:"] {
        assert!(err.contains(var), "{var} missing from {err}");
    }
}

/// `.env.example` as `deploy/local/services.sh` copies it (empty values count as unset).
fn env_example() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
    std::fs::read_to_string(path)
        .expect(".env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn every_default_parses_with_an_empty_environment() {
    // Only the three required secrets are missing: no default is refused by its own parser.
    let err = load(&[]).err().unwrap();
    assert_eq!(
        err.0,
        [
            "DATABASE_URL: required (or DATABASE_URL_FILE)",
            "ADMIN_API_KEY: required (or ADMIN_API_KEY_FILE)",
            "ENCRYPTION_KEY: required (or ENCRYPTION_KEY_FILE)",
        ],
        "{err}"
    );
    let s = load(&BASE).unwrap();
    assert_eq!(s.email_from.1, DEFAULT_EMAIL_FROM);
}

#[test]
fn env_example_parses_and_states_the_real_defaults() {
    let example = env_example();
    let mut pairs: Vec<(&str, &str)> = example
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| !BASE.iter().any(|(b, _)| b == k))
        .collect();
    pairs.extend(BASE);
    let from_example = load(&pairs).unwrap_or_else(|e| panic!(".env.example: {e}"));
    let defaults = load(&BASE).unwrap();
    // Same settings whether a value comes from the example or from the server's default.
    assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
    // Every key the example lists is one the server reads (RUST_LOG: the log filter).
    for (key, _) in &example {
        let src = include_str!("../settings.rs");
        let rate_limit = CATALOGUE.iter().any(|spec| spec.setting == key);
        assert!(
            key == "RUST_LOG" || rate_limit || src.contains(&format!("\"{key}\"")),
            "{key} in .env.example is not a setting"
        );
    }
}

#[test]
fn the_kubernetes_config_map_names_real_settings_that_parse() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/k8s/configmap.yaml"
    );
    let text = std::fs::read_to_string(path).expect("configmap.yaml");
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with([' ', '#']))
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == "TRUSTED_PROXY_CIDRS"));
    let src = include_str!("../settings.rs");
    for (key, _) in &pairs {
        assert!(
            key == "RUST_LOG" || src.contains(&format!("\"{key}\"")),
            "{key} in configmap.yaml is not a setting"
        );
    }
    let mut all: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(BASE);
    let s = load(&all).unwrap_or_else(|e| panic!("configmap.yaml: {e}"));
    assert!(
        !s.trusted_proxy_cidrs.is_empty(),
        "the ingress network is trusted"
    );
}

#[test]
fn missing_required_values_are_named() {
    let err = load(&[]).err().unwrap().to_string();
    assert!(err.contains("DATABASE_URL: required"));
    assert!(err.contains("ADMIN_API_KEY: required"));
    assert!(err.contains("ENCRYPTION_KEY: required"));
}

#[test]
fn secrets_can_come_from_files() {
    let dir = std::env::temp_dir().join(format!("as-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("admin_key");
    std::fs::write(&path, "file-admin-key-0123456789abcdef0123\n").unwrap();
    let path_str = path.to_string_lossy().to_string();
    let s = load(&[BASE[0], BASE[2], ("ADMIN_API_KEY_FILE", path_str.as_str())]).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        s.admin_api_key.expose_secret(),
        "file-admin-key-0123456789abcdef0123"
    );
    let both = load(&[
        BASE[0],
        BASE[1],
        BASE[2],
        ("ADMIN_API_KEY_FILE", path_str.as_str()),
    ]);
    assert!(both.err().unwrap().to_string().contains("not both"));
    let base64_key = load(&[
        BASE[0],
        BASE[1],
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ])
    .unwrap();
    assert_eq!(base64_key.encryption_key.0[1], 1);
}
