//! Refresh-token rotation, without services: single use, reuse revokes the family, idle and
//! hard expiry, disabled users, another client's key.

use std::time::Duration;

use authservice_application::auth::{
    IssuedTokens, Login, LoginInput, LoginOutcome, RefreshSession, RefreshSessionError,
    RefreshSessionInput,
};
use authservice_domain::testing::user;
use authservice_test_support::{PASSWORD, World};
use secrecy::{ExposeSecret, SecretString};

async fn signed_in(world: &World) -> IssuedTokens {
    let outcome = Login::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            LoginInput {
                email: "ada@example.com".to_owned(),
                password: SecretString::from(PASSWORD),
            },
        )
        .await
        .expect("login");
    let LoginOutcome::Tokens(tokens) = outcome else {
        panic!("expected tokens");
    };
    *tokens
}

/// An operator sets the user's status (disabling ends their sessions).
async fn set_status(world: &World, user: &authservice_domain::User, status: &str) {
    let admin = world
        .ctx()
        .with_principal(authservice_domain::Principal::Admin(
            authservice_domain::AdminPrincipal::break_glass(),
        ));
    authservice_application::users::ManageUser::new(
        &world.ports,
        &world.auth_config(),
        &world.mail_config(),
    )
    .set_status(
        &admin,
        &user.client_id.to_string(),
        &user.id.to_string(),
        status,
    )
    .await
    .expect("status set");
}

async fn refresh(world: &World, token: &SecretString) -> Result<IssuedTokens, RefreshSessionError> {
    RefreshSession::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            RefreshSessionInput {
                refresh_token: Some(token.clone()),
            },
        )
        .await
}

#[tokio::test]
async fn a_refresh_token_works_once_and_hands_out_the_next() {
    let world = World::new();
    world.seed_user(&user()).await;
    let first = signed_in(&world).await;
    world.clock.advance(Duration::from_secs(60));
    let second = refresh(&world, &first.refresh_token).await.unwrap();
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );
    assert_eq!(second.session_id, first.session_id, "same session (family)");
    let third = refresh(&world, &second.refresh_token).await.unwrap();
    assert_eq!(third.session_id, first.session_id);
    assert!(world.events().contains(&"session.refreshed".to_owned()));
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_whole_family() {
    let world = World::new();
    world.seed_user(&user()).await;
    let first = signed_in(&world).await;
    let second = refresh(&world, &first.refresh_token).await.unwrap();
    // The thief replays the consumed token: refused, and the legitimate next one dies too.
    let err = refresh(&world, &first.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Reused), "{err:?}");
    let err = refresh(&world, &second.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Invalid), "{err:?}");
    assert!(
        world
            .events()
            .contains(&"session.refresh_reused".to_owned())
    );
    assert!(
        world
            .db
            .sessions()
            .iter()
            .all(|s| s.consumed_at.is_some() || s.revoked_at.is_some())
    );
}

#[tokio::test]
async fn an_idle_session_expires_and_no_refresh_outlives_the_maximum_lifetime() {
    let world = World::new();
    world.seed_user(&user()).await;
    let config = world.auth_config();
    // Idle longer than the refresh token lives: refused.
    let idle = signed_in(&world).await;
    world
        .clock
        .advance(config.session_idle_timeout + Duration::from_secs(1));
    let err = refresh(&world, &idle.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Invalid), "{err:?}");

    // Refreshed every day, a session still ends at its maximum lifetime.
    let mut tokens = signed_in(&world).await;
    let day = Duration::from_secs(86_400);
    let days = config.session_max_lifetime.as_secs() / 86_400;
    for _ in 0..days - 1 {
        world.clock.advance(day);
        tokens = refresh(&world, &tokens.refresh_token).await.unwrap();
    }
    assert!(
        tokens.refresh_expires_in <= 86_400,
        "{}",
        tokens.refresh_expires_in
    );
    world.clock.advance(day);
    let err = refresh(&world, &tokens.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh_and_a_refusal_spends_no_token() {
    let world = World::new();
    let ada = user();
    world.seed_user(&ada).await;
    let tokens = signed_in(&world).await;
    set_status(&world, &ada, "disabled").await;
    let err = refresh(&world, &tokens.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Invalid), "{err:?}");
    // Disabling revoked the session: enabling the user again does not bring it back.
    set_status(&world, &ada, "active").await;
    let err = refresh(&world, &tokens.refresh_token).await.unwrap_err();
    assert!(matches!(err, RefreshSessionError::Invalid), "{err:?}");
    // A session of an active user whose token was refused while disabled stays usable: the
    // refusal consumed nothing.
    let fresh = signed_in(&world).await;
    set_status(&world, &ada, "disabled").await;
    assert!(refresh(&world, &fresh.refresh_token).await.is_err());
    assert!(
        world.db.sessions().iter().all(|s| s.consumed_at.is_none()),
        "a refused refresh consumes no token"
    );
}

#[tokio::test]
async fn another_clients_key_cannot_use_the_token() {
    let mut world = World::new();
    world.seed_user(&user()).await;
    let tokens = signed_in(&world).await;
    let mut other = world.client.clone();
    other.id = authservice_domain::ClientId::from_uuid(uuid::Uuid::new_v4());
    other.slug = authservice_domain::Slug::parse("other-app").unwrap();
    world.set_client(other);
    let err = refresh(&world, &tokens.refresh_token).await.unwrap_err();
    assert!(
        matches!(err, RefreshSessionError::ClientMismatch),
        "{err:?}"
    );
}
