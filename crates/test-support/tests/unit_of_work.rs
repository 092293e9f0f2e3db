//! Writes across aggregates, without services: an OIDC app's changes and their audit event,
//! a consent forgotten with the app's sessions, and a refused unit that writes nothing.

use authservice_application::oauth::{ConsentError, ManageConsents};
use authservice_application::oidc::{ManageOidcApps, OidcAppInput};
use authservice_application::ports::{Committed, Write};
use authservice_domain::testing::user;
use authservice_domain::{AdminPrincipal, Principal, UserId};
use authservice_test_support::World;
use uuid::Uuid;

fn admin(world: &World) -> authservice_application::RequestCtx {
    world
        .ctx()
        .with_principal(Principal::Admin(AdminPrincipal::break_glass()))
}

fn input() -> OidcAppInput {
    OidcAppInput {
        name: Some("CRM".into()),
        app_type: None,
        redirect_uris: Some(vec!["https://crm.example/cb".into()]),
        post_logout_redirect_uris: None,
        scopes: None,
        grant_types: None,
        token_endpoint_auth_method: None,
        jwks: None,
        first_party: Some(false),
    }
}

#[tokio::test]
async fn a_change_of_auth_method_replaces_the_secret_with_the_fields_under_one_event() {
    let world = World::new();
    let apps = ManageOidcApps::new(&world.ports);
    let client = world.client.id.to_string();
    let created = apps.create(&admin(&world), &client, input()).await.unwrap();
    assert!(created.client_secret.is_some());
    let before = world.events().len();
    let public = apps
        .update(
            &admin(&world),
            &client,
            &created.app.id.to_string(),
            OidcAppInput {
                app_type: Some("public".into()),
                token_endpoint_auth_method: Some("none".into()),
                ..input()
            },
        )
        .await
        .unwrap();
    assert!(public.client_secret.is_none());
    assert_eq!(public.app.secret_prefix, None);
    let events = world.events();
    assert_eq!(
        events.len(),
        before + 1,
        "one event for one change: {events:?}"
    );
    assert_eq!(events.last().map(String::as_str), Some("oidc_app.updated"));
    let (_, hash) = world
        .ports
        .oidc_apps
        .by_public_id(&created.app.public_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, None, "the old secret stops with the change");
}

#[tokio::test]
async fn a_refused_unit_writes_nothing() {
    let world = World::new();
    let apps = ManageOidcApps::new(&world.ports);
    let created = apps
        .create(&admin(&world), &world.client.id.to_string(), input())
        .await
        .unwrap();
    let before = world.events();
    let someone = UserId::from_uuid(Uuid::now_v7());
    let mut gone = created.app.clone();
    gone.id = Uuid::now_v7();
    let event = admin(&world)
        .audit(authservice_domain::EventType::OidcAppUpdated)
        .at(world.clock_now());
    let committed = world
        .ports
        .uow
        .commit(vec![
            Write::Audit(event),
            Write::GrantConsent {
                client: world.client.id,
                user: someone,
                app: created.app.id,
                scopes: vec!["openid".into()],
                at: world.clock_now(),
            },
            Write::UpdateOidcApp(gone),
        ])
        .await
        .unwrap();
    assert_eq!(committed, Committed::Refused(2));
    assert_eq!(world.events(), before, "no audit event from a refused unit");
    let granted = world
        .ports
        .consents
        .list(world.client.id, someone)
        .await
        .unwrap();
    assert!(granted.is_empty());
}

#[tokio::test]
async fn disconnecting_an_app_forgets_the_consent_once_and_records_it() {
    let world = World::new();
    let ada = user();
    world.seed_user(&ada).await;
    let apps = ManageOidcApps::new(&world.ports);
    let created = apps
        .create(&admin(&world), &world.client.id.to_string(), input())
        .await
        .unwrap();
    let granted = world
        .ports
        .uow
        .commit(vec![Write::GrantConsent {
            client: world.client.id,
            user: ada.id,
            app: created.app.id,
            scopes: vec!["openid".into(), "email".into()],
            at: world.clock_now(),
        }])
        .await
        .unwrap();
    assert!(granted.is_all());
    let consents = ManageConsents::new(&world.ports, std::time::Duration::from_secs(900));
    assert_eq!(
        consents.list(&world.client, ada.id).await.unwrap()[0].scopes,
        vec!["openid", "email"]
    );
    consents
        .revoke(&world.ctx(), &world.client, ada.id, &created.app.public_id)
        .await
        .unwrap();
    assert!(
        consents
            .list(&world.client, ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        world.events().last().map(String::as_str),
        Some("oauth.consent_revoked")
    );
    let before = world.events();
    let again = consents
        .revoke(&world.ctx(), &world.client, ada.id, &created.app.public_id)
        .await;
    assert!(matches!(again, Err(ConsentError::NotFound)));
    assert_eq!(world.events(), before, "nothing recorded for nothing done");
}

#[tokio::test]
async fn a_service_accounts_key_cap_and_revocations_write_all_or_nothing() {
    use authservice_application::oauth::{
        KeyInput, ManageServiceAccounts, ServiceAccountError, ServiceAccountInput,
    };
    let world = World::new();
    let accounts = ManageServiceAccounts::new(&world.ports, std::time::Duration::from_secs(900));
    let client = world.client.id.to_string();
    let account = accounts
        .create(
            &admin(&world),
            &client,
            ServiceAccountInput {
                name: Some("billing".into()),
                scopes: Some(vec!["invoices:read".into()]),
                status: None,
            },
        )
        .await
        .unwrap();
    let id = account.id.to_string();
    let mut first = None;
    for _ in 0..authservice_domain::service_account::MAX_KEYS {
        let key = accounts
            .create_key(&admin(&world), &client, &id, KeyInput::default())
            .await
            .unwrap();
        first.get_or_insert(key.key.id);
    }
    let before = world.events();
    let over = accounts
        .create_key(&admin(&world), &client, &id, KeyInput::default())
        .await;
    assert!(matches!(over, Err(ServiceAccountError::TooManyKeys)));
    assert_eq!(world.events(), before, "a refused key records nothing");
    let first = first.unwrap().to_string();
    accounts
        .revoke_key(&admin(&world), &client, &id, &first)
        .await
        .unwrap();
    assert_eq!(
        world.events().last().map(String::as_str),
        Some("service_account.key_revoked")
    );
    let before = world.events();
    let again = accounts
        .revoke_key(&admin(&world), &client, &id, &first)
        .await;
    assert!(matches!(again, Err(ServiceAccountError::KeyNotFound)));
    assert_eq!(world.events(), before);
    // The freed place takes a new key.
    accounts
        .create_key(&admin(&world), &client, &id, KeyInput::default())
        .await
        .unwrap();
}
