use super::*;

#[test]
fn token_digests_refuse_malformed_tokens() {
    assert!(token_digest("abc").is_err());
    assert!(token_digest(&"g".repeat(64)).is_err());
    let upper = "AB".repeat(32);
    assert_eq!(
        token_digest(&upper).unwrap(),
        token_digest(&upper.to_lowercase()).unwrap()
    );
}
