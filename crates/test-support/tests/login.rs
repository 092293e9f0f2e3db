//! Password login, without services: credentials, lockout, the verified-address rule, and the
//! second-factor challenge.

use std::sync::Arc;
use std::time::Duration;

use authservice_application::auth::{Login, LoginError, LoginInput, LoginOutcome};
use authservice_application::limits::{Limit, RateRules};
use authservice_application::ports::RateRule;
use authservice_domain::ClientSettings;
use authservice_domain::testing::user;
use authservice_infrastructure::crypto::{HashAlgorithm, PooledHasher};
use authservice_test_support::{PASSWORD, World};
use secrecy::SecretString;
use serde_json::json;

fn input(email: &str, password: &str) -> LoginInput {
    LoginInput {
        email: email.to_owned(),
        password: SecretString::from(password),
    }
}

async fn login(world: &World, email: &str, password: &str) -> Result<LoginOutcome, LoginError> {
    Login::new(&world.ports, &world.auth_config())
        .execute(&world.ctx(), input(email, password))
        .await
}

#[tokio::test]
async fn the_right_password_starts_a_session_and_is_audited() {
    let world = World::new();
    world.seed_user(&user()).await;
    let Ok(LoginOutcome::Tokens(tokens)) = login(&world, "ada@example.com", PASSWORD).await else {
        panic!("expected tokens");
    };
    assert_eq!(tokens.user.email.as_str(), "ada@example.com");
    let sessions = world.db.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].row.family_id, tokens.session_id);
    assert!(world.events().contains(&"user.login_succeeded".to_owned()));
}

#[tokio::test]
async fn a_login_stamps_the_user_and_upgrades_a_weaker_hash_with_its_session() {
    let mut world = World::new();
    let ada = user();
    world.seed_user(&ada).await;
    // The same password hashed at a higher cost than the seeded one: a login upgrades it.
    world.ports.passwords = Arc::new(PooledHasher::new(HashAlgorithm::Bcrypt { cost: 5 }, 1, 4));
    let Ok(LoginOutcome::Tokens(_)) = login(&world, "ada@example.com", PASSWORD).await else {
        panic!("expected tokens");
    };
    let session = world.db.sessions()[0].row.clone();
    let (stored, hash) = world.db.user(ada.client_id, ada.id).unwrap();
    assert_eq!(stored.last_login_at, Some(session.started_at));
    assert!(hash.unwrap().starts_with("$2b$05$"));
    // Still the same password, and no further upgrade is carried.
    let Ok(LoginOutcome::Tokens(_)) = login(&world, "ada@example.com", PASSWORD).await else {
        panic!("expected tokens");
    };
    assert!(world.db.sessions()[1].row.rehash.is_none());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_answer_alike() {
    let world = World::new();
    world.seed_user(&user()).await;
    for email in ["ada@example.com", "nobody@example.com", "not an email"] {
        let err = login(&world, email, "wrong password here")
            .await
            .unwrap_err();
        assert!(
            matches!(err, LoginError::InvalidCredentials),
            "{email}: {err:?}"
        );
    }
    assert!(world.db.sessions().is_empty());
    let failed = world
        .events()
        .iter()
        .filter(|e| *e == "user.login_failed")
        .count();
    assert_eq!(failed, 3);
}

#[tokio::test]
async fn the_lockout_holds_even_against_the_right_password_until_it_ends() {
    let rules = RateRules::default()
        .with(
            Limit::LoginFailure,
            RateRule {
                limit: 3,
                window: Duration::from_secs(60),
            },
        )
        .with(
            Limit::LoginLock,
            RateRule {
                limit: 1,
                window: Duration::from_millis(300),
            },
        );
    let world = World::with_rules(rules);
    world.seed_user(&user()).await;
    let config = authservice_application::auth::AuthConfig {
        lockout: true,
        ..world.auth_config()
    };
    let login = Login::new(&world.ports, &config);
    for _ in 0..3 {
        let err = login
            .execute(
                &world.ctx(),
                input("ada@example.com", "wrong password here"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::InvalidCredentials));
    }
    let err = login
        .execute(&world.ctx(), input("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Locked { .. }), "{err:?}");
    assert!(world.events().contains(&"user.locked".to_owned()));
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The lock is over, but the failures still fill their window: the next attempt, even with
    // the right password, locks again at once (no free guess per lock period).
    let err = login
        .execute(&world.ctx(), input("ada@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Locked { .. }), "{err:?}");
    assert!(world.db.sessions().is_empty());
}

#[tokio::test]
async fn an_unverified_address_gets_no_session_when_the_client_requires_it() {
    let mut world = World::new();
    let mut unverified = user();
    unverified.email_verified = false;
    world.seed_user(&unverified).await;
    // Off by default: the login succeeds.
    assert!(matches!(
        login(&world, "ada@example.com", PASSWORD).await,
        Ok(LoginOutcome::Tokens(_))
    ));
    let mut client = world.client.clone();
    client.settings = ClientSettings::parse(json!({"require_verified_email": true})).unwrap();
    world.set_client(client);
    let err = login(&world, "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::EmailNotVerified), "{err:?}");
    assert_eq!(world.db.sessions().len(), 1, "no second session");
}

#[tokio::test]
async fn a_disabled_account_is_refused_after_the_password_is_checked() {
    let world = World::new();
    let mut disabled = user();
    disabled.status = authservice_domain::UserStatus::Disabled;
    world.seed_user(&disabled).await;
    let err = login(&world, "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Disabled), "{err:?}");
    // A wrong password still looks like any wrong password.
    let err = login(&world, "ada@example.com", "wrong password here")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn the_login_rate_limit_counts_per_ip() {
    let rules = RateRules::default().with(
        Limit::Login,
        RateRule {
            limit: 2,
            window: Duration::from_secs(60),
        },
    );
    let world = World::with_rules(rules);
    world.seed_user(&user()).await;
    for _ in 0..2 {
        login(&world, "ada@example.com", PASSWORD).await.unwrap();
    }
    let err = login(&world, "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::RateLimited { .. }), "{err:?}");
    let mut elsewhere = world.ctx();
    elsewhere.ip = Some("198.51.100.9".parse().unwrap());
    Login::new(&world.ports, &world.auth_config())
        .execute(&elsewhere, input("ada@example.com", PASSWORD))
        .await
        .unwrap();
}
