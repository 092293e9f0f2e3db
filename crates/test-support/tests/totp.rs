//! TOTP and recovery codes, without services: enrolment needs a recent sign-in, the ±1 step
//! window, replay, the login challenge and its attempt limit, single-use recovery codes.

use std::time::Duration;

use authservice_application::auth::{
    AuthenticateUser, AuthenticatedUser, Login, LoginInput, LoginOutcome,
};
use authservice_application::mfa::{CompleteChallenge, ManageTotp, MfaError, TwoFactorChallenge};
use authservice_domain::testing::user;
use authservice_test_support::{PASSWORD, World};
use secrecy::{ExposeSecret, SecretString};

async fn login(world: &World) -> LoginOutcome {
    Login::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            LoginInput {
                email: "ada@example.com".to_owned(),
                password: SecretString::from(PASSWORD),
            },
        )
        .await
        .expect("login")
}

async fn caller(world: &World) -> AuthenticatedUser {
    let LoginOutcome::Tokens(tokens) = login(world).await else {
        panic!("expected tokens");
    };
    AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(&tokens.access_token))
        .await
        .expect("the access token authenticates")
}

/// The code of `secret` (base32) at `unix` seconds, as an authenticator app shows it.
fn code_at(secret: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .expect("totp")
        .generate(unix)
        .to_string()
}

/// Ada with TOTP on; returns its secret.
async fn enrolled(world: &World) -> (String, Vec<String>) {
    world.seed_user(&user()).await;
    let manage = ManageTotp::new(&world.ports, &world.auth_config(), &world.mail_config());
    let setup = manage
        .setup(&world.ctx(), caller(world).await)
        .await
        .expect("setup");
    let code = code_at(&setup.secret, world.clock.unix());
    let enabled = manage
        .enable(&world.ctx(), caller(world).await, &code)
        .await
        .expect("enable");
    (setup.secret, enabled.recovery_codes)
}

fn challenge(outcome: LoginOutcome) -> TwoFactorChallenge {
    match outcome {
        LoginOutcome::SecondFactor(c) => c,
        LoginOutcome::Tokens(_) => panic!("expected a challenge"),
    }
}

#[tokio::test]
async fn enrolment_needs_a_recent_sign_in() {
    let world = World::new();
    world.seed_user(&user()).await;
    let stale = caller(&world).await;
    world.clock.advance(Duration::from_secs(6 * 60));
    let err = ManageTotp::new(&world.ports, &world.auth_config(), &world.mail_config())
        .setup(&world.ctx(), stale)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::ReauthenticationRequired), "{err:?}");
}

#[tokio::test]
async fn a_password_login_then_owes_a_code_which_works_once() {
    let world = World::new();
    let (secret, _) = enrolled(&world).await;
    assert!(
        world
            .db
            .queued_kinds()
            .iter()
            .any(|k| k.starts_with("notice_"))
    );
    world.clock.advance(Duration::from_secs(30));
    let c = challenge(login(&world).await);
    assert_eq!(c.methods, ["totp", "recovery_code"]);
    let complete = CompleteChallenge::new(&world.ports, &world.auth_config());
    let code = code_at(&secret, world.clock.unix());
    let tokens = complete
        .with_totp(&world.ctx(), c.token.expose_secret(), &code)
        .await
        .expect("the current code completes the challenge");
    assert_eq!(tokens.user.email.as_str(), "ada@example.com");
    // The same code cannot complete another challenge (replay within its 30 s).
    let again = challenge(login(&world).await);
    let err = complete
        .with_totp(&world.ctx(), again.token.expose_secret(), &code)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::CodeReused), "{err:?}");
}

#[tokio::test]
async fn codes_one_step_away_count_and_older_ones_do_not() {
    let world = World::new();
    let (secret, _) = enrolled(&world).await;
    world.clock.advance(Duration::from_secs(300));
    let complete = CompleteChallenge::new(&world.ports, &world.auth_config());
    let now = world.clock.unix();
    let stale = code_at(&secret, now - 90);
    let c = challenge(login(&world).await);
    let err = complete
        .with_totp(&world.ctx(), c.token.expose_secret(), &stale)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::WrongCode), "{err:?}");
    // The previous step (a clock 30 s behind) is accepted.
    complete
        .with_totp(
            &world.ctx(),
            c.token.expose_secret(),
            &code_at(&secret, now - 30),
        )
        .await
        .expect("one step of skew");
}

#[tokio::test]
async fn five_wrong_codes_end_the_challenge() {
    let world = World::new();
    let (secret, _) = enrolled(&world).await;
    world.clock.advance(Duration::from_secs(60));
    let complete = CompleteChallenge::new(&world.ports, &world.auth_config());
    let c = challenge(login(&world).await);
    for _ in 0..5 {
        let err = complete
            .with_totp(&world.ctx(), c.token.expose_secret(), "000000")
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            MfaError::WrongCode | MfaError::ChallengeInvalid
        ));
    }
    let right = code_at(&secret, world.clock.unix());
    let err = complete
        .with_totp(&world.ctx(), c.token.expose_secret(), &right)
        .await
        .unwrap_err();
    assert!(matches!(err, MfaError::ChallengeInvalid), "{err:?}");
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let world = World::new();
    let (_, codes) = enrolled(&world).await;
    assert_eq!(codes.len(), 10);
    let complete = CompleteChallenge::new(&world.ports, &world.auth_config());
    let c = challenge(login(&world).await);
    complete
        .with_recovery_code(&world.ctx(), c.token.expose_secret(), &codes[0])
        .await
        .expect("an unused recovery code");
    let c = challenge(login(&world).await);
    let err = complete
        .with_recovery_code(&world.ctx(), c.token.expose_secret(), &codes[0])
        .await
        .unwrap_err();
    assert!(
        matches!(err, MfaError::WrongCode | MfaError::CodeReused),
        "{err:?}"
    );
    complete
        .with_recovery_code(&world.ctx(), c.token.expose_secret(), &codes[1])
        .await
        .expect("another unused code still works");
}

/// Signs Ada in with her password and a TOTP code, then disables TOTP with the password.
async fn disable_with_password(world: &World, secret: &str) -> Result<(), MfaError> {
    world.clock.advance(Duration::from_secs(30));
    let c = challenge(login(world).await);
    let tokens = CompleteChallenge::new(&world.ports, &world.auth_config())
        .with_totp(
            &world.ctx(),
            c.token.expose_secret(),
            &code_at(secret, world.clock.unix()),
        )
        .await
        .expect("signed in with a code");
    let me = AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(&tokens.access_token))
        .await
        .expect("the access token authenticates");
    ManageTotp::new(&world.ports, &world.auth_config(), &world.mail_config())
        .disable(
            &world.ctx(),
            me,
            authservice_application::mfa::DisableTotpInput {
                code: None,
                password: Some(SecretString::from(PASSWORD)),
            },
        )
        .await
}

#[tokio::test]
async fn disabling_totp_drops_the_recovery_codes_unless_a_passkey_remains() {
    use authservice_application::ports::{StoredPasskey, Write};
    let world = World::new();
    let (secret, codes) = enrolled(&world).await;
    assert!(!codes.is_empty());
    let ada = user();
    // A passkey is the other second factor: the codes still back it up.
    let passkey = StoredPasskey {
        id: uuid::Uuid::now_v7(),
        client_id: ada.client_id,
        user_id: ada.id,
        credential_id: vec![7; 16],
        passkey: serde_json::json!({}),
        name: "Laptop".into(),
        sign_count: 0,
        attestation_format: None,
        backed_up: false,
        created_at: world.clock_now(),
        last_used_at: None,
    };
    assert!(
        world
            .ports
            .uow
            .commit(vec![Write::AddPasskey(passkey.clone())])
            .await
            .unwrap()
            .is_all()
    );
    let counts = |world: &World| {
        let ports = world.ports.clone();
        async move {
            ports
                .mfa
                .recovery_code_counts(ada.client_id, ada.id)
                .await
                .unwrap()
        }
    };
    let before = counts(&world).await;
    disable_with_password(&world, &secret)
        .await
        .expect("disabled");
    assert_eq!(counts(&world).await, before, "kept next to the passkey");
    assert_eq!(
        world.events().last().map(String::as_str),
        Some("mfa.totp_disabled")
    );
    // Without any second factor left, they go with TOTP.
    let world = World::new();
    let (secret, _) = enrolled(&world).await;
    disable_with_password(&world, &secret)
        .await
        .expect("disabled");
    assert_eq!(counts(&world).await, (0, 0));
}
