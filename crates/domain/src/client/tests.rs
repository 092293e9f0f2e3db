use super::*;

#[test]
fn slugs() {
    assert!(Slug::parse("my-app").is_ok());
    assert!(Slug::parse("a1b").is_ok());
    for bad in [
        "ab",
        "-abc",
        "abc-",
        "a--b",
        "ABC",
        "a_b",
        "héllo",
        &"a".repeat(64),
    ] {
        assert!(Slug::parse(bad).is_err(), "{bad} accepted");
    }
    let name = ClientName::parse("  My App!! 2 ").unwrap();
    assert_eq!(Slug::from_name(&name).unwrap().as_str(), "my-app-2");
}

#[test]
fn names() {
    assert_eq!(ClientName::parse("  Shop ").unwrap().as_str(), "Shop");
    assert!(ClientName::parse("   ").is_err());
    assert!(ClientName::parse(&"x".repeat(101)).is_err());
    assert!(ClientName::parse("a\u{0007}b").is_err());
}

#[test]
fn origins() {
    assert_eq!(
        AllowedOrigin::parse("https://App.Example.com/")
            .unwrap()
            .as_str(),
        "https://app.example.com"
    );
    assert_eq!(
        AllowedOrigin::parse("http://localhost:3000")
            .unwrap()
            .as_str(),
        "http://localhost:3000"
    );
    assert_eq!(
        AllowedOrigin::parse("https://x.io:443").unwrap().as_str(),
        "https://x.io"
    );
    for bad in [
        "*",
        "ftp://x.io",
        "https://x.io/path",
        "https://u:p@x.io",
        "x.io",
        "https://x.io?q",
    ] {
        assert!(AllowedOrigin::parse(bad).is_err(), "{bad} accepted");
    }
    let list = AllowedOrigin::parse_list(&["https://a.io", "https://a.io/"]).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].matches("https://a.io"));
    assert!(!list[0].matches("https://a.io.evil.com"));
}

#[test]
fn status_and_mode() {
    assert_eq!(
        ClientStatus::parse("suspended").unwrap(),
        ClientStatus::Suspended
    );
    assert!(ClientStatus::parse("deleted").is_err());
    assert_eq!(TokenMode::default(), TokenMode::V2Jwks);
    assert_eq!(TokenMode::parse("v1_hs256").unwrap().as_str(), "v1_hs256");
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert_eq!(SigningAlgorithm::parse(alg).unwrap().as_str(), alg);
    }
    assert!(SigningAlgorithm::parse("HS256").is_err());
    assert!(SigningAlgorithm::parse("none").is_err());
}
