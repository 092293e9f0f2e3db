//! Operators find a client's users: by a prefix of the address, the name or the id, by status,
//! verification, second factors and organization, in pages — never another client's.

use reqwest::Method;
use serde_json::{Value, json};

use super::auth_helpers::{key_of, signup};

async fn search(app: &authservice_tests::TestApp, client: &str, query: &str) -> (u16, Value) {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{client}/users?{query}"),
            None,
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn emails(page: &Value) -> Vec<&str> {
    page["users"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_search_a_clients_users_by_prefix_state_factor_and_organization() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("SIGNUP_RATE_LIMIT", "100".to_owned())],
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let (key, client) = (
        key_of(&created),
        created["client"]["id"].as_str().unwrap().to_owned(),
    );
    let (mut ids, mut access) = (Vec::new(), Vec::new());
    for email in [
        "ann@acme.test",
        "anna@acme.test",
        "bob@acme.test",
        "b_x@acme.test",
        "carl@zeta.test",
    ] {
        let body = signup(&app, &key, email).await;
        ids.push(body["user"]["id"].as_str().unwrap().to_owned());
        access.push(body["access_token"].as_str().unwrap().to_owned());
    }
    // Another client's user of the same address is never found here.
    let other = app.new_client().await;
    signup(&app, &key_of(&other), "ann@acme.test").await;
    // Bob has a second factor; Carl is disabled; Anna owns an organization.
    super::mfa::enrol_totp(&app, &key, &access[2]).await;
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{client}/users/{}", ids[4]),
            Some(json!({ "status": "disabled" })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (org_status, org) = super::domains::send(
        &app,
        Method::POST,
        "/api/auth/organizations",
        &key,
        &access[1],
        Some(json!({ "name": "Anna's" })),
    )
    .await;
    assert_eq!(org_status, 201, "{org}");

    let by_org = format!("organization_id={}", org["id"].as_str().unwrap());
    let by_id = format!("q={}", &ids[2][..23]);
    for (query, expected) in [
        (
            "",
            vec![
                "ann@acme.test",
                "anna@acme.test",
                "bob@acme.test",
                "b_x@acme.test",
                "carl@zeta.test",
            ],
        ),
        ("q=ann", vec!["ann@acme.test", "anna@acme.test"]),
        ("q=ANNA", vec!["anna@acme.test"]),
        ("q=b_", vec!["b_x@acme.test"]),
        ("q=%25", vec![]),
        ("status=disabled", vec!["carl@zeta.test"]),
        ("status=active&q=c", vec![]),
        ("has_mfa=true", vec!["bob@acme.test"]),
        ("has_mfa=false&q=b", vec!["b_x@acme.test"]),
        ("email_verified=true", vec![]),
        (by_org.as_str(), vec!["anna@acme.test"]),
        (by_id.as_str(), vec!["bob@acme.test"]),
    ] {
        let (status, page) = search(&app, &client, query).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(emails(&page), expected, "{query}");
    }
    // Pages of two, each user once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let (_, page) = search(&app, &client, &query).await;
        seen.extend(emails(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    // Bad input is a clear 400; another client's path finds nothing of this one.
    for query in [
        "status=gone",
        "has_mfa=maybe",
        "organization_id=nope",
        "limit=0",
        "cursor=zz",
    ] {
        let (status, err) = search(&app, &client, query).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("invalid_request")),
            "{query}: {err}"
        );
    }
    let other_id = other["client"]["id"].as_str().unwrap();
    let (_, page) = search(&app, other_id, "q=ann").await;
    assert_eq!(emails(&page), ["ann@acme.test"]);
    assert_ne!(page["users"][0]["id"], ids[0].as_str());
    // Operators only; audited with the query.
    let res = app
        .http
        .get(app.url(&format!("/api/admin/clients/{client}/users")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let events = app.audit_events("event_type=users.listed").await;
    assert!(
        events.iter().any(|e| e["metadata"]["q"] == "ann"),
        "{events:?}"
    );
}

/// An operator ends every session of a user: refresh stops and the account routes refuse the
/// user's access token; another client's path does not reach the user.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_ends_every_session_of_a_user() {
    let app = authservice_tests::spawn_app().await;
    let created = app.new_client().await;
    let (key, client) = (
        key_of(&created),
        created["client"]["id"].as_str().unwrap().to_owned(),
    );
    let body = signup(&app, &key, "dee@acme.test").await;
    let (user, access, refresh) = (
        body["user"]["id"].as_str().unwrap().to_owned(),
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    );
    let me =
        || super::auth_helpers::call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access));
    assert_eq!(me().await.status(), 200);
    let other = app.new_client().await;
    let res = app
        .admin(
            Method::POST,
            &format!(
                "/api/admin/clients/{}/users/{user}/sessions/revoke",
                other["client"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{client}/users/{user}/sessions/revoke"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = super::auth_helpers::call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({ "refresh_token": refresh })),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let mut status = 0;
    for _ in 0..30 {
        status = me().await.status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "the access token of an ended session");
    let events = app.audit_events("event_type=session.revoked").await;
    assert!(
        events.iter().any(|e| e["metadata"]["by"] == "operator"),
        "{events:?}"
    );
}
