//! The portal in Chromium with operators' own accounts: a super admin signs in with password
//! and TOTP (enrolled at the first sign-in, codes from pyotp), creates a client-scoped support
//! operator, disables and re-enables it; the support operator sees only what its role permits.

use authservice_tests::browser::Browser;
use serde_json::{Value, json};

use crate::admin_accounts::{ADMIN_PASSWORD, create_admin};
use crate::mfa::{now, pyotp};
use crate::pages::{accessible, click, fill, ok, pages_app, sees};

async fn texts(b: &mut Browser, selector: &str) -> Vec<Value> {
    ok(b, json!({ "op": "text", "selector": selector })).await["text"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Signs in as `email` for the first time: enrols the authenticator shown on the page.
async fn first_sign_in(b: &mut Browser, email: &str, setup: &str) {
    fill(b, "Email", email).await;
    fill(b, "Password", ADMIN_PASSWORD).await;
    fill(b, "Setup code (first sign-in only)", setup).await;
    click(b, "Sign in").await;
    sees(b, "Set up your authenticator").await;
    ok(
        b,
        json!({ "op": "wait_selector", "selector": "#totp-secret" }),
    )
    .await;
    let secret = texts(b, "#totp-secret").await[0]
        .as_str()
        .unwrap()
        .to_owned();
    fill(b, "Code from the app", &pyotp(&secret, now())).await;
    click(b, "Turn on and sign in").await;
    sees(b, &format!("Signed in as {email}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_sign_in_to_the_portal_with_totp_and_see_what_their_role_permits() {
    let (app, _sink, _key) = pages_app().await;
    let client = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, root_setup) = create_admin(
        &app,
        "root@example.com",
        &["super_admin"],
        json!({ "type": "all" }),
    )
    .await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    sees(&mut b, "Sign in with your admin account.").await;
    accessible(&mut b, "portal sign-in").await;
    first_sign_in(&mut b, "root@example.com", &root_setup).await;
    sees(&mut b, "New client").await;
    sees(&mut b, "Operators").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "option[value=support]", "state": "attached" }),
    )
    .await;
    accessible(&mut b, "portal with operators").await;

    // A support operator for one client.
    fill(&mut b, "Email", "support@example.com").await;
    fill(&mut b, "Password", ADMIN_PASSWORD).await;
    ok(
        &mut b,
        json!({ "op": "select", "label": "Role", "value": "support" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "select", "label": "Scope", "value": "client" }),
    )
    .await;
    fill(&mut b, "Client id (for one client)", &client).await;
    click(&mut b, "Create operator").await;
    sees(&mut b, "Operator created.").await;
    sees(&mut b, "support@example.com").await;
    let support_setup = texts(&mut b, "#new-setup-token").await[0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(support_setup.starts_with("adm_st_"), "{support_setup}");
    let admins = app
        .admin(reqwest::Method::GET, "/api/admin/users", None)
        .await;
    let admins: Value = admins.json().await.unwrap();
    let support = admins["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "support@example.com")
        .unwrap_or_else(|| panic!("{admins}"))
        .clone();
    assert_eq!(support["roles"], json!(["support"]));
    assert_eq!(support["scope"], json!({ "type": "client", "id": client }));

    // Disabled, then enabled again, from the table (the operator's own row has no actions).
    click(&mut b, "Disable").await;
    sees(&mut b, "disabled").await;
    let path = format!("/api/admin/users/{}", support["id"].as_str().unwrap());
    let state: Value = app
        .admin(reqwest::Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "disabled");
    click(&mut b, "Enable").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button:has-text(\"Disable\")" }),
    )
    .await;
    let state: Value = app
        .admin(reqwest::Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "active");
    click(&mut b, "Sign out").await;
    sees(&mut b, "Sign in with your admin account.").await;
    let signed_out = app.audit_events("event_type=admin.signed_out").await;
    assert_eq!(signed_out.len(), 1);

    // The support operator sees its client, and neither client creation nor operators.
    first_sign_in(&mut b, "support@example.com", &support_setup).await;
    sees(&mut b, "Clients").await;
    sees(&mut b, "Test App").await;
    assert!(texts(&mut b, "#h-new").await.is_empty());
    assert!(texts(&mut b, "#h-operators").await.is_empty());
    let listed: Vec<Value> = texts(&mut b, "table.as-table tbody tr td:first-child").await;
    assert!(!listed.iter().any(|t| t == "Acme"), "{listed:?}");
    accessible(&mut b, "portal as a support operator").await;
    b.close().await;
}
