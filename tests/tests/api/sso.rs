//! Enterprise SSO over OpenID Connect against a real IdP (node `oidc-provider`, on loopback)
//! and a real DNS server for the organization's domain: a browser (an HTTP client keeping
//! cookies) starts at `/api/auth/sso`, signs in at the IdP, comes back through the callback and
//! lands at the app with an `auth_code` the app exchanges. JIT provisioning, group mappings,
//! linking only on the organization's verified domain, the attempt bound to its browser and
//! used once, errors that never reach an unregistered redirect URI, and tenant isolation.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::{call, key_of, signup};
use super::domains::{Dns, ONBOARDING, admin, owner_of, send};
use super::pages::{click, fill, lands_on, ok, sees};

pub(crate) const CONNECTIONS: &str = "/api/auth/enterprise-onboarding/sso-connections";
pub(crate) const APP_CALLBACK: &str = "https://app.example.com/sso/done";

/// `oidc-provider` answering from a config file the test rewrites (clients, accounts).
pub(crate) struct Idp {
    child: Child,
    pub(crate) issuer: String,
    config: std::path::PathBuf,
}

impl Idp {
    pub(crate) fn start() -> Self {
        let config =
            std::env::temp_dir().join(format!("idp-{}.json", uuid::Uuid::new_v4().simple()));
        std::fs::write(&config, r#"{"clients":[],"accounts":[]}"#).unwrap();
        // (Rarely, a node peer started while the box is loaded prints nothing: start it anew.)
        let (child, line) = (0..3)
            .find_map(|_| {
                let mut child = Command::new("node")
                    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/browser/oidc_idp.mjs"))
                    .arg(&config)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("run node tests/browser/oidc_idp.mjs (npm ci in tests/browser)");
                authservice_tests::try_first_line(&mut child, std::time::Duration::from_secs(20))
                    .map(|line| (child, line))
            })
            .expect("the OIDC IdP peer did not start in three attempts");
        let started: Value = serde_json::from_str(&line).expect("the IdP's issuer line");
        Self {
            child,
            issuer: started["issuer"].as_str().unwrap().to_owned(),
            config,
        }
    }

    /// Our client at the IdP, redirecting to `callback`, and the IdP's users.
    pub(crate) fn configure(&self, callback: &str, accounts: Value) {
        self.configure_many(&[callback], accounts);
    }

    /// [`Self::configure`] with several redirect URIs.
    pub(crate) fn configure_many(&self, callbacks: &[&str], accounts: Value) {
        let config = json!({
            "clients": [{ "client_id": "authservice", "client_secret": "idp-secret",
                          "redirect_uris": callbacks }],
            "accounts": accounts,
            "default_account": "u-ann",
        });
        std::fs::write(&self.config, config.to_string()).unwrap();
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

pub(crate) fn account(sub: &str, email: &str, groups: &[&str]) -> Value {
    json!({ "sub": sub, "email": email, "email_verified": true, "given_name": "Test",
            "family_name": sub, "groups": groups })
}

/// A browser: follows redirects by hand, keeping cookies (every host here is 127.0.0.1, and
/// cookies ignore ports).
pub(crate) struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

impl Browser {
    pub(crate) fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A stuck peer fails the test instead of hanging the suite.
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    /// The cookies this browser holds.
    pub(crate) fn jar_pairs(&self) -> Vec<(String, String)> {
        self.jar
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub(crate) async fn get(&mut self, url: &str) -> reqwest::Response {
        let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let res = self
            .http
            .get(url)
            .header("Cookie", cookie.join("; "))
            .send()
            .await
            .unwrap();
        self.absorb(&res);
        res
    }

    /// A POST of JSON with these headers and this browser's cookies, keeping the cookies the
    /// answer sets.
    pub(crate) async fn post(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> reqwest::Response {
        let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = self
            .http
            .post(url)
            .header("Cookie", cookie.join("; "))
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        self.absorb(&res);
        res
    }

    /// A form POST (what an auto-submitting page does), with this browser's cookies.
    pub(crate) async fn post_form(
        &mut self,
        url: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let res = self
            .http
            .post(url)
            .header("Cookie", cookie.join("; "))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.absorb(&res);
        res
    }

    fn absorb(&mut self, res: &reqwest::Response) {
        for set in res.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let expired =
                attrs.to_ascii_lowercase().contains("max-age=0") || attrs.contains("1970");
            if expired || value.is_empty() {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    /// Follows redirects from `url` until one leaves for `stop` (or a page answers): that
    /// last `Location` (or the page's URL).
    pub(crate) async fn follow(&mut self, url: &str, stop: &str) -> String {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(stop) {
                return url;
            }
            let res = self.get(&url).await;
            if !res.status().is_redirection() {
                return url;
            }
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&location)
                .unwrap()
                .to_string();
        }
        panic!("too many redirects from {url}");
    }
}

pub(crate) fn query(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An app with an organization owning the verified domain `acme.test`, and an OIDC SSO
/// connection to `idp` routing it.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) key: String,
    pub(crate) client_id: String,
    pub(crate) owner: String,
    pub(crate) org: String,
    pub(crate) connection: Value,
    pub(crate) dns: Dns,
    pub(crate) sink: authservice_tests::smtp::SmtpSink,
}

/// The app (its `BASE_URL` real, insecure IdP URLs allowed, a DNS server of its own) with
/// organization "Acme" whose owner verified `acme.test`: the setup without a connection.
pub(crate) async fn acme() -> Setup {
    let dns = Dns::start();
    let sink = authservice_tests::smtp::SmtpSink::start().await;
    let mut env = authservice_tests::smtp_env(sink.port());
    env.extend([
        ("DNS_NAMESERVERS", format!("127.0.0.1:{}", dns.port)),
        ("ALLOW_INSECURE_IDP_URLS", "true".to_owned()),
    ]);
    let app = spawn_app_with(AppOptions {
        env,
        // The IdP sends the browser back to BASE_URL's callback.
        real_base_url: true,
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();
    let (owner, org) = owner_of(&app, &key, "owner@acme.test", "Acme").await;
    let (status, claim) = send(
        &app,
        Method::POST,
        ONBOARDING,
        &key,
        &owner,
        Some(json!({ "organization_id": org, "domain": "acme.test" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{claim}");
    dns.publish(
        claim["txt_name"].as_str().unwrap(),
        &[claim["txt_value"].as_str().unwrap()],
    );
    let verify = format!("{ONBOARDING}/{}/verify", claim["id"].as_str().unwrap());
    let (status, body) = send(&app, Method::POST, &verify, &key, &owner, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Setup {
        app,
        key,
        client_id,
        owner,
        org,
        connection: Value::Null,
        dns,
        sink,
    }
}

/// Signs `email` up with a password and verifies the address from its email.
pub(crate) async fn verified_signup(s: &Setup, email: &str) -> Value {
    let signed_up = signup(&s.app, &s.key, email).await;
    let mail = s
        .sink
        .wait_for_text(
            email,
            "verify-email.html",
            std::time::Duration::from_secs(10),
        )
        .await;
    let token = mail.query_param("/verify-email.html", "token");
    let res = s
        .app
        .http
        .post(s.app.url("/api/auth/verify-email"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    signed_up
}

async fn setup(idp: &Idp) -> Setup {
    let mut s = acme().await;
    let (status, connection) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(json!({
            "organization_id": s.org, "name": "Acme Okta", "protocol": "oidc",
            "domains": ["acme.test"],
            "oidc": { "issuer": idp.issuer, "client_id": "authservice",
                      "client_secret": "idp-secret", "scopes": ["email", "profile", "groups"] },
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    s.connection = connection;
    s
}

impl Setup {
    /// Signs in through SSO in `browser` by `email`: where the browser lands at the app.
    async fn sso(&self, browser: &mut Browser, email: &str, redirect_uri: &str) -> String {
        let start = format!(
            "{}/api/auth/sso?api_key={}&email={}&redirect_uri={}&state=app-state",
            self.app.address,
            self.key,
            urlencoding(email),
            urlencoding(redirect_uri),
        );
        browser.follow(&start, "https://").await
    }

    pub(crate) async fn exchange(&self, code: &str, redirect_uri: &str) -> (StatusCode, Value) {
        let res = call(
            &self.app,
            Method::POST,
            "/api/auth/redirect/exchange",
            &self.key,
            Some(json!({ "code": code, "redirect_uri": redirect_uri })),
            None,
        )
        .await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn me(&self, token: &str) -> Value {
        let res = call(
            &self.app,
            Method::GET,
            "/api/auth/me",
            &self.key,
            None,
            Some(token),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

pub(crate) fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_sso_sign_in_provisions_the_user_maps_groups_and_binds_the_attempt_to_its_browser()
{
    let idp = Idp::start();
    let s = setup(&idp).await;
    let callback = s.connection["callback_url"].as_str().unwrap().to_owned();
    assert!(callback.ends_with(&format!(
        "/api/auth/sso/callback/{}",
        s.connection["id"].as_str().unwrap()
    )));
    assert_eq!(s.connection["oidc"]["client_secret_set"], true);
    assert!(
        !s.connection.to_string().contains("idp-secret"),
        "the secret is never shown"
    );
    idp.configure(
        &callback,
        json!([account("u-ann", "ann@acme.test", &["eng", "admins"])]),
    );
    // Members of the IdP group "admins" are admins of the organization.
    let (status, body) = send(
        &s.app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{}/authorization/group-mappings",
            s.org
        ),
        &s.key,
        &s.owner,
        Some(json!({ "source": "sso", "group": "admins", "role": "admin" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // JIT: the first sign-in creates Ann, verified, a member with her IdP groups.
    let mut browser = Browser::new();
    let landed = s.sso(&mut browser, "ann@acme.test", APP_CALLBACK).await;
    assert!(landed.starts_with(APP_CALLBACK), "{landed}");
    assert_eq!(query(&landed, "state").as_deref(), Some("app-state"));
    let code = query(&landed, "auth_code").expect("an auth_code");
    // The code needs the redirect URI it was issued for, and is used once.
    let (status, _) = s.exchange(&code, "https://app.example.com/other").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let landed = s.sso(&mut browser, "ann@acme.test", APP_CALLBACK).await;
    let code = query(&landed, "auth_code").expect("an auth_code");
    let (status, tokens) = s.exchange(&code, APP_CALLBACK).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, _) = s.exchange(&code, APP_CALLBACK).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once");
    let token = tokens["access_token"].as_str().unwrap();
    let me = s.me(token).await;
    assert_eq!(me["email"], "ann@acme.test");
    assert_eq!(me["email_verified"], true);
    let ann = me["id"].as_str().unwrap().to_owned();
    let (status, members) = admin(
        &s.app,
        Method::GET,
        &format!(
            "/api/admin/clients/{}/organizations/{}/members",
            s.client_id, s.org
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{members}");
    let member = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == ann.as_str())
        .cloned()
        .expect("Ann is a member");
    assert_eq!(member["role"], "member");
    assert_eq!(member["groups"]["sso"], json!(["eng", "admins"]));
    // The group mapping makes her an admin (`enterprise:write`): she may read the connection.
    let connection = format!("{CONNECTIONS}/{}", s.connection["id"].as_str().unwrap());
    let (status, body) = send(&s.app, Method::GET, &connection, &s.key, token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let provisioned = s.app.audit_events("event_type=sso.user_provisioned").await;
    assert_eq!(provisioned.len(), 1, "provisioned once, then signed in");
    assert_eq!(s.app.audit_events("event_type=sso.login").await.len(), 1);

    // The IdP drops her from "admins": the next sign-in replaces her SSO groups.
    idp.configure(
        &callback,
        json!([account("u-ann", "ann@acme.test", &["eng"])]),
    );
    let landed = s.sso(&mut browser, "ann@acme.test", APP_CALLBACK).await;
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").unwrap(), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = tokens["access_token"].as_str().unwrap();
    let (status, body) = send(&s.app, Method::GET, &connection, &s.key, token, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an admin: {body}");

    // A callback URL leaked from one browser signs nobody in elsewhere, and works once.
    let start = format!(
        "{}/api/auth/sso/{}?api_key={}&redirect_uri={}",
        s.app.address,
        s.connection["id"].as_str().unwrap(),
        s.key,
        urlencoding(APP_CALLBACK)
    );
    let at_callback = browser.follow(&start, &callback).await;
    assert!(at_callback.starts_with(&callback), "{at_callback}");
    let mut other = Browser::new();
    let landed = other.follow(&at_callback, "https://").await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_state_invalid")
    );
    assert!(query(&landed, "auth_code").is_none());
    let landed = browser.follow(&at_callback, "https://").await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_state_invalid"),
        "the attempt was spent by the first callback"
    );
    let at_callback = browser.follow(&start, &callback).await;
    let landed = browser.follow(&at_callback, "https://").await;
    assert!(query(&landed, "auth_code").is_some(), "{landed}");
    let replay = browser.follow(&at_callback, "https://").await;
    assert_eq!(
        query(&replay, "error").as_deref(),
        Some("sso_state_invalid")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_links_only_accounts_of_the_verified_domain_and_never_redirects_errors_elsewhere() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let callback = s.connection["callback_url"].as_str().unwrap().to_owned();
    // Carol has a password account on the organization's domain; Bob one elsewhere.
    let carol = verified_signup(&s, "carol@acme.test").await;
    let carol_id = carol["user"]["id"].as_str().unwrap().to_owned();
    signup(&s.app, &s.key, "bob@elsewhere.test").await;
    // Dave never proved his inbox: his account is not joined to the identity either.
    signup(&s.app, &s.key, "dave@acme.test").await;
    idp.configure(
        &callback,
        json!([
            account("u-carol", "carol@acme.test", &[]),
            account("u-bob", "bob@elsewhere.test", &[]),
            account("u-dan", "dan@elsewhere.test", &[]),
            account("u-dave", "dave@acme.test", &[]),
        ]),
    );
    let start = |hint: &str| {
        format!(
            "{}/api/auth/sso/{}?api_key={}&email={}&redirect_uri={}",
            s.app.address,
            s.connection["id"].as_str().unwrap(),
            s.key,
            urlencoding(hint),
            urlencoding(APP_CALLBACK)
        )
    };

    // On the verified domain: linked to the existing account.
    let landed = Browser::new()
        .follow(&start("carol@acme.test"), "https://")
        .await;
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").expect(&landed), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["id"],
        carol_id.as_str()
    );
    assert_eq!(
        s.app
            .audit_events("event_type=sso.identity_linked")
            .await
            .len(),
        1
    );

    // Elsewhere: an existing account is never taken over, and nobody is created.
    let landed = Browser::new()
        .follow(&start("bob@elsewhere.test"), "https://")
        .await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_account_conflict")
    );
    let landed = Browser::new()
        .follow(&start("dan@elsewhere.test"), "https://")
        .await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_user_not_provisioned")
    );
    let landed = Browser::new()
        .follow(&start("dave@acme.test"), "https://")
        .await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_account_conflict")
    );
    let failed = s.app.audit_events("event_type=sso.login_failed").await;
    assert_eq!(failed.len(), 3, "{failed:?}");

    // An unregistered redirect URI is never redirected to: the login page says why.
    let evil = format!(
        "{}/api/auth/sso?api_key={}&domain=acme.test&redirect_uri={}",
        s.app.address,
        s.key,
        urlencoding("https://evil.example.net/steal")
    );
    let res = Browser::new().get(&evil).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/login.html?error=redirect_uri_not_allowed"),
        "{location}"
    );
    // A domain nobody verified routes nowhere; a bad key reaches nothing.
    let res = Browser::new()
        .get(&format!(
            "{}/api/auth/sso?api_key={}&domain=elsewhere.test&redirect_uri={}",
            s.app.address,
            s.key,
            urlencoding(APP_CALLBACK)
        ))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(APP_CALLBACK), "{location}");
    assert_eq!(
        query(&location, "error").as_deref(),
        Some("sso_not_configured")
    );
    let res = Browser::new()
        .get(&format!(
            "{}/api/auth/sso/{}?api_key=nope&redirect_uri={}",
            s.app.address,
            s.connection["id"].as_str().unwrap(),
            urlencoding(APP_CALLBACK)
        ))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/login.html?error="), "{location}");

    // Another client's key cannot use this connection.
    let other = key_of(&s.app.new_client().await);
    let res = Browser::new()
        .get(&format!(
            "{}/api/auth/sso/{}?api_key={other}",
            s.app.address,
            s.connection["id"].as_str().unwrap(),
        ))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("error=sso_connection_not_found"),
        "{location}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_connections_are_managed_by_members_with_enterprise_write_and_by_operators() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let id = s.connection["id"].as_str().unwrap().to_owned();
    let path = format!("{CONNECTIONS}/{id}");

    // Read, change (the secret stays unless a new one is given), list.
    let (status, changed) = send(
        &s.app,
        Method::PATCH,
        &path,
        &s.key,
        &s.owner,
        Some(
            json!({ "name": "Acme SSO", "jit": false, "status": "disabled",
                     "attribute_mapping": { "groups": "roles" } }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Acme SSO");
    assert_eq!(changed["jit"], false);
    assert_eq!(changed["oidc"]["client_secret_set"], true);
    assert_eq!(changed["attribute_mapping"]["groups"], "roles");
    let (status, list) = send(
        &s.app,
        Method::GET,
        &format!("{CONNECTIONS}?organization_id={}", s.org),
        &s.key,
        &s.owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["sso_connections"].as_array().unwrap().len(), 1);
    // A disabled connection signs nobody in.
    let res = Browser::new()
        .get(&format!(
            "{}/api/auth/sso/{id}?api_key={}",
            s.app.address, s.key
        ))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("error=sso_connection_disabled"),
        "{location}"
    );

    // Bad input: unsafe issuer (without ALLOW_INSECURE_IDP_URLS it would be refused too),
    // unknown mapping keys, SAML not offered yet.
    for (body, code) in [
        (
            json!({ "attribute_mapping": { "phone": "x" } }),
            "invalid_request",
        ),
        (
            json!({ "oidc": { "issuer": "ftp://idp", "client_id": "x" } }),
            "invalid_request",
        ),
        (json!({ "protocol": "saml" }), "invalid_request"),
    ] {
        let (status, answer) =
            send(&s.app, Method::PATCH, &path, &s.key, &s.owner, Some(body)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{answer}"
        );
    }
    let (status, answer) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(json!({ "organization_id": s.org, "name": "S", "protocol": "saml" })),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "SAML without its IdP: {answer}"
    );

    // A member without enterprise:write, and another client, see nothing.
    let bob = signup(&s.app, &s.key, "bob@acme.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(&s.app, Method::GET, &path, &s.key, &bob, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = s.app.new_client().await;
    let other_key = key_of(&other);
    let stranger = signup(&s.app, &other_key, "owner@acme.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(&s.app, Method::GET, &path, &other_key, &stranger, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other_id = other["client"]["id"].as_str().unwrap();
    let (status, _) = admin(
        &s.app,
        Method::GET,
        &format!("/api/admin/clients/{other_id}/sso-connections/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Operators: list and delete; audited without the secret.
    let ops = format!("/api/admin/clients/{}/sso-connections", s.client_id);
    let (status, list) = admin(&s.app, Method::GET, &ops, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["sso_connections"][0]["id"], id.as_str());
    let (status, _) = admin(&s.app, Method::DELETE, &format!("{ops}/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = admin(&s.app, Method::DELETE, &format!("{ops}/{id}"), None).await;
    assert_eq!(status, 404);
    for event in [
        "sso_connection.created",
        "sso_connection.updated",
        "sso_connection.deleted",
    ] {
        let events = s.app.audit_events(&format!("event_type={event}")).await;
        assert_eq!(events.len(), 1, "{event}");
        assert!(!Value::Array(events).to_string().contains("idp-secret"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hosted_login_page_signs_in_through_sso_in_chromium() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let callback = s.connection["callback_url"].as_str().unwrap().to_owned();
    idp.configure(
        &callback,
        json!([account("u-ann", "ann@acme.test", &["eng"])]),
    );
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={}&locale=en", s.key) }),
    )
    .await;
    // The button asks for the address first (it names the organization).
    click(&mut b, "Sign in with SSO").await;
    sees(&mut b, "Enter your work email first").await;
    fill(&mut b, "Email", "ann@acme.test").await;
    click(&mut b, "Sign in with SSO").await;
    // The IdP signs Ann in, the callback hands a code to the login page, which exchanges it.
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ann@acme.test").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enforcing_connection_refuses_every_other_first_factor_for_its_domain() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let id = s.connection["id"].as_str().unwrap().to_owned();
    signup(&s.app, &s.key, "carol@acme.test").await;
    signup(&s.app, &s.key, "bob@elsewhere.test").await;
    // Links sent before enforcement began.
    for (path, needle) in [
        ("/api/auth/magic-link/send", "magic-link/verify"),
        ("/api/auth/forgot-password", "reset-password.html"),
    ] {
        let res = call(
            &s.app,
            Method::POST,
            path,
            &s.key,
            Some(json!({ "email": "carol@acme.test" })),
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        s.sink
            .wait_for_text(
                "carol@acme.test",
                needle,
                std::time::Duration::from_secs(10),
            )
            .await;
    }
    let mails = s.sink.messages_to("carol@acme.test");
    let token = |needle: &str| {
        mails
            .iter()
            .find(|m| m.text.contains(needle) || m.html.contains(needle))
            .map(|m| m.query_param(needle, "token"))
    };
    let (magic, reset) = (
        token("/api/auth/magic-link/verify"),
        token("/reset-password.html"),
    );
    let (status, body) = send(
        &s.app,
        Method::PATCH,
        &format!("{CONNECTIONS}/{id}"),
        &s.key,
        &s.owner,
        Some(json!({ "enforce_for_domains": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent_before = s.sink.messages_to("carol@acme.test").len();
    // The links sent before sign nobody in and set no password now.
    for (path, body) in [
        (
            "/api/auth/magic-link/verify",
            json!({ "token": magic.unwrap() }),
        ),
        (
            "/api/auth/reset-password",
            json!({ "token": reset.unwrap(), "new_password": "a long new passphrase 9" }),
        ),
    ] {
        let res = call(&s.app, Method::POST, path, &s.key, Some(body), None).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["code"], "sso_required", "{path}: {answer}");
    }

    let password = super::auth_helpers::PASSWORD;
    for (path, body) in [
        (
            "/api/auth/login",
            json!({ "email": "carol@acme.test", "password": password }),
        ),
        (
            "/api/auth/login",
            json!({ "email": "nobody@acme.test", "password": password }),
        ),
        (
            "/api/auth/signup",
            json!({ "email": "dan@acme.test", "password": "a long new passphrase 9" }),
        ),
        (
            "/api/auth/forgot-password",
            json!({ "email": "carol@acme.test" }),
        ),
        (
            "/api/auth/magic-link/send",
            json!({ "email": "Carol@Acme.test" }),
        ),
    ] {
        let res = call(&s.app, Method::POST, path, &s.key, Some(body), None).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["code"], "sso_required", "{path}: {answer}");
        assert_eq!(answer["details"]["sso"]["connection_id"], id.as_str());
        assert!(
            answer["details"]["sso"]["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/auth/sso/{id}")),
            "{answer}"
        );
    }
    // The same over gRPC: every first factor of the domain answers sso_required.
    {
        use authservice_interfaces::grpc::proto::auth_service_client::AuthServiceClient;
        use authservice_interfaces::grpc::proto::{
            ForgotPasswordRequest, LoginRequest, SendMagicLinkRequest, SignupRequest,
        };
        let mut grpc = AuthServiceClient::connect(s.app.grpc_address.clone())
            .await
            .unwrap();
        let (email, key) = ("carol@acme.test".to_owned(), s.key.clone());
        let refused = [
            grpc.login(LoginRequest {
                email: email.clone(),
                password: password.into(),
                api_key: key.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
            grpc.signup(SignupRequest {
                email: "eli@acme.test".into(),
                password: "a long new passphrase 9".into(),
                api_key: key.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
            grpc.forgot_password(ForgotPasswordRequest {
                email: email.clone(),
                api_key: key.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
            grpc.send_magic_link(SendMagicLinkRequest {
                email: email.clone(),
                api_key: key.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ];
        for (i, outcome) in refused.into_iter().enumerate() {
            let status = outcome.expect_err("refused");
            let code = status
                .metadata()
                .get("x-error-code")
                .and_then(|v| v.to_str().ok());
            assert_eq!(code, Some("sso_required"), "rpc {i}: {status:?}");
        }
    }
    // No message went out while enforced.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(s.sink.messages_to("carol@acme.test").len(), sent_before);
    // Other domains are untouched.
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/login",
        &s.key,
        Some(json!({ "email": "bob@elsewhere.test", "password": password })),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Enforcement stops with the connection (disabled) — and never holds for a domain the
    // organization has not verified.
    let (status, _) = send(
        &s.app,
        Method::PATCH,
        &format!("{CONNECTIONS}/{id}"),
        &s.key,
        &s.owner,
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/login",
        &s.key,
        Some(json!({ "email": "carol@acme.test", "password": password })),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_sign_in_shows_what_the_idp_sends_and_signs_nobody_in() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let id = s.connection["id"].as_str().unwrap().to_owned();
    let callback = s.connection["callback_url"].as_str().unwrap().to_owned();
    idp.configure(
        &callback,
        json!([account("u-ann", "ann@acme.test", &["eng"])]),
    );
    let (status, test) = send(
        &s.app,
        Method::POST,
        &format!("{CONNECTIONS}/{id}/test-sign-in"),
        &s.key,
        &s.owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{test}");
    let result_path = format!(
        "{CONNECTIONS}/{id}/test-sign-in/{}",
        test["test_id"].as_str().unwrap()
    );
    let (status, body) = send(&s.app, Method::GET, &result_path, &s.key, &s.owner, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("sso_test_not_found"))
    );

    // The admin's browser signs in at the IdP and comes back to a page, not to an app.
    let mut browser = Browser::new();
    let at_callback = browser
        .follow(test["url"].as_str().unwrap(), &callback)
        .await;
    let page = browser.get(&at_callback).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("ann@acme.test") && html.contains("Nobody was signed in"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");

    let (status, result) = send(&s.app, Method::GET, &result_path, &s.key, &s.owner, None).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["ok"], true);
    assert_eq!(result["subject"], "u-ann");
    assert_eq!(result["profile"]["email"], "ann@acme.test");
    assert_eq!(result["profile"]["groups"], json!(["eng"]));
    assert_eq!(result["claims"]["given_name"], "Test");
    assert!(
        s.app
            .audit_events("event_type=sso.user_provisioned")
            .await
            .is_empty()
    );
    assert_eq!(
        s.app
            .audit_events("event_type=sso_connection.tested")
            .await
            .len(),
        1
    );
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/magic-link/send",
        &s.key,
        Some(json!({ "email": "ann@acme.test" })),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "no account was made");
    let count: usize = s
        .app
        .audit_events("event_type=user.magic_link_requested")
        .await
        .len();
    assert_eq!(count, 1, "an unknown address");

    // A member without enterprise:write cannot run one; operators can.
    let bob = signup(&s.app, &s.key, "bob@acme.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(
        &s.app,
        Method::POST,
        &format!("{CONNECTIONS}/{id}/test-sign-in"),
        &s.key,
        &bob,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, test) = admin(
        &s.app,
        Method::POST,
        &format!(
            "/api/admin/clients/{}/sso-connections/{id}/test-sign-in",
            s.client_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 201, "{test}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_claims_a_domain_and_manages_sso_connections_in_chromium() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &s.app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Test App").await;
    sees(&mut b, "Domains and SSO").await;
    sees(&mut b, "Acme Okta").await;
    sees(&mut b, s.connection["callback_url"].as_str().unwrap()).await;
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "accessibility: {axe}");

    // A new domain: its TXT record is shown, published, verified from the portal.
    fill(&mut b, "Domain", "beta.test").await;
    click(&mut b, "Claim domain").await;
    sees(&mut b, "_authservice-verification.beta.test").await;
    let (_, domains) = admin(
        &s.app,
        Method::GET,
        &format!("/api/admin/clients/{}/domains", s.client_id),
        None,
    )
    .await;
    let beta = domains["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == "beta.test")
        .cloned()
        .unwrap();
    s.dns.publish(
        beta["txt_name"].as_str().unwrap(),
        &[beta["txt_value"].as_str().unwrap()],
    );
    click(&mut b, "Verify: beta.test").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "[aria-label='Verify: beta.test']", "state": "detached" }),
    )
    .await;

    // A connection for it, disabled, then removed.
    fill(&mut b, "Connection name", "Beta IdP").await;
    fill(&mut b, "Issuer URL", &idp.issuer).await;
    fill(&mut b, "Client ID at the identity provider", "beta-app").await;
    fill(
        &mut b,
        "Client secret at the identity provider",
        "beta-secret",
    )
    .await;
    fill(&mut b, "Domains it signs in (space-separated)", "beta.test").await;
    click(&mut b, "Add SSO connection").await;
    sees(&mut b, "Beta IdP").await;
    click(&mut b, "Disable: Beta IdP").await;
    // The list is drawn again once the change is saved: wait for it, so the next click does
    // not land on a row about to be replaced (its result would be shown in a detached node).
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "button[aria-label='Enable: Beta IdP']" }),
    )
    .await;
    click(&mut b, "Test sign-in: Acme Okta").await;
    // (The test sign-in asks the IdP's discovery first: slower when the box is busy.)
    ok(
        &mut b,
        json!({ "op": "check_text", "text": "Open the test sign-in", "timeout": 45000 }),
    )
    .await;
    let list = format!("/api/admin/clients/{}/sso-connections", s.client_id);
    let (_, page) = admin(&s.app, Method::GET, &list, None).await;
    let beta = page["sso_connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Beta IdP")
        .cloned()
        .expect("created from the portal");
    assert_eq!(beta["status"], "disabled");
    assert_eq!(beta["domains"], json!(["beta.test"]));
    assert_eq!(beta["oidc"]["client_secret_set"], true);
    assert!(!page.to_string().contains("beta-secret"));
    let (_, domains) = admin(
        &s.app,
        Method::GET,
        &format!("/api/admin/clients/{}/domains", s.client_id),
        None,
    )
    .await;
    assert!(
        domains["domains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["domain"] == "beta.test" && d["status"] == "verified")
    );
    click(&mut b, "Remove: Beta IdP").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "[aria-label='Remove: Beta IdP']", "state": "detached" }),
    )
    .await;
    let (_, page) = admin(&s.app, Method::GET, &list, None).await;
    assert_eq!(page["sso_connections"].as_array().unwrap().len(), 1);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enforcing_connection_refuses_passkey_sign_ins_too() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let base = s.app.address.clone();
    let res = s
        .app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{}", s.client_id),
            Some(json!({
                "allowed_origins": ["https://app.example.com", base],
                "settings": { "webauthn_rp_id": "localhost", "webauthn_rp_origin": base },
            })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let access = signup(&s.app, &s.key, "pia@acme.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = authservice_tests::browser::Browser::launch(&base).await;
    let registered = browser
        .step(json!({ "op": "register", "key": s.key, "access": access, "name": "Laptop" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");
    let login = browser.step(json!({ "op": "login", "key": s.key })).await;
    assert_eq!(login["status"], 200, "{login}");

    let (status, _) = send(
        &s.app,
        Method::PATCH,
        &format!("{CONNECTIONS}/{}", s.connection["id"].as_str().unwrap()),
        &s.key,
        &s.owner,
        Some(json!({ "enforce_for_domains": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let login = browser.step(json!({ "op": "login", "key": s.key })).await;
    assert_eq!(
        (login["status"].as_u64(), login["body"]["code"].as_str()),
        (Some(403), Some("sso_required")),
        "{login}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_for_the_login_page_is_exchanged_only_with_its_tabs_state() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let callback = s.connection["callback_url"].as_str().unwrap().to_owned();
    idp.configure(&callback, json!([account("u-ann", "ann@acme.test", &[])]));
    let login_page = format!("{}/login.html", s.app.address);
    let start = |state: Option<&str>| {
        let mut url = format!(
            "{}/api/auth/sso?api_key={}&email=ann@acme.test",
            s.app.address, s.key
        );
        if let Some(state) = state {
            url.push_str(&format!("&state={state}"));
        }
        url
    };
    // Without a redirect URI the page must bring its state.
    let landed = Browser::new().follow(&start(None), &login_page).await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("invalid_request"),
        "{landed}"
    );

    let exchange = |code: String, state: Option<&'static str>| {
        let app = &s.app;
        let key = s.key.clone();
        async move {
            let mut body = json!({ "code": code, "token_transport": "json" });
            if let Some(state) = state {
                body["state"] = json!(state);
            }
            let res = call(
                app,
                Method::POST,
                "/api/auth/redirect/exchange",
                &key,
                Some(body),
                None,
            )
            .await;
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // A code planted in another tab's (or browser's) login page: refused.
    let landed = Browser::new()
        .follow(&start(Some("tab-1")), &login_page)
        .await;
    assert_eq!(query(&landed, "state").as_deref(), Some("tab-1"));
    let code = query(&landed, "auth_code").expect(&landed);
    let (status, body) = exchange(code, Some("another-tab")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sso_state_invalid"))
    );
    let landed = Browser::new()
        .follow(&start(Some("tab-1")), &login_page)
        .await;
    let (status, _) = exchange(query(&landed, "auth_code").unwrap(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The tab that began it.
    let landed = Browser::new()
        .follow(&start(Some("tab-1")), &login_page)
        .await;
    let (status, body) = exchange(query(&landed, "auth_code").unwrap(), Some("tab-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A connection belongs to its organization: another organization's owner (same client)
/// neither reads, changes nor deletes it, nor creates one for it; a connection another
/// organization lists for a domain it has not verified routes and enforces nothing there; and
/// home-realm discovery by domain signs in through the connection of the organization that
/// verified it.
#[tokio::test(flavor = "multi_thread")]
async fn connections_belong_to_their_organization_and_route_only_its_verified_domains() {
    let idp = Idp::start();
    let s = setup(&idp).await;
    let id = s.connection["id"].as_str().unwrap().to_owned();
    let path = format!("{CONNECTIONS}/{id}");
    let (beta, beta_org) =
        super::domains::owner_of(&s.app, &s.key, "owner@beta.test", "Beta").await;
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({ "name": "Mine now" }))),
        (Method::DELETE, None),
    ] {
        let (status, err) = send(&s.app, method.clone(), &path, &s.key, &beta, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("sso_connection_not_found")),
            "{method}: {err}"
        );
    }
    let (_, listed) = send(
        &s.app,
        Method::GET,
        &format!("{CONNECTIONS}?organization_id={}", s.org),
        &s.key,
        &beta,
        None,
    )
    .await;
    assert!(!listed.to_string().contains(&id), "{listed}");
    let oidc = json!({ "issuer": idp.issuer, "client_id": "beta", "client_secret": "beta-secret" });
    let (status, _) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &beta,
        Some(
            json!({ "organization_id": s.org, "name": "Hijack", "protocol": "oidc", "oidc": oidc }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Beta names Acme's domain and enforces: nothing routes or enforces through it.
    let (status, theirs) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &beta,
        Some(
            json!({ "organization_id": beta_org, "name": "Beta IdP", "protocol": "oidc",
                     "domains": ["acme.test"], "enforce_for_domains": true, "oidc": oidc }),
        ),
    )
    .await;
    let beta_connection = theirs["id"].as_str().map(str::to_owned);
    assert!(
        status == StatusCode::CREATED || status.is_client_error(),
        "{status}: {theirs}"
    );
    signup(&s.app, &s.key, "dora@acme.test").await;
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/login",
        &s.key,
        Some(json!({ "email": "dora@acme.test", "password": super::auth_helpers::PASSWORD })),
        None,
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "Beta's connection enforces nothing on acme.test"
    );

    // Discovery by domain: to Acme's connection (its client at the IdP), not Beta's.
    let start = format!(
        "{}/api/auth/sso?api_key={}&domain=acme.test&redirect_uri={}&state=by-domain",
        s.app.address,
        s.key,
        urlencoding(APP_CALLBACK),
    );
    let res = Browser::new().get(&start).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&idp.issuer), "{location}");
    assert!(
        location.contains("client_id=authservice&") || location.ends_with("client_id=authservice"),
        "{location}"
    );
    if let Some(theirs) = beta_connection {
        assert_ne!(theirs, id);
    }
}
