//! Emailed links, without services: magic links (single use, expiry, unknown addresses look
//! alike, second factor), password reset (sessions end, other links die, suspended clients).

use std::time::Duration;

use authservice_application::auth::{Login, LoginInput, LoginOutcome};
use authservice_application::email::{
    EmailFlowError, ForgotPassword, LinkTokenError, MagicLinkAnswer, MagicLinkMode, ResetPassword,
    ResetPasswordInput, SendMagicLink, VerifyMagicLink,
};
use authservice_domain::testing::user;
use authservice_test_support::{PASSWORD, World};
use secrecy::SecretString;

async fn send_magic_link(world: &World, email: &str) {
    SendMagicLink::new(&world.ports, &world.mail_config())
        .execute(&world.ctx(), email, None)
        .await
        .expect("the same answer for every address");
}

async fn verify(world: &World, token: &str) -> Result<MagicLinkAnswer, EmailFlowError> {
    VerifyMagicLink::new(&world.ports, &world.auth_config())
        .execute(&world.ctx(), token, None, MagicLinkMode::Tokens)
        .await
}

async fn login(world: &World, password: &str) -> bool {
    matches!(
        Login::new(&world.ports, &world.auth_config())
            .execute(
                &world.ctx(),
                LoginInput {
                    email: "ada@example.com".to_owned(),
                    password: SecretString::from(password),
                },
            )
            .await,
        Ok(LoginOutcome::Tokens(_))
    )
}

#[tokio::test]
async fn a_magic_link_signs_in_once() {
    let world = World::new();
    world.seed_user(&user()).await;
    send_magic_link(&world, "ada@example.com").await;
    let token = world.last_link_token("ada@example.com");
    let Ok(MagicLinkAnswer::Tokens(tokens)) = verify(&world, &token).await else {
        panic!("expected tokens");
    };
    assert_eq!(tokens.user.email.as_str(), "ada@example.com");
    let err = verify(&world, &token).await.expect_err("single use");
    assert!(
        matches!(err, EmailFlowError::Token(LinkTokenError::Used)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_old_magic_link_has_expired() {
    let world = World::new();
    world.seed_user(&user()).await;
    send_magic_link(&world, "ada@example.com").await;
    let token = world.last_link_token("ada@example.com");
    world.clock.advance(Duration::from_secs(16 * 60));
    let err = verify(&world, &token).await.expect_err("expired");
    assert!(
        matches!(err, EmailFlowError::Token(LinkTokenError::Expired)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_message() {
    let world = World::new();
    world.seed_user(&user()).await;
    send_magic_link(&world, "nobody@example.com").await;
    assert!(world.db.queued().is_empty());
    assert!(
        world
            .events()
            .contains(&"user.magic_link_requested".to_owned())
    );
    let err = verify(&world, &"ab".repeat(32)).await.expect_err("unknown");
    assert!(
        matches!(err, EmailFlowError::Token(LinkTokenError::Invalid)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reset_ends_every_session_and_voids_the_other_links() {
    let world = World::new();
    world.seed_user(&user()).await;
    assert!(login(&world, PASSWORD).await);
    send_magic_link(&world, "ada@example.com").await;
    let magic = world.last_link_token("ada@example.com");
    ForgotPassword::new(&world.ports, &world.mail_config())
        .execute(&world.ctx(), "ada@example.com", None)
        .await
        .unwrap();
    let reset = world.last_link_token("ada@example.com");
    ResetPassword::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            ResetPasswordInput {
                token: reset.clone(),
                new_password: SecretString::from("a brand new passphrase 42"),
            },
            None,
        )
        .await
        .expect("reset");
    assert!(
        world.db.sessions().iter().all(|s| s.revoked_at.is_some()),
        "every session ended"
    );
    assert!(!login(&world, PASSWORD).await);
    assert!(login(&world, "a brand new passphrase 42").await);
    let err = verify(&world, &magic).await.expect_err("voided");
    assert!(
        matches!(err, EmailFlowError::Token(LinkTokenError::Used)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_suspended_clients_reset_is_refused_and_the_link_stays_unspent() {
    let mut world = World::new();
    world.seed_user(&user()).await;
    ForgotPassword::new(&world.ports, &world.mail_config())
        .execute(&world.ctx(), "ada@example.com", None)
        .await
        .unwrap();
    let reset = world.last_link_token("ada@example.com");
    let mut suspended = world.client.clone();
    suspended.status = authservice_domain::ClientStatus::Suspended;
    world.set_client(suspended);
    let input = || ResetPasswordInput {
        token: reset.clone(),
        new_password: SecretString::from("a brand new passphrase 42"),
    };
    let reset_password = ResetPassword::new(&world.ports, &world.auth_config());
    let err = reset_password
        .execute(&world.ctx(), input(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EmailFlowError::ClientSuspended), "{err:?}");
    let mut active = world.client.clone();
    active.status = authservice_domain::ClientStatus::Active;
    world.set_client(active);
    reset_password
        .execute(&world.ctx(), input(), None)
        .await
        .expect("the link was not spent");
}
