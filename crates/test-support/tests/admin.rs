//! Admin users' sign-in without services: enrolment on the first sign-in, TOTP windows and
//! replays, refresh rotation and reuse, hard session expiry, disabled accounts, roles resolved
//! per request, and who may manage admin users.

use std::time::Duration;

use authservice_application::admin::{
    AdminAuthConfig, AdminAuthError, AdminLoginInput, AdminLoginOutcome, AdminPorts, AdminSignIn,
    AdminTokens, AdminUserInput, AdminUserPatch, ManageAdmins, ManageAdminsError, ScopeInput,
};
use authservice_domain::{AdminPrincipal, Permission, Principal};
use authservice_test_support::World;

const PASSWORD: &str = "Operator-Passphrase-42";

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

fn console(world: &World) -> authservice_application::RequestCtx {
    world
        .ctx()
        .with_principal(Principal::Admin(AdminPrincipal::console()))
}

fn sign_in(world: &World) -> AdminSignIn {
    AdminSignIn::new(
        AdminPorts::of(&world.ports),
        AdminAuthConfig::default(),
        None,
    )
}

/// Creates an admin; returns its setup token.
async fn create(world: &World, email: &str, role: &str) -> String {
    ManageAdmins::new(AdminPorts::of(&world.ports))
        .create(
            &console(world),
            AdminUserInput {
                email: email.to_owned(),
                password: Some(PASSWORD.to_owned()),
                roles: vec![role.to_owned()],
                scope: ScopeInput {
                    kind: "all".to_owned(),
                    id: None,
                },
            },
        )
        .await
        .expect("admin created")
        .1
        .token
}

async fn login(
    world: &World,
    email: &str,
    code: Option<String>,
) -> Result<AdminLoginOutcome, AdminAuthError> {
    login_with(world, email, code, None).await
}

async fn login_with(
    world: &World,
    email: &str,
    code: Option<String>,
    setup: Option<&str>,
) -> Result<AdminLoginOutcome, AdminAuthError> {
    sign_in(world)
        .login(
            &world.ctx(),
            AdminLoginInput {
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
                totp_code: code,
                setup_token: setup.map(str::to_owned),
            },
        )
        .await
}

/// Enrols and signs in; returns the tokens and the TOTP secret.
async fn enrolled(world: &World, email: &str, setup: &str) -> (AdminTokens, String) {
    assert!(matches!(
        login(world, email, None).await,
        Err(AdminAuthError::SetupTokenRequired)
    ));
    let AdminLoginOutcome::EnrollmentRequired(enrolment) =
        login_with(world, email, None, Some(setup)).await.unwrap()
    else {
        panic!("enrolment expected");
    };
    let tokens = sign_in(world)
        .enable_totp(
            &world.ctx(),
            &enrolment.enrollment_token,
            &code_at(&enrolment.secret, world.clock.unix()),
        )
        .await
        .expect("enrolled");
    (tokens, enrolment.secret)
}

#[tokio::test]
async fn the_first_sign_in_enrols_and_later_ones_need_a_fresh_code() {
    let world = World::new();
    let setup = create(&world, "ops@example.com", "support").await;
    let (tokens, secret) = enrolled(&world, "ops@example.com", &setup).await;
    let principal = sign_in(&world)
        .principal(&tokens.access_token)
        .await
        .unwrap()
        .unwrap();
    assert!(principal.has(Permission::UsersUpdate));
    assert!(!principal.has(Permission::ClientsCreate));

    assert!(matches!(
        login(&world, "ops@example.com", None).await,
        Err(AdminAuthError::TotpRequired)
    ));
    // The enrolment's step is used; the next one works once.
    let now = world.clock.unix();
    assert!(matches!(
        login(&world, "ops@example.com", Some(code_at(&secret, now))).await,
        Err(AdminAuthError::CodeReused)
    ));
    world.clock.advance(Duration::from_secs(30));
    let next = code_at(&secret, world.clock.unix());
    assert!(matches!(
        login(&world, "ops@example.com", Some(next.clone())).await,
        Ok(AdminLoginOutcome::SignedIn(_))
    ));
    assert!(matches!(
        login(&world, "ops@example.com", Some(next)).await,
        Err(AdminAuthError::CodeReused)
    ));
    // Two steps away is too far.
    let far = code_at(&secret, world.clock.unix() + 90);
    assert!(matches!(
        login(&world, "ops@example.com", Some(far)).await,
        Err(AdminAuthError::WrongCode)
    ));
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_ends_the_session() {
    let world = World::new();
    let setup = create(&world, "ops@example.com", "auditor").await;
    let (first, _) = enrolled(&world, "ops@example.com", &setup).await;
    let s = sign_in(&world);
    let second = s
        .refresh(&world.ctx(), &first.refresh_token)
        .await
        .expect("rotated");
    assert!(s.principal(&first.access_token).await.unwrap().is_none());
    assert!(s.principal(&second.access_token).await.unwrap().is_some());
    assert!(matches!(
        s.refresh(&world.ctx(), &first.refresh_token).await,
        Err(AdminAuthError::RefreshReused)
    ));
    assert!(s.principal(&second.access_token).await.unwrap().is_none());
    assert!(matches!(
        s.refresh(&world.ctx(), &second.refresh_token).await,
        Err(AdminAuthError::InvalidRefreshToken)
    ));
    assert!(world.events().contains(&"admin.refresh_reused".to_owned()));
}

#[tokio::test]
async fn access_tokens_lapse_and_sessions_end_at_their_hard_lifetime() {
    let world = World::new();
    let setup = create(&world, "ops@example.com", "auditor").await;
    let (tokens, _) = enrolled(&world, "ops@example.com", &setup).await;
    let s = sign_in(&world);
    world.clock.advance(Duration::from_secs(16 * 60));
    assert!(s.principal(&tokens.access_token).await.unwrap().is_none());
    let renewed = s
        .refresh(&world.ctx(), &tokens.refresh_token)
        .await
        .expect("renewed");
    world.clock.advance(Duration::from_secs(8 * 3600));
    assert!(matches!(
        s.refresh(&world.ctx(), &renewed.refresh_token).await,
        Err(AdminAuthError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_its_sign_ins() {
    let world = World::new();
    let setup = create(&world, "ops@example.com", "client_admin").await;
    let (tokens, secret) = enrolled(&world, "ops@example.com", &setup).await;
    let manage = ManageAdmins::new(AdminPorts::of(&world.ports));
    let id = tokens.admin.id.to_string();
    manage
        .update(
            &console(&world),
            &id,
            AdminUserPatch {
                status: Some("disabled".to_owned()),
                ..Default::default()
            },
        )
        .await
        .expect("disabled");
    assert!(
        sign_in(&world)
            .principal(&tokens.access_token)
            .await
            .unwrap()
            .is_none()
    );
    world.clock.advance(Duration::from_secs(30));
    let code = code_at(&secret, world.clock.unix());
    assert!(matches!(
        login(&world, "ops@example.com", Some(code)).await,
        Err(AdminAuthError::Disabled)
    ));
}

#[tokio::test]
async fn only_a_global_holder_of_admins_manage_manages_admins() {
    let world = World::new();
    let setup = create(&world, "auditor@example.com", "auditor").await;
    let (tokens, _) = enrolled(&world, "auditor@example.com", &setup).await;
    let principal = sign_in(&world)
        .principal(&tokens.access_token)
        .await
        .unwrap()
        .unwrap();
    let ctx = world.ctx().with_principal(Principal::Admin(principal));
    let manage = ManageAdmins::new(AdminPorts::of(&world.ports));
    assert!(matches!(
        manage.list(&ctx, None, None).await,
        Err(ManageAdminsError::Forbidden(_))
    ));
    let mut scoped = AdminPrincipal::break_glass();
    scoped.scope = authservice_domain::AdminScope::Clients(vec![world.client.id]);
    let scoped = world.ctx().with_principal(Principal::Admin(scoped));
    assert!(matches!(
        manage.list(&scoped, None, None).await,
        Err(ManageAdminsError::Forbidden(_))
    ));
    assert_eq!(
        manage
            .list(&console(&world), None, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
