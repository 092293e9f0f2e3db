//! Passkey ceremony state, without services or an authenticator: registration needs a recent
//! sign-in, a ceremony is single use and bound to its client, and email-first login answers
//! the same shape whether or not the address has an account.

use std::time::Duration;

use authservice_application::auth::{
    AuthenticateUser, AuthenticatedUser, Login, LoginInput, LoginOutcome,
};
use authservice_application::mfa::{BeginPasskeyLogin, ManagePasskeys, MfaError, PasskeyLogin};
use authservice_domain::testing::user;
use authservice_domain::{ClientId, LinkBase, Slug};
use authservice_test_support::{PASSWORD, World};
use secrecy::SecretString;
use serde_json::json;

fn base() -> LinkBase {
    LinkBase::parse("BASE_URL", "https://auth.test").unwrap()
}

async fn caller(world: &World) -> AuthenticatedUser {
    let outcome = Login::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            LoginInput {
                email: "ada@example.com".to_owned(),
                password: SecretString::from(PASSWORD),
            },
        )
        .await
        .unwrap();
    let LoginOutcome::Tokens(tokens) = outcome else {
        panic!("expected tokens");
    };
    AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(&tokens.access_token))
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_needs_a_recent_sign_in() {
    let world = World::new();
    world.seed_user(&user()).await;
    let manage = ManagePasskeys::new(&world.ports, &world.auth_config(), &world.mail_config());
    let fresh = caller(&world).await;
    let ceremony = manage
        .register_begin(&world.ctx(), fresh, Some("Laptop"))
        .await
        .expect("a fresh sign-in may add a passkey");
    assert!(ceremony.options["publicKey"]["challenge"].is_string());
    let stale = caller(&world).await;
    world.clock.advance(Duration::from_secs(6 * 60));
    let err = manage
        .register_begin(&world.ctx(), stale, None)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::ReauthenticationRequired), "{err:?}");
}

#[tokio::test]
async fn a_login_ceremony_is_single_use() {
    let world = World::new();
    let login = PasskeyLogin::new(&world.ports, &world.auth_config(), &base());
    let ceremony = login
        .begin(&world.ctx(), BeginPasskeyLogin::default())
        .await
        .unwrap();
    // A bogus assertion fails, and spends the ceremony: it cannot be retried.
    let bogus = json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}});
    let first = login
        .finish(&world.ctx(), &ceremony.session_id, &bogus)
        .await
        .unwrap_err();
    assert!(!matches!(first, MfaError::CeremonyInvalid), "{first:?}");
    let again = login
        .finish(&world.ctx(), &ceremony.session_id, &bogus)
        .await
        .unwrap_err();
    assert!(matches!(again, MfaError::CeremonyInvalid), "{again:?}");
}

#[tokio::test]
async fn a_ceremony_belongs_to_its_client() {
    let mut world = World::new();
    let login = PasskeyLogin::new(&world.ports, &world.auth_config(), &base());
    let ceremony = login
        .begin(&world.ctx(), BeginPasskeyLogin::default())
        .await
        .unwrap();
    let mut other = world.client.clone();
    other.id = ClientId::from_uuid(uuid::Uuid::new_v4());
    other.slug = Slug::parse("other-app").unwrap();
    world.set_client(other);
    let bogus = json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}});
    let err = login
        .finish(&world.ctx(), &ceremony.session_id, &bogus)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::CeremonyInvalid), "{err:?}");
}

#[tokio::test]
async fn email_first_login_looks_the_same_for_every_address() {
    let world = World::new();
    world.seed_user(&user()).await;
    let login = PasskeyLogin::new(&world.ports, &world.auth_config(), &base());
    let mut shapes = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let ceremony = login
            .begin(
                &world.ctx(),
                BeginPasskeyLogin {
                    email: Some(email.to_owned()),
                    two_factor_token: None,
                },
            )
            .await
            .unwrap();
        let public_key = &ceremony.options["publicKey"];
        let mut keys: Vec<String> = public_key.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert!(
            public_key
                .get("allowCredentials")
                .is_none_or(|c| c.as_array().is_some_and(Vec::is_empty)),
            "{email}: no credential list reveals the account"
        );
        shapes.push(keys);
    }
    assert_eq!(shapes[0], shapes[1]);
}
