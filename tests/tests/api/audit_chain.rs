//! The audit trail's hash chain: a row edited or removed in SQL is reported at the first
//! broken link; an erasure and a retention purge (around a legal hold) keep it verifiable.

use std::time::Duration;

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth_helpers::{key_of, signup};

async fn app() -> TestApp {
    spawn_app_with(AppOptions {
        env: vec![
            ("AUDIT_CHAIN_INTERVAL", "100ms".to_owned()),
            ("SIGNUP_RATE_LIMIT", "100".to_owned()),
        ],
        ..Default::default()
    })
    .await
}

async fn verify(app: &TestApp, client: Option<&str>) -> Value {
    let path = match client {
        Some(c) => format!("/api/admin/audit-events/chain/verify?client_id={c}"),
        None => "/api/admin/audit-events/chain/verify".to_owned(),
    };
    let res = app.admin(Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Verifies once every event written so far is sealed.
async fn verify_sealed(app: &TestApp, client: Option<&str>) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let report = verify(app, client).await;
        if report["unsealed_events"] == 0 && !report["head"].is_null() {
            return report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never sealed: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client with three users signed up (several events each).
async fn client_with_users(app: &TestApp) -> String {
    let created = app.new_client().await;
    let key = key_of(&created);
    for i in 0..3 {
        signup(app, &key, &format!("user{i}@example.com")).await;
    }
    created["client"]["id"].as_str().unwrap().to_owned()
}

async fn link_event(app: &TestApp, client: &str, order: &str) -> (String, String) {
    let row = app
        .query_text(&format!(
            "SELECT event_id::text || ' ' || seq::text AS value FROM audit_chain \
             WHERE scope = '{client}' ORDER BY {order} LIMIT 1"
        ))
        .await;
    let (id, seq) = row[0].split_once(' ').unwrap();
    (id.to_owned(), seq.to_owned())
}

/// As a DBA would, with the append-only triggers switched off.
async fn as_dba(app: &TestApp, table: &str, trigger: &str, sql: &str) {
    app.execute_sql(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        .await
        .unwrap();
    app.execute_sql(sql).await.unwrap();
    app.execute_sql(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_or_removing_audit_rows_in_sql_is_caught_by_the_chain() {
    let app = app().await;
    let edited = client_with_users(&app).await;
    let cut = client_with_users(&app).await;
    let truncated = client_with_users(&app).await;
    for client in [&edited, &cut, &truncated] {
        let report = verify_sealed(&app, Some(client)).await;
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["scope"], "client");
        assert!(report["links_verified"].as_u64().unwrap() >= 6, "{report}");
        assert!(report["first_broken"].is_null());
    }
    let global = verify_sealed(&app, None).await;
    assert_eq!(global["scope"], "global");
    assert_eq!(global["valid"], true, "{global}");

    // An event's metadata edited in place.
    let (victim, seq) = link_event(&app, &edited, "seq OFFSET 1").await;
    as_dba(
        &app,
        "audit_events",
        "audit_events_no_update",
        &format!(
            "UPDATE audit_events SET metadata = metadata || '{{\"edited\": true}}' WHERE id = '{victim}'"
        ),
    )
    .await;
    let report = verify(&app, Some(&edited)).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(
        report["first_broken"],
        json!({ "seq": seq.parse::<i64>().unwrap(), "event_id": victim, "reason": "event_hash_mismatch" })
    );

    // An event and its link removed from the middle: the next link no longer follows.
    let (gone, gone_seq) = link_event(&app, &cut, "seq OFFSET 1").await;
    as_dba(
        &app,
        "audit_chain",
        "audit_chain_no_change",
        &format!("DELETE FROM audit_chain WHERE event_id = '{gone}'"),
    )
    .await;
    as_dba(
        &app,
        "audit_events",
        "audit_events_no_delete",
        &format!("DELETE FROM audit_events WHERE id = '{gone}'"),
    )
    .await;
    let report = verify(&app, Some(&cut)).await;
    assert_eq!(
        report["first_broken"]["reason"], "previous_hash_mismatch",
        "{report}"
    );
    assert_eq!(
        report["first_broken"]["seq"],
        gone_seq.parse::<i64>().unwrap() + 1
    );

    // The newest links cut from the end: the head no longer matches.
    as_dba(
        &app,
        "audit_chain",
        "audit_chain_no_change",
        &format!(
            "DELETE FROM audit_chain WHERE scope = '{truncated}' \
             AND seq > (SELECT max(seq) - 2 FROM audit_chain WHERE scope = '{truncated}')"
        ),
    )
    .await;
    let report = verify(&app, Some(&truncated)).await;
    assert_eq!(
        report["first_broken"]["reason"], "head_mismatch",
        "{report}"
    );

    // The other chains are untouched by all this.
    assert_eq!(verify(&app, None).await["valid"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erasure_and_a_retention_purge_keep_the_chain_verifiable() {
    let app = app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client = created["client"]["id"].as_str().unwrap().to_owned();
    let bob = signup(&app, &key, "bob@example.com").await;
    signup(&app, &key, "carol@example.com").await;
    let bob_id = bob["user"]["id"].as_str().unwrap().to_owned();
    // Events past the retention (2555 days), one of them about a user under a legal hold,
    // written in separate transactions so they sit in the chain between newer ones.
    let held_user = uuid::Uuid::new_v4();
    for user in [
        "NULL".to_owned(),
        format!("'{held_user}'"),
        "NULL".to_owned(),
    ] {
        app.execute_sql(&format!(
            "INSERT INTO audit_events (id, occurred_at, client_id, user_id, event_type, actor_type, metadata) VALUES \
             (gen_random_uuid(), now() - interval '3000 days', '{client}', {user}, 'user.login', 'user', '{{\"n\": 1.5}}'), \
             (gen_random_uuid(), now() - interval '3000 days', '{client}', {user}, 'user.login', 'user', '{{}}')"
        ))
        .await
        .unwrap();
        signup(
            &app,
            &key,
            &format!("{}@example.com", uuid::Uuid::new_v4().simple()),
        )
        .await;
    }
    let before = verify_sealed(&app, Some(&client)).await;
    assert_eq!(before["valid"], true, "{before}");

    // Bob is erased: his sealed events are pseudonymised and still verify.
    let res = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/clients/{client}/users/{bob_id}"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = verify_sealed(&app, Some(&client)).await;
    assert_eq!(after["valid"], true, "{after}");
    assert!(after["erased_events"].as_u64().unwrap() >= 2, "{after}");

    // The old events go, except the held ones; each removed run leaves a checkpoint.
    let res = app
        .admin(
            Method::POST,
            "/api/admin/audit-events/legal-hold",
            Some(json!({ "user_id": held_user.to_string(), "reason": "litigation" })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .admin(
            Method::POST,
            "/api/admin/audit-events/retention/purge",
            Some(json!({ "dry_run": false })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let purged: Value = res.json().await.unwrap();
    assert_eq!(purged["deleted"], 4, "{purged}");
    assert_eq!(purged["held"], 2, "{purged}");
    let report = verify_sealed(&app, Some(&client)).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["purged_runs"], 2, "{report}");
    let held_links = app
        .query_text(&format!(
            "SELECT count(*)::text AS value FROM audit_chain c JOIN audit_events e ON e.id = c.event_id \
             WHERE e.user_id = '{held_user}'"
        ))
        .await;
    assert_eq!(held_links, ["2"], "the held events keep their links");
    let old_links = app
        .query_text(&format!(
            "SELECT count(*)::text AS value FROM audit_chain WHERE scope = '{client}' \
             AND event_id NOT IN (SELECT id FROM audit_events)"
        ))
        .await;
    assert_eq!(old_links, ["0"], "the purged events' links are gone");

    // A client-scoped operator cannot verify another client's chain: covered by the
    // admin matrix; an unknown client id is refused here.
    let res = app
        .admin(
            Method::GET,
            "/api/admin/audit-events/chain/verify?client_id=nope",
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_with_its_own_retention_is_purged_sooner_and_holds_filter_the_trail() {
    let app = app().await;
    let short = app
        .create_client(json!({ "name": "Short", "settings": { "audit_retention_days": 30 } }))
        .await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let default = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let held_user = uuid::Uuid::new_v4();
    app.execute_sql(&format!(
        "INSERT INTO audit_events (id, occurred_at, client_id, user_id, event_type, actor_type, metadata) VALUES \
         (gen_random_uuid(), now() - interval '100 days', '{short}', NULL, 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '100 days', '{short}', '{held_user}', 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '10 days', '{short}', NULL, 'user.login', 'user', '{{}}'), \
         (gen_random_uuid(), now() - interval '100 days', '{default}', NULL, 'user.login', 'user', '{{}}')"
    ))
    .await
    .unwrap();
    let res = app
        .admin(
            Method::POST,
            "/api/admin/audit-events/legal-hold",
            Some(
                json!({ "client_id": short, "user_id": held_user.to_string(), "reason": "audit" }),
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let held = app
        .audit_events(&format!("client_id={short}&legal_hold=true"))
        .await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["user_id"], json!(held_user));
    let free = app
        .audit_events(&format!(
            "client_id={short}&legal_hold=false&event_type=user.login"
        ))
        .await;
    assert_eq!(free.len(), 2);
    // A row written under a legacy name is found by the name it became, and the other way.
    app.execute_sql(&format!(
        "INSERT INTO audit_events (id, occurred_at, client_id, event_type, actor_type, metadata) \
         VALUES (gen_random_uuid(), now(), '{default}', 'login_succeeded', 'user', '{{}}')"
    ))
    .await
    .unwrap();
    let found = app
        .audit_events(&format!(
            "client_id={default}&event_type=user.login_succeeded"
        ))
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["event_type"], "login_succeeded");
    let found = app
        .audit_events(&format!("client_id={default}&event_type=login_succeeded"))
        .await;
    assert_eq!(found.len(), 1);
    let res = app
        .admin(
            Method::GET,
            "/api/admin/audit-events?legal_hold=maybe",
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let res = app
        .admin(
            Method::POST,
            "/api/admin/audit-events/retention/purge",
            Some(json!({ "dry_run": false })),
        )
        .await;
    let purged: Value = res.json().await.unwrap();
    assert_eq!(
        purged["deleted"], 1,
        "only the short client's unheld 100-day-old event: {purged}"
    );
    let left = app
        .query_text(
            "SELECT count(*)::text AS value FROM audit_events WHERE event_type = 'user.login'",
        )
        .await;
    assert_eq!(left, ["3"]);
    let report = verify_sealed(&app, Some(&short)).await;
    assert_eq!(report["valid"], true, "{report}");

    // The client's own admin may edit the client, not how long its trail is kept; and which
    // events are held is for those who may hold them.
    let own = crate::admin_accounts::signed_in_admin(
        &app,
        "owner-admin@example.com",
        &["client_admin"],
        json!({ "type": "client", "id": short }),
    )
    .await;
    let (status, body) = crate::admin_accounts::bearer(
        &app,
        &own,
        Method::PATCH,
        &format!("/api/admin/clients/{short}"),
        Some(json!({ "settings": { "audit_retention_days": 1 } })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = crate::admin_accounts::bearer(
        &app,
        &own,
        Method::PATCH,
        &format!("/api/admin/clients/{short}"),
        Some(json!({ "name": "Still editable" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = crate::admin_accounts::bearer(
        &app,
        &own,
        Method::GET,
        &format!("/api/admin/audit-events?client_id={short}&legal_hold=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The setting is typed: a value out of range is refused, naming the key.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{short}"),
            Some(json!({ "settings": { "audit_retention_days": 0 } })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(body.to_string().contains("audit_retention_days"), "{body}");
}
