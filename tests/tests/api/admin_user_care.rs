//! Operators look after one user: the whole account, profile and address changes (the new
//! address is verified by the user), a second-factor reset (the user is emailed, sessions end),
//! emailed links, an export for access requests, and an erasure that removes the personal data
//! and keeps the audit trail with a pseudonym.

use std::time::Duration;

use authservice_tests::smtp::SmtpSink;
use authservice_tests::{AppOptions, TestApp, smtp_env, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{call, key_of, signup};
use crate::mfa::enrol_totp;

async fn app_with_mail() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let mut env = smtp_env(sink.port());
    env.push(("SIGNUP_RATE_LIMIT", "100".to_owned()));
    let app = spawn_app_with(AppOptions {
        env,
        ..Default::default()
    })
    .await;
    (app, sink)
}

pub(crate) async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let res = app.admin(method, path, body).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn operators_read_reset_change_and_export_a_user() {
    let (app, sink) = app_with_mail().await;
    let created = app.new_client().await;
    let (key, client) = (
        key_of(&created),
        created["client"]["id"].as_str().unwrap().to_owned(),
    );
    let ada = signup(&app, &key, "ada@example.com").await;
    let id = ada["user"]["id"].as_str().unwrap().to_owned();
    let access = ada["access_token"].as_str().unwrap().to_owned();
    enrol_totp(&app, &key, &access).await;
    let user_path = format!("/api/admin/clients/{client}/users/{id}");

    let (status, detail) = admin(&app, Method::GET, &user_path, None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["email"], "ada@example.com");
    assert_eq!(detail["second_factors"]["totp"], true, "{detail}");
    assert!(
        detail["second_factors"]["recovery_codes"]["unused"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(!detail["sessions"].as_array().unwrap().is_empty());
    assert!(
        detail["recent_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event_type"] == "mfa.totp_enabled")
    );
    assert_eq!(detail["organizations"], json!([]));
    let text = detail.to_string();
    assert!(
        !text.contains("password") && !text.contains("secret"),
        "{detail}"
    );

    // Second factors reset: TOTP, recovery codes and passkeys gone, sessions ended, user told.
    let (status, body) = admin(&app, Method::POST, &format!("{user_path}/mfa/reset"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, detail) = admin(&app, Method::GET, &user_path, None).await;
    assert_eq!(detail["second_factors"]["totp"], false);
    assert_eq!(detail["second_factors"]["recovery_codes"]["total"], 0);
    assert_eq!(detail["sessions"], json!([]));
    let me = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let notice = sink
        .wait_for_text("ada@example.com", "the passkeys of your", WAIT)
        .await;
    assert!(
        notice.subject.contains("second factors"),
        "{}",
        notice.subject
    );
    let reset = app.audit_events("event_type=user.mfa_reset").await;
    assert_eq!(reset[0]["actor_type"], "admin");
    assert_eq!(reset[0]["user_id"], json!(id));

    // A new address is the user's to prove: a link goes there, and it is unverified until then.
    let (status, changed) = admin(
        &app,
        Method::PATCH,
        &user_path,
        Some(json!({ "display_name": "Grace Hopper", "email": "grace@example.com" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["email"], "grace@example.com");
    assert_eq!(changed["email_verified"], false);
    assert_eq!(changed["display_name"], "Grace Hopper");
    let link = sink.wait_for_rcpt("grace@example.com", WAIT).await;
    let told = sink
        .wait_for_text("ada@example.com", "changed the address", WAIT)
        .await;
    assert!(told.subject.contains("address"), "{}", told.subject);
    assert!(link.link("verify").contains("token="), "{}", link.text);
    let updated = app.audit_events("event_type=user.updated").await;
    assert_eq!(updated[0]["before"]["email"], "ada@example.com");
    assert_eq!(updated[0]["after"]["email"], "grace@example.com");
    let (status, body) = admin(
        &app,
        Method::PATCH,
        &user_path,
        Some(json!({ "email": "not-an-address" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("{user_path}/resend-verification"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, verified) = admin(
        &app,
        Method::PATCH,
        &user_path,
        Some(json!({ "email_verified": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["email_verified"], true);
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{user_path}/resend-verification"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "email_already_verified");

    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("{user_path}/send-password-reset"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reset_mail = sink.wait_for_text("grace@example.com", "reset", WAIT).await;
    assert!(reset_mail.link("reset").contains("token="));

    // The export: the account, its factors, its events; never a secret.
    let res = app
        .admin(Method::GET, &format!("{user_path}/export"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["email"], "grace@example.com");
    assert!(
        export["audit_events"].as_array().unwrap().len() >= 5,
        "{export}"
    );
    assert!(export["consents"].is_array());
    assert!(
        !app.audit_events("event_type=user.exported")
            .await
            .is_empty()
    );
    let (status, events) = admin(
        &app,
        Method::GET,
        &format!("/api/admin/audit-events?user_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == json!(id))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_user_removes_the_personal_data_and_keeps_a_pseudonymous_trail() {
    let (app, _sink) = app_with_mail().await;
    let created = app.new_client().await;
    let (key, client) = (
        key_of(&created),
        created["client"]["id"].as_str().unwrap().to_owned(),
    );
    let bob = signup(&app, &key, "bob@example.com").await;
    let id = bob["user"]["id"].as_str().unwrap().to_owned();
    let access = bob["access_token"].as_str().unwrap().to_owned();
    let user_path = format!("/api/admin/clients/{client}/users/{id}");

    // The last owner of an organization is not erased (the organization would be orphaned).
    let org = call(
        &app,
        Method::POST,
        "/api/auth/organizations",
        &key,
        Some(json!({ "name": "Bob Co" })),
        Some(&access),
    )
    .await;
    assert_eq!(org.status(), StatusCode::CREATED);
    let (status, body) = admin(&app, Method::DELETE, &user_path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "last_owner");
    let org: Value = org.json().await.unwrap();
    let org_id = org["id"]
        .as_str()
        .or_else(|| org["organization"]["id"].as_str())
        .unwrap()
        .to_owned();
    app.execute_sql(&format!("DELETE FROM organizations WHERE id = '{org_id}'"))
        .await
        .unwrap();

    let (status, erased) = admin(&app, Method::DELETE, &user_path, None).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    let pseudonym = erased["pseudonym"].as_str().unwrap().to_owned();
    assert_ne!(pseudonym, id);
    let (status, _) = admin(&app, Method::GET, &user_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let me = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // Nothing in the trail names the person; their events remain, under the pseudonym.
    let count = |sql: String| {
        let app = &app;
        async move { app.query_text(&sql).await[0].clone() }
    };
    assert_eq!(
        count(format!("SELECT count(*)::text AS value FROM audit_events WHERE user_id = '{id}' OR target_id = '{id}' OR actor_id = '{id}'")).await,
        "0"
    );
    assert_eq!(
        count("SELECT count(*)::text AS value FROM audit_events WHERE concat(metadata::text, before::text, after::text, ip, user_agent) ILIKE '%bob@example.com%'".to_owned()).await,
        "0"
    );
    assert_ne!(
        count(format!(
            "SELECT count(*)::text AS value FROM audit_events WHERE user_id = '{pseudonym}'"
        ))
        .await,
        "0"
    );
    assert_eq!(
        count(format!(
            "SELECT count(*)::text AS value FROM users WHERE id = '{id}'"
        ))
        .await,
        "0"
    );
    assert_eq!(
        count(
            "SELECT count(*)::text AS value FROM email_outbox WHERE recipient = 'bob@example.com'"
                .to_owned()
        )
        .await,
        "0"
    );
    let erasure = app.audit_events("event_type=user.erased").await;
    assert_eq!(erasure[0]["target_id"], json!(pseudonym));
    // The address is free again.
    let again = signup(&app, &key, "bob@example.com").await;
    assert!(again["user"]["id"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_filters_by_several_types_and_exports_csv_without_formulas() {
    let app = authservice_tests::spawn_app().await;
    let created = app.new_client().await;
    let (key, client) = (
        key_of(&created),
        created["client"]["id"].as_str().unwrap().to_owned(),
    );
    signup(&app, &key, "carol@example.com").await;
    // A value a spreadsheet would run as a formula.
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{client}/users?q=%3D1%2B1"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let (status, types) = admin(&app, Method::GET, "/api/admin/event-types", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"users.listed") && names.contains(&"audit.exported"),
        "{names:?}"
    );

    let (status, both) = admin(
        &app,
        Method::GET,
        &format!(
            "/api/admin/audit-events?client_id={client}&event_type=users.listed,client.created"
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    let mut seen: Vec<&str> = both["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, ["client.created", "users.listed"]);

    let res = app
        .admin(Method::GET, &format!("/api/admin/audit-events/export?format=csv&client_id={client}&event_type=users.listed"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,occurred_at,client_id")
    );
    let row = lines.next().unwrap();
    assert!(row.contains("users.listed"), "{row}");
    // The metadata cell starts with `{`, so it is not defused; a cell that would start with
    // `=` is: no field of the row starts a formula.
    assert!(
        !row.split("\",\"")
            .any(|f| f.trim_start_matches('"').starts_with('=')),
        "{row}"
    );
    let (status, body) = admin(
        &app,
        Method::GET,
        "/api/admin/audit-events/export?format=xml",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        !app.audit_events("event_type=audit.exported")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_purges_old_events_but_never_those_under_a_legal_hold() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let held_user = uuid::Uuid::new_v4();
    // Four events past the default retention (2555 days): one of them about `held_user`.
    app.execute_sql(&format!(
        "INSERT INTO audit_events (id, occurred_at, client_id, user_id, event_type, actor_type, metadata) VALUES \
         (gen_random_uuid(), now() - interval '3000 days', '{client}', '{held_user}', 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '3000 days', '{client}', NULL, 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '2900 days', '{client}', NULL, 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '2600 days', NULL, NULL, 'admin.auth_failed', 'anonymous', '{{}}')"
    ))
    .await
    .unwrap();
    let (status, hold) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/legal-hold",
        Some(json!({ "client_id": client, "user_id": held_user, "reason": "litigation 2026-114" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/legal-hold",
        Some(json!({ "client_id": client, "reason": "" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A dry run by default: it counts and deletes nothing.
    let (status, dry) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/retention/purge",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (
            dry["older"].as_u64(),
            dry["held"].as_u64(),
            dry["deleted"].as_u64()
        ),
        (Some(4), Some(1), Some(0))
    );
    assert_eq!(old(&app).await, "4");

    // A `before` later than the retention does not shorten it.
    let (status, capped) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/retention/purge",
        Some(json!({ "before": "2099-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(capped["older"], 4, "{capped}");

    let (status, done) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/retention/purge",
        Some(json!({ "dry_run": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["deleted"], 3, "{done}");
    assert_eq!(old(&app).await, "1");
    // A plain DELETE is still refused by the trail itself.
    assert!(app.execute_sql("DELETE FROM audit_events").await.is_err());

    let (_, holds) = admin(
        &app,
        Method::GET,
        "/api/admin/audit-events/legal-holds",
        None,
    )
    .await;
    assert_eq!(holds["data"].as_array().unwrap().len(), 1, "{holds}");
    let hold_id = hold["id"].as_str().unwrap();
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/api/admin/audit-events/legal-holds/{hold_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/api/admin/audit-events/legal-holds/{hold_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, done) = admin(
        &app,
        Method::POST,
        "/api/admin/audit-events/retention/purge",
        Some(json!({ "dry_run": false })),
    )
    .await;
    assert_eq!(done["deleted"], 1, "{done}");
    assert_eq!(old(&app).await, "0");
    let purged = app.audit_events("event_type=audit.purged").await;
    assert_eq!(purged.len(), 4);
    assert!(
        !app.audit_events("event_type=audit.legal_hold_placed")
            .await
            .is_empty()
    );
    assert!(
        !app.audit_events("event_type=audit.legal_hold_released")
            .await
            .is_empty()
    );
}

/// How many audit events are past the default retention.
async fn old(app: &TestApp) -> String {
    app.query_text(
        "SELECT count(*)::text AS value FROM audit_events WHERE occurred_at < now() - interval '2555 days'",
    )
    .await[0]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_finds_a_user_ends_its_sessions_and_erases_it() {
    use crate::pages::{click, fill, ok, pages_app, sees};
    let (app, _sink, key) = pages_app().await;
    let ada = signup(&app, &key, "ada.portal@example.com").await;
    signup(&app, &key, "bob.portal@example.com").await;
    let id = ada["user"]["id"].as_str().unwrap().to_owned();
    let client = ada["user"]["client_id"].as_str().unwrap().to_owned();

    let mut b = authservice_tests::browser::Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Acme").await;
    sees(&mut b, "Users").await;
    fill(&mut b, "Search (address, name or id)", "ada.portal").await;
    click(&mut b, "Search").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("li[data-user='{id}']") }),
    )
    .await;
    let shown = ok(&mut b, json!({ "op": "text", "selector": "li[data-user]" })).await;
    assert_eq!(shown["text"].as_array().unwrap().len(), 1, "{shown}");
    click(&mut b, "Details: ada.portal@example.com").await;
    sees(&mut b, "Authenticator app: off").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-session]" }),
    )
    .await;

    crate::pages::accessible(&mut b, "portal users").await;

    click(&mut b, "End all sessions: ada.portal@example.com").await;
    sees(&mut b, "Sessions ended: ada.portal@example.com").await;
    sees(&mut b, "No live sessions.").await;
    let (status, _) = admin(
        &app,
        Method::GET,
        &format!("/api/admin/clients/{client}/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    click(&mut b, "Erase: ada.portal@example.com").await;
    sees(&mut b, "Erased: ada.portal@example.com").await;
    ok(&mut b, json!({ "op": "wait_selector", "selector": format!("li[data-user='{id}']"), "state": "detached" })).await;
    let (status, _) = admin(
        &app,
        Method::GET,
        &format!("/api/admin/clients/{client}/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_edits_client_settings_through_a_form_generated_from_the_typed_settings() {
    use crate::pages::{click, fill, ok, pages_app, sees};
    let (app, _sink, _key) = pages_app().await;
    let res = app
        .admin(Method::GET, "/api/admin/client-settings", None)
        .await;
    let schema: Value = res.json().await.unwrap();
    let keys: Vec<&str> = schema["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"require_verified_email") && keys.contains(&"auth_ui.brand_name"),
        "{keys:?}"
    );

    let mut b = authservice_tests::browser::Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Acme").await;
    ok(
        &mut b,
        json!({ "op": "select", "label": "require_verified_email", "value": "true" }),
    )
    .await;
    fill(&mut b, "auth_ui.brand_name", "").await;
    fill(&mut b, "session_idle_timeout", "12h").await;
    click(&mut b, "Save").await;
    sees(&mut b, "Saved.").await;
    let clients = app
        .admin(Method::GET, "/api/admin/clients?limit=10", None)
        .await;
    let clients: Value = clients.json().await.unwrap();
    let acme = clients["clients"]
        .as_array()
        .or(clients["data"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Acme")
        .unwrap()
        .clone();
    let settings = &acme["settings"];
    assert_eq!(settings["require_verified_email"], true, "{settings}");
    assert_eq!(settings["session_idle_timeout"], "12h", "{settings}");
    assert!(
        settings["auth_ui"].get("brand_name").is_none(),
        "cleared: {settings}"
    );
    assert_eq!(
        settings["auth_ui"]["primary_color"], "#1d4ed8",
        "untouched: {settings}"
    );
    assert_eq!(
        settings["webauthn_rp_id"], "localhost",
        "untouched: {settings}"
    );
    // A bad value is refused by the server, naming the setting.
    fill(&mut b, "auth_ui.primary_color", "blue").await;
    crate::pages::ok_refused(&mut b, json!({ "op": "click", "name": "Save" }), &["422"]).await;
    crate::pages::ok_refused(
        &mut b,
        json!({ "op": "check_text", "text": "must be a hex colour" }),
        &["422"],
    )
    .await;
}
