//! SCIM 2.0: directories (members with `enterprise:write`, operators) and the protocol at
//! `/scim/v2/{directory}` with the directory's token.

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::{key_of, signup};
use super::domains::{admin, owner_of, send};

pub(crate) const DIRECTORIES: &str = "/api/auth/enterprise-onboarding/scim-directories";

/// A client with organization "Acme" and its owner: (app, API key, client id, owner's token,
/// organization id).
pub(crate) async fn acme_with(
    env: Vec<(&'static str, String)>,
) -> (TestApp, String, String, String, String) {
    let app = spawn_app_with(AppOptions {
        env,
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client = created["client"]["id"].as_str().unwrap().to_owned();
    let (owner, org) = owner_of(&app, &key, "owner@acme.test", "Acme").await;
    (app, key, client, owner, org)
}

/// A SCIM request with a directory token: (status, body, content type).
pub(crate) async fn scim(
    app: &TestApp,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = app.http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        kind,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn scim_directories_are_managed_by_members_with_enterprise_write_and_by_operators() {
    let (app, key, client, owner, org) = acme_with(Vec::new()).await;
    let (status, created) = send(
        &app,
        Method::POST,
        DIRECTORIES,
        &key,
        &owner,
        Some(json!({ "organization_id": org, "name": "Okta" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("scim_") && token.len() == 69, "{token}");
    assert_eq!(created["organization_id"], org.as_str());
    assert_eq!(created["status"], "active");
    assert_eq!(created["token_prefix"], &token[..16]);
    let base = created["base_url"].as_str().unwrap().to_owned();
    assert!(base.ends_with(&format!("/scim/v2/{id}")), "{base}");

    // The token is shown once; reads show its prefix only.
    let (status, read) = send(
        &app,
        Method::GET,
        &format!("{DIRECTORIES}/{id}"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("token").is_none());
    assert_eq!(read["name"], "Okta");
    let (_, list) = send(
        &app,
        Method::GET,
        &format!("{DIRECTORIES}?organization_id={org}"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(list["scim_directories"].as_array().unwrap().len(), 1);
    assert!(list["scim_directories"][0].get("token").is_none());

    // The token opens the directory's SCIM endpoints.
    let url = format!("{}/scim/v2/{id}/ServiceProviderConfig", app.address);
    let (status, config, kind) = scim(&app, Method::GET, &url, &token, None).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(kind, "application/scim+json");
    assert_eq!(
        config["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    // Renamed; bad fields refused.
    let (status, renamed) = send(
        &app,
        Method::PATCH,
        &format!("{DIRECTORIES}/{id}"),
        &key,
        &owner,
        Some(json!({ "name": "Okta (prod)" })),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Okta (prod)"))
    );
    for body in [
        json!({ "name": "" }),
        json!({ "status": "paused" }),
        json!({ "organization_id": org }),
        json!({ "token": "scim_mine" }),
    ] {
        let (status, err) = send(
            &app,
            Method::PATCH,
            &format!("{DIRECTORIES}/{id}"),
            &key,
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {err}");
    }

    // A plain member of the organization sees no directory; neither does another client.
    let (member_token, member_id) = {
        let body = signup(&app, &key, "member@acme.test").await;
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    };
    app.execute_sql(&format!(
        "INSERT INTO organization_members (id, organization_id, client_id, user_id, role, joined_at) \
         VALUES ('{}', '{org}', '{client}', '{member_id}', 'member', now())",
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap();
    for (method, path) in [
        (Method::GET, format!("{DIRECTORIES}/{id}")),
        (Method::PATCH, format!("{DIRECTORIES}/{id}")),
        (Method::POST, format!("{DIRECTORIES}/{id}/rotate-token")),
    ] {
        let (status, err) = send(&app, method, &path, &key, &member_token, Some(json!({}))).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{path}"
        );
    }
    let (status, _) = send(
        &app,
        Method::POST,
        DIRECTORIES,
        &key,
        &member_token,
        Some(json!({ "organization_id": org, "name": "Mine" })),
    )
    .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let other = app.new_client().await;
    let other_client = other["client"]["id"].as_str().unwrap();
    let (status, _) = admin(
        &app,
        Method::GET,
        &format!("/api/admin/clients/{other_client}/scim-directories/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Operators: list the client's directories, add one, disable one.
    let admin_base = format!("/api/admin/clients/{client}/scim-directories");
    let (status, list) = admin(&app, Method::GET, &admin_base, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["scim_directories"].as_array().unwrap().len(), 1);
    let (status, second) = admin(
        &app,
        Method::POST,
        &admin_base,
        Some(json!({ "organization_id": org, "name": "Entra ID" })),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert!(second["token"].as_str().unwrap().starts_with("scim_"));
    let (status, disabled) = admin(
        &app,
        Method::PATCH,
        &format!("{admin_base}/{}", second["id"].as_str().unwrap()),
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(
        (status, disabled["status"].as_str()),
        (200, Some("disabled"))
    );

    for event in ["scim_directory.created", "scim_directory.updated"] {
        let events = app.audit_events(&format!("event_type={event}")).await;
        assert_eq!(events.len(), 2, "{event}");
        assert!(
            !events.iter().any(|e| e.to_string().contains(&token)),
            "no token in {event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_token_opens_only_its_directory_and_stops_at_rotation_or_when_disabled() {
    let (app, key, _client, owner, org) = acme_with(Vec::new()).await;
    let mut dirs = Vec::new();
    for name in ["A", "B"] {
        let (status, d) = send(
            &app,
            Method::POST,
            DIRECTORIES,
            &key,
            &owner,
            Some(json!({ "organization_id": org, "name": name })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        dirs.push((
            d["id"].as_str().unwrap().to_owned(),
            d["token"].as_str().unwrap().to_owned(),
        ));
    }
    let config = |dir: &str| format!("{}/scim/v2/{dir}/ServiceProviderConfig", app.address);
    let refused = |(status, body, kind): (u16, Value, String), expected: u16| {
        assert_eq!(status, expected, "{body}");
        assert_eq!(kind, "application/scim+json", "{body}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(body["status"], expected.to_string());
    };
    let (a, a_token) = &dirs[0];
    let (b, b_token) = &dirs[1];
    // Each token opens its own directory only; no token, another token or a made-up one: 401.
    assert_eq!(
        scim(&app, Method::GET, &config(a), a_token, None).await.0,
        200
    );
    refused(
        scim(&app, Method::GET, &config(a), b_token, None).await,
        401,
    );
    refused(
        scim(&app, Method::GET, &config(b), a_token, None).await,
        401,
    );
    refused(
        scim(
            &app,
            Method::GET,
            &config(a),
            &format!("scim_{}", "0".repeat(64)),
            None,
        )
        .await,
        401,
    );
    refused(
        scim(&app, Method::GET, &config("not-a-uuid"), a_token, None).await,
        401,
    );
    let res = app.http.get(config(a)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"scim\"");
    // The API key is no SCIM token.
    refused(scim(&app, Method::GET, &config(a), &key, None).await, 401);
    // Unknown SCIM paths answer in SCIM's error schema (after the token).
    refused(
        scim(
            &app,
            Method::GET,
            &format!("{}/scim/v2/{a}/Nope", app.address),
            a_token,
            None,
        )
        .await,
        404,
    );
    refused(
        scim(
            &app,
            Method::GET,
            &format!("{}/scim/v2/{a}/Nope", app.address),
            b_token,
            None,
        )
        .await,
        401,
    );

    // Rotation: the old token stops at once, the new one works.
    let (status, rotated) = send(
        &app,
        Method::POST,
        &format!("{DIRECTORIES}/{a}/rotate-token"),
        &key,
        &owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_token = rotated["token"].as_str().unwrap();
    assert_ne!(new_token, a_token);
    refused(
        scim(&app, Method::GET, &config(a), a_token, None).await,
        401,
    );
    assert_eq!(
        scim(&app, Method::GET, &config(a), new_token, None).await.0,
        200
    );
    assert_eq!(
        app.audit_events("event_type=scim_directory.token_rotated")
            .await
            .len(),
        1
    );

    // Disabled: refused until enabled again.
    for (status, expected) in [("disabled", 403), ("active", 200)] {
        let (s, _) = send(
            &app,
            Method::PATCH,
            &format!("{DIRECTORIES}/{a}"),
            &key,
            &owner,
            Some(json!({ "status": status })),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let answer = scim(&app, Method::GET, &config(a), new_token, None).await;
        if expected == 200 {
            assert_eq!(answer.0, 200);
        } else {
            refused(answer, expected);
        }
    }
    // The directory records its identity provider's calls.
    let (_, read) = send(
        &app,
        Method::GET,
        &format!("{DIRECTORIES}/{a}"),
        &key,
        &owner,
        None,
    )
    .await;
    assert!(read["last_sync_at"].is_string(), "{read}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_access_token_cannot_mint_a_scim_token() {
    // REAUTH_MAX_AGE of 5 s stands in for the 5 minutes an attacker waits out.
    let (app, key, _client, owner, org) =
        acme_with(vec![("REAUTH_MAX_AGE", "5s".to_owned())]).await;
    let (status, created) = send(
        &app,
        Method::POST,
        DIRECTORIES,
        &key,
        &owner,
        Some(json!({ "organization_id": org, "name": "Okta" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(6500)).await;
    for (path, body) in [
        (
            DIRECTORIES.to_owned(),
            Some(json!({ "organization_id": org, "name": "Mine" })),
        ),
        (format!("{DIRECTORIES}/{id}/rotate-token"), None),
    ] {
        let (status, err) = send(&app, Method::POST, &path, &key, &owner, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("reauthentication_required")),
            "{path}"
        );
    }
    // Renaming mints nothing and needs no recent sign-in.
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("{DIRECTORIES}/{id}"),
        &key,
        &owner,
        Some(json!({ "name": "Okta 2" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_adds_a_scim_directory_shows_its_token_once_and_rotates_it_in_chromium() {
    use super::pages::{click, fill, ok, sees};
    let s = super::sso::acme().await;
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &s.app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Test App").await;
    sees(&mut b, "SCIM directories").await;
    sees(&mut b, "No SCIM directories yet.").await;
    fill(&mut b, "Directory name", "Okta provisioning").await;
    click(&mut b, "Add SCIM directory").await;
    sees(&mut b, "shown only now").await;
    let shown = ok(
        &mut b,
        json!({ "op": "text", "selector": ".as-directory-list ~ * .as-secret, .as-secret" }),
    )
    .await;
    let token = shown["text"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|t| t.starts_with("scim_"))
        .expect("the token is shown")
        .to_owned();
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "accessibility: {axe}");

    let list = format!("/api/admin/clients/{}/scim-directories", s.client_id);
    let (_, page) = admin(&s.app, Method::GET, &list, None).await;
    let dir = page["scim_directories"][0].clone();
    assert_eq!(dir["name"], "Okta provisioning");
    let config = format!(
        "{}/scim/v2/{}/ServiceProviderConfig",
        s.app.address,
        dir["id"].as_str().unwrap()
    );
    assert_eq!(
        scim(&s.app, Method::GET, &config, &token, None).await.0,
        200
    );

    // A new token from the portal: the old one stops.
    click(&mut b, "New token: Okta provisioning").await;
    let mut old_status = 0;
    for _ in 0..100 {
        old_status = scim(&s.app, Method::GET, &config, &token, None).await.0;
        if old_status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(old_status, 401, "the old token still works");
    let mut new_token = String::new();
    for _ in 0..50 {
        let shown = ok(&mut b, json!({ "op": "text", "selector": ".as-secret" })).await;
        if let Some(t) = shown["text"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|t| t.starts_with("scim_") && *t != token)
        {
            new_token = t.to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        scim(&s.app, Method::GET, &config, &new_token, None).await.0,
        200,
        "the page shows the new token"
    );
    click(&mut b, "Disable: Okta provisioning").await;
    sees(&mut b, "Enable").await;
    // "Enable" may be another card's button: wait for the change itself.
    let mut status = Value::Null;
    for _ in 0..50 {
        let (_, page) = admin(&s.app, Method::GET, &list, None).await;
        status = page["scim_directories"][0]["status"].clone();
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "disabled");
    b.close().await;
}

/// Each directory has its own request budget (`SCIM_RATE_LIMIT`): over it, 429 in SCIM's
/// error schema with `Retry-After`; another directory is not affected.
#[tokio::test(flavor = "multi_thread")]
async fn each_directory_is_rate_limited_on_its_own() {
    let (app, key, _client, owner, org) =
        acme_with(vec![("SCIM_RATE_LIMIT", "3/1m".to_owned())]).await;
    let mut dirs = Vec::new();
    for name in ["A", "B"] {
        let (status, d) = send(
            &app,
            Method::POST,
            DIRECTORIES,
            &key,
            &owner,
            Some(json!({ "organization_id": org, "name": name })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        dirs.push((
            d["id"].as_str().unwrap().to_owned(),
            d["token"].as_str().unwrap().to_owned(),
        ));
    }
    let config = |dir: &str| format!("{}/scim/v2/{dir}/ServiceProviderConfig", app.address);
    let (a, a_token) = &dirs[0];
    for _ in 0..3 {
        assert_eq!(
            scim(&app, Method::GET, &config(a), a_token, None).await.0,
            200
        );
    }
    let res = app
        .http
        .get(config(a))
        .bearer_auth(a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(body["status"], "429");
    let (b, b_token) = &dirs[1];
    assert_eq!(
        scim(&app, Method::GET, &config(b), b_token, None).await.0,
        200
    );
}

/// An organization admin (who has `enterprise:write`) cannot mint a directory token, or point
/// an SSO connection at an IdP, while group mappings of that source grant more than they may
/// grant: whoever holds the token puts anyone — themselves — in any group.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_gain_owner_through_a_directory_or_a_connection() {
    let (app, key, client, owner, org) = acme_with(Vec::new()).await;
    let body = signup(&app, &key, "admin@acme.test").await;
    let (admin_token, admin_id) = (
        body["access_token"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().to_owned(),
    );
    app.execute_sql(&format!(
        "INSERT INTO organization_members (id, organization_id, client_id, user_id, role, joined_at) \
         VALUES ('{}', '{org}', '{client}', '{admin_id}', 'admin', now())",
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap();
    let create = |token: &str| {
        let (app, key, org, token) = (&app, &key, &org, token.to_owned());
        async move {
            send(
                app,
                Method::POST,
                DIRECTORIES,
                key,
                &token,
                Some(json!({ "organization_id": org, "name": "Okta" })),
            )
            .await
        }
    };
    // Without mappings the admin may.
    let (status, first) = create(&admin_token).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mappings = format!("/api/auth/organizations/{org}/authorization/group-mappings");
    for (source, group) in [("scim", "Owners"), ("sso", "Owners")] {
        let (status, mapping) = send(
            &app,
            Method::POST,
            &mappings,
            &key,
            &owner,
            Some(json!({ "source": source, "group": group, "role": "owner" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{mapping}");
    }
    let (status, err) = create(&admin_token).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{err}"
    );
    let rotate = format!(
        "{DIRECTORIES}/{}/rotate-token",
        first["id"].as_str().unwrap()
    );
    let (status, _) = send(&app, Method::POST, &rotate, &key, &admin_token, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, Method::POST, &rotate, &key, &owner, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = send(&app, Method::POST, "/api/auth/enterprise-onboarding/sso-connections", &key, &admin_token,
        Some(json!({ "organization_id": org, "name": "Mine", "protocol": "oidc",
                     "oidc": { "issuer": "https://idp.example.net", "client_id": "a", "client_secret": "s" } }))).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{err}"
    );
    // The owner, who can grant it all, may.
    let (status, _) = create(&owner).await;
    assert_eq!(status, StatusCode::CREATED);
}
