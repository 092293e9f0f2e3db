//! SCIM groups and Bulk, without services: group names feed the members' `scim` groups with
//! every change (join, leave, rename, user deletion, group deletion), and Bulk resolves
//! references in any order.

use std::time::Duration;

use authservice_application::auth::{
    AuthenticateUser, AuthenticatedUser, Login, LoginInput, LoginOutcome,
};
use authservice_application::organizations::{
    DirectoryInput, DomainActor, ManageDomains, ManageOrganizations, ManageScimDirectories,
    NewOrganization,
};
use authservice_application::scim::{Scim, ScimError};
use authservice_domain::UserId;
use authservice_domain::organization::{GroupSource, OrganizationId};
use authservice_domain::scim::ScimDirectory;
use authservice_domain::testing::user;
use authservice_test_support::{PASSWORD, World};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// Ada, owner of organization `acme`, which verified `example.com`, and a directory of it.
async fn acme(world: &World) -> (OrganizationId, ScimDirectory, Scim) {
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
    let ada: AuthenticatedUser = AuthenticateUser::new(&world.ports)
        .execute(&world.ctx(), Some(&tokens.access_token))
        .await
        .expect("authenticated");
    let org = ManageOrganizations::new(&world.ports, &world.auth_config())
        .create(
            &world.ctx(),
            &ada,
            NewOrganization {
                name: "Acme".to_owned(),
                ..NewOrganization::default()
            },
        )
        .await
        .expect("created")
        .organization;
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
    let (directory, token) = ManageScimDirectories::new(&world.ports, &world.auth_config())
        .create(
            &world.ctx(),
            DomainActor::Member(&ada),
            &DirectoryInput {
                organization_id: Some("acme".to_owned()),
                name: Some("Okta".to_owned()),
                status: None,
            },
        )
        .await
        .expect("directory");
    let scim = Scim::new(&world.ports, Duration::from_secs(900));
    let authenticated = scim
        .authenticate(&directory.id.to_string(), Some(token.expose_secret()))
        .await
        .expect("the token opens its directory");
    assert_eq!(authenticated.id, directory.id);
    (org.id, directory, scim)
}

/// The account's `scim` groups in the organization.
async fn scim_groups(world: &World, org: OrganizationId, account: UserId) -> Vec<String> {
    world
        .ports
        .organizations
        .member(world.client.id, org, account)
        .await
        .expect("read")
        .expect("a member")
        .membership
        .groups
        .get(&GroupSource::Scim)
        .cloned()
        .unwrap_or_default()
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

#[tokio::test]
async fn group_names_follow_every_change_of_groups_and_users() {
    let world = World::new();
    let (org, dir, scim) = acme(&world).await;
    let ctx = world.ctx();
    let ann = scim
        .create_user(&ctx, &dir, &json!({ "userName": "ann@example.com" }))
        .await
        .expect("ann");
    let bob = scim
        .create_user(&ctx, &dir, &json!({ "userName": "bob@example.com" }))
        .await
        .expect("bob");
    let group = scim
        .create_group(
            &ctx,
            &dir,
            &json!({ "displayName": "Admins", "members": [{ "value": ann.id.to_string() }] }),
        )
        .await
        .expect("group");
    assert_eq!(scim_groups(&world, org, ann.user_id).await, ["Admins"]);
    assert!(scim_groups(&world, org, bob.user_id).await.is_empty());

    let id = group.id.to_string();
    let ops = patch(json!([
        { "op": "add", "path": "members", "value": [{ "value": bob.id.to_string() }] },
        { "op": "remove", "path": format!("members[value eq \"{}\"]", ann.id) },
    ]));
    let changed = scim
        .patch_group(&ctx, &dir, &id, &ops, Some("W/\"1\""))
        .await
        .expect("patched");
    assert_eq!(changed.version, 2);
    assert!(scim_groups(&world, org, ann.user_id).await.is_empty());
    assert_eq!(scim_groups(&world, org, bob.user_id).await, ["Admins"]);
    // A stale version changes nothing.
    let stale = scim
        .patch_group(&ctx, &dir, &id, &ops, Some("W/\"1\""))
        .await;
    assert!(matches!(stale, Err(ScimError::PreconditionFailed)));

    let rename =
        patch(json!([{ "op": "replace", "value": { "id": id, "displayName": "Owners" } }]));
    scim.patch_group(&ctx, &dir, &id, &rename, None)
        .await
        .expect("renamed");
    assert_eq!(scim_groups(&world, org, bob.user_id).await, ["Owners"]);

    // A second group, then bob's deletion: the group loses him, his account its names.
    scim.create_group(
        &ctx,
        &dir,
        &json!({ "displayName": "Sales", "members": [{ "value": bob.id.to_string() }] }),
    )
    .await
    .expect("sales");
    assert_eq!(
        scim_groups(&world, org, bob.user_id).await,
        ["Owners", "Sales"]
    );
    scim.delete_user(&ctx, &dir, &bob.id.to_string(), None)
        .await
        .expect("deleted");
    assert!(scim_groups(&world, org, bob.user_id).await.is_empty());
    let read = scim.get_group(&dir, &id).await.expect("read");
    assert!(read.members.is_empty());

    // Unknown members and taken names are refused; deletion takes the name away.
    let unknown = scim
        .create_group(&ctx, &dir, &json!({ "displayName": "X", "members": [{ "value": uuid::Uuid::now_v7().to_string() }] }))
        .await;
    assert!(
        matches!(unknown, Err(ScimError::Problem(p)) if p.scim_type.as_str() == "invalidValue")
    );
    let taken = scim
        .create_group(&ctx, &dir, &json!({ "displayName": "owners" }))
        .await;
    assert!(matches!(taken, Err(ScimError::Problem(p)) if p.scim_type.as_str() == "uniqueness"));
    scim.patch_group(
        &ctx,
        &dir,
        &id,
        &patch(
            json!([{ "op": "add", "path": "members", "value": [{ "value": ann.id.to_string() }] }]),
        ),
        None,
    )
    .await
    .expect("ann back");
    assert_eq!(scim_groups(&world, org, ann.user_id).await, ["Owners"]);
    scim.delete_group(&ctx, &dir, &id, None)
        .await
        .expect("group deleted");
    assert!(scim_groups(&world, org, ann.user_id).await.is_empty());
}

#[tokio::test]
async fn bulk_resolves_references_in_any_order_and_stops_at_fail_on_errors() {
    let world = World::new();
    let (org, dir, scim) = acme(&world).await;
    let ctx = world.ctx();
    let body = json!({ "Operations": [
        { "method": "PATCH", "path": "/Groups/bulkId:g",
          "data": patch(json!([{ "op": "replace", "path": "displayName", "value": "Team" }])) },
        { "method": "POST", "path": "/Groups", "bulkId": "g",
          "data": { "displayName": "G", "members": [{ "value": "bulkId:u" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "u", "data": { "userName": "cy@example.com" } },
        { "method": "DELETE", "path": "/Users/bulkId:missing" },
    ]});
    let results = scim.bulk(&ctx, &dir, &body).await.expect("applied");
    let seen: Vec<(&str, u16)> = results.iter().map(|r| (r.method, r.status)).collect();
    assert_eq!(
        seen,
        [
            ("POST", 201),
            ("DELETE", 409),
            ("POST", 201),
            ("PATCH", 200)
        ]
    );
    let cy = world
        .ports
        .users
        .find_by_email(
            world.client.id,
            &authservice_domain::Email::parse("cy@example.com").expect("email"),
        )
        .await
        .expect("read")
        .expect("cy")
        .user;
    assert_eq!(scim_groups(&world, org, cy.id).await, ["Team"]);

    let body = json!({ "failOnErrors": 1, "Operations": [
        { "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "nobody" } },
        { "method": "POST", "path": "/Users", "bulkId": "b", "data": { "userName": "di@example.com" } },
    ]});
    let results = scim.bulk(&ctx, &dir, &body).await.expect("applied");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].status, 400);
}

#[tokio::test]
async fn an_address_change_voids_old_links_and_never_holds_up_a_deactivation() {
    use authservice_application::email::{ForgotPassword, ResetPassword, ResetPasswordInput};
    use authservice_domain::UserStatus;

    let world = World::new();
    let (_org, dir, scim) = acme(&world).await;
    let ctx = world.ctx();
    // Ada's own (verified) account joins the directory.
    let ada = scim
        .create_user(&ctx, &dir, &json!({ "userName": "ada@example.com" }))
        .await
        .expect("ada");
    let account = |world: &World| {
        let (ports, client, id) = (world.ports.clone(), world.client.id, ada.user_id);
        async move {
            ports
                .users
                .get(client, id)
                .await
                .expect("read")
                .expect("ada")
                .user
        }
    };
    ForgotPassword::new(&world.ports, &world.mail_config())
        .execute(&ctx, "ada@example.com", None)
        .await
        .expect("sent");
    let reset = world.last_link_token("ada@example.com");
    let id = ada.id.to_string();
    let rename =
        |name: &str| patch(json!([{ "op": "replace", "path": "userName", "value": name }]));
    scim.patch_user(&ctx, &dir, &id, &rename("ada.l@example.com"), None)
        .await
        .expect("moved");
    assert_eq!(account(&world).await.email.as_str(), "ada.l@example.com");
    let voided = ResetPassword::new(&world.ports, &world.auth_config())
        .execute(
            &ctx,
            ResetPasswordInput {
                token: reset,
                new_password: SecretString::from("a brand new passphrase 42"),
            },
            None,
        )
        .await;
    assert!(voided.is_err(), "the link went to the old address");

    // Deactivated with an address it cannot take: deactivated all the same, address kept.
    let ops = patch(json!([
        { "op": "replace", "path": "active", "value": false },
        { "op": "replace", "path": "userName", "value": "ada@elsewhere.test" },
    ]));
    scim.patch_user(&ctx, &dir, &id, &ops, None)
        .await
        .expect("deactivated");
    let now = account(&world).await;
    assert_eq!(now.status, UserStatus::Disabled);
    assert_eq!(now.email.as_str(), "ada.l@example.com");
    // `active` removed: the account stays as it was; set again: enabled.
    let removed = scim
        .patch_user(
            &ctx,
            &dir,
            &id,
            &patch(json!([{ "op": "remove", "path": "active" }])),
            None,
        )
        .await
        .expect("removed");
    assert_eq!(removed.active, None);
    assert_eq!(account(&world).await.status, UserStatus::Disabled);
    let ops = patch(json!([
        { "op": "add", "path": "active", "value": true },
        { "op": "replace", "path": "userName", "value": "ada.l@example.com" },
    ]));
    scim.patch_user(&ctx, &dir, &id, &ops, None)
        .await
        .expect("reactivated");
    assert_eq!(account(&world).await.status, UserStatus::Active);
}
