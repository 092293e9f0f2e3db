//! Enterprise SSO sign-ins, without services (a scripted IdP): the attempt bound to its browser
//! and used once, JIT users only on the organization's verified domain, no takeover of
//! accounts elsewhere, groups replaced at every sign-in.

use std::time::Duration;

use authservice_application::auth::{
    AuthenticateUser, AuthenticatedUser, Login, LoginInput, LoginOutcome,
};
use authservice_application::organizations::{
    ConnectionInput, DomainActor, ManageDomains, ManageOrganizations, ManageSsoConnections,
    NewOrganization, SsoSettings,
};
use authservice_application::sso::{
    CallbackInput, Landed, SsoError, SsoSignIn, StartInput, Started,
};
use authservice_domain::organization::GroupSource;
use authservice_domain::testing::user;
use authservice_domain::{Email, UserId};
use authservice_test_support::{PASSWORD, World};
use secrecy::SecretString;
use serde_json::json;

fn settings() -> SsoSettings {
    SsoSettings {
        base_url: "https://auth.test".to_owned(),
        allow_insecure_idp_urls: false,
        access_ttl: Duration::from_secs(900),
    }
}

/// Ada (ada@example.com), owner of organization `acme`, which verified `example.com` and
/// connected its IdP for it: (Ada, the connection's id).
async fn acme(world: &World, jit: bool) -> (AuthenticatedUser, String) {
    let (ada, connection, _) = acme_with_claim(world, jit).await;
    (ada, connection)
}

/// [`acme`], with the id of the domain claim.
async fn acme_with_claim(world: &World, jit: bool) -> (AuthenticatedUser, String, String) {
    world.seed_user(&user()).await;
    let LoginOutcome::Tokens(tokens) = Login::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            LoginInput {
                email: "ada@example.com".to_owned(),
                password: SecretString::from(PASSWORD),
            },
        )
        .await
        .expect("login")
    else {
        panic!("expected tokens");
    };
    let ada = AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(&tokens.access_token))
        .await
        .expect("authenticated");
    ManageOrganizations::new(&world.ports, &world.auth_config())
        .create(
            &world.ctx(),
            &ada,
            NewOrganization {
                name: "Acme".to_owned(),
                ..NewOrganization::default()
            },
        )
        .await
        .expect("created");
    let domains = ManageDomains::new(&world.ports);
    let claim = domains
        .add(
            &world.ctx(),
            DomainActor::Member(&ada),
            "acme",
            "example.com",
        )
        .await
        .expect("claimed");
    world.dns.publish(&claim.txt_name, &claim.txt_value);
    domains
        .verify(
            &world.ctx(),
            DomainActor::Member(&ada),
            &claim.id.to_string(),
        )
        .await
        .expect("verified");
    let connection = ManageSsoConnections::new(&world.ports, &settings())
        .create(
            &world.ctx(),
            DomainActor::Member(&ada),
            &ConnectionInput {
                organization_id: Some("acme".to_owned()),
                name: Some("Acme IdP".to_owned()),
                protocol: Some("oidc".to_owned()),
                domains: Some(json!(["example.com"])),
                jit: Some(jit),
                oidc: Some(
                    json!({ "issuer": "https://idp.example.net", "client_id": "app",
                                   "client_secret": "s3cret" }),
                ),
                ..ConnectionInput::default()
            },
        )
        .await
        .expect("connection created");
    (ada, connection.id.to_string(), claim.id.to_string())
}

async fn start(world: &World, sso: &SsoSignIn) -> (Started, String) {
    let started = sso
        .start(
            &world.ctx(),
            StartInput {
                email: Some("someone@example.com".to_owned()),
                // Back to the hosted login page: its tab's state.
                app_state: Some("tab-state".to_owned()),
                ..StartInput::default()
            },
        )
        .await
        .expect("started");
    let state = world.idp.last_state().expect("the IdP was asked");
    (started, state)
}

async fn callback(
    world: &World,
    sso: &SsoSignIn,
    connection: &str,
    state: &str,
    binding: &str,
) -> Result<String, SsoError> {
    sso.callback(
        &world.ctx(),
        CallbackInput {
            connection: connection.to_owned(),
            state: Some(state.to_owned()),
            code: Some("code".to_owned()),
            saml_response: None,
            binding: Some(binding.to_owned()),
            ..CallbackInput::default()
        },
    )
    .await
    .map_err(|f| f.error)
    .map(|landed| match landed {
        Landed::Redirect(location) => location,
        Landed::Tested(result) => panic!("not a test sign-in: {result}"),
    })
}

/// One whole sign-in as the IdP's `subject` with `email` and `groups`.
async fn sign_in_as(
    world: &World,
    sso: &SsoSignIn,
    connection: &str,
    subject: &str,
    email: &str,
    groups: &[&str],
) -> Result<String, SsoError> {
    let (started, state) = start(world, sso).await;
    world
        .idp
        .answer(subject, json!({ "email": email, "groups": groups }));
    callback(world, sso, connection, &state, &started.cookie_value).await
}

async fn memberships(
    world: &World,
    user: UserId,
) -> Vec<authservice_domain::organization::Membership> {
    world
        .ports
        .organizations
        .list_for_user(world.client.id, user)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

async fn user_by_email(world: &World, email: &str) -> Option<authservice_domain::User> {
    use authservice_application::ports::UserRepository;
    world
        .db
        .find_by_email(world.client.id, &Email::parse(email).unwrap())
        .await
        .unwrap()
        .map(|f| f.user)
}

#[tokio::test]
async fn an_sso_attempt_is_bound_to_its_browser_and_used_once() {
    let world = World::new();
    let (_, connection) = acme(&world, true).await;
    let sso = SsoSignIn::new(&world.ports, &settings());

    let (started, state) = start(&world, &sso).await;
    assert!(
        started
            .location
            .starts_with("https://idp.example.net/authorize")
    );
    assert!(started.cookie_name.starts_with("sso_"));
    world
        .idp
        .answer("sub-ann", json!({ "email": "ann@example.com" }));
    // Another browser (no or another cookie) gets nothing, and the attempt is spent.
    let stolen = callback(&world, &sso, &connection, &state, "another-browser").await;
    assert!(matches!(stolen, Err(SsoError::StateInvalid)), "{stolen:?}");
    let late = callback(&world, &sso, &connection, &state, &started.cookie_value).await;
    assert!(matches!(late, Err(SsoError::StateInvalid)), "{late:?}");
    // Another connection's callback cannot finish it either.
    let (started, state) = start(&world, &sso).await;
    let elsewhere = callback(
        &world,
        &sso,
        &uuid::Uuid::now_v7().to_string(),
        &state,
        &started.cookie_value,
    )
    .await;
    assert!(matches!(elsewhere, Err(SsoError::StateInvalid)));

    let landed = sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-ann",
        "ann@example.com",
        &["eng"],
    )
    .await
    .expect("signed in");
    assert!(
        landed.starts_with("https://auth.test/login.html?auth_code="),
        "{landed}"
    );
    assert!(world.events().contains(&"sso.login_failed".to_owned()));
}

#[tokio::test]
async fn jit_users_are_created_only_on_the_verified_domain_and_their_groups_follow_the_idp() {
    let world = World::new();
    let (_, connection) = acme(&world, true).await;
    let sso = SsoSignIn::new(&world.ports, &settings());

    sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-ann",
        "ann@example.com",
        &["eng", "ops"],
    )
    .await
    .expect("provisioned");
    let ann = user_by_email(&world, "ann@example.com")
        .await
        .expect("created");
    assert!(ann.email_verified);
    let orgs = memberships(&world, ann.id).await;
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].role.as_str(), "member");
    assert_eq!(orgs[0].groups[&GroupSource::Sso], ["eng", "ops"]);

    // The identity signs in as Ann whatever address the IdP sends later; groups follow.
    sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-ann",
        "ann.new@example.com",
        &["eng"],
    )
    .await
    .expect("signed in");
    assert!(user_by_email(&world, "ann.new@example.com").await.is_none());
    let orgs = memberships(&world, ann.id).await;
    assert_eq!(orgs[0].groups[&GroupSource::Sso], ["eng"]);
    sign_in_as(&world, &sso, &connection, "sub-ann", "ann@example.com", &[])
        .await
        .expect("signed in");
    assert!(memberships(&world, ann.id).await[0].groups.is_empty());

    // Off the verified domain nobody is created.
    let refused = sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-dan",
        "dan@elsewhere.net",
        &[],
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(SsoError::NotProvisioned("email_domain_not_verified"))
        ),
        "{refused:?}"
    );
    assert!(user_by_email(&world, "dan@elsewhere.net").await.is_none());
    let events = world.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "sso.user_provisioned")
            .count(),
        1
    );
    assert_eq!(events.iter().filter(|e| *e == "sso.login").count(), 2);
}

#[tokio::test]
async fn sso_links_an_account_of_the_verified_domain_but_never_one_elsewhere() {
    let world = World::new();
    let (ada, connection) = acme(&world, false).await;
    let sso = SsoSignIn::new(&world.ports, &settings());
    let mut bob = user();
    bob.id = UserId::from_uuid(uuid::Uuid::now_v7());
    bob.email = Email::parse("bob@elsewhere.net").unwrap();
    world.seed_user(&bob).await;

    let refused = sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-bob",
        "bob@elsewhere.net",
        &[],
    )
    .await;
    assert!(
        matches!(refused, Err(SsoError::AccountConflict)),
        "{refused:?}"
    );
    // With JIT off an unknown person of the domain is not created.
    let refused = sign_in_as(&world, &sso, &connection, "sub-eve", "eve@example.com", &[]).await;
    assert!(matches!(refused, Err(SsoError::NotProvisioned("jit_off"))));

    // Ada's own account (on example.com) is linked, and she keeps her role.
    sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-ada",
        "ada@example.com",
        &["eng"],
    )
    .await
    .expect("linked");
    assert!(world.events().contains(&"sso.identity_linked".to_owned()));
    let orgs = memberships(&world, ada.user.id).await;
    assert_eq!(orgs[0].role.as_str(), "owner");
    assert_eq!(orgs[0].groups[&GroupSource::Sso], ["eng"]);
    // A second identity of the connection cannot take Ada's address over either: it is linked
    // to the same account only through the domain rule, and only one identity per subject.
    sign_in_as(&world, &sso, &connection, "sub-ada", "ada@example.com", &[])
        .await
        .expect("signed in again");
}

#[tokio::test]
async fn an_unproven_account_or_an_address_the_idp_calls_unverified_is_never_linked() {
    let world = World::new();
    let (_, connection) = acme(&world, true).await;
    let sso = SsoSignIn::new(&world.ports, &settings());
    // Someone registered the CEO's address before the organization set SSO up, never verified.
    let mut trap = user();
    trap.id = UserId::from_uuid(uuid::Uuid::now_v7());
    trap.email = Email::parse("ceo@example.com").unwrap();
    trap.email_verified = false;
    world.seed_user(&trap).await;
    let refused = sign_in_as(&world, &sso, &connection, "sub-ceo", "ceo@example.com", &[]).await;
    assert!(
        matches!(refused, Err(SsoError::AccountConflict)),
        "{refused:?}"
    );

    // An IdP that says the address is unverified (its users may edit it) neither links nor
    // creates.
    let (started, state) = start(&world, &sso).await;
    world.idp.answer(
        "sub-eve",
        json!({ "email": "ada@example.com", "email_verified": false }),
    );
    let refused = callback(&world, &sso, &connection, &state, &started.cookie_value).await;
    assert!(
        matches!(refused, Err(SsoError::AccountConflict)),
        "{refused:?}"
    );
    let (started, state) = start(&world, &sso).await;
    world.idp.answer(
        "sub-new",
        json!({ "email": "new@example.com", "email_verified": false }),
    );
    let refused = callback(&world, &sso, &connection, &state, &started.cookie_value).await;
    assert!(
        matches!(
            refused,
            Err(SsoError::NotProvisioned("email_not_verified_by_idp"))
        ),
        "{refused:?}"
    );
    assert!(
        user_by_email(&world, "new@example.com").await.is_none(),
        "nobody was created"
    );
}

#[tokio::test]
async fn a_linked_identity_ends_with_the_domain_and_another_idp_forgets_the_links() {
    use authservice_application::ports::SsoConnectionRepository;
    let world = World::new();
    let (ada, connection, claim) = acme_with_claim(&world, true).await;
    let sso = SsoSignIn::new(&world.ports, &settings());
    sign_in_as(&world, &sso, &connection, "sub-ann", "ann@example.com", &[])
        .await
        .expect("provisioned");
    let id = uuid::Uuid::parse_str(&connection).unwrap();
    assert!(
        world
            .db
            .identity_user(world.client.id, id, "sub-ann")
            .await
            .unwrap()
            .is_some()
    );

    // Another issuer needs its own secret; once changed, the old subjects are forgotten.
    let manage = ManageSsoConnections::new(&world.ports, &settings());
    let moved = ConnectionInput {
        oidc: Some(json!({ "issuer": "https://other-idp.example.net", "client_id": "app" })),
        ..ConnectionInput::default()
    };
    let refused = manage
        .update(&world.ctx(), DomainActor::Member(&ada), &connection, &moved)
        .await;
    assert!(
        refused.is_err(),
        "the sealed secret is not sent to another IdP"
    );
    let moved = ConnectionInput {
        oidc: Some(
            json!({ "issuer": "https://other-idp.example.net", "client_id": "app",
                           "client_secret": "other" }),
        ),
        ..ConnectionInput::default()
    };
    manage
        .update(&world.ctx(), DomainActor::Member(&ada), &connection, &moved)
        .await
        .expect("moved");
    assert!(
        world
            .db
            .identity_user(world.client.id, id, "sub-ann")
            .await
            .unwrap()
            .is_none()
    );
    // Linked again by address (Ann's account is verified, on the verified domain).
    sign_in_as(
        &world,
        &sso,
        &connection,
        "sub-ann-2",
        "ann@example.com",
        &[],
    )
    .await
    .expect("linked again");

    // The organization gives the domain up: its IdP no longer signs Ann in.
    ManageDomains::new(&world.ports)
        .delete(&world.ctx(), DomainActor::Member(&ada), &claim)
        .await
        .expect("domain removed");
    // (The domain no longer routes to it; the connection is started by its id.)
    let started = sso
        .start(
            &world.ctx(),
            StartInput {
                connection: Some(connection.clone()),
                app_state: Some("tab-state".to_owned()),
                ..StartInput::default()
            },
        )
        .await
        .expect("started");
    let state = world.idp.last_state().unwrap();
    world
        .idp
        .answer("sub-ann-2", json!({ "email": "ann@example.com" }));
    let refused = callback(&world, &sso, &connection, &state, &started.cookie_value).await;
    assert!(
        matches!(
            refused,
            Err(SsoError::NotProvisioned("domain_no_longer_verified"))
        ),
        "{refused:?}"
    );
}

/// A stolen access token (no recent sign-in) can neither connect the attacker's provider
/// identity to the account nor disconnect the owner's.
#[tokio::test]
async fn an_old_access_token_cannot_connect_or_disconnect_a_provider() {
    use authservice_application::social::{ConnectedAccounts, ManageSocialProviders};
    let world = World::new();
    let (ada, _) = acme(&world, true).await;
    let admin = world
        .ctx()
        .with_principal(authservice_domain::Principal::Admin(
            authservice_domain::AdminPrincipal::break_glass(),
        ));
    ManageSocialProviders::new(&world.ports, &settings())
        .put(
            &admin,
            &world.client.id.to_string(),
            "google",
            &json!({ "client_id": "g", "client_secret": "s" }),
        )
        .await
        .expect("configured");
    let connected = ConnectedAccounts::new(&world.ports, &settings(), &world.auth_config());
    assert!(
        connected.begin(&ada, "google").await.is_ok(),
        "fresh sign-in"
    );
    world.clock.advance(Duration::from_secs(10 * 60));
    assert!(matches!(
        connected.begin(&ada, "google").await,
        Err(SsoError::ReauthenticationRequired)
    ));
    assert!(matches!(
        connected.disconnect(&world.ctx(), &ada, "google").await,
        Err(SsoError::ReauthenticationRequired)
    ));
}
