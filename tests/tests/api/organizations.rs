//! Organizations, members and roles over REST (K+B): CRUD, the role × route matrix, another
//! client's key or token, the last-owner rule and recent sign-in for member changes.

use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
use authservice_interfaces::grpc::proto::{ValidateTokenRequest, ValidateTokenResponse};
use authservice_tests::TestApp;
use authservice_tests::smtp::{ReceivedMail, SmtpSink};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::{call, key_of, signup};

/// A signed-up user: (user id, access token).
async fn person(app: &TestApp, key: &str, email: &str) -> (String, String) {
    let body = signup(app, key, email).await;
    (
        body["user"]["id"].as_str().unwrap().to_owned(),
        body["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let res = call(app, method, path, key, body, Some(token)).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create_org(app: &TestApp, key: &str, token: &str, name: &str) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/auth/organizations",
        key,
        token,
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn invite(
    app: &TestApp,
    key: &str,
    token: &str,
    org: &str,
    email: &str,
    role: &str,
) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/auth/organizations/{org}/invitations"),
        key,
        token,
        Some(json!({ "email": email, "role": role })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Seeds a membership directly (invitations are the public way in; this sets up the matrix).
async fn add_member(app: &TestApp, org: &str, user: &str, role: &str) {
    app.execute_sql(&format!(
        "INSERT INTO organization_members (id, organization_id, client_id, user_id, role, joined_at) \
         SELECT '{}', o.id, o.client_id, '{user}', '{role}', now() FROM organizations o WHERE o.id = '{org}'",
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_are_created_listed_read_changed_and_deleted() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (_, token) = person(&app, &key, "owner@example.com").await;

    let org = create_org(&app, &key, &token, "Acme Corp").await;
    assert_eq!(org["slug"], "acme-corp");
    assert_eq!(org["role"], "owner");
    assert_eq!(org["metadata"], json!({}));
    let id = org["id"].as_str().unwrap();

    let (status, list) = send(
        &app,
        Method::GET,
        "/api/auth/organizations",
        &key,
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(list["organizations"][0]["role"], "owner");
    for by in [id, "acme-corp"] {
        let (status, got) = send(
            &app,
            Method::GET,
            &format!("/api/auth/organizations/{by}"),
            &key,
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{by}");
        assert_eq!(got["id"], id);
    }

    let (status, changed) = send(
        &app,
        Method::PATCH,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &token,
        Some(json!({"name": "Acme", "slug": "acme", "metadata": {"plan": "pro"}, "logo_url": "https://cdn.example.com/a.png"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["slug"], "acme");
    assert_eq!(changed["metadata"]["plan"], "pro");
    let (_, cleared) = send(
        &app,
        Method::PATCH,
        "/api/auth/organizations/acme",
        &key,
        &token,
        Some(json!({"logo_url": null})),
    )
    .await;
    assert_eq!(cleared["logo_url"], Value::Null);
    assert_eq!(cleared["metadata"]["plan"], "pro");

    // Bad input: the field is named; a slug is unique per client; ids and slugs are checked.
    create_org(&app, &key, &token, "Globex").await;
    for (body, status, code) in [
        (json!({"slug": "globex"}), 409, "slug_taken"),
        (json!({"metadata": [1]}), 400, "invalid_request"),
        (
            json!({"logo_url": "http://insecure.example.com/a.png"}),
            400,
            "invalid_request",
        ),
        (json!({"name": ""}), 400, "invalid_request"),
        (json!({"owner": "me"}), 400, "invalid_request"),
    ] {
        let (got, err) = send(
            &app,
            Method::PATCH,
            "/api/auth/organizations/acme",
            &key,
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(got.as_u16(), status, "{body}: {err}");
        assert_eq!(err["code"], code, "{body}");
    }
    let (status, err) = send(
        &app,
        Method::GET,
        "/api/auth/organizations/Not%20A%20Slug!",
        &key,
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let unknown = uuid::Uuid::now_v7();
    let (status, err) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{unknown}"),
        &key,
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (404, Some("organization_not_found"))
    );

    let (status, _) = send(
        &app,
        Method::DELETE,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &token,
        None,
    )
    .await;
    assert_eq!(status, 404);
    for event in [
        "organization.created",
        "organization.updated",
        "organization.deleted",
    ] {
        let events = app
            .audit_events(&format!("event_type={event}&target_id={id}"))
            .await;
        assert!(!events.is_empty(), "{event}");
        assert_eq!(events[0]["actor_type"], "user", "{event}");
    }
    let updates = app
        .audit_events(&format!("event_type=organization.updated&target_id={id}"))
        .await;
    // Newest first: the rename came before the logo was cleared.
    assert_eq!(updates.last().unwrap()["before"]["slug"], "acme-corp");
    assert_eq!(updates.last().unwrap()["after"]["slug"], "acme");
}

/// The permissions of each built-in role, as the contract names them.
const ROLES: &[(&str, &[&str])] = &[
    (
        "owner",
        &[
            "org:read",
            "org:update",
            "org:delete",
            "members:read",
            "members:invite",
            "members:update",
            "members:remove",
            "invitations:read",
            "invitations:revoke",
            "authorization:read",
            "authorization:write",
        ],
    ),
    (
        "admin",
        &[
            "org:read",
            "org:update",
            "members:read",
            "members:invite",
            "members:update",
            "members:remove",
            "invitations:read",
            "invitations:revoke",
            "authorization:read",
            "authorization:write",
        ],
    ),
    (
        "member",
        &[
            "org:read",
            "members:read",
            "invitations:read",
            "authorization:read",
        ],
    ),
    ("viewer", &["org:read", "members:read"]),
];

/// Every organization route with the permission it needs (`{org}`, `{target}` — a viewer —,
/// `{invitation}` — a pending one — and `{n}` filled in). The token route needs membership
/// only, which every role has, like `org:read`.
#[rustfmt::skip]
const ROUTES: &[(&str, &str, &str, Option<&str>)] = &[
    ("GET", "/api/auth/organizations/{org}", "org:read", None),
    ("GET", "/api/auth/organizations/{org}/roles", "org:read", None),
    ("PATCH", "/api/auth/organizations/{org}", "org:update", Some(r#"{"metadata": {"touched": true}}"#)),
    ("GET", "/api/auth/organizations/{org}/members", "members:read", None),
    ("PATCH", "/api/auth/organizations/{org}/members/{target}", "members:update", Some(r#"{"role": "member"}"#)),
    ("DELETE", "/api/auth/organizations/{org}/members/{target}", "members:remove", None),
    ("POST", "/api/auth/organizations/{org}/invitations", "members:invite", Some(r#"{"email": "new-{n}@example.com", "role": "viewer"}"#)),
    ("GET", "/api/auth/organizations/{org}/invitations", "invitations:read", None),
    ("POST", "/api/auth/organizations/{org}/invitations/{invitation}/revoke", "invitations:revoke", None),
    ("POST", "/api/auth/organizations/{org}/token", "org:read", None),
    ("GET", "/api/auth/organizations/{org}/security-policy", "org:read", None),
    ("PUT", "/api/auth/organizations/{org}/security-policy", "org:update", Some(r#"{"require_mfa": false}"#)),
    ("GET", "/api/auth/organizations/{org}/authorization/policy", "authorization:read", None),
    ("PUT", "/api/auth/organizations/{org}/authorization/policy", "authorization:write", Some(r#"{"version": 0, "permissions": [{"name": "reports:read"}]}"#)),
    ("GET", "/api/auth/organizations/{org}/authorization/policy/versions", "authorization:read", None),
    ("GET", "/api/auth/organizations/{org}/authorization/group-mappings", "authorization:read", None),
    ("POST", "/api/auth/organizations/{org}/authorization/group-mappings", "authorization:write", Some(r#"{"source": "sso", "group": "G{n}", "role": "viewer"}"#)),
    ("POST", "/api/auth/organizations/{org}/authorization/simulate", "authorization:read", Some(r#"{"role": "viewer", "permission": "org:read"}"#)),
    ("DELETE", "/api/auth/organizations/{org}", "org:delete", None),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_builtin_role_meets_every_route_as_its_permissions_say() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("SIGNUP_RATE_LIMIT", "1000".to_owned()),
            ("EMAIL_IP_RATE_LIMIT", "1000".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "founder@example.com").await;
    for (i, (role, permissions)) in ROLES.iter().enumerate() {
        let (actor_id, actor) = person(&app, &key, &format!("{role}@example.com")).await;
        for (j, (method, path, permission, body)) in ROUTES.iter().enumerate() {
            // A fresh organization per call: the founder owns it, the actor has `role`, and a
            // viewer is the target of member changes.
            let org = create_org(&app, &key, &owner, &format!("Matrix {i} {j}")).await;
            let org_id = org["id"].as_str().unwrap();
            add_member(&app, org_id, &actor_id, role).await;
            let (target_id, _) = person(&app, &key, &format!("target-{i}-{j}@example.com")).await;
            add_member(&app, org_id, &target_id, "viewer").await;
            let mut path = path
                .replace("{org}", org_id)
                .replace("{target}", &target_id);
            if path.contains("{invitation}") {
                let email = format!("pending-{i}-{j}@example.com");
                let invitation = invite(&app, &key, &owner, org_id, &email, "viewer").await;
                path = path.replace("{invitation}", invitation["id"].as_str().unwrap());
            }
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body: Option<Value> =
                body.map(|b| serde_json::from_str(&b.replace("{n}", &format!("{i}-{j}"))).unwrap());
            let (status, answer) = send(&app, method.clone(), &path, &key, &actor, body).await;
            let allowed = permissions.contains(permission);
            if allowed {
                assert!(
                    status.is_success(),
                    "{role} {method} {path}: {status} {answer}"
                );
            } else {
                assert_eq!(status, 403, "{role} {method} {path}: {answer}");
                assert_eq!(answer["code"], "forbidden");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_clients_key_or_token_never_reaches_an_organization() {
    let app = authservice_tests::spawn_app().await;
    let key_a = key_of(&app.new_client().await);
    let key_b = key_of(&app.new_client().await);
    let (owner_id, token_a) = person(&app, &key_a, "a@example.com").await;
    let (_, token_b) = person(&app, &key_b, "b@example.com").await;
    let org = create_org(&app, &key_a, &token_a, "Tenant A").await;
    let org_id = org["id"].as_str().unwrap();
    for (method, path, _, body) in ROUTES {
        for org_ref in [org_id, "tenant-a"] {
            let path = path
                .replace("{org}", org_ref)
                .replace("{target}", &owner_id)
                .replace("{invitation}", &uuid::Uuid::now_v7().to_string());
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body: Option<Value> =
                body.map(|b| serde_json::from_str(&b.replace("{n}", "x")).unwrap());
            // B's key with B's token: A's organization does not exist.
            let (status, answer) =
                send(&app, method.clone(), &path, &key_b, &token_b, body.clone()).await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
            assert_eq!(answer["code"], "organization_not_found");
            // Mixed key and token: refused before anything is looked up.
            for (key, token) in [(&key_b, &token_a), (&key_a, &token_b)] {
                let (status, _) = send(&app, method.clone(), &path, key, token, body.clone()).await;
                assert_eq!(status, 401, "{method} {path}");
            }
        }
    }
    // Slugs are per client: B may have its own "tenant-a", which is not A's.
    let b_org = create_org(&app, &key_b, &token_b, "Tenant A").await;
    assert_eq!(b_org["slug"], "tenant-a");
    let (status, got) = send(
        &app,
        Method::GET,
        "/api/auth/organizations/tenant-a",
        &key_b,
        &token_b,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], b_org["id"]);
    assert_ne!(got["id"], org_id);
    // A's organization is untouched.
    let (status, got) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{org_id}"),
        &key_a,
        &token_a,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got["metadata"], json!({}));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_can_be_neither_removed_nor_demoted_and_nobody_grants_more_than_they_hold() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (owner_id, owner) = person(&app, &key, "owner@example.com").await;
    let (admin_id, admin) = person(&app, &key, "admin@example.com").await;
    let org = create_org(&app, &key, &owner, "Solo").await;
    let id = org["id"].as_str().unwrap();
    let member = |user: &str| format!("/api/auth/organizations/{id}/members/{user}");

    let (status, err) = send(
        &app,
        Method::PATCH,
        &member(&owner_id),
        &key,
        &owner,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (409, Some("last_owner"))
    );
    let (status, err) = send(&app, Method::DELETE, &member("me"), &key, &owner, None).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (409, Some("last_owner"))
    );

    add_member(&app, id, &admin_id, "admin").await;
    // An admin holds neither `org:delete` nor so every owner permission: no owner can be made
    // or unmade by them.
    let (status, _) = send(
        &app,
        Method::PATCH,
        &member(&admin_id),
        &key,
        &admin,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        &app,
        Method::PATCH,
        &member(&owner_id),
        &key,
        &admin,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(&app, Method::DELETE, &member(&owner_id), &key, &admin, None).await;
    assert_eq!(status, 403);
    let (status, err) = send(
        &app,
        Method::PATCH,
        &member(&admin_id),
        &key,
        &owner,
        Some(json!({"role": "janitor"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (422, Some("role_not_found"))
    );
    let (status, err) = send(
        &app,
        Method::PATCH,
        &member("not-a-uuid"),
        &key,
        &owner,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let stranger = uuid::Uuid::now_v7();
    let (status, err) = send(
        &app,
        Method::PATCH,
        &member(&stranger.to_string()),
        &key,
        &owner,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (404, Some("member_not_found"))
    );

    // With a second owner, the first may step down and leave.
    let (status, promoted) = send(
        &app,
        Method::PATCH,
        &member(&admin_id),
        &key,
        &owner,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["role"], "owner");
    let (status, _) = send(
        &app,
        Method::PATCH,
        &member(&owner_id),
        &key,
        &owner,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(&app, Method::DELETE, &member("me"), &key, &owner, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let changed = app
        .audit_events(&format!(
            "event_type=organization.member_role_changed&target_id={id}"
        ))
        .await;
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0]["before"]["role"], "owner");
    assert_eq!(changed[0]["after"]["role"], "viewer");
    assert_eq!(
        app.audit_events(&format!(
            "event_type=organization.member_left&target_id={id}"
        ))
        .await
        .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn members_are_listed_in_pages_with_their_profile() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let org = create_org(&app, &key, &owner, "Crowd").await;
    let id = org["id"].as_str().unwrap();
    for n in 0..3 {
        let (user, _) = person(&app, &key, &format!("m{n}@example.com")).await;
        add_member(&app, id, &user, "member").await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = send(
            &app,
            Method::GET,
            &format!("/api/auth/organizations/{id}/members?limit=2{cursor}"),
            &key,
            &owner,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        for m in page["members"].as_array().unwrap() {
            assert_eq!(m["display_name"], "Ada Lovelace");
            assert!(m["joined_at"].is_string());
            seen.push(m["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "owner@example.com",
            "m0@example.com",
            "m1@example.com",
            "m2@example.com"
        ]
    );
    let (status, err) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{id}/members?cursor=nope"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_access_token_cannot_remove_members_or_delete_the_organization() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("REAUTH_MAX_AGE", "2s".to_owned())],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let (member_id, _) = person(&app, &key, "member@example.com").await;
    let org = create_org(&app, &key, &owner, "Guarded").await;
    let id = org["id"].as_str().unwrap();
    add_member(&app, id, &member_id, "member").await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/auth/organizations/{id}/members/{member_id}"),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::DELETE,
            format!("/api/auth/organizations/{id}/members/{member_id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/auth/organizations/{id}"),
            None,
        ),
        // Bringing in a second owner, or changing what roles and groups mean, too.
        (
            Method::POST,
            format!("/api/auth/organizations/{id}/invitations"),
            Some(json!({"email": "accomplice@example.com", "role": "owner"})),
        ),
        (
            Method::PUT,
            format!("/api/auth/organizations/{id}/authorization/policy"),
            Some(json!({"version": 0, "roles": [{"name": "ops", "inherits": ["owner"]}]})),
        ),
        (
            Method::POST,
            format!("/api/auth/organizations/{id}/authorization/group-mappings"),
            Some(json!({"source": "sso", "group": "Everyone", "role": "owner"})),
        ),
        (
            Method::PUT,
            format!("/api/auth/organizations/{id}/security-policy"),
            Some(json!({"require_mfa": false})),
        ),
    ] {
        let (status, err) = send(&app, method.clone(), &path, &key, &owner, body).await;
        assert_eq!(status, 401, "{method} {path}");
        assert_eq!(err["code"], "reauthentication_required");
    }
    // Inviting a plain member does not need it.
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &owner,
        Some(json!({"email": "colleague@example.com", "role": "member"})),
    )
    .await;
    assert_eq!(status, 201);
    // Reading and renaming stay possible.
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &owner,
        Some(json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(status, 200);
}

/// Signs `email` up and verifies the address through the emailed link.
async fn verified_person(
    app: &TestApp,
    sink: &SmtpSink,
    key: &str,
    email: &str,
) -> (String, String) {
    let (id, token) = person(app, key, email).await;
    let mail = mail_to(sink, email, "/verify-email.html").await;
    let link_token = mail.query_param("/verify-email.html", "token");
    let res = app
        .http
        .post(app.url("/api/auth/verify-email"))
        .json(&json!({ "token": link_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    (id, token)
}

/// The newest message to `rcpt` with a link containing `needle`.
async fn mail_to(sink: &SmtpSink, rcpt: &str, needle: &str) -> ReceivedMail {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(mail) = sink
            .messages_to(rcpt)
            .into_iter()
            .rev()
            .find(|m| m.text.contains(needle))
        {
            return mail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail to {rcpt} with {needle}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn accept(
    app: &TestApp,
    key: &str,
    token: &str,
    invitation_token: &str,
) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/api/auth/organization-invitations/accept",
        key,
        token,
        Some(json!({ "token": invitation_token })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_is_emailed_accepted_once_and_refused_when_expired_revoked_or_misaddressed() {
    let sink = SmtpSink::start().await;
    let mut env = authservice_tests::smtp_env(sink.port());
    env.push(("SIGNUP_RATE_LIMIT", "1000".to_owned()));
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env,
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let org = create_org(&app, &key, &owner, "Initech").await;
    let id = org["id"].as_str().unwrap();
    let (_, bob) = verified_person(&app, &sink, &key, "bob@example.com").await;
    let (_, eve) = verified_person(&app, &sink, &key, "eve@example.com").await;

    // Bad input first.
    for (body, status, code) in [
        (
            json!({"email": "bob@example.com", "role": "janitor"}),
            422,
            "role_not_found",
        ),
        (
            json!({"email": "not an address", "role": "member"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": "bob@example.com", "role": "member", "expires_in_days": 31}),
            400,
            "invalid_request",
        ),
    ] {
        let (got, err) = send(
            &app,
            Method::POST,
            &format!("/api/auth/organizations/{id}/invitations"),
            &key,
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (got.as_u16(), err["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }

    let invitation = invite(&app, &key, &owner, id, "bob@example.com", "admin").await;
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["role"], "admin");
    assert!(invitation.get("token").is_none());
    let mail = mail_to(&sink, "bob@example.com", "/accept-invitation.html").await;
    assert!(mail.subject.contains("Initech"), "{}", mail.subject);
    assert!(
        mail.text.contains("as admin") && mail.text.contains("7 days"),
        "{}",
        mail.text
    );
    let token = mail.query_param("/accept-invitation.html", "token");

    // Someone else's account cannot use it; an unknown token is unknown.
    let (status, err) = accept(&app, &key, &eve, &token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (403, Some("invitation_email_mismatch"))
    );
    let (status, err) = accept(&app, &key, &bob, &"0".repeat(64)).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (404, Some("invitation_not_found"))
    );

    let (status, joined) = accept(&app, &key, &bob, &token).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["id"], id);
    assert_eq!(joined["role"], "admin");
    let (status, err) = accept(&app, &key, &bob, &token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (409, Some("invitation_already_accepted"))
    );
    let (status, err) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &owner,
        Some(json!({"email": "bob@example.com", "role": "member"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (409, Some("already_member"))
    );
    // Bob, an admin, cannot invite an owner.
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &bob,
        Some(json!({"email": "x@example.com", "role": "owner"})),
    )
    .await;
    assert_eq!(status, 403);

    // Revoked: the token stops working at once.
    let (_, carol) = verified_person(&app, &sink, &key, "carol@example.com").await;
    let revoked = invite(&app, &key, &owner, id, "carol@example.com", "member").await;
    let carol_token = mail_to(&sink, "carol@example.com", "/accept-invitation.html")
        .await
        .query_param("/accept-invitation.html", "token");
    let (status, answer) = send(
        &app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{id}/invitations/{}/revoke",
            revoked["id"].as_str().unwrap()
        ),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "revoked");
    let (status, err) = accept(&app, &key, &carol, &carol_token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (410, Some("invitation_revoked"))
    );

    // Expired.
    let (_, dave) = verified_person(&app, &sink, &key, "dave@example.com").await;
    invite(&app, &key, &owner, id, "dave@example.com", "member").await;
    let dave_token = mail_to(&sink, "dave@example.com", "/accept-invitation.html")
        .await
        .query_param("/accept-invitation.html", "token");
    app.execute_sql("UPDATE organization_invitations SET expires_at = now() - interval '1 minute' WHERE email = 'dave@example.com'")
        .await
        .unwrap();
    let (status, err) = accept(&app, &key, &dave, &dave_token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (410, Some("invitation_expired"))
    );

    // An address not yet verified cannot accept; another client's key never finds it.
    let (_, frank) = person(&app, &key, "frank@example.com").await;
    invite(&app, &key, &owner, id, "frank@example.com", "member").await;
    let frank_token = mail_to(&sink, "frank@example.com", "/accept-invitation.html")
        .await
        .query_param("/accept-invitation.html", "token");
    let (status, err) = accept(&app, &key, &frank, &frank_token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (403, Some("email_not_verified"))
    );
    let other_key = key_of(&app.new_client().await);
    let (_, frank_elsewhere) = person(&app, &other_key, "frank@example.com").await;
    let (status, err) = accept(&app, &other_key, &frank_elsewhere, &frank_token).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (404, Some("invitation_not_found"))
    );

    let (status, list) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let statuses: Vec<&str> = list["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "revoked", "expired", "pending"]);
    for event in [
        "organization.invitation_created",
        "organization.invitation_revoked",
        "organization.invitation_accepted",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}&target_id={id}"))
                .await
                .is_empty(),
            "{event}"
        );
    }
}

/// The claims of `token` as PyJWT reads them against the client's live JWKS.
fn pyjwt_claims(app: &TestApp, client_id: &str, token: &str) -> Value {
    let output = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
        .arg(app.url(&format!("/.well-known/jwks.json?client_id={client_id}")))
        .arg(token)
        .arg("http://localhost:8080")
        .arg(client_id)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "PyJWT rejected the token: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

async fn validate(app: &TestApp, token: &str, key: &str) -> ValidateTokenResponse {
    let mut grpc = TokenServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    grpc.validate_token(ValidateTokenRequest {
        access_token: token.to_owned(),
        api_key: key.to_owned(),
    })
    .await
    .unwrap()
    .into_inner()
}

/// The refusal of `token` once it comes (within 2 s, the documented delay).
async fn refused_soon(app: &TestApp, token: &str, key: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let verdict = validate(app, token, key).await;
        if !verdict.valid {
            return verdict.error;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "still valid"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn org_token(app: &TestApp, key: &str, token: &str, org: &str) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/auth/organizations/{org}/token"),
        key,
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_token_carries_the_membership_and_is_refused_once_it_ends_or_changes() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await;
    let (client_id, key) = (
        client["client"]["id"].as_str().unwrap().to_owned(),
        key_of(&client),
    );
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let (bob_id, bob) = person(&app, &key, "bob@example.com").await;
    let org = create_org(&app, &key, &owner, "Umbrella").await;
    let id = org["id"].as_str().unwrap();
    add_member(&app, id, &bob_id, "member").await;

    let issued = org_token(&app, &key, &bob, "umbrella").await;
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["organization"]["role"], "member");
    let token = issued["access_token"].as_str().unwrap();
    let claims = pyjwt_claims(&app, &client_id, token);
    assert_eq!(claims["sub"], bob_id);
    assert_eq!(claims["org_id"], id);
    assert_eq!(claims["org_slug"], "umbrella");
    assert_eq!(claims["org_role"], "member");
    assert_eq!(
        claims["org_permissions"],
        json!([
            "authorization:read",
            "enterprise:read",
            "invitations:read",
            "members:read",
            "org:read"
        ])
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=300).contains(&lifetime), "{lifetime}");
    let verdict = validate(&app, token, &key).await;
    assert!(verdict.valid, "{}", verdict.error);
    assert_eq!(
        (verdict.org_id.as_str(), verdict.org_role.as_str()),
        (id, "member")
    );
    assert!(verdict.org_permissions.contains(&"members:read".to_owned()));
    // It is an access token of Bob's session too.
    let (status, _) = send(
        &app,
        Method::GET,
        "/api/auth/organizations",
        &key,
        token,
        None,
    )
    .await;
    assert_eq!(status, 200);

    // A role change makes it stale; removal and deletion end it.
    let member = format!("/api/auth/organizations/{id}/members/{bob_id}");
    send(
        &app,
        Method::PATCH,
        &member,
        &key,
        &owner,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(refused_soon(&app, token, &key).await, "membership_changed");
    let viewer_token = org_token(&app, &key, &bob, id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        pyjwt_claims(&app, &client_id, &viewer_token)["org_role"],
        "viewer"
    );
    assert!(validate(&app, &viewer_token, &key).await.valid);
    let (status, _) = send(&app, Method::DELETE, &member, &key, &owner, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        refused_soon(&app, &viewer_token, &key).await,
        "membership_ended"
    );
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/token"),
        &key,
        &bob,
        None,
    )
    .await;
    assert_eq!(status, 404);

    let owner_token = org_token(&app, &key, &owner, id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(validate(&app, &owner_token, &key).await.valid);
    send(
        &app,
        Method::DELETE,
        &format!("/api/auth/organizations/{id}"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(
        refused_soon(&app, &owner_token, &key).await,
        "membership_ended"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_security_policy_gates_org_tokens_and_invitations() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let org = create_org(&app, &key, &owner, "Strict").await;
    let id = org["id"].as_str().unwrap();
    let path = format!("/api/auth/organizations/{id}/security-policy");
    let (status, policy) = send(&app, Method::GET, &path, &key, &owner, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        policy,
        json!({"require_mfa": false, "allowed_email_domains": [], "session_max_hours": null})
    );
    for (body, field) in [
        (json!({"require_mfa": "yes"}), "require_mfa"),
        (json!({"session_max_hours": 0}), "session_max_hours"),
        (
            json!({"allowed_email_domains": ["not a domain"]}),
            "allowed_email_domains",
        ),
        (json!({"owner_only": true}), "owner_only"),
    ] {
        let (status, err) = send(&app, Method::PUT, &path, &key, &owner, Some(body.clone())).await;
        assert_eq!(
            (status.as_u16(), err["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
        assert!(err.to_string().contains(field), "{body}: {err}");
    }
    let (status, policy) = send(
        &app,
        Method::PUT,
        &path,
        &key,
        &owner,
        Some(json!({"require_mfa": true, "allowed_email_domains": ["Example.com"], "session_max_hours": 8})),
    )
    .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["allowed_email_domains"], json!(["example.com"]));

    let (status, err) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/token"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (403, Some("mfa_required"))
    );
    let invite_to = |email: &str| json!({"email": email, "role": "member"});
    let (status, err) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &owner,
        Some(invite_to("x@other.org")),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (422, Some("email_domain_blocked"))
    );
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/auth/organizations/{id}/invitations"),
        &key,
        &owner,
        Some(invite_to("x@example.com")),
    )
    .await;
    assert_eq!(status, 201);
    let changes = app
        .audit_events(&format!(
            "event_type=organization.security_policy_updated&target_id={id}"
        ))
        .await;
    assert_eq!(changes[0]["after"]["require_mfa"], true);
    assert_eq!(changes[0]["before"]["require_mfa"], false);
}

async fn put_policy(
    app: &TestApp,
    key: &str,
    token: &str,
    org: &str,
    if_match: Option<&str>,
    body: Value,
) -> (StatusCode, Value, Option<String>) {
    let mut req = app
        .http
        .put(app.url(&format!(
            "/api/auth/organizations/{org}/authorization/policy"
        )))
        .header("X-API-Key", key)
        .bearer_auth(token)
        .json(&body);
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().await.unwrap_or(Value::Null), etag)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_policy_is_versioned_validated_and_its_roles_are_assignable() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let (bob_id, bob) = person(&app, &key, "bob@example.com").await;
    let org = create_org(&app, &key, &owner, "Policy Co").await;
    let id = org["id"].as_str().unwrap();
    add_member(&app, id, &bob_id, "viewer").await;
    let path = format!("/api/auth/organizations/{id}/authorization/policy");
    let (status, policy) = send(&app, Method::GET, &path, &key, &owner, None).await;
    assert_eq!(status, 200);
    assert_eq!(policy["version"], 0);

    let billing = json!({
        "permissions": [{"name": "billing:read", "description": "See invoices"}, {"name": "billing:write"}],
        "roles": [{"name": "billing", "permissions": ["billing:read", "billing:write"], "inherits": ["viewer"]}],
    });
    let (status, err, _) = put_policy(&app, &key, &owner, id, None, billing.clone()).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, v1, etag) =
        put_policy(&app, &key, &owner, id, Some("\"0\""), billing.clone()).await;
    assert_eq!(status, 200, "{v1}");
    assert_eq!(
        (v1["version"].as_u64(), etag.as_deref()),
        (Some(1), Some("\"1\""))
    );
    // Optimistic concurrency: the same base version again is a conflict.
    let (status, err, _) = put_policy(&app, &key, &owner, id, Some("\"0\""), billing.clone()).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (409, Some("conflict"))
    );

    for (body, reason) in [
        (
            json!({"roles": [{"name": "x", "permissions": ["nope:read"]}]}),
            "unknown_permission",
        ),
        (
            json!({"roles": [{"name": "a", "inherits": ["b"]}, {"name": "b", "inherits": ["a"]}]}),
            "inheritance_cycle",
        ),
        (
            json!({"roles": [{"name": "a", "inherits": ["ghost"]}]}),
            "unknown_role",
        ),
        (
            json!({"roles": [{"name": "admin", "permissions": []}]}),
            "builtin_name",
        ),
        (
            json!({"permissions": [{"name": "billing:read"}, {"name": "billing:read"}]}),
            "duplicate",
        ),
        (
            json!({"permissions": [{"name": "org:archive"}]}),
            "malformed",
        ),
        (json!({"permissions": [{"name": "reports:*"}]}), "malformed"),
    ] {
        let (status, err, _) = put_policy(&app, &key, &owner, id, Some("1"), body.clone()).await;
        assert_eq!(
            (status.as_u16(), err["code"].as_str()),
            (422, Some("invalid_policy")),
            "{body}"
        );
        assert_eq!(err["details"]["reason"], reason, "{body}: {err}");
    }

    let (_, roles) = send(
        &app,
        Method::GET,
        &format!("/api/auth/organizations/{id}/roles"),
        &key,
        &owner,
        None,
    )
    .await;
    let custom = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "billing")
        .unwrap()
        .clone();
    assert_eq!(custom["builtin"], false);
    assert_eq!(
        custom["permissions"],
        json!(["billing:read", "billing:write", "members:read", "org:read"])
    );
    let member = format!("/api/auth/organizations/{id}/members/{bob_id}");
    let (status, changed) = send(
        &app,
        Method::PATCH,
        &member,
        &key,
        &owner,
        Some(json!({"role": "billing"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let token = org_token(&app, &key, &bob, id).await;
    assert!(
        token["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("billing:write"))
    );

    // A role still assigned cannot go; a new version that keeps it can.
    let (status, err, _) = put_policy(
        &app,
        &key,
        &owner,
        id,
        Some("1"),
        json!({"permissions": billing["permissions"]}),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["details"]["reason"].as_str()),
        (422, Some("role_in_use"))
    );
    let mut v2 = billing.clone();
    v2["permissions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "reports:read"}));
    v2["version"] = json!(1);
    let (status, _, etag) = put_policy(&app, &key, &owner, id, None, v2).await;
    assert_eq!((status.as_u16(), etag.as_deref()), (200, Some("\"2\"")));
    let (_, versions) = send(
        &app,
        Method::GET,
        &format!("{path}/versions"),
        &key,
        &owner,
        None,
    )
    .await;
    let numbers: Vec<u64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let (status, old) = send(
        &app,
        Method::GET,
        &format!("{path}/versions/1"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(old["permissions"].as_array().unwrap().len(), 2);
    let (status, _) = send(
        &app,
        Method::GET,
        &format!("{path}/versions/9"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // A viewer may not read the policy; an admin could.
    let (status, _) = send(&app, Method::GET, &path, &key, &bob, None).await;
    assert_eq!(status, 403);
    assert_eq!(
        app.audit_events(&format!(
            "event_type=organization.policy_updated&target_id={id}"
        ))
        .await
        .len(),
        2
    );

    // An admin may define roles within what they hold, never one reaching beyond it.
    let (admin_id, admin) = person(&app, &key, "admin@example.com").await;
    add_member(&app, id, &admin_id, "admin").await;
    let mut grow = billing.clone();
    grow["permissions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "reports:read"}));
    grow["roles"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "ops", "inherits": ["owner"]}));
    let (status, err, _) = put_policy(&app, &key, &admin, id, Some("2"), grow).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (403, Some("forbidden"))
    );

    // A policy change that alters what Bob's role means makes his organization token stale.
    let bob_token = org_token(&app, &key, &bob, id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(validate(&app, &bob_token, &key).await.valid);
    let mut v3 = billing.clone();
    v3["permissions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "reports:read"}));
    v3["roles"][0]["permissions"]
        .as_array_mut()
        .unwrap()
        .push(json!("reports:read"));
    let (status, body, _) = put_policy(&app, &key, &owner, id, Some("2"), v3).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        refused_soon(&app, &bob_token, &key).await,
        "membership_changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn group_mappings_extend_permissions_and_the_simulator_explains_why() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await;
    let (client_id, key) = (
        client["client"]["id"].as_str().unwrap().to_owned(),
        key_of(&client),
    );
    let (_, owner) = person(&app, &key, "owner@example.com").await;
    let (bob_id, bob) = person(&app, &key, "bob@example.com").await;
    let org = create_org(&app, &key, &owner, "Mapped").await;
    let id = org["id"].as_str().unwrap();
    add_member(&app, id, &bob_id, "viewer").await;
    let (status, _, _) = put_policy(
        &app,
        &key,
        &owner,
        id,
        Some("0"),
        json!({"permissions": [{"name": "reports:read"}]}),
    )
    .await;
    assert_eq!(status, 200);
    // The groups SSO or SCIM will feed, set by an operator meanwhile.
    let res = app
        .admin(
            Method::PUT,
            &format!("/api/admin/clients/{client_id}/organizations/{id}/members/{bob_id}/groups"),
            Some(json!({"sso": ["Analysts"]})),
        )
        .await;
    assert_eq!(res.status(), 200);

    let mappings = format!("/api/auth/organizations/{id}/authorization/group-mappings");
    let (status, analysts) = send(
        &app,
        Method::POST,
        &mappings,
        &key,
        &owner,
        Some(json!({"source": "sso", "group": "Analysts", "permissions": ["reports:read"]})),
    )
    .await;
    assert_eq!(status, 201, "{analysts}");
    let (status, admins) = send(
        &app,
        Method::POST,
        &mappings,
        &key,
        &owner,
        Some(json!({"source": "scim", "group": "Admins", "role": "admin"})),
    )
    .await;
    assert_eq!(status, 201, "{admins}");
    for (body, status, code) in [
        (
            json!({"source": "sso", "group": "Analysts", "role": "member"}),
            409,
            "conflict",
        ),
        (
            json!({"source": "sso", "group": "X", "permissions": ["nope:read"]}),
            422,
            "invalid_policy",
        ),
        (
            json!({"source": "ldap", "group": "X", "role": "member"}),
            400,
            "invalid_request",
        ),
        (
            json!({"source": "sso", "group": "X"}),
            400,
            "invalid_request",
        ),
        (
            json!({"source": "sso", "group": "X", "role": "janitor"}),
            422,
            "role_not_found",
        ),
    ] {
        let (got, err) = send(
            &app,
            Method::POST,
            &mappings,
            &key,
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (got.as_u16(), err["code"].as_str()),
            (status, Some(code)),
            "{body}: {err}"
        );
    }
    let (_, listed) = send(&app, Method::GET, &mappings, &key, &owner, None).await;
    assert_eq!(listed["group_mappings"].as_array().unwrap().len(), 2);

    let simulate = |body: Value| {
        let (app, key, owner) = (&app, &key, &owner);
        async move {
            let (status, answer) = send(
                app,
                Method::POST,
                &format!("/api/auth/organizations/{id}/authorization/simulate"),
                key,
                owner,
                Some(body),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            answer
        }
    };
    let answer = simulate(json!({"user_id": bob_id, "permission": "reports:read"})).await;
    assert_eq!(answer["allowed"], true);
    assert_eq!(
        answer["granted_by"],
        json!([{"type": "group_mapping", "id": analysts["id"], "name": "Analysts"}])
    );
    assert_eq!(answer["policy_version"], 1);
    let answer = simulate(json!({"user_id": bob_id, "permission": "members:read"})).await;
    assert_eq!(
        answer["granted_by"],
        json!([{"type": "role", "name": "viewer"}])
    );
    let answer = simulate(
        json!({"role": "member", "groups": {"scim": ["Admins"]}, "permission": "members:invite"}),
    )
    .await;
    assert_eq!(answer["granted_by"][0]["type"], "group_mapping");
    let answer = simulate(json!({"role": "viewer", "permission": "org:update"})).await;
    assert_eq!(
        (
            answer["allowed"].as_bool(),
            answer["granted_by"].as_array().unwrap().len()
        ),
        (Some(false), 0)
    );
    // What the simulator says is what the member gets.
    let token = org_token(&app, &key, &bob, id).await;
    assert!(
        token["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("reports:read"))
    );

    let one = format!("{mappings}/{}", analysts["id"].as_str().unwrap());
    let (status, err) = send(
        &app,
        Method::PATCH,
        &one,
        &key,
        &owner,
        Some(json!({"permissions": []})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = send(&app, Method::DELETE, &one, &key, &owner, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = send(&app, Method::DELETE, &one, &key, &owner, None).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str()),
        (404, Some("group_mapping_not_found"))
    );
    let answer = simulate(json!({"user_id": bob_id, "permission": "reports:read"})).await;
    assert_eq!(answer["allowed"], false);
    let (status, _) = send(&app, Method::GET, &mappings, &key, &bob, None).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_see_a_clients_organizations_and_set_a_members_groups() {
    let app = authservice_tests::spawn_app().await;
    let (a, b) = (app.new_client().await, app.new_client().await);
    let (a_id, key_a) = (a["client"]["id"].as_str().unwrap().to_owned(), key_of(&a));
    let key_b = key_of(&b);
    let (owner_id, owner) = person(&app, &key_a, "owner@example.com").await;
    let (_, other) = person(&app, &key_b, "other@example.com").await;
    let org = create_org(&app, &key_a, &owner, "Visible").await;
    let id = org["id"].as_str().unwrap();
    create_org(&app, &key_a, &owner, "Also Visible").await;
    let b_org = create_org(&app, &key_b, &other, "Elsewhere").await;

    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{a_id}/organizations?limit=1"),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["organizations"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{a_id}/organizations?cursor={cursor}"),
            None,
        )
        .await;
    let second: Value = res.json().await.unwrap();
    let names: Vec<&str> = first["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["organizations"].as_array().unwrap())
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Visible", "Also Visible"]);

    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{a_id}/organizations/{id}/members"),
            None,
        )
        .await;
    let members: Value = res.json().await.unwrap();
    assert_eq!(members["members"][0]["email"], "owner@example.com");
    assert_eq!(members["members"][0]["role"], "owner");
    let groups = format!("/api/admin/clients/{a_id}/organizations/{id}/members/{owner_id}/groups");
    let res = app
        .admin(
            Method::PUT,
            &groups,
            Some(json!({"sso": ["Eng"], "scim": ["All"]})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let member: Value = res.json().await.unwrap();
    assert_eq!(member["groups"], json!({"sso": ["Eng"], "scim": ["All"]}));
    let res = app
        .admin(Method::PUT, &groups, Some(json!({"ldap": ["x"]})))
        .await;
    assert_eq!(res.status(), 400);
    // Another client's organization does not exist under this client.
    let b_id = b_org["id"].as_str().unwrap();
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{a_id}/organizations/{b_id}/members"),
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url(&format!("/api/admin/clients/{a_id}/organizations")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let set = app
        .audit_events(&format!(
            "event_type=organization.member_groups_set&target_id={id}"
        ))
        .await;
    assert_eq!(set[0]["after"]["sso"], json!(["Eng"]));
    assert_eq!(set[0]["actor_type"], "admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_with_enterprise_read_see_their_organizations_events_only() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let (_, owner) = person(&app, &key, "owner@acme.example").await;
    let (member_id, member) = person(&app, &key, "member@acme.example").await;
    let (_, outsider) = person(&app, &key, "owner@other.example").await;
    let acme = create_org(&app, &key, &owner, "Acme").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = create_org(&app, &key, &outsider, "Other").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/auth/organizations/{acme}"),
        &key,
        &owner,
        Some(json!({ "name": "Acme Inc" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    invite(&app, &key, &owner, &acme, "new@acme.example", "member").await;
    add_member(&app, &acme, &member_id, "viewer").await;
    let path = format!("/api/auth/organizations/{acme}/audit-events");

    let (status, body) = send(&app, Method::GET, &path, &key, &owner, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for expected in [
        "organization.created",
        "organization.updated",
        "organization.invitation_created",
    ] {
        assert!(types.contains(&expected), "{expected} missing: {types:?}");
    }
    assert!(
        events
            .iter()
            .all(|e| e["ip"].is_null() && e["user_agent"].is_null()),
        "no one's IP or user agent: {body}"
    );
    assert!(
        !body.to_string().contains(&other),
        "another organization's events: {body}"
    );
    let (_, filtered) = send(
        &app,
        Method::GET,
        &format!("{path}?event_type=organization.updated"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(
        filtered["events"].as_array().unwrap().len(),
        1,
        "{filtered}"
    );

    // A viewer lacks enterprise:read; someone of another organization sees nothing.
    let (status, _) = send(&app, Method::GET, &path, &key, &member, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, Method::GET, &path, &key, &outsider, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
