//! Organizations' domains, verified through a real DNS server (dnslib on loopback, asked by the
//! service's resolver through `DNS_NAMESERVERS`): a member with `enterprise:write` or an
//! operator claims a domain, publishes its TXT record and verifies it; a wrong or missing record
//! is refused with what was found; a verified domain is taken for the other organizations of
//! the client; members without the right, and other clients, reach nothing.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::{call, key_of, signup};

/// dnslib answering TXT queries from a records file the test rewrites.
pub(crate) struct Dns {
    child: Child,
    pub(crate) port: u16,
    records: std::path::PathBuf,
}

impl Dns {
    pub(crate) fn start() -> Self {
        let records = std::env::temp_dir().join(format!("dns-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&records, "{}").unwrap();
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/dns_server.py"))
            .arg(&records)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3 tests/peers/dns_server.py (pip install -r tests/peers/requirements.txt)");
        let line = authservice_tests::first_line(&mut child, "the DNS server");
        let port = line.parse().expect("the DNS server's port");
        Self {
            child,
            port,
            records,
        }
    }

    pub(crate) fn publish(&self, name: &str, values: &[&str]) {
        let mut all: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.records).unwrap()).unwrap();
        all[format!("{name}.")] = json!(values);
        std::fs::write(&self.records, all.to_string()).unwrap();
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.records);
    }
}

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let res = call(app, method, path, key, body, Some(token)).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let res = app.admin(method, path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A signed-up user who owns a new organization: (access token, organization id).
pub(crate) async fn owner_of(app: &TestApp, key: &str, email: &str, org: &str) -> (String, String) {
    let token = signup(app, key, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(
        app,
        Method::POST,
        "/api/auth/organizations",
        key,
        &token,
        Some(json!({ "name": org })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (token, body["id"].as_str().unwrap().to_owned())
}

pub(crate) const ONBOARDING: &str = "/api/auth/enterprise-onboarding/domains";

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_is_verified_by_its_txt_record_and_then_taken_for_other_organizations() {
    let dns = Dns::start();
    let app = spawn_app_with(AppOptions {
        env: vec![("DNS_NAMESERVERS", format!("127.0.0.1:{}", dns.port))],
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client = created["client"]["id"].as_str().unwrap().to_owned();
    let (ada, acme) = owner_of(&app, &key, "ada@acme.test", "Acme").await;

    // Claimed: pending, with the record to publish.
    let (status, claim) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &ada,
        Some(json!({ "organization_id": acme, "domain": "Acme.Test." })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{claim}");
    assert_eq!(claim["domain"], "acme.test");
    assert_eq!(claim["status"], "pending");
    assert_eq!(claim["txt_name"], "_authservice-verification.acme.test");
    let txt_value = claim["txt_value"].as_str().unwrap().to_owned();
    assert!(txt_value.starts_with("authservice-domain-verification="));
    let id = claim["id"].as_str().unwrap().to_owned();
    let verify = format!("{ONBOARDING}/{id}/verify");
    let (status, again) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &ada,
        Some(json!({ "organization_id": acme, "domain": "acme.test" })),
    )
    .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("domain_taken"))
    );
    for bad in ["localhost", "10.0.0.1", "exa mple.com", "bücher.de"] {
        let (status, body) = send(
            &app,
            Method::POST,
            ONBOARDING,
            &key,
            &ada,
            Some(json!({ "organization_id": acme, "domain": bad })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // Enormous or malformed input is refused cleanly, never a 5xx.
    let huge = "a".repeat(5000);
    for (org, domain, expected) in [
        (
            acme.as_str(),
            format!("{huge}.com"),
            StatusCode::BAD_REQUEST,
        ),
        (
            huge.as_str(),
            "acme.test".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        ("not-an-org", "acme.test".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let (status, body) = send(
            &app,
            Method::POST,
            ONBOARDING,
            &key,
            &ada,
            Some(json!({ "organization_id": org, "domain": domain })),
        )
        .await;
        assert_eq!(status, expected, "{body}");
    }
    for id in ["not-a-uuid", huge.as_str()] {
        let (status, _) = send(
            &app,
            Method::POST,
            &format!("{ONBOARDING}/{id}/verify"),
            &key,
            &ada,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", &id[..id.len().min(20)]);
    }
    let (status, _) = send(
        &app,
        Method::GET,
        &format!("{ONBOARDING}?organization_id={acme}&limit=0"),
        &key,
        &ada,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a bad page size");

    // A plain member may not claim domains.
    let carol = signup(&app, &key, "carol@acme.test").await;
    app.execute_sql(&format!(
        "INSERT INTO organization_members (id, organization_id, client_id, user_id, role, joined_at) \
         SELECT '{}', o.id, o.client_id, '{}', 'member', now() FROM organizations o WHERE o.id = '{acme}'",
        uuid::Uuid::now_v7(),
        carol["user"]["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let (status, body) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        carol["access_token"].as_str().unwrap(),
        Some(json!({ "organization_id": acme, "domain": "carol.test" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // No record yet, then a wrong one: refused with what the resolver found.
    let (status, body) = send(&app, Method::POST, &verify, &key, &ada, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("domain_not_verified")
        ),
        "{body}"
    );
    assert_eq!(body["details"]["txt_value"], txt_value.as_str());
    assert_eq!(body["details"]["found"], json!([]));
    dns.publish(
        "_authservice-verification.acme.test",
        &[
            "v=spf1 -all",
            "authservice-domain-verification=someone-else",
        ],
    );
    let (status, body) = send(&app, Method::POST, &verify, &key, &ada, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["found"].as_array().unwrap().len(), 2);

    // The right record: verified (and verifying again changes nothing).
    dns.publish(
        "_authservice-verification.acme.test",
        &["v=spf1 -all", &txt_value],
    );
    let (status, body) = send(&app, Method::POST, &verify, &key, &ada, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "verified");
    assert!(body["verified_at"].is_string());
    let (status, _) = send(&app, Method::POST, &verify, &key, &ada, None).await;
    assert_eq!(status, StatusCode::OK);

    // Another organization of the client cannot claim it now.
    let (bob, beta) = owner_of(&app, &key, "bob@beta.test", "Beta").await;
    let (status, body) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &bob,
        Some(json!({ "organization_id": beta, "domain": "acme.test" })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("domain_taken"))
    );
    // Bob sees neither Acme's domains nor its claim.
    let (status, _) = send(
        &app,
        Method::GET,
        &format!("{ONBOARDING}?organization_id={acme}"),
        &key,
        &bob,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, Method::POST, &verify, &key, &bob, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &app,
        Method::DELETE,
        &format!("{ONBOARDING}/{id}"),
        &key,
        &bob,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An operator claims and verifies for Beta, and lists the client's domains.
    let base = format!("/api/admin/clients/{client}/domains");
    let (status, beta_claim) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({ "organization_id": beta, "domain": "beta.test" })),
    )
    .await;
    assert_eq!(status, 201, "{beta_claim}");
    dns.publish(
        beta_claim["txt_name"].as_str().unwrap(),
        &[beta_claim["txt_value"].as_str().unwrap()],
    );
    let beta_id = beta_claim["id"].as_str().unwrap();
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{base}/{beta_id}/verify"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("verified")),
        "{body}"
    );
    let (status, listed) = admin(&app, Method::GET, &base, None).await;
    assert_eq!(status, 200);
    let domains: Vec<&str> = listed["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["acme.test", "beta.test"]);
    // In pages.
    let (_, first) = admin(&app, Method::GET, &format!("{base}?limit=1"), None).await;
    assert_eq!(first["domains"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = admin(
        &app,
        Method::GET,
        &format!("{base}?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(second["domains"][0]["domain"], "beta.test");
    assert!(second["next_cursor"].is_null());
    let (_, only_beta) = admin(
        &app,
        Method::GET,
        &format!("{base}?organization_id={beta}"),
        None,
    )
    .await;
    assert_eq!(only_beta["domains"].as_array().unwrap().len(), 1);

    // Another client's operator path and member reach nothing of this client's.
    let other = app.new_client().await;
    let other_key = key_of(&other);
    let other_id = other["client"]["id"].as_str().unwrap();
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("/api/admin/clients/{other_id}/domains/{id}/verify"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (mallory, _) = owner_of(&app, &other_key, "mallory@evil.test", "Evil").await;
    let (status, _) = send(&app, Method::POST, &verify, &other_key, &mallory, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Removed by its organization; recorded.
    let (status, _) = send(
        &app,
        Method::DELETE,
        &format!("{ONBOARDING}/{id}"),
        &key,
        &ada,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for event in [
        "organization.domain_added",
        "organization.domain_verified",
        "organization.domain_removed",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "{event}"
        );
    }
    // Free again: Beta may claim it now.
    let (status, _) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &bob,
        Some(json!({ "organization_id": beta, "domain": "acme.test" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_that_does_not_answer_is_a_clear_503() {
    // A port nobody serves DNS on.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(AppOptions {
        env: vec![("DNS_NAMESERVERS", format!("127.0.0.1:{port}"))],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let (ada, acme) = owner_of(&app, &key, "ada@acme.test", "Acme").await;
    let (_, claim) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &ada,
        Some(json!({ "organization_id": acme, "domain": "acme.test" })),
    )
    .await;
    let (status, body) = send(
        &app,
        Method::POST,
        &format!("{ONBOARDING}/{}/verify", claim["id"].as_str().unwrap()),
        &key,
        &ada,
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("dns_unavailable")),
        "{body}"
    );
}
