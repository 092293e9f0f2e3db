//! Organizations, without services: the last-owner rule, granting only what one holds, and the
//! security policy's gates on organization tokens.

use std::time::Duration;

use authservice_application::auth::{
    AuthenticateUser, AuthenticatedUser, IssuedTokens, Login, LoginInput, LoginOutcome,
    RefreshSession, RefreshSessionInput,
};
use authservice_application::organizations::{
    IssueOrgToken, ManageMembers, ManageOrganizations, NewOrganization, OrgError,
};
use authservice_domain::UserId;
use authservice_domain::testing::user;
use authservice_test_support::{PASSWORD, World};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

async fn sign_in(world: &World, email: &str) -> IssuedTokens {
    let outcome = Login::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            LoginInput {
                email: email.to_owned(),
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

async fn caller(world: &World, access_token: &str) -> AuthenticatedUser {
    AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(access_token))
        .await
        .expect("the access token authenticates")
}

/// Ada, signed in, owning a new organization `acme`.
async fn founder(world: &World) -> (IssuedTokens, AuthenticatedUser) {
    world.seed_user(&user()).await;
    let tokens = sign_in(world, "ada@example.com").await;
    let ada = caller(world, &tokens.access_token).await;
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
    (tokens, ada)
}

#[tokio::test]
async fn the_only_owner_can_be_neither_demoted_nor_removed() {
    let world = World::new();
    let (_, ada) = founder(&world).await;
    let members = ManageMembers::new(&world.ports, &world.auth_config());
    let me = ada.user.id.to_string();
    let demoted = members
        .change_role(&world.ctx(), &ada, "acme", &me, "admin")
        .await;
    assert!(matches!(demoted, Err(OrgError::LastOwner)), "{demoted:?}");
    let left = members.remove(&world.ctx(), &ada, "acme", "me").await;
    assert!(matches!(left, Err(OrgError::LastOwner)), "{left:?}");
    let unknown = members
        .change_role(
            &world.ctx(),
            &ada,
            "acme",
            &UserId::from_uuid(uuid::Uuid::now_v7()).to_string(),
            "admin",
        )
        .await;
    assert!(
        matches!(unknown, Err(OrgError::MemberNotFound)),
        "{unknown:?}"
    );
    let role = members
        .change_role(&world.ctx(), &ada, "acme", &me, "janitor")
        .await;
    assert!(matches!(role, Err(OrgError::RoleNotFound)), "{role:?}");
}

#[tokio::test]
async fn an_org_token_needs_a_second_factor_and_a_recent_sign_in_when_the_policy_says_so() {
    let world = World::new();
    let (tokens, ada) = founder(&world).await;
    let orgs = ManageOrganizations::new(&world.ports, &world.auth_config());
    let issue = IssueOrgToken::new(&world.ports, &world.auth_config());
    let token = issue
        .execute(&world.ctx(), &ada, "acme")
        .await
        .expect("a member's token");
    assert_eq!(token.organization.role.as_str(), "owner");
    assert!(token.permissions.contains("org:delete"));

    orgs.set_security_policy(&world.ctx(), &ada, "acme", &json!({"session_max_hours": 1}))
        .await
        .expect("policy");
    // Two hours on, the session is refreshed (auth_time does not move): too old for a token.
    world.clock.advance(Duration::from_secs(2 * 3600));
    let refreshed = RefreshSession::new(&world.ports, &world.auth_config())
        .execute(
            &world.ctx(),
            RefreshSessionInput {
                refresh_token: Some(SecretString::from(tokens.refresh_token.expose_secret())),
            },
        )
        .await
        .expect("refreshed");
    let later = caller(&world, &refreshed.access_token).await;
    let old = issue.execute(&world.ctx(), &later, "acme").await;
    assert!(
        matches!(old, Err(OrgError::ReauthenticationRequired)),
        "{old:?}"
    );

    // A fresh sign-in passes that gate; require_mfa then wants a second factor.
    let fresh = caller(
        &world,
        &sign_in(&world, "ada@example.com").await.access_token,
    )
    .await;
    orgs.set_security_policy(&world.ctx(), &fresh, "acme", &json!({"require_mfa": true}))
        .await
        .expect("policy");
    let no_factor = issue.execute(&world.ctx(), &fresh, "acme").await;
    assert!(
        matches!(no_factor, Err(OrgError::MfaRequired)),
        "{no_factor:?}"
    );
}

#[tokio::test]
async fn a_domain_claim_is_verified_only_by_its_own_txt_record_and_once_per_client() {
    use authservice_application::organizations::{DomainActor, ManageDomains};
    let world = World::new();
    let (_, ada) = founder(&world).await;
    let domains = ManageDomains::new(&world.ports);
    let ctx = world.ctx();
    let claim = domains
        .add(&ctx, DomainActor::Member(&ada), "acme", "Acme.example")
        .await
        .expect("claimed");
    assert_eq!(claim.domain, "acme.example");
    let id = claim.id.to_string();
    let refused = domains
        .verify(&ctx, DomainActor::Member(&ada), &id)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, OrgError::DomainNotVerified { .. }),
        "{refused:?}"
    );
    world
        .dns
        .publish(&claim.txt_name, "authservice-domain-verification=nope");
    assert!(
        domains
            .verify(&ctx, DomainActor::Member(&ada), &id)
            .await
            .is_err()
    );
    world.dns.publish(&claim.txt_name, &claim.txt_value);
    let verified = domains
        .verify(&ctx, DomainActor::Member(&ada), &id)
        .await
        .expect("verified");
    assert_eq!(
        verified.status,
        authservice_domain::organization::DomainStatus::Verified
    );
    assert!(
        world
            .events()
            .contains(&"organization.domain_verified".to_owned())
    );

    // A second organization of the client cannot claim it any more.
    let mut grace = user();
    grace.id = UserId::from_uuid(uuid::Uuid::now_v7());
    grace.email = authservice_domain::Email::parse("grace@example.com").unwrap();
    world.seed_user(&grace).await;
    let tokens = sign_in(&world, "grace@example.com").await;
    let grace = caller(&world, &tokens.access_token).await;
    ManageOrganizations::new(&world.ports, &world.auth_config())
        .create(
            &world.ctx(),
            &grace,
            NewOrganization {
                name: "Globex".to_owned(),
                ..NewOrganization::default()
            },
        )
        .await
        .expect("created");
    let taken = domains
        .add(&ctx, DomainActor::Member(&grace), "globex", "acme.example")
        .await
        .unwrap_err();
    assert!(matches!(taken, OrgError::DomainTaken), "{taken:?}");
    // Nor see or remove Acme's claim.
    let hidden = domains
        .delete(&ctx, DomainActor::Member(&grace), &id)
        .await
        .unwrap_err();
    assert!(matches!(hidden, OrgError::DomainNotFound), "{hidden:?}");
}

#[tokio::test]
async fn a_taken_slug_refuses_the_whole_unit() {
    let world = World::new();
    let (_, ada) = founder(&world).await;
    let before = world.events();
    let again = ManageOrganizations::new(&world.ports, &world.auth_config())
        .create(
            &world.ctx(),
            &ada,
            NewOrganization {
                name: "Acme".to_owned(),
                ..NewOrganization::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(again, OrgError::SlugTaken), "{again:?}");
    assert_eq!(world.events(), before, "nothing recorded");
    assert_eq!(
        ManageOrganizations::new(&world.ports, &world.auth_config())
            .list(&ada)
            .await
            .unwrap()
            .len(),
        1,
        "and no second organization or membership"
    );
}
