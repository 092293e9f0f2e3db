//! The hosted pages in headless Chromium against the real server, PostgreSQL, Redis and an
//! SMTP sink: the whole journey of a user, then every page at desktop and phone sizes with an
//! axe-core scan, no console errors and no CSP violation.

use std::time::Duration;

use authservice_tests::browser::Browser;
use authservice_tests::smtp::SmtpSink;
use authservice_tests::{AppOptions, TestApp, smtp_env, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{call, key_of};
use crate::mfa::{now, pyotp};

const WAIT: Duration = Duration::from_secs(15);
const PASSWORD: &str = "violet-Harbor-42-quill";
const NEW_PASSWORD: &str = "amber-Lantern-77-fjord";

pub(crate) async fn pages_app() -> (TestApp, SmtpSink, String) {
    pages_app_with(Vec::new()).await
}

pub(crate) async fn pages_app_with(
    extra: Vec<(&'static str, String)>,
) -> (TestApp, SmtpSink, String) {
    let sink = SmtpSink::start().await;
    let mut env = smtp_env(sink.port());
    env.extend(extra);
    env.push(("SERVE_FRONTEND", "true".to_owned()));
    env.push((
        "PUBLIC_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../public").to_owned(),
    ));
    let app = spawn_app_with(AppOptions {
        env,
        ..Default::default()
    })
    .await;
    let base = app.localhost_base();
    let key = key_of(
        &app.create_client(json!({
            "name": "Acme",
            "allowed_origins": [base],
            "settings": {
                "webauthn_rp_id": "localhost",
                "webauthn_rp_origin": base,
                "auth_ui": { "brand_name": "Acme Cloud", "primary_color": "#1d4ed8" },
            },
        }))
        .await,
    );
    (app, sink, key)
}

/// Accessible (axe: no serious or critical violation) and no sideways scroll, at desktop and
/// phone sizes; back to desktop size after.
pub(crate) async fn accessible(b: &mut Browser, what: &str) {
    for (width, height) in [(1280, 800), (390, 844)] {
        ok(
            b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        let axe = ok(b, json!({ "op": "axe" })).await;
        assert_eq!(axe["violations"], json!([]), "{what} at {width}: {axe}");
        let overflow = ok(b, json!({ "op": "overflow" })).await;
        assert_eq!(
            overflow["overflow"], false,
            "{what} scrolls sideways at {width}"
        );
    }
    ok(b, json!({ "op": "viewport", "width": 1280, "height": 800 })).await;
}

/// Runs a step and fails on an error answer or a console error.
pub(crate) async fn ok(browser: &mut Browser, step: Value) -> Value {
    let answer = browser.step(step.clone()).await;
    assert!(
        answer.get("error").is_none(),
        "step {step} failed: {answer}"
    );
    let errors = answer["console_errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(errors.is_empty(), "console errors after {step}: {errors:?}");
    answer
}

/// Runs a step that makes the server refuse something on purpose: the browser logs each refused
/// request as a console error, and only those (with one of `statuses`) are allowed.
pub(crate) async fn ok_refused(browser: &mut Browser, step: Value, statuses: &[&str]) -> Value {
    let answer = browser.step(step.clone()).await;
    if answer.get("error").is_some() {
        let text = browser
            .step(json!({ "op": "text", "selector": "main" }))
            .await;
        panic!("step {step} failed: {answer}; page: {text}");
    }
    for error in answer["console_errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let text = error.as_str().unwrap_or_default();
        assert!(
            statuses
                .iter()
                .any(|s| text.contains(&format!("status of {s}"))),
            "unexpected console error after {step}: {text}"
        );
    }
    answer
}

pub(crate) async fn click(browser: &mut Browser, name: &str) {
    ok(browser, json!({ "op": "click", "name": name })).await;
}

pub(crate) async fn fill(browser: &mut Browser, label: &str, value: &str) {
    ok(
        browser,
        json!({ "op": "fill", "label": label, "value": value }),
    )
    .await;
}

pub(crate) async fn sees(browser: &mut Browser, text: &str) {
    ok(browser, json!({ "op": "check_text", "text": text })).await;
}

pub(crate) async fn lands_on(browser: &mut Browser, path: &str) {
    ok(browser, json!({ "op": "wait_url", "path": path })).await;
}

/// Signs out from the account page once every section has loaded: a request still in flight
/// when the session ends is (rightly) refused, which the browser logs as a console error.
pub(crate) async fn signs_out(browser: &mut Browser) {
    ok(
        browser,
        json!({ "op": "wait_selector", "selector": "main[aria-busy=false]", "state": "attached" }),
    )
    .await;
    click(browser, "Sign out").await;
    lands_on(browser, "/login.html").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_goes_through_every_hosted_page() {
    let (app, sink, key) = pages_app().await;
    let mut b = Browser::launch(&app.localhost_base()).await;

    // Sign up.
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/signup.html?api_key={key}&locale=en") }),
    )
    .await;
    sees(&mut b, "Create your account").await;
    fill(&mut b, "Name (optional)", "Ada Lovelace").await;
    fill(&mut b, "Email", "ada@example.com").await;
    fill(&mut b, "Password", PASSWORD).await;
    click(&mut b, "Create account").await;
    sees(&mut b, "Your account is ready").await;
    click(&mut b, "Continue").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ada@example.com").await;

    // Verify the address from the delivered message.
    let mail = sink.wait_for_rcpt("ada@example.com", WAIT).await;
    assert!(mail.subject.contains("Acme Cloud"), "{}", mail.subject);
    let token = mail.query_param("/verify-email.html", "token");
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/verify-email.html?token={token}") }),
    )
    .await;
    sees(&mut b, "Your email address is confirmed.").await;
    let url = ok(&mut b, json!({ "op": "url" })).await;
    assert!(
        !url["url"].as_str().unwrap().contains("token="),
        "the token leaves the address bar"
    );

    // Enrol TOTP with a code from pyotp.
    ok(&mut b, json!({ "op": "goto", "url": "/account.html" })).await;
    click(&mut b, "Set up authenticator app").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#totp-secret" }),
    )
    .await;
    let secret = ok(&mut b, json!({ "op": "text", "selector": "#totp-secret" })).await["text"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = now();
    fill(
        &mut b,
        "Enter the code it shows to confirm",
        &pyotp(&secret, t0),
    )
    .await;
    click(&mut b, "Turn on").await;
    sees(&mut b, "Save these codes somewhere safe").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#recovery-codes li" }),
    )
    .await;
    let codes: Vec<String> = ok(
        &mut b,
        json!({ "op": "text", "selector": "#recovery-codes li" }),
    )
    .await["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    // Sign out, sign in with password and TOTP.
    signs_out(&mut b).await;
    fill(&mut b, "Email", "ada@example.com").await;
    fill(&mut b, "Password", PASSWORD).await;
    click(&mut b, "Sign in").await;
    sees(&mut b, "Enter the 6-digit code").await;
    fill(&mut b, "Authentication code", &pyotp(&secret, t0 + 30)).await;
    click(&mut b, "Verify").await;
    lands_on(&mut b, "/account.html").await;

    // Enrol a passkey (virtual authenticator), then sign in with it.
    click(&mut b, "Add a passkey").await;
    ok(&mut b, json!({ "op": "check_text", "text": "Rename" })).await;
    signs_out(&mut b).await;
    // Passkey autofill may sign in on its own (the virtual authenticator answers at once);
    // otherwise the button does.
    let auto = b
        .step(json!({ "op": "wait_url", "path": "/account.html", "timeout": 4000 }))
        .await;
    if auto.get("error").is_some() {
        click(&mut b, "Sign in with a passkey").await;
        lands_on(&mut b, "/account.html").await;
    }
    sees(&mut b, "This device").await;
    let logins = app.audit_events("event_type=user.login_succeeded").await;
    assert!(logins.iter().any(|e| e["metadata"]["method"] == "passkey"));

    // Forgot and reset the password.
    // (Signing out first would land on the login page, whose passkey autofill the virtual
    // authenticator answers at once; the reset below ends every session anyway.)
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/forgot-password.html" }),
    )
    .await;
    fill(&mut b, "Email", "ada@example.com").await;
    click(&mut b, "Send reset link").await;
    sees(&mut b, "If an account exists").await;
    let reset = sink
        .wait_for_text("ada@example.com", "/reset-password.html", WAIT)
        .await;
    let token = reset.query_param("/reset-password.html", "token");
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/reset-password.html?token={token}") }),
    )
    .await;
    fill(&mut b, "New password", NEW_PASSWORD).await;
    click(&mut b, "Set new password").await;
    sees(&mut b, "Your password was changed").await;

    // Sign in again, then revoke another session from the account page.
    ok(&mut b, json!({ "op": "goto", "url": "/login.html" })).await;
    let auto = b
        .step(json!({ "op": "wait_url", "path": "/account.html", "timeout": 4000 }))
        .await;
    if auto.get("error").is_some() {
        fill(&mut b, "Email", "ada@example.com").await;
        fill(&mut b, "Password", NEW_PASSWORD).await;
        click(&mut b, "Sign in").await;
        sees(&mut b, "Enter the 6-digit code").await;
        fill(&mut b, "Authentication code", &pyotp(&secret, t0 + 60)).await;
        click(&mut b, "Verify").await;
    }
    lands_on(&mut b, "/account.html").await;
    // Let the page finish loading: leaving it while its cookie refresh is in flight would
    // present the rotated-away token on the next page, which the server treats as reuse.
    sees(&mut b, "This device").await;
    // A second session elsewhere (an API client completing the challenge with a recovery code
    // shown on the account page).
    let login: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({ "email": "ada@example.com", "password": NEW_PASSWORD, "token_transport": "json" })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let other: Value = call(
        &app,
        Method::POST,
        "/api/auth/recovery-codes/verify",
        &key,
        Some(json!({
            "two_factor_token": login["two_factor_token"],
            "code": codes[0],
            "token_transport": "json",
        })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let other_refresh = other["refresh_token"]
        .as_str()
        .expect("second session")
        .to_owned();
    ok(&mut b, json!({ "op": "goto", "url": "/account.html" })).await;
    sees(&mut b, "This device").await;
    ok(
        &mut b,
        json!({ "op": "click", "role": "button", "name": "Revoke:", "exact": false }),
    )
    .await;
    sees(&mut b, "Session revoked.").await;
    let refreshed = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({ "refresh_token": other_refresh })),
        None,
    )
    .await;
    assert_eq!(refreshed.status(), 401, "the revoked session is over");

    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]), "no CSP violations");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_accessible_at_desktop_and_phone_sizes() {
    let (app, _sink, key) = pages_app().await;
    // A signed-in user for the account page.
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/signup.html?api_key={key}") }),
    )
    .await;
    fill(&mut b, "Email", "axe@example.com").await;
    fill(&mut b, "Password", PASSWORD).await;
    click(&mut b, "Create account").await;
    sees(&mut b, "Your account is ready").await;

    let shots = std::env::var_os("UPDATE_SCREENSHOTS").is_some();
    let pages = [
        "/login.html?locale=en",
        "/signup.html",
        "/forgot-password.html",
        "/reset-password.html?token=0",
        "/verify-email.html",
        "/account.html",
        // Signed in, with a (made-up) invitation token: the Join button.
        "/accept-invitation.html?token=0",
        "/login.html?locale=de",
    ];
    for (width, height, size) in [
        (1280, 800, "desktop"),
        (390, 844, "mobile"),
        (360, 740, "small"),
    ] {
        ok(
            &mut b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        for page in pages {
            ok(&mut b, json!({ "op": "goto", "url": page })).await;
            // Let the page render (the account page loads its sections).
            ok(
                &mut b,
                json!({ "op": "wait_selector", "selector": "#lang-picker" }),
            )
            .await;
            if page.starts_with("/account.html") || page.starts_with("/accept-invitation.html") {
                // Their cookie refresh and loads are over before the next page (a refresh cut
                // short by leaving would present a rotated-away token on the next one).
                ok(
                    &mut b,
                    json!({ "op": "wait_selector", "selector": "main[aria-busy=false]", "state": "attached" }),
                )
                .await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if page.ends_with("locale=de") {
                // The texts come from /i18n/de.json.
                sees(&mut b, "Willkommen zurück").await;
            }
            let axe = ok(&mut b, json!({ "op": "axe" })).await;
            assert_eq!(axe["violations"], json!([]), "{page} at {size}: {axe}");
            let overflow = ok(&mut b, json!({ "op": "overflow" })).await;
            assert_eq!(
                overflow["overflow"], false,
                "{page} scrolls sideways at {size}"
            );
            if shots
                && matches!(
                    page,
                    "/login.html?locale=en" | "/signup.html" | "/account.html"
                )
            {
                let name = page
                    .trim_start_matches('/')
                    .split(".html")
                    .next()
                    .unwrap_or_default();
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/screenshots");
                std::fs::create_dir_all(path).unwrap();
                ok(&mut b, json!({ "op": "screenshot", "path": format!("{path}/{name}-{size}.png"), "full_page": true })).await;
            }
        }
    }
    // Keyboard only: the sign-in form is reachable in a sensible order.
    ok(
        &mut b,
        json!({ "op": "viewport", "width": 1280, "height": 800 }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/login.html?locale=en" }),
    )
    .await;
    // The page renders after its config arrives, then puts focus in the email field.
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "input[type=email]:focus", "state": "attached" }),
    )
    .await;
    let order = ok(&mut b, json!({ "op": "focus_order", "count": 4 })).await;
    let order: Vec<String> = order["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        order.iter().any(|o| o.starts_with("input:Email")),
        "{order:?}"
    );
    let email = order
        .iter()
        .position(|o| o.starts_with("input:Email"))
        .unwrap();
    assert!(order[email + 1].starts_with("input:Password"), "{order:?}");
    // A refused sign-in is announced (alert) and the fields are marked invalid.
    fill(&mut b, "Email", "axe@example.com").await;
    fill(&mut b, "Password", "not-the-password-1").await;
    click(&mut b, "Sign in").await;
    // (Chromium logs the expected 401 of this attempt; nothing else may appear.)
    let refused = b
        .step(json!({ "op": "wait_selector", "selector": "[role=alert]:not([hidden])" }))
        .await;
    assert!(refused.get("error").is_none(), "{refused}");
    let errors = refused["console_errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        errors
            .iter()
            .all(|e| e.as_str().unwrap_or_default().contains("status of 401")),
        "{errors:?}"
    );
    sees(&mut b, "The email or password is incorrect.").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "input[type=password][aria-invalid=true]", "state": "attached" }),
    )
    .await;
    // The pages are served with a strict CSP.
    let res = app.http.get(app.url("/login.html")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_creates_a_client_and_rotates_its_key() {
    let (app, _sink, _key) = pages_app().await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    sees(&mut b, "New client").await;
    fill(&mut b, "Name", "Portal Made").await;
    fill(
        &mut b,
        "Allowed origins (one per line)",
        "https://portal-made.example.com",
    )
    .await;
    click(&mut b, "Create client").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#new-api-key" }),
    )
    .await;
    let key = ok(&mut b, json!({ "op": "text", "selector": "#new-api-key" })).await["text"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("ask_"), "{key}");
    ok(
        &mut b,
        json!({ "op": "click", "role": "button", "name": "Open: Portal Made" }),
    )
    .await;
    sees(&mut b, "Signing keys").await;
    click(&mut b, "Rotate API key").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#rotated-api-key" }),
    )
    .await;
    let rotated = ok(
        &mut b,
        json!({ "op": "text", "selector": "#rotated-api-key" }),
    )
    .await["text"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, key);
    // The old key is refused, the new one works.
    let old = call(&app, Method::GET, "/api/auth/ui/config", &key, None, None).await;
    assert_eq!(old.status(), 401);
    let new = call(
        &app,
        Method::GET,
        "/api/auth/ui/config",
        &rotated,
        None,
        None,
    )
    .await;
    assert_eq!(new.status(), 200);
    assert!(
        !app.audit_events("event_type=client.created")
            .await
            .is_empty()
    );
    // Accessible at desktop and phone sizes.
    for (width, height) in [(1280, 800), (390, 844)] {
        ok(
            &mut b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        let axe = ok(&mut b, json!({ "op": "axe" })).await;
        assert_eq!(axe["violations"], json!([]), "portal at {width}: {axe}");
        let overflow = ok(&mut b, json!({ "op": "overflow" })).await;
        assert_eq!(
            overflow["overflow"], false,
            "portal scrolls sideways at {width}"
        );
    }
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/screenshots/portal-desktop.png"
        );
        ok(
            &mut b,
            json!({ "op": "viewport", "width": 1280, "height": 800 }),
        )
        .await;
        ok(
            &mut b,
            json!({ "op": "screenshot", "path": path, "full_page": true }),
        )
        .await;
    }
    b.close().await;
}

/// The texts of every element matching `selector`.
async fn texts(browser: &mut Browser, selector: &str) -> Vec<String> {
    ok(browser, json!({ "op": "text", "selector": selector })).await["text"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_lists_a_clients_organizations_and_their_members() {
    // "Acme" (made by pages_app) has no organization; "Orgs Portal" has 21 (a page is 20).
    let (app, _sink, _key) = pages_app().await;
    let created = app
        .create_client(json!({
            "name": "Orgs Portal",
            "slug": "orgs-portal",
            "allowed_origins": ["https://orgs-portal.example.com"],
        }))
        .await;
    let key = key_of(&created);
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();
    let ada = crate::auth_helpers::signup(&app, &key, "ada@example.com").await;
    let token = ada["access_token"].as_str().unwrap().to_owned();
    let user_id = ada["user"]["id"].as_str().unwrap().to_owned();
    let mut org_ids = Vec::new();
    for name in
        std::iter::once("Acme Corp".to_owned()).chain((1..=20).map(|n| format!("Filler {n:02}")))
    {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/organizations",
            &key,
            Some(json!({ "name": &name })),
            Some(token.as_str()),
        )
        .await;
        assert_eq!(res.status(), 201, "creating {name}");
        let org: Value = res.json().await.unwrap();
        org_ids.push(org["id"].as_str().unwrap().to_owned());
    }
    let acme = org_ids[0].clone();
    let res = app
        .admin(
            Method::PUT,
            &format!(
                "/api/admin/clients/{client_id}/organizations/{acme}/members/{user_id}/groups"
            ),
            Some(json!({ "sso": ["Engineering"], "scim": ["All Staff"] })),
        )
        .await;
    assert_eq!(res.status(), 200);

    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    sees(&mut b, "New client").await;

    // A client without organizations says so.
    click(&mut b, "Open: Acme").await;
    sees(&mut b, "No organizations yet.").await;
    click(&mut b, "Back to clients").await;

    // The other client: the first page of its organizations, oldest first.
    click(&mut b, "Open: Orgs Portal").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("li[data-org='{acme}']") }),
    )
    .await;
    let listed = texts(&mut b, "li[data-org]").await;
    assert_eq!(listed.len(), 20, "{listed:?}");
    assert!(
        listed[0].contains("Acme Corp")
            && listed[0].contains("acme-corp")
            && listed[0].contains("Created"),
        "{}",
        listed[0]
    );
    let headings = texts(&mut b, "h2").await;
    assert!(
        headings.iter().any(|h| h == "Organizations"),
        "{headings:?}"
    );
    // Show more brings the 21st, and goes away on the last page.
    click(&mut b, "Show more: Organizations").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-org]:nth-child(21)" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button[aria-label='Show more: Organizations']", "state": "hidden" }),
    )
    .await;
    assert_eq!(texts(&mut b, "li[data-org]").await.len(), 21);

    // Members opens below the organization: Ada, owner, with her groups.
    click(&mut b, "Members: Acme Corp").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("li[data-org='{acme}'] tr[data-member='{user_id}']") }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button[aria-label='Members: Acme Corp'][aria-expanded='true']" }),
    )
    .await;
    let row = texts(&mut b, &format!("tr[data-member='{user_id}']")).await;
    assert_eq!(row.len(), 1, "{row:?}");
    let cells = texts(&mut b, &format!("tr[data-member='{user_id}'] td")).await;
    assert_eq!(
        cells,
        [
            "ada@example.com",
            "owner",
            "SSO: Engineering · SCIM: All Staff"
        ],
        "{row:?}"
    );
    let columns = texts(&mut b, &format!("li[data-org='{acme}'] th")).await;
    assert_eq!(columns, ["Email", "Role", "Groups"]);

    // Accessible, and no sideways scroll, with the members open.
    for (width, height) in [(1280, 800), (390, 844), (360, 740)] {
        ok(
            &mut b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        let axe = ok(&mut b, json!({ "op": "axe" })).await;
        assert_eq!(
            axe["violations"],
            json!([]),
            "portal organizations at {width}: {axe}"
        );
        let overflow = ok(&mut b, json!({ "op": "overflow" })).await;
        assert_eq!(
            overflow["overflow"], false,
            "portal organizations scroll sideways at {width}"
        );
    }
    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    b.close().await;
}

/// The one text of the element `selector` (waits for it first).
async fn shown(browser: &mut Browser, selector: &str) -> String {
    ok(
        browser,
        json!({ "op": "wait_selector", "selector": selector }),
    )
    .await;
    let all = texts(browser, selector).await;
    assert_eq!(all.len(), 1, "{selector}: {all:?}");
    all[0].trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_registers_an_oidc_app_and_shows_its_secret_once() {
    let (app, _sink, _key) = pages_app().await;
    let created = app
        .create_client(json!({
            "name": "OIDC Portal",
            "allowed_origins": ["https://oidc-portal.example.com"],
        }))
        .await;
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();
    let apps_path = format!("/api/admin/clients/{client_id}/oidc-apps");
    let listed = |body: &Value| body["oidc_apps"].as_array().cloned().unwrap_or_default();

    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    sees(&mut b, "New client").await;
    click(&mut b, "Open: OIDC Portal").await;
    sees(&mut b, "No OIDC applications yet.").await;
    let headings = texts(&mut b, "h2").await;
    assert!(
        headings.iter().any(|h| h == "OIDC applications"),
        "{headings:?}"
    );

    // Register "Web app": confidential (the default type), first party.
    fill(&mut b, "Application name", "Web app").await;
    fill(
        &mut b,
        "Redirect URIs (one per line)",
        "https://app.example.com/callback",
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "click", "role": "checkbox", "name": "First party (no consent screen)" }),
    )
    .await;
    click(&mut b, "Register application").await;
    let public_id = shown(&mut b, "#new-oidc-client-id").await;
    let secret = shown(&mut b, "#new-oidc-secret").await;
    assert!(public_id.starts_with("app_"), "{public_id}");
    assert!(secret.starts_with("oidc_"), "{secret}");
    sees(&mut b, "Client secret (shown once; store it now)").await;

    // It is listed: name, client_id, type and redirect URI.
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-oidc-app]" }),
    )
    .await;
    let items = texts(&mut b, "li[data-oidc-app]").await;
    assert_eq!(items.len(), 1, "{items:?}");
    for part in [
        "Web app",
        public_id.as_str(),
        "Confidential",
        "First party",
        "https://app.example.com/callback",
    ] {
        assert!(items[0].contains(part), "{part} missing in {}", items[0]);
    }
    assert!(!items[0].contains(&secret), "the list shows the secret");

    // Over HTTP: the app exists, and its JSON never carries the secret.
    let res = app.admin(Method::GET, &apps_path, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let apps = listed(&body);
    assert_eq!(apps.len(), 1, "{body}");
    let web = &apps[0];
    assert_eq!(web["name"], "Web app");
    assert_eq!(web["client_id"], public_id.as_str());
    assert_eq!(web["type"], "confidential");
    assert_eq!(web["first_party"], true);
    assert_eq!(
        web["redirect_uris"],
        json!(["https://app.example.com/callback"])
    );
    assert!(web.get("client_secret").is_none(), "{web}");
    assert!(!body.to_string().contains(&secret), "{body}");

    // Rotate secret (confirmed): a different secret, shown once in place of the first.
    click(&mut b, "Rotate secret: Web app").await;
    let rotated = shown(&mut b, "li[data-oidc-app] #rotated-oidc-secret").await;
    assert!(rotated.starts_with("oidc_"), "{rotated}");
    assert_ne!(rotated, secret);
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#new-oidc-secret", "state": "detached" }),
    )
    .await;
    let res = app.admin(Method::GET, &apps_path, None).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        listed(&body)[0]["secret_prefix"].as_str(),
        rotated.get(..13),
        "{body}"
    );
    assert!(!body.to_string().contains(&rotated), "{body}");

    // Accessible, and no sideways scroll, with the app and its new secret on screen.
    for (width, height) in [(1280, 800), (390, 844), (360, 740)] {
        ok(
            &mut b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        let axe = ok(&mut b, json!({ "op": "axe" })).await;
        assert_eq!(
            axe["violations"],
            json!([]),
            "portal OIDC applications at {width}: {axe}"
        );
        let overflow = ok(&mut b, json!({ "op": "overflow" })).await;
        assert_eq!(
            overflow["overflow"], false,
            "portal OIDC applications scroll sideways at {width}"
        );
    }

    // Delete (the confirmation is accepted by the driver): gone from the page and the API.
    click(&mut b, "Delete: Web app").await;
    sees(&mut b, "Deleted: Web app").await;
    sees(&mut b, "No OIDC applications yet.").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-oidc-app]", "state": "detached" }),
    )
    .await;
    let res = app.admin(Method::GET, &apps_path, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(listed(&body).is_empty(), "{body}");
    for event in [
        "oidc_app.created",
        "oidc_app.secret_rotated",
        "oidc_app.deleted",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "no {event}"
        );
    }

    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    b.close().await;
}

/// `grant_type=client_credentials` at `/oauth/token` with HTTP Basic (account id, key secret):
/// the status and the JSON answer.
async fn client_credentials(app: &TestApp, account: &str, secret: &str) -> (u16, Value) {
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(account, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_creates_a_service_account_and_shows_a_key_secret_once() {
    let (app, _sink, _key) = pages_app().await;
    let created = app
        .create_client(json!({
            "name": "Machines Portal",
            "allowed_origins": ["https://machines-portal.example.com"],
        }))
        .await;
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();
    let accounts_path = format!("/api/admin/clients/{client_id}/service-accounts");

    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    sees(&mut b, "New client").await;
    click(&mut b, "Open: Machines Portal").await;
    sees(&mut b, "No service accounts yet.").await;
    let headings = texts(&mut b, "h2").await;
    assert!(
        headings.iter().any(|h| h == "Service accounts"),
        "{headings:?}"
    );
    sees(&mut b, "grant_type=client_credentials").await;

    // Create "Billing worker" with two scopes, typed space-separated.
    fill(&mut b, "Account name", "Billing worker").await;
    fill(
        &mut b,
        "Scopes (space-separated)",
        "reports:read reports:write",
    )
    .await;
    click(&mut b, "Create service account").await;
    let account_id = shown(&mut b, "#new-sa-id").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("li[data-service-account='{account_id}']") }),
    )
    .await;
    let items = texts(&mut b, "li[data-service-account]").await;
    assert_eq!(items.len(), 1, "{items:?}");
    for part in [
        "Billing worker",
        account_id.as_str(),
        "Active",
        "reports:read reports:write",
    ] {
        assert!(items[0].contains(part), "{part} missing in {}", items[0]);
    }
    let res = app.admin(Method::GET, &accounts_path, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let account = &body["service_accounts"][0];
    assert_eq!(account["id"], account_id.as_str(), "{body}");
    assert_eq!(account["name"], "Billing worker");
    assert_eq!(account["scopes"], json!(["reports:read", "reports:write"]));
    assert_eq!(account["status"], "active");

    // New key: its secret is shown once (in place of the account's confirmation), and the keys
    // open below the account with its prefix, never the secret.
    click(&mut b, "New key: Billing worker").await;
    let secret = shown(&mut b, "#new-sa-secret").await;
    assert!(secret.starts_with("m2m_") && secret.len() == 68, "{secret}");
    sees(&mut b, "Key secret (shown once; store it now)").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#new-sa-id", "state": "detached" }),
    )
    .await;
    let prefix = secret[..16].to_owned();
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-sa-key][data-status='active']" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button[aria-label='Keys: Billing worker'][aria-expanded='true']" }),
    )
    .await;
    let keys = texts(&mut b, "li[data-sa-key]").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains(&prefix), "{prefix} missing in {}", keys[0]);
    assert!(!keys[0].contains(&secret), "the key list shows the secret");

    // The secret read from the page works: account id as client_id, secret as client_secret.
    let (status, token) = client_credentials(&app, &account_id, &secret).await;
    assert_eq!(status, 200, "{token}");
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{token}"
    );
    // Over HTTP: the key is listed by its prefix, and its JSON never carries the secret.
    let res = app
        .admin(
            Method::GET,
            &format!("{accounts_path}/{account_id}/keys"),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["keys"][0]["prefix"], prefix.as_str(), "{body}");
    assert!(!body.to_string().contains(&secret[16..]), "{body}");

    // Accessible, and no sideways scroll, with the keys and the new secret on screen.
    for (width, height) in [(1280, 800), (390, 844), (360, 740)] {
        ok(
            &mut b,
            json!({ "op": "viewport", "width": width, "height": height }),
        )
        .await;
        let axe = ok(&mut b, json!({ "op": "axe" })).await;
        assert_eq!(
            axe["violations"],
            json!([]),
            "portal service accounts at {width}: {axe}"
        );
        let overflow = ok(&mut b, json!({ "op": "overflow" })).await;
        assert_eq!(
            overflow["overflow"], false,
            "portal service accounts scroll sideways at {width}"
        );
    }

    // After a reload (the admin key is asked again) the secret is gone; the keys show the prefix.
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    sees(&mut b, "New client").await;
    click(&mut b, "Open: Machines Portal").await;
    click(&mut b, "Keys: Billing worker").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-sa-key]" }),
    )
    .await;
    let keys = texts(&mut b, "li[data-sa-key]").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains(&prefix), "{prefix} missing in {}", keys[0]);
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#new-sa-secret", "state": "detached" }),
    )
    .await;
    let page = texts(&mut b, "main").await.join("\n");
    assert!(
        !page.contains(&secret[16..]),
        "the secret is still on the page"
    );

    // Revoke (the confirmation is accepted by the driver): the key says so, and its secret is
    // refused at the token endpoint.
    click(&mut b, &format!("Revoke: {prefix}")).await;
    sees(&mut b, &format!("Revoked: {prefix}")).await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-sa-key][data-status='revoked']" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("button[aria-label='Revoke: {prefix}']"), "state": "detached" }),
    )
    .await;
    let (status, refused) = client_credentials(&app, &account_id, &secret).await;
    assert_eq!(status, 401, "{refused}");

    // Disable (confirmed): the account stays, disabled, and offers no new key.
    click(&mut b, "Disable: Billing worker").await;
    sees(&mut b, "Disabled: Billing worker").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("li[data-service-account='{account_id}'][data-status='disabled']") }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button[aria-label='New key: Billing worker']", "state": "detached" }),
    )
    .await;
    let res = app.admin(Method::GET, &accounts_path, None).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["service_accounts"][0]["status"], "disabled", "{body}");
    for event in [
        "service_account.created",
        "service_account.key_created",
        "service_account.key_revoked",
        "service_account.disabled",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "no {event}"
        );
    }

    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_widgets_sign_up_show_the_user_and_sign_in_again() {
    let (app, sink, key) = pages_app().await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/sdk-example.html?api_key={key}") }),
    )
    .await;
    // mountSignUp (the second Email/Password pair on the page).
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Email", "value": "widget@example.com", "nth": 1 }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Password", "value": PASSWORD, "nth": 1 }),
    )
    .await;
    click(&mut b, "Create account").await;
    // mountUserButton shows the user; mountUserProfile lists this session.
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#user .as-user-button" }),
    )
    .await;
    sees(&mut b, "widget@example.com").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#profile .as-list li" }),
    )
    .await;
    click(&mut b, "Sign out").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#user:empty", "state": "attached" }),
    )
    .await;
    // mountSignIn: a magic link, then a password sign-in.
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Email", "value": "widget@example.com" }),
    )
    .await;
    click(&mut b, "Email me a sign-in link").await;
    sees(&mut b, "a sign-in link is on its way").await;
    sink.wait_for_text("widget@example.com", "/api/auth/magic-link/verify", WAIT)
        .await;
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Password", "value": PASSWORD }),
    )
    .await;
    click(&mut b, "Sign in").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#user .as-user-button" }),
    )
    .await;
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "{axe}");
    let csp = ok(&mut b, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_sign_in_returns_to_the_app_with_a_one_time_code() {
    let (app, _sink, key) = pages_app().await;
    crate::auth_helpers::signup(&app, &key, "back@example.com").await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    // The app's page (the SDK example, which needs the key too).
    let target = format!("{}/sdk-example.html?api_key={key}", app.localhost_base());
    // The app uses PKCE: RFC 7636's example pair.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let login = url::Url::parse_with_params(
        &format!("{}/login.html", app.localhost_base()),
        &[
            ("api_key", key.as_str()),
            ("redirect_uri", target.as_str()),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    ok(&mut b, json!({ "op": "goto", "url": login.as_str() })).await;
    fill(&mut b, "Email", "back@example.com").await;
    fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut b, "Sign in").await;
    lands_on(&mut b, "/sdk-example.html").await;
    let url = ok(&mut b, json!({ "op": "url" })).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "auth_code")
        .map(|(_, v)| v.into_owned())
        .expect("auth_code on the redirect");
    assert!(!url.contains("eyJ"), "no token in the URL: {url}");
    let res = call(
        &app,
        Method::POST,
        "/api/auth/redirect/exchange",
        &key,
        Some(json!({
            "code": code, "token_transport": "json", "redirect_uri": target, "code_verifier": verifier,
        })),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    // A redirect to an origin the client does not allow goes to the account page instead.
    ok(&mut b, json!({ "op": "goto", "url": format!("/login.html?api_key={key}&redirect_uri=https://evil.example/") })).await;
    let auto = b
        .step(json!({ "op": "wait_url", "path": "/account.html", "timeout": 3000 }))
        .await;
    if auto.get("error").is_some() {
        fill(&mut b, "Email", "back@example.com").await;
        fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
        click(&mut b, "Sign in").await;
        lands_on(&mut b, "/account.html").await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_magic_link_opened_in_a_new_tab_signs_in_on_the_hosted_pages() {
    let (app, sink, key) = pages_app().await;
    crate::auth_helpers::signup(&app, &key, "magic@example.com").await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={key}&locale=en") }),
    )
    .await;
    fill(&mut b, "Email", "magic@example.com").await;
    click(&mut b, "Email me a sign-in link").await;
    sees(&mut b, "a sign-in link is on its way").await;
    let mail = sink
        .wait_for_text("magic@example.com", "/api/auth/magic-link/verify", WAIT)
        .await;
    let token = mail.query_param("/api/auth/magic-link/verify", "token");
    // The link opens in a new tab: a confirmation page names the account (opening it spends
    // nothing); Continue posts it, the server redirects to the login page with a one-time
    // code, the page exchanges it and the account page loads for this client.
    ok(&mut b, json!({ "op": "new_tab" })).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/api/auth/magic-link/verify?token={token}") }),
    )
    .await;
    sees(&mut b, "Sign in as magic@example.com?").await;
    click(&mut b, "Continue").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "magic@example.com").await;
    let url = ok(&mut b, json!({ "op": "url" })).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !url.contains("auth_code") && !url.contains("token="),
        "{url}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ended_session_says_so_on_the_account_page() {
    let (app, _sink, key) = pages_app().await;
    crate::auth_helpers::signup(&app, &key, "ended@example.com").await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={key}&locale=en") }),
    )
    .await;
    fill(&mut b, "Email", "ended@example.com").await;
    fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut b, "Sign in").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ended@example.com").await;
    // Every section has loaded: the revocation below meets the page idle, and the click is
    // what finds the session ended.
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "main[aria-busy=false]" }),
    )
    .await;

    // Another device signs out every other session, this browser's included.
    let other: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "ended@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let res = call(
        &app,
        Method::DELETE,
        "/api/auth/sessions",
        &key,
        None,
        other["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 200);

    // The page's next call is refused with session_revoked, and the page says what happened
    // (not "this link is not valid").
    ok_refused(&mut b, json!({ "op": "click", "name": "Save" }), &["401"]).await;
    ok_refused(
        &mut b,
        json!({ "op": "check_text", "text": "Your session has ended. Please sign in again." }),
        &["401"],
    )
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_asks_who_you_are_before_a_sensitive_change() {
    // A sign-in counts as recent for 2 s here (5 minutes by default).
    let (app, _sink, key) = pages_app_with(vec![("REAUTH_MAX_AGE", "2s".to_owned())]).await;
    crate::auth_helpers::signup(&app, &key, "careful@example.com").await;
    let mut b = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={key}&locale=en") }),
    )
    .await;
    fill(&mut b, "Email", "careful@example.com").await;
    fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut b, "Sign in").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "careful@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;

    // Signing out everywhere now asks for the password first (the server answered 401
    // reauthentication_required); a wrong one is refused (403).
    ok_refused(
        &mut b,
        json!({ "op": "click", "name": "Sign out all other sessions" }),
        &["401"],
    )
    .await;
    ok_refused(
        &mut b,
        json!({ "op": "check_text", "text": "Confirm it’s you" }),
        &["401"],
    )
    .await;
    fill(&mut b, "Password", "not-my-password-at-all").await;
    ok_refused(
        &mut b,
        json!({ "op": "click", "name": "Confirm" }),
        &["403"],
    )
    .await;
    ok_refused(
        &mut b,
        json!({ "op": "check_text", "text": "The current password is incorrect." }),
        &["403"],
    )
    .await;
    fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut b, "Confirm").await;
    sees(&mut b, "Session revoked.").await;
    let events = app.audit_events("event_type=user.reauthenticated").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["metadata"]["method"], "password");

    // Cancelling gives up on the change.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    ok_refused(
        &mut b,
        json!({ "op": "click", "name": "Set up authenticator app" }),
        &["401"],
    )
    .await;
    ok_refused(
        &mut b,
        json!({ "op": "check_text", "text": "Confirm it’s you" }),
        &["401"],
    )
    .await;
    click(&mut b, "Cancel").await;
    sees(&mut b, "Please confirm it’s you to continue.").await;
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "{axe}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signup_page_says_check_your_email_when_addresses_must_be_verified() {
    let (app, sink, _) = pages_app().await;
    let base = app.localhost_base();
    let key = key_of(
        &app.create_client(json!({
            "name": "Careful",
            "allowed_origins": [base],
            "settings": { "require_verified_email": true },
        }))
        .await,
    );
    crate::auth_helpers::signup_verified_or_not(&app, &key, "taken@example.com").await;
    let mut b = Browser::launch(&base).await;
    // A new address and a registered one get the same page; no session either way.
    for email in ["fresh@example.com", "taken@example.com"] {
        ok(
            &mut b,
            json!({ "op": "goto", "url": format!("/signup.html?api_key={key}&locale=en") }),
        )
        .await;
        fill(&mut b, "Email", email).await;
        fill(&mut b, "Password", crate::auth_helpers::PASSWORD).await;
        click(&mut b, "Create account").await;
        sees(
            &mut b,
            "Check your email: we sent you a link to finish signing up.",
        )
        .await;
    }
    sink.wait_for_text("fresh@example.com", "/verify-email.html?token=", WAIT)
        .await;
    sink.wait_for_text("taken@example.com", "already has one", WAIT)
        .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_manages_organizations_and_an_invitation_is_accepted_on_its_page() {
    let (app, sink, key) = pages_app().await;
    crate::auth_helpers::signup(&app, &key, "alice@example.com").await;
    // Bob's address is verified: only the invited address, verified, can accept.
    crate::auth_helpers::signup(&app, &key, "bob@example.com").await;
    let verify = sink
        .wait_for_text("bob@example.com", "/verify-email.html", WAIT)
        .await
        .query_param("/verify-email.html", "token");
    let res = app
        .http
        .post(app.url("/api/auth/verify-email"))
        .json(&json!({ "token": verify }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Alice creates an organization on her account page and invites Bob as a member.
    let mut alice = Browser::launch(&app.localhost_base()).await;
    ok(
        &mut alice,
        json!({ "op": "goto", "url": format!("/login.html?api_key={key}&locale=en") }),
    )
    .await;
    fill(&mut alice, "Email", "alice@example.com").await;
    fill(&mut alice, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut alice, "Sign in").await;
    lands_on(&mut alice, "/account.html").await;
    ok(
        &mut alice,
        json!({ "op": "wait_selector", "selector": "main[aria-busy=false]", "state": "attached" }),
    )
    .await;
    sees(&mut alice, "You are not a member of any organization yet.").await;
    fill(&mut alice, "Organization name", "Acme Corp").await;
    click(&mut alice, "Create organization").await;
    sees(&mut alice, "Organization Acme Corp created.").await;
    let listed = ok(
        &mut alice,
        json!({ "op": "text", "selector": "#organizations li[data-org]" }),
    )
    .await["text"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let listed = listed[0].as_str().unwrap_or_default();
    assert!(
        listed.contains("Acme Corp")
            && listed.contains("acme-corp")
            && listed.contains("Your role: Owner"),
        "{listed}"
    );
    ok(
        &mut alice,
        json!({ "op": "click", "role": "button", "name": "Manage: Acme Corp" }),
    )
    .await;
    sees(&mut alice, "No pending invitations.").await;
    fill(&mut alice, "Invite by email", "bob@example.com").await;
    click(&mut alice, "Send invitation").await;
    sees(&mut alice, "Invitation sent to bob@example.com.").await;
    ok(
        &mut alice,
        json!({ "op": "wait_selector", "selector": "li[data-invitation]" }),
    )
    .await;
    let pending = ok(
        &mut alice,
        json!({ "op": "text", "selector": "li[data-invitation]" }),
    )
    .await["text"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        pending.contains("bob@example.com") && pending.contains("Member"),
        "{pending}"
    );

    // The emailed link's token (its base is BASE_URL, not this server: the test builds the URL).
    let token = sink
        .wait_for_text("bob@example.com", "/accept-invitation.html", WAIT)
        .await
        .query_param("/accept-invitation.html", "token");
    let accept = url::Url::parse_with_params(
        &format!("{}/accept-invitation.html", app.localhost_base()),
        &[
            ("token", token.as_str()),
            ("api_key", key.as_str()),
            ("locale", "en"),
        ],
    )
    .unwrap();

    // Bob opens it signed out: the page sends him to sign in and the sign-in comes back to it.
    let mut bob = Browser::launch(&app.localhost_base()).await;
    ok(&mut bob, json!({ "op": "goto", "url": accept.as_str() })).await;
    sees(&mut bob, "You were invited to an organization.").await;
    let url = ok(&mut bob, json!({ "op": "url" })).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !url.contains("token="),
        "the token leaves the address bar: {url}"
    );
    ok(
        &mut bob,
        json!({ "op": "click", "role": "link", "name": "Sign in" }),
    )
    .await;
    lands_on(&mut bob, "/login.html").await;
    fill(&mut bob, "Email", "bob@example.com").await;
    fill(&mut bob, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut bob, "Sign in").await;
    lands_on(&mut bob, "/accept-invitation.html").await;
    sees(&mut bob, "You are signed in as bob@example.com.").await;
    click(&mut bob, "Join organization").await;
    sees(&mut bob, "You joined Acme Corp as Member.").await;
    let axe = ok(&mut bob, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "{axe}");
    bob.close().await;

    // Bob is a member, with the invitation's role.
    let login: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({ "email": "bob@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json" })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let orgs: Value = call(
        &app,
        Method::GET,
        "/api/auth/organizations",
        &key,
        None,
        login["access_token"].as_str(),
    )
    .await
    .json()
    .await
    .unwrap();
    let orgs = orgs["organizations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0]["name"], "Acme Corp");
    assert_eq!(orgs[0]["role"], "member");

    // Alice's page now lists Bob with a role picker and Remove, and no pending invitation.
    ok(&mut alice, json!({ "op": "goto", "url": "/account.html" })).await;
    ok(
        &mut alice,
        json!({ "op": "wait_selector", "selector": "main[aria-busy=false]", "state": "attached" }),
    )
    .await;
    ok(
        &mut alice,
        json!({ "op": "click", "role": "button", "name": "Manage: Acme Corp" }),
    )
    .await;
    ok(
        &mut alice,
        json!({ "op": "wait_selector", "selector": "button[aria-label='Remove: bob@example.com']" }),
    )
    .await;
    sees(&mut alice, "No pending invitations.").await;
    let axe = ok(&mut alice, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "{axe}");
    let csp = ok(&mut alice, json!({ "op": "csp_violations" })).await;
    assert_eq!(csp["violations"], json!([]));
    alice.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_person_signs_up_from_an_invitation_and_joins_after_verifying() {
    let (app, sink, _) = pages_app().await;
    let base = app.localhost_base();
    let key = key_of(
        &app.create_client(json!({
            "name": "Careful",
            "allowed_origins": [base],
            "settings": { "require_verified_email": true },
        }))
        .await,
    );
    // The owner, verified, creates an organization and invites an address with no account.
    crate::auth_helpers::signup_verified_or_not(&app, &key, "owner@example.com").await;
    let verify = sink
        .wait_for_text("owner@example.com", "/verify-email.html", WAIT)
        .await
        .query_param("/verify-email.html", "token");
    let res = app
        .http
        .post(app.url("/api/auth/verify-email"))
        .json(&json!({ "token": verify }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let login: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "owner@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let owner = login["access_token"].as_str().unwrap();
    let org: Value = call(
        &app,
        Method::POST,
        "/api/auth/organizations",
        &key,
        Some(json!({"name": "Acme Corp"})),
        Some(owner),
    )
    .await
    .json()
    .await
    .unwrap();
    let res = call(
        &app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{}/invitations",
            org["id"].as_str().unwrap()
        ),
        &key,
        Some(json!({"email": "carol@example.com", "role": "member"})),
        Some(owner),
    )
    .await;
    assert_eq!(res.status(), 201);
    let invitation = sink
        .wait_for_text("carol@example.com", "/accept-invitation.html", WAIT)
        .await
        .query_param("/accept-invitation.html", "token");

    // Carol opens the invitation, signs up from it, and verifies in another tab (as an email
    // link opens); signing in there brings her back to the invitation.
    let mut carol = Browser::launch(&base).await;
    ok(
        &mut carol,
        json!({ "op": "goto", "url": format!("/accept-invitation.html?token={invitation}&api_key={key}&locale=en") }),
    )
    .await;
    sees(&mut carol, "You were invited to an organization.").await;
    ok(
        &mut carol,
        // The second link of a row gets a "·" before it (CSS), which is part of its name.
        json!({ "op": "click", "role": "link", "name": "Create an account", "exact": false }),
    )
    .await;
    lands_on(&mut carol, "/signup.html").await;
    fill(&mut carol, "Email", "carol@example.com").await;
    fill(&mut carol, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut carol, "Create account").await;
    sees(
        &mut carol,
        "Check your email: we sent you a link to finish signing up.",
    )
    .await;
    let verify = sink
        .wait_for_text("carol@example.com", "/verify-email.html", WAIT)
        .await
        .query_param("/verify-email.html", "token");
    ok(&mut carol, json!({ "op": "new_tab" })).await;
    ok(
        &mut carol,
        json!({ "op": "goto", "url": format!("/verify-email.html?token={verify}&api_key={key}&locale=en") }),
    )
    .await;
    sees(&mut carol, "Your email address is confirmed.").await;
    ok(
        &mut carol,
        json!({ "op": "click", "role": "link", "name": "Back to sign in" }),
    )
    .await;
    lands_on(&mut carol, "/login.html").await;
    fill(&mut carol, "Email", "carol@example.com").await;
    fill(&mut carol, "Password", crate::auth_helpers::PASSWORD).await;
    click(&mut carol, "Sign in").await;
    lands_on(&mut carol, "/accept-invitation.html").await;
    click(&mut carol, "Join organization").await;
    sees(&mut carol, "You joined Acme Corp as Member.").await;
    carol.close().await;

    let login: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "carol@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let orgs: Value = call(
        &app,
        Method::GET,
        "/api/auth/organizations",
        &key,
        None,
        login["access_token"].as_str(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(orgs["organizations"][0]["name"], "Acme Corp");
    assert_eq!(orgs["organizations"][0]["role"], "member");
}
