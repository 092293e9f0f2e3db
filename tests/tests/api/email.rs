//! Email flows end to end: the server delivers through a real SMTP session to the sink in the
//! harness; the tests read each delivered message, follow its link and complete the flow.

use std::time::Duration;

use authservice_interfaces::grpc::proto::auth_service_client::AuthServiceClient;
use authservice_interfaces::grpc::proto::{
    ForgotPasswordRequest, ResendVerificationRequest, ResetPasswordRequest, SendMagicLinkRequest,
    VerifyEmailRequest, VerifyMagicLinkRequest,
};
use authservice_tests::smtp::{ReceivedMail, SmtpSink, unused_port};
use authservice_tests::{AppOptions, TestApp, smtp_env, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tonic::Code;

use crate::auth_helpers::{PASSWORD, call, key_of, signup};

const WAIT: Duration = Duration::from_secs(15);

async fn email_app() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(AppOptions {
        env: smtp_env(sink.port()),
        ..Default::default()
    })
    .await;
    (app, sink)
}

async fn error_code(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

async fn post_public(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Waits for the `n`-th message (1-based) to `rcpt`.
async fn nth_mail_to(sink: &SmtpSink, rcpt: &str, n: usize) -> ReceivedMail {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mails = sink.messages_to(rcpt);
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message #{n} to {rcpt}; got {}",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn forgot(app: &TestApp, key: &str, email: &str) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/auth/forgot-password",
        key,
        Some(json!({ "email": email })),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn signup_sends_a_verification_email_whose_link_verifies_the_address() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    let signed_up = signup(&app, &key, "ada@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap().to_owned();

    let mail = sink.wait_for_rcpt("ada@example.com", WAIT).await;
    assert_eq!(mail.mail_from, "no-reply@auth.example.com");
    assert!(mail.subject.contains("Test App"), "{}", mail.subject);
    assert!(
        mail.from.contains("Test App"),
        "sender name is the brand: {}",
        mail.from
    );
    assert!(mail.header("Message-ID").is_some());
    let link = mail.link("/verify-email.html");
    assert!(
        link.starts_with("http://localhost:8080/verify-email.html?token="),
        "{link}"
    );
    assert!(
        mail.html.contains("verify-email.html?token="),
        "HTML part has the link too"
    );
    let token = mail.query_param("/verify-email.html", "token");

    let me = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(me.json::<Value>().await.unwrap()["email_verified"], false);

    let res = post_public(&app, "/api/auth/verify-email", json!({ "token": token })).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let me = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(me.json::<Value>().await.unwrap()["email_verified"], true);

    // A replayed token is refused; so is a made-up one.
    let res = post_public(&app, "/api/auth/verify-email", json!({ "token": token })).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_used".into())
    );
    let res = post_public(
        &app,
        "/api/auth/verify-email",
        json!({ "token": "ab".repeat(32) }),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "invalid_link".into())
    );

    // Already verified: resending is refused.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/resend-verification",
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "email_already_verified".into())
    );

    for event in [
        "user.verification_email_sent",
        "email.delivered",
        "user.email_verified",
    ] {
        assert_eq!(
            app.audit_events(&format!("event_type={event}")).await.len(),
            1,
            "{event}"
        );
    }
    // Delivered messages are wiped from the outbox; only hashes of tokens are stored.
    let sealed = app
        .query_text(
            "SELECT count(*)::text AS value FROM email_outbox WHERE message_sealed IS NOT NULL",
        )
        .await;
    assert_eq!(sealed, ["0"]);
    let stored = app
        .query_text("SELECT encode(token_hash, 'hex') AS value FROM one_time_tokens")
        .await;
    assert!(!stored.contains(&token), "tokens are stored hashed");
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_verification_sends_a_fresh_link_three_times_an_hour() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "bo@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/resend-verification",
            &key,
            None,
            Some(&access),
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    let res = call(
        &app,
        Method::POST,
        "/api/auth/resend-verification",
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Without a bearer token: 401.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/resend-verification",
        &key,
        None,
        None,
    )
    .await;
    assert_eq!(res.status(), 401);

    // The signup message and three resent ones; the last link verifies.
    let last = nth_mail_to(&sink, "bo@example.com", 4).await;
    let token = last.query_param("/verify-email.html", "token");
    let res = post_public(&app, "/api/auth/verify-email", json!({ "token": token })).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_by_email_sets_the_password_and_ends_every_session() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    let signed_up = signup(&app, &key, "cy@example.com").await;
    let refresh = signed_up["refresh_token"].as_str().unwrap().to_owned();

    assert_eq!(forgot(&app, &key, "cy@example.com").await.status(), 200);
    let first = nth_mail_to(&sink, "cy@example.com", 2).await;
    assert_eq!(forgot(&app, &key, "CY@example.com").await.status(), 200);
    let second = nth_mail_to(&sink, "cy@example.com", 3).await;
    let old_token = first.query_param("/reset-password.html", "token");
    let token = second.query_param("/reset-password.html", "token");
    assert!(
        second
            .link("/reset-password.html")
            .starts_with("http://localhost:8080/")
    );

    // A newer request voided the older link.
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": old_token, "new_password": "another-Strong-pass-77" }),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_used".into())
    );

    // The policy applies, and a refused password does not use the token up.
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": token, "new_password": "short" }),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "password_policy".into())
    );
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": token, "new_password": "another-Strong-pass-77" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": token, "new_password": "yet-another-Strong-pass-88" }),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_used".into())
    );

    // Every session ended; the new password logs in, the old one does not.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({ "refresh_token": refresh })),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let login = |password: &'static str| {
        call(
            &app,
            Method::POST,
            "/api/auth/login",
            &key,
            Some(
                json!({ "email": "cy@example.com", "password": password, "token_transport": "json" }),
            ),
            None,
        )
    };
    assert_eq!(login(PASSWORD).await.status(), 401);
    assert_eq!(login("another-Strong-pass-77").await.status(), 200);
    assert_eq!(
        app.audit_events("event_type=user.password_reset")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forgot_password_for_an_unknown_email_is_indistinguishable() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "known@example.com").await;
    let answer = |res: reqwest::Response| async move {
        let status = res.status();
        let mut headers: Vec<String> = res
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        headers.sort();
        (status, headers, res.text().await.unwrap())
    };
    let known = answer(forgot(&app, &key, "known@example.com").await).await;
    let unknown = answer(forgot(&app, &key, "nobody@example.com").await).await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, 200);
    // Both count against the same limit: the 4th request in an hour is refused either way.
    for email in ["known@example.com", "nobody@example.com"] {
        forgot(&app, &key, email).await;
        forgot(&app, &key, email).await;
        let res = forgot(&app, &key, email).await;
        assert_eq!(res.status(), 429, "{email}");
    }
    // Only the known address got mail (verification + 3 resets).
    nth_mail_to(&sink, "known@example.com", 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sink.messages_to("nobody@example.com").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_link_is_refused_with_token_expired() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "old@example.com").await;
    forgot(&app, &key, "old@example.com").await;
    let mail = nth_mail_to(&sink, "old@example.com", 2).await;
    let token = mail.query_param("/reset-password.html", "token");
    let verify = sink.messages_to("old@example.com")[0].query_param("/verify-email.html", "token");
    app.query_text(
        "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' RETURNING id::text AS value",
    )
    .await;
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": token, "new_password": "another-Strong-pass-77" }),
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_expired".into())
    );
    let res = post_public(&app, "/api/auth/verify-email", json!({ "token": verify })).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_expired".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn magic_links_log_in_by_json_or_by_a_single_use_redirect_code() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "mo@example.com").await;
    let send = || {
        call(
            &app,
            Method::POST,
            "/api/auth/magic-link/send",
            &key,
            Some(json!({ "email": "mo@example.com" })),
            None,
        )
    };
    assert_eq!(send().await.status(), 200);
    let mail = nth_mail_to(&sink, "mo@example.com", 2).await;
    let link = mail.link("/api/auth/magic-link/verify");
    assert!(link.starts_with("http://localhost:8080/api/auth/magic-link/verify?token="));
    let token = mail.query_param("/api/auth/magic-link/verify", "token");
    // What an app posts (JSON), or the confirmation page's form (a browser).
    let verify = |token: String, json: bool| {
        let req = app.http.post(app.url("/api/auth/magic-link/verify"));
        if json {
            req.json(&json!({ "token": token })).send()
        } else {
            req.form(&[("token", token)]).send()
        }
    };

    // JSON: tokens at once, and the address counts as verified.
    let res = verify(token.clone(), true).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some());
    assert!(body["refresh_token"].as_str().is_some());
    assert_eq!(body["user"]["email_verified"], true);
    let res = verify(token.clone(), true).await.unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_used".into())
    );
    // A browser replaying it is sent to the login page with the error, not a token.
    let res = verify(token, false).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/login.html?error=AUTH_LINK_USED"
    );

    // Browser: a 303 carrying a one-time code, never a token.
    assert_eq!(send().await.status(), 200);
    let token = nth_mail_to(&sink, "mo@example.com", 3)
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let res = verify(token, false).await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .strip_prefix("/login.html?auth_code=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    assert!(!location.contains("eyJ"), "no JWT in the URL");
    let exchange = |code: String| {
        call(
            &app,
            Method::POST,
            "/api/auth/redirect/exchange",
            &key,
            Some(json!({ "code": code, "token_transport": "json" })),
            None,
        )
    };
    let res = exchange(code.clone()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "mo@example.com");
    let res = exchange(code).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "invalid_redirect_code".into())
    );
    let logins = app.audit_events("event_type=user.magic_link_login").await;
    assert_eq!(logins.len(), 2);

    // Unknown addresses get the same answer and no mail.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/magic-link/send",
        &key,
        Some(json!({ "email": "ghost@example.com" })),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    // The fourth request within the hour is limited.
    assert_eq!(send().await.status(), 200);
    assert_eq!(send().await.status(), 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn link_tokens_and_redirect_codes_are_bound_to_their_client() {
    let (app, sink) = email_app().await;
    let key_a = key_of(&app.new_client().await);
    let key_b = key_of(&app.new_client().await);
    signup(&app, &key_a, "al@example.com").await;
    let send = || {
        call(
            &app,
            Method::POST,
            "/api/auth/magic-link/send",
            &key_a,
            Some(json!({ "email": "al@example.com" })),
            None,
        )
    };
    send().await;
    let token = nth_mail_to(&sink, "al@example.com", 2)
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let verify_with = |key: &str, token: &str| {
        app.http
            .post(app.url("/api/auth/magic-link/verify"))
            .json(&json!({ "token": token }))
            .header("X-API-Key", key)
            .send()
    };
    let res = verify_with(&key_b, &token).await.unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_client_mismatch".into())
    );
    // Over gRPC too.
    let mut grpc = AuthServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    let err = grpc
        .verify_magic_link(VerifyMagicLinkRequest {
            token: token.clone(),
            api_key: key_b.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    // The refused attempts did not use the token up: its own client logs in with it.
    let res = verify_with(&key_a, &token).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "al@example.com");

    // A redirect code of client A is refused with client B's key (and spent).
    send().await;
    let token = nth_mail_to(&sink, "al@example.com", 3)
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/verify"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let code = location.trim_start_matches("/login.html?auth_code=");
    let res = app
        .http
        .post(app.url("/api/auth/redirect/exchange"))
        .header("X-API-Key", &key_b)
        .json(&json!({ "code": code, "token_transport": "json" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::BAD_REQUEST,
            "redirect_code_client_mismatch".into()
        )
    );
    // Reset tokens too (and the refused attempt leaves the token usable by its client).
    call(
        &app,
        Method::POST,
        "/api/auth/forgot-password",
        &key_a,
        Some(json!({ "email": "al@example.com" })),
        None,
    )
    .await;
    let reset = nth_mail_to(&sink, "al@example.com", 4)
        .await
        .query_param("/reset-password.html", "token");
    let reset_with = |key: &str| {
        app.http
            .post(app.url("/api/auth/reset-password"))
            .header("X-API-Key", key)
            .json(&json!({ "token": reset, "new_password": "another-Strong-pass-77" }))
            .send()
    };
    assert_eq!(
        error_code(reset_with(&key_b).await.unwrap()).await,
        (StatusCode::BAD_REQUEST, "link_client_mismatch".into())
    );
    assert_eq!(reset_with(&key_a).await.unwrap().status(), 200);
    // Verification tokens too.
    let verify = sink.messages_to("al@example.com")[0].query_param("/verify-email.html", "token");
    let res = app
        .http
        .post(app.url("/api/auth/verify-email"))
        .header("X-API-Key", &key_b)
        .json(&json!({ "token": verify }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_client_mismatch".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_queued_while_smtp_is_down_goes_out_when_it_is_back() {
    let port = unused_port();
    let app = spawn_app_with(AppOptions {
        env: smtp_env(port),
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "dora@example.com").await;
    assert_eq!(forgot(&app, &key, "dora@example.com").await.status(), 200);

    // Attempts fail and are recorded while nothing listens.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let attempts = app
            .query_text("SELECT min(attempts)::text AS value FROM email_outbox")
            .await;
        if attempts[0].parse::<i32>().unwrap_or(0) >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retries recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let errors = app
        .query_text(
            "SELECT coalesce(last_error, '') AS value FROM email_outbox WHERE status = 'pending'",
        )
        .await;
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| !e.is_empty()), "{errors:?}");

    let sink = SmtpSink::start_on(port).await;
    let mails = sink.wait_for(2, WAIT).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("password") || m.text.contains("reset-password"))
    );
    let token = nth_mail_to(&sink, "dora@example.com", 2).await;
    let link_of = |m: &ReceivedMail| m.text.contains("/reset-password.html");
    let reset = sink
        .messages_to("dora@example.com")
        .into_iter()
        .find(link_of)
        .unwrap_or(token);
    let token = reset.query_param("/reset-password.html", "token");
    let res = post_public(
        &app,
        "/api/auth/reset-password",
        json!({ "token": token, "new_password": "another-Strong-pass-77" }),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_of_a_stopped_replica_is_delivered_by_another_and_never_twice() {
    let down = unused_port();
    let mut first = spawn_app_with(AppOptions {
        env: [
            smtp_env(down),
            vec![("SIGNUP_RATE_LIMIT", "100".to_owned())],
        ]
        .concat(),
        ..Default::default()
    })
    .await;
    let key = key_of(&first.new_client().await);
    for i in 0..6 {
        signup(&first, &key, &format!("r{i}@example.com")).await;
    }
    // The first replica cannot deliver; it stops with everything still queued.
    first.begin_shutdown();
    first.stopped().await.unwrap();
    let pending = first
        .query_text("SELECT count(*)::text AS value FROM email_outbox WHERE status = 'pending'")
        .await;
    assert_eq!(pending, ["6"]);
    // As if a worker had been killed mid-send: its leases still hold the messages for a second.
    let leased = first
        .query_text(
            "UPDATE email_outbox SET locked_until = now() + interval '1 second' RETURNING id::text AS value",
        )
        .await;
    assert_eq!(leased.len(), 6);

    // Two replicas of the same database, one SMTP server: every message exactly once.
    let sink = SmtpSink::start().await;
    let replica = |env: Vec<(&'static str, String)>| {
        spawn_app_with(AppOptions {
            env,
            database: Some(first.database.clone()),
            ..Default::default()
        })
    };
    let env = [
        smtp_env(sink.port()),
        vec![
            ("ENCRYPTION_KEY", first.encryption_key.clone()),
            ("SIGNUP_RATE_LIMIT", "100".to_owned()),
        ],
    ]
    .concat();
    let second = replica(env.clone()).await;
    let third = replica(env).await;
    for i in 6..12 {
        let app = if i % 2 == 0 { &second } else { &third };
        signup(app, &key, &format!("r{i}@example.com")).await;
    }
    sink.wait_for(12, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 12, "each message exactly once");
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12);
    let sent = second
        .query_text("SELECT count(*)::text AS value FROM email_outbox WHERE status = 'sent'")
        .await;
    assert_eq!(sent, ["12"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clients_email_settings_choose_sender_links_and_its_own_smtp_server() {
    let (app, default_sink) = email_app().await;
    let own = SmtpSink::start_with_auth("mailer", "s3cret-smtp-pass").await;
    let created = app
        .create_client(json!({
            "name": "Acme",
            "allowed_origins": ["https://app.acme.test"],
            "settings": { "auth_ui": { "brand_name": "Acme Cloud", "primary_color": "#ff5500", "locale": "de" } },
        }))
        .await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/admin/clients/{id}/email-config");

    let res = app.admin(Method::GET, &path, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["configured"], false);

    let bad = app
        .admin(
            Method::PUT,
            &path,
            Some(json!({ "base_url": "ftp://nope" })),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let res = app
        .admin(
            Method::PUT,
            &path,
            Some(json!({
                "from_name": "Acme Support",
                "from_email": "support@acme.test",
                "reply_to": "help@acme.test",
                "base_url": "https://app.acme.test/auth",
                "smtp": { "host": "127.0.0.1", "port": own.port(), "username": "mailer", "password": "s3cret-smtp-pass", "tls": "none" },
            })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["smtp"]["password_set"], true);
    assert!(!view.to_string().contains("s3cret-smtp-pass"));
    let stored = app
        .query_text(
            "SELECT encode(smtp_password_sealed, 'escape') AS value FROM client_email_configs",
        )
        .await;
    assert!(!stored[0].contains("s3cret-smtp-pass"), "sealed at rest");
    let events = app.audit_events("event_type=email_config.updated").await;
    assert_eq!(events.len(), 1);
    assert!(!events[0].to_string().contains("s3cret-smtp-pass"));

    // A PUT without the password keeps it (same host and user).
    let res = app
        .admin(
            Method::PUT,
            &path,
            Some(json!({
                "from_name": "Acme Support",
                "from_email": "support@acme.test",
                "reply_to": "help@acme.test",
                "base_url": "https://app.acme.test/auth",
                "smtp": { "host": "127.0.0.1", "port": own.port(), "username": "mailer", "tls": "none" },
            })),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["smtp"]["password_set"],
        true
    );
    // PATCH changes only what it names.
    let res = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "from_name": "Acme Support" })),
        )
        .await;
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["smtp"]["password_set"], true);
    assert_eq!(view["reply_to"], "help@acme.test");
    // Credentials never go in clear text to a remote server.
    let res = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "smtp": { "host": "smtp.acme.test", "username": "mailer", "password": "x", "tls": "none" } })),
        )
        .await;
    assert_eq!(res.status(), 400);
    // Another port (or TLS mode, or host) needs the password again.
    let other_port = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "smtp": { "host": "127.0.0.1", "port": 2525, "username": "mailer", "tls": "none" } })),
        )
        .await;
    assert_eq!(
        other_port.json::<Value>().await.unwrap()["smtp"]["password_set"],
        false
    );
    let res = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "smtp": { "host": "127.0.0.1", "port": own.port(), "username": "mailer", "password": "s3cret-smtp-pass", "tls": "none" } })),
        )
        .await;
    assert_eq!(res.status(), 200);

    signup(&app, &key, "eve@example.com").await;
    let mail = own.wait_for_rcpt("eve@example.com", WAIT).await;
    assert_eq!(
        mail.auth,
        Some(("mailer".to_owned(), "s3cret-smtp-pass".to_owned()))
    );
    assert_eq!(mail.mail_from, "support@acme.test");
    assert!(mail.from.contains("Acme Support"), "{}", mail.from);
    assert!(
        mail.reply_to
            .as_deref()
            .unwrap_or_default()
            .contains("help@acme.test")
    );
    assert!(
        mail.link("/verify-email.html")
            .starts_with("https://app.acme.test/auth/verify-email.html?token=")
    );
    // Branded and in the client's language (German).
    assert!(mail.subject.contains("Acme Cloud"), "{}", mail.subject);
    assert!(mail.html.contains("#ff5500"));
    assert!(mail.html.contains("lang=\"de\""));

    // The user's own language wins over the client's.
    let login: Value = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(
            json!({ "email": "eve@example.com", "password": PASSWORD, "token_transport": "json" }),
        ),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let access = login["access_token"].as_str().unwrap();
    let res = call(
        &app,
        Method::PATCH,
        "/api/auth/me",
        &key,
        Some(json!({ "locale": "fr-CA" })),
        Some(access),
    )
    .await;
    assert_eq!(res.status(), 200);
    forgot(&app, &key, "eve@example.com").await;
    let reset = nth_mail_to(&own, "eve@example.com", 2).await;
    assert!(reset.html.contains("lang=\"fr\""));
    let de_subject = mail.subject.clone();
    assert_ne!(reset.subject, de_subject);

    // A caller may pick only a registered link base: origin and path.
    for (base_url, status) in [
        ("https://evil.example", 400),
        ("https://app.acme.test/other-page", 400),
        ("https://app.acme.test", 400),
        ("https://app.acme.test/auth", 200),
    ] {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/forgot-password",
            &key,
            Some(json!({ "email": "eve@example.com", "base_url": base_url })),
            None,
        )
        .await;
        assert_eq!(res.status(), status, "{base_url}");
    }
    // The accepted one is delivered through the client's server with the registered base
    // (waited for before its settings go away).
    let linked = nth_mail_to(&own, "eve@example.com", 3).await;
    assert!(
        linked
            .link("/reset-password.html")
            .starts_with("https://app.acme.test/auth/")
    );

    // Deleting the settings returns to the server's sender and SMTP server.
    let res = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(res.json::<Value>().await.unwrap()["deleted"], true);
    forgot(&app, &key, "eve@example.com").await;
    let mail = default_sink.wait_for_rcpt("eve@example.com", WAIT).await;
    assert_eq!(mail.mail_from, "no-reply@auth.example.com");
    let view: Value = app
        .admin(Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["configured"], false);
    assert!(view["outbox"]["sent"].as_u64().unwrap() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_messages_are_written_to_the_development_folder() {
    let dir = std::env::temp_dir().join(format!(
        "authservice-dev-mail-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let app = spawn_app_with(AppOptions {
        env: vec![("EMAIL_DEV_DIR", dir.display().to_string())],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "dev@example.com").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let file = loop {
        let found = std::fs::read_dir(&dir)
            .ok()
            .and_then(|mut entries| entries.next())
            .and_then(Result::ok);
        if let Some(entry) = found {
            break entry.path();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no file in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(raw.contains("To: dev@example.com"), "{raw}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_email_flows_over_grpc() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    let signed_up = signup(&app, &key, "gus@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap().to_owned();
    let user_id = signed_up["user"]["id"].as_str().unwrap().to_owned();
    let mut grpc = AuthServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();

    // ResendVerification needs the user's own access token.
    let err = grpc
        .resend_verification(ResendVerificationRequest {
            user_id: user_id.clone(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    grpc.resend_verification(ResendVerificationRequest {
        user_id: user_id.clone(),
        api_key: key.clone(),
        access_token: access.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = nth_mail_to(&sink, "gus@example.com", 2)
        .await
        .query_param("/verify-email.html", "token");
    grpc.verify_email(VerifyEmailRequest {
        token: token.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = grpc
        .verify_email(VerifyEmailRequest {
            token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.metadata().get("x-error-code").unwrap(), "link_used");

    // ForgotPassword needs the API key (a bare client_id is not a credential).
    let err = grpc
        .forgot_password(ForgotPasswordRequest {
            email: "gus@example.com".into(),
            client_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    grpc.forgot_password(ForgotPasswordRequest {
        email: "gus@example.com".into(),
        api_key: key.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = nth_mail_to(&sink, "gus@example.com", 3)
        .await
        .query_param("/reset-password.html", "token");
    grpc.reset_password(ResetPasswordRequest {
        token,
        new_password: "another-Strong-pass-77".into(),
        api_key: key.clone(),
    })
    .await
    .unwrap();

    grpc.send_magic_link(SendMagicLinkRequest {
        email: "gus@example.com".into(),
        api_key: key.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = nth_mail_to(&sink, "gus@example.com", 4)
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let auth = grpc
        .verify_magic_link(VerifyMagicLinkRequest {
            token,
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!auth.access_token.is_empty() && !auth.refresh_token.is_empty());
    assert_eq!(auth.user.unwrap().email, "gus@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_of_a_suspended_client_cannot_take_over_an_account() {
    let (app, sink) = email_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    signup(&app, &key, "dormant@example.com").await;
    assert_eq!(
        forgot(&app, &key, "dormant@example.com").await.status(),
        200
    );
    let token = nth_mail_to(&sink, "dormant@example.com", 2)
        .await
        .query_param("/reset-password.html", "token");
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let reset = json!({ "token": token, "new_password": "another-Strong-pass-77" });
    let res = post_public(&app, "/api/auth/reset-password", reset.clone()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::FORBIDDEN, "client_suspended".into())
    );
    // The link was not spent: once the client is back, it works.
    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"status": "active"})),
    )
    .await;
    let res = post_public(&app, "/api/auth/reset-password", reset).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_scanner_does_not_consume_a_magic_link() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "scanned@example.com").await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/magic-link/send",
        &key,
        Some(json!({ "email": "scanned@example.com" })),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let mail = nth_mail_to(&sink, "scanned@example.com", 2).await;
    let link = mail
        .link("/api/auth/magic-link/verify")
        .replace("http://localhost:8080", &app.address);
    let token = mail.query_param("/api/auth/magic-link/verify", "token");

    // A scanner, a link preview, a prefetch: GETs in every flavour spend nothing.
    for _ in 0..3 {
        let res = app
            .http
            .get(&link)
            .header("Accept-Language", "de-DE,de;q=0.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(res.headers()["cache-control"], "no-store");
        let page = res.text().await.unwrap();
        // The page names the account (someone else's link shows someone else's address) and
        // asks for a click, in the browser's language.
        assert!(page.contains("scanned@example.com"), "{page}");
        assert!(page.contains("Als <strong>scanned@example.com</strong> anmelden?"));
        assert!(page.contains(r#"<form method="post" action="/api/auth/magic-link/verify">"#));
        assert!(
            !page.contains("<script"),
            "works under the CSP without script"
        );
        let res = app
            .http
            .get(&link)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["requires_confirmation"], true);
        assert!(body.get("access_token").is_none());
    }
    let consumed = app
        .query_text(
            "SELECT count(*)::text AS value FROM one_time_tokens \
             WHERE purpose = 'magic_link' AND consumed_at IS NOT NULL",
        )
        .await;
    assert_eq!(consumed, ["0"]);
    assert!(
        app.audit_events("event_type=user.magic_link_login")
            .await
            .is_empty()
    );

    // Another site cannot submit the form for the visitor (login CSRF).
    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let res = app
            .http
            .post(app.url("/api/auth/magic-link/verify"))
            .header(name, value)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}");
    }
    // The person clicks Continue: the page's form POST signs in (a one-time code for the
    // login page, no token in any URL)...
    let host = app.address.trim_start_matches("http://").to_owned();
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/verify"))
        .header("Origin", app.address.as_str())
        .header("Host", host)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login.html?auth_code="), "{location}");
    // The login page of a browser that does not know the client's key yet can exchange a
    // magic link's code (it carries no redirect URI and goes only to this server's page).
    let code = location.trim_start_matches("/login.html?auth_code=");
    let res = post_public(
        &app,
        "/api/auth/redirect/exchange",
        json!({ "code": code, "token_transport": "json" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    // ...once: afterwards the page says the link is spent, and a POST is refused.
    let page = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("no longer valid"), "{page}");
    assert!(!page.contains("<form"));
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/verify"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "link_used".into())
    );
}

async fn issue_code(app: &TestApp, key: &str, access: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/auth/redirect/code",
        key,
        Some(body),
        Some(access),
    )
    .await
}

async fn code_of(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auth_code_without_its_verifier_is_refused() {
    let app = authservice_tests::spawn_app().await;
    let callback = "https://app.example.com/auth/callback";
    let created = app
        .create_client(json!({
            "name": "Bound",
            "allowed_origins": ["https://app.example.com"],
            "redirect_uris": [callback],
        }))
        .await;
    assert_eq!(created["client"]["redirect_uris"], json!([callback]));
    let key = key_of(&created);
    let other_key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "bound@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    // Only a registered redirect URI, exactly; only S256.
    for (body, code) in [
        (json!({}), "invalid_request"),
        (
            json!({ "redirect_uri": "https://app.example.com/elsewhere" }),
            "redirect_uri_not_allowed",
        ),
        (
            json!({ "redirect_uri": format!("{callback}?next=/admin") }),
            "redirect_uri_not_allowed",
        ),
        (
            json!({ "redirect_uri": "https://evil.example/auth/callback" }),
            "redirect_uri_not_allowed",
        ),
        (
            json!({ "redirect_uri": callback, "code_challenge": verifier, "code_challenge_method": "plain" }),
            "invalid_request",
        ),
    ] {
        let res = issue_code(&app, &key, &access, body.clone()).await;
        assert_eq!(
            error_code(res).await,
            (StatusCode::BAD_REQUEST, code.into()),
            "{body}"
        );
    }
    let with_pkce = json!({ "redirect_uri": callback, "code_challenge": challenge, "code_challenge_method": "S256" });
    let exchange = |key: Option<&str>, body: Value| {
        let mut req = app
            .http
            .post(app.url("/api/auth/redirect/exchange"))
            .json(&body);
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        req.send()
    };

    // A code that leaked from the URL: useless without the key, the redirect URI and the verifier.
    let code = code_of(issue_code(&app, &key, &access, with_pkce.clone()).await).await;
    let res = exchange(
        None,
        json!({ "code": code, "code_verifier": verifier, "redirect_uri": callback }),
    )
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::UNAUTHORIZED, "missing_api_key".into())
    );
    let res = exchange(
        Some(&key),
        json!({ "code": code, "redirect_uri": callback }),
    )
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "invalid_code_verifier".into())
    );
    // Refused attempts spend the code: not even the right verifier brings it back.
    let res = exchange(
        Some(&key),
        json!({ "code": code, "code_verifier": verifier, "redirect_uri": callback }),
    )
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "invalid_redirect_code".into())
    );

    for (key, body, expected) in [
        (
            other_key.as_str(),
            json!({ "code_verifier": verifier, "redirect_uri": callback }),
            "redirect_code_client_mismatch",
        ),
        (
            key.as_str(),
            json!({ "code_verifier": "x".repeat(43), "redirect_uri": callback }),
            "invalid_code_verifier",
        ),
        (
            key.as_str(),
            json!({ "code_verifier": verifier, "redirect_uri": "https://app.example.com/auth/other" }),
            "redirect_uri_mismatch",
        ),
    ] {
        let code =
            code_of(issue_code(&app, &key_of(&created), &access, with_pkce.clone()).await).await;
        let mut body = body;
        body["code"] = json!(code);
        let res = exchange(Some(key), body).await.unwrap();
        assert_eq!(error_code(res).await.1, expected);
    }

    // The app with its key, the same redirect URI and the verifier gets its session.
    let code = code_of(issue_code(&app, &key, &access, with_pkce.clone()).await).await;
    let res = exchange(
        Some(&key),
        json!({ "code": code, "code_verifier": verifier, "redirect_uri": callback, "token_transport": "json" }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "bound@example.com");

    // A client without registered redirect URIs keeps the fallback: its allowed origins.
    let legacy = app.new_client().await;
    let legacy_key = key_of(&legacy);
    let legacy_access = signup(&app, &legacy_key, "legacy@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = issue_code(
        &app,
        &legacy_key,
        &legacy_access,
        json!({ "redirect_uri": "https://app.example.com/anywhere" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = issue_code(
        &app,
        &legacy_key,
        &legacy_access,
        json!({ "redirect_uri": "https://evil.example/" }),
    )
    .await;
    assert_eq!(error_code(res).await.1, "redirect_uri_not_allowed");
    // Registered URIs are validated when the client is written.
    let id = created["client"]["id"].as_str().unwrap();
    for bad in [
        "http://app.example.com/cb",
        "https://app.example.com/cb#frag",
        "/relative",
        "https://user:pw@app.example.com/",
    ] {
        let res = app
            .admin(
                Method::PATCH,
                &format!("/api/admin/clients/{id}"),
                Some(json!({ "redirect_uris": [bad] })),
            )
            .await;
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_walking_addresses_hits_the_per_ip_and_per_client_email_caps() {
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("EMAIL_IP_RATE_LIMIT", "3".to_owned()),
            ("EMAIL_CLIENT_RATE_LIMIT", "5".to_owned()),
            ("TRUSTED_PROXY_CIDRS", "127.0.0.1/32".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let other_key = key_of(&app.new_client().await);
    let post = |key: &str, path: &str, ip: &str, n: usize| {
        app.http
            .post(app.url(path))
            .header("X-API-Key", key)
            .header("X-Forwarded-For", ip)
            .json(&json!({ "email": format!("walker{n}@example.com") }))
            .send()
    };
    // One IP: three requests (each for another address, so the per-address limit never
    // applies), across both link kinds, then 429.
    let mut n = 0;
    for path in [
        "/api/auth/forgot-password",
        "/api/auth/magic-link/send",
        "/api/auth/forgot-password",
    ] {
        n += 1;
        assert_eq!(
            post(&key, path, "203.0.113.1", n).await.unwrap().status(),
            200
        );
    }
    n += 1;
    let res = post(&key, "/api/auth/magic-link/send", "203.0.113.1", n)
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Other IPs go on until the client's hourly cap (5 accepted in all).
    n += 1;
    assert_eq!(
        post(&key, "/api/auth/forgot-password", "203.0.113.2", n)
            .await
            .unwrap()
            .status(),
        200
    );
    n += 1;
    assert_eq!(
        post(&key, "/api/auth/forgot-password", "203.0.113.3", n)
            .await
            .unwrap()
            .status(),
        200
    );
    n += 1;
    let res = post(&key, "/api/auth/forgot-password", "203.0.113.4", n)
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    // Another client is not affected by this one's cap.
    n += 1;
    assert_eq!(
        post(&other_key, "/api/auth/forgot-password", "203.0.113.5", n)
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_is_emailed_about_every_second_factor_and_password_change() {
    let (app, sink) = email_app().await;
    let key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "owner@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (secret, t0, _codes) = crate::mfa::enrol_totp(&app, &key, &access).await;
    let notice = async |needle: &str| {
        let mail = sink.wait_for_text("owner@example.com", needle, WAIT).await;
        assert!(
            mail.text.contains("reset your password right away"),
            "{}",
            mail.text
        );
        mail.subject
    };
    assert_eq!(
        notice("Signing in to your").await,
        "Two-step verification is on for your Test App account"
    );
    let res = call(
        &app,
        Method::POST,
        "/api/auth/recovery-codes",
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        notice("New recovery codes were created").await,
        "New recovery codes for your Test App account"
    );
    let res = call(
        &app,
        Method::POST,
        "/api/auth/totp/disable",
        &key,
        Some(json!({ "code": crate::mfa::pyotp(&secret, t0 + 30) })),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    notice("no longer needs a code").await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/change-password",
        &key,
        Some(json!({ "current_password": PASSWORD, "new_password": "another-Strong-pass-9" })),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let subject = notice("other sessions were signed out").await;
    assert_eq!(subject, "Your Test App password was changed");
    // Verification, then the four notices; none carries a token.
    let mails = sink.messages_to("owner@example.com");
    assert_eq!(mails.len(), 5);
    for mail in &mails[1..] {
        assert!(!mail.text.contains("token="), "{}", mail.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signup_with_an_existing_email_looks_like_a_new_signup() {
    let (app, sink) = email_app().await;
    let created = app
        .create_client(
            json!({ "name": "Verified", "settings": { "require_verified_email": true } }),
        )
        .await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let attempt = || {
        app.http
            .post(app.url("/api/auth/signup"))
            .header("X-API-Key", &key)
            .json(&json!({ "email": "taken@example.com", "password": PASSWORD, "token_transport": "json" }))
            .send()
    };
    let first = attempt().await.unwrap();
    assert_eq!(first.status(), 202);
    assert!(
        first.headers().get("set-cookie").is_none(),
        "no session before verification"
    );
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "verification_required");
    assert!(first.get("access_token").is_none());
    let verify = nth_mail_to(&sink, "taken@example.com", 1).await;
    assert!(verify.text.contains("/verify-email.html?token="));

    // The same address again: the very same answer; the owner is told instead.
    let second = attempt().await.unwrap();
    assert_eq!(second.status(), 202);
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    let notice = nth_mail_to(&sink, "taken@example.com", 2).await;
    assert_eq!(notice.subject, "You already have a Verified account");
    assert!(!notice.text.contains("token="));
    assert_eq!(
        app.audit_events("event_type=user.signup_existing_account")
            .await
            .len(),
        1
    );

    // No tokens before the address is verified, by any door.
    let login = json!({ "email": "taken@example.com", "password": PASSWORD });
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(login.clone()),
        None,
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::FORBIDDEN, "email_not_verified".into())
    );
    let token = verify.query_param("/verify-email.html", "token");
    assert_eq!(
        post_public(&app, "/api/auth/verify-email", json!({ "token": token }))
            .await
            .status(),
        200
    );
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(login),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);

    // A client turning the requirement on later: unverified users' sessions stop refreshing.
    let open = app.new_client().await;
    let open_key = key_of(&open);
    let open_id = open["client"]["id"].as_str().unwrap().to_owned();
    let tokens = signup(&app, &open_key, "early@example.com").await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/signup",
        &open_key,
        Some(json!({ "email": "early@example.com", "password": PASSWORD })),
        None,
    )
    .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "email_taken".into())
    );
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{open_id}"),
            Some(json!({ "settings": { "require_verified_email": true } })),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Refused without consuming the token: trying again is not mistaken for a replay.
    for _ in 0..2 {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/refresh",
            &open_key,
            Some(json!({ "refresh_token": tokens["refresh_token"] })),
            None,
        )
        .await;
        assert_eq!(
            error_code(res).await,
            (StatusCode::FORBIDDEN, "email_not_verified".into())
        );
    }
    assert!(
        app.audit_events("event_type=session.refresh_reused")
            .await
            .is_empty()
    );

    // Protection can be chosen without the requirement: still no difference, no tokens.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({ "settings": { "require_verified_email": false, "signup_enumeration_protection": true } })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = attempt().await.unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap(), first);
}

#[tokio::test(flavor = "multi_thread")]
async fn enormous_or_malformed_inputs_to_the_new_routes_get_clear_4xx_answers() {
    let app = authservice_tests::spawn_app().await;
    let key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "huge@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let big = "a".repeat(200_000);
    let cases = [
        (
            "/api/auth/reauthenticate",
            json!({ "password": big }),
            403,
            "invalid_current_password",
        ),
        (
            "/api/auth/reauthenticate",
            json!({ "code": big }),
            409,
            "totp_not_enabled",
        ),
        (
            "/api/auth/reauthenticate",
            json!({}),
            400,
            "invalid_request",
        ),
        (
            "/api/auth/reauthenticate",
            json!({ "passkey": { "session_id": big, "credential": {} } }),
            400,
            "invalid_passkey_session",
        ),
        (
            "/api/auth/redirect/code",
            json!({ "redirect_uri": format!("https://app.example.com/{big}") }),
            400,
            "redirect_uri_not_allowed",
        ),
        (
            "/api/auth/redirect/code",
            json!({ "redirect_uri": "not a url" }),
            400,
            "redirect_uri_not_allowed",
        ),
        (
            "/api/auth/redirect/code",
            json!({ "redirect_uri": "https://app.example.com/cb", "code_challenge": big, "code_challenge_method": "S256" }),
            400,
            "invalid_request",
        ),
        (
            "/api/auth/redirect/exchange",
            json!({ "code": big, "code_verifier": big }),
            400,
            "invalid_redirect_code",
        ),
        (
            "/api/auth/magic-link/verify",
            json!({ "token": big }),
            400,
            "invalid_link",
        ),
    ];
    for (path, body, status, code) in cases {
        let res = call(&app, Method::POST, path, &key, Some(body), Some(&access)).await;
        let (got_status, got_code) = error_code(res).await;
        assert_eq!(
            (got_status.as_u16(), got_code.as_str()),
            (status, code),
            "{path}"
        );
    }
    // The confirmation page of a malformed link says so, and nothing from the URL is echoed.
    let res = app
        .http
        .get(app.url("/api/auth/magic-link/verify"))
        .query(&[("token", "<script>alert(1)</script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("no longer valid") && !page.contains("<script>"),
        "{page}"
    );
}
