//! GitHub, Discord, Microsoft and Apple, each in its own protocol, against a peer speaking
//! their wire formats (`tests/browser/social_idp.mjs`): GitHub's and Discord's OAuth 2.0 with
//! PKCE and their profile APIs, Microsoft's multi-tenant issuer, Apple's form POST and its
//! client secret signed with the team's key. Who may be created follows what each provider
//! vouches for; provider tokens are kept (sealed) only when asked.

use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::call;
use super::domains::admin;
use super::pages::{click, fill, lands_on, ok, sees, signs_out};
use super::sso::{APP_CALLBACK, Browser, Setup, acme, query, urlencoding, verified_signup};

struct SocialIdp {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for SocialIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SocialIdp {
    fn start() -> Self {
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/browser/social_idp.mjs"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run node tests/browser/social_idp.mjs");
        let line = authservice_tests::first_line(&mut child, "the social IdP peer");
        let started: Value = serde_json::from_str(&line).expect("the peer's base line");
        Self {
            child,
            base: started["base"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}");
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The token requests the peer refused, with why.
    async fn refusals(&self) -> Vec<String> {
        self.get("/_log")
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["ok"] != true)
            .map(|entry| format!("{}: {}", entry["provider"], entry["why"]))
            .collect()
    }
}

/// Configures `provider` at the app and our client at the peer; the callback to register.
async fn configure(s: &Setup, idp: &SocialIdp, provider: &str, body: Value) -> Value {
    let (status, answer) = admin(
        &s.app,
        Method::PUT,
        &format!(
            "/api/admin/clients/{}/social-providers/{provider}",
            s.client_id
        ),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{provider}: {answer}");
    assert!(!answer.to_string().contains("secret-of"), "{answer}");
    idp.post(
        &format!("/_client/{provider}"),
        json!({
            "client_id": body["client_id"], "client_secret": body["client_secret"],
            "redirect_uri": answer["redirect_uri"], "team_id": body["team_id"],
            "key_id": body["key_id"],
        }),
    )
    .await;
    answer
}

/// GitHub's configuration with every endpoint at the peer.
fn github(base: &str, store_tokens: bool) -> Value {
    json!({
        "client_id": "gh-app", "client_secret": "secret-of-gh",
        "authorization_endpoint": format!("{base}/github/login/oauth/authorize"),
        "token_endpoint": format!("{base}/github/login/oauth/access_token"),
        "userinfo_endpoint": format!("{base}/github/api/user"),
        "store_tokens": store_tokens,
    })
}

fn start_url(s: &Setup, provider: &str) -> String {
    format!(
        "{}/api/auth/oauth/{provider}?api_key={}&redirect_uri={}&state=app-state",
        s.app.address,
        s.key,
        urlencoding(APP_CALLBACK)
    )
}

/// Signs in at `provider` as `account`: where the browser lands at the app.
async fn sign_in(s: &Setup, idp: &SocialIdp, provider: &str, account: Value) -> String {
    idp.post(&format!("/_next/{provider}"), account).await;
    Browser::new()
        .follow(&start_url(s, provider), "https://")
        .await
}

/// The tokens of a landing with an `auth_code`.
async fn tokens_of(s: &Setup, landed: &str) -> Value {
    let code = query(landed, "auth_code").unwrap_or_else(|| panic!("no code: {landed}"));
    assert_eq!(query(landed, "state").as_deref(), Some("app-state"));
    let (status, tokens) = s.exchange(&code, APP_CALLBACK).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn error_of(landed: &str) -> Option<String> {
    query(landed, "error")
}

/// Apple answers with a page that posts the code back (`response_mode=form_post`): the
/// browser submits it, with the attempt's cookie (SameSite=None, so it comes along).
async fn apple_sign_in(s: &Setup, idp: &SocialIdp, account: Value) -> String {
    idp.post("/_next/apple", account).await;
    let mut browser = Browser::new();
    let started = browser.get(&start_url(s, "apple")).await;
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("SameSite=None") && cookie.contains("Secure"),
        "{cookie}"
    );
    let authorize = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.contains("response_mode=form_post"), "{authorize}");
    let page = browser.get(&authorize).await.text().await.unwrap();
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's action")
        .to_owned();
    let fields: Vec<(String, String)> = page
        .split("<input ")
        .skip(1)
        .map(|input| {
            let attr = |name: &str| {
                input
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap()
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect();
    let res = browser.post_form(&action, &fields).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_discord_microsoft_and_apple_sign_in_in_their_own_protocols() {
    let idp = SocialIdp::start();
    let s = acme().await;
    let base = idp.base.clone();

    // GitHub: OAuth 2.0 + PKCE, the profile and the verified primary address from its API;
    // its tokens kept (sealed) because the configuration asks.
    configure(&s, &idp, "github", github(&base, true)).await;
    let octo = json!({ "id": 4242, "login": "octo", "name": "Octo Cat",
        "emails": [{ "email": "octo@gh.test", "primary": true, "verified": true }] });
    let tokens = tokens_of(&s, &sign_in(&s, &idp, "github", octo.clone()).await).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let me = s.me(&access).await;
    assert_eq!(
        (&me["email"], &me["email_verified"], &me["display_name"]),
        (&json!("octo@gh.test"), &json!(true), &json!("Octo Cat"))
    );
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities/github/tokens",
        &s.key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let kept: Value = res.json().await.unwrap();
    assert!(kept["access_token"].as_str().unwrap().starts_with("gho_"));
    // The same GitHub user again is the same account, by the identity.
    let again = tokens_of(&s, &sign_in(&s, &idp, "github", octo).await).await;
    assert_eq!(
        s.me(again["access_token"].as_str().unwrap()).await["id"],
        me["id"]
    );
    // A primary address GitHub has not verified makes nobody (another verified one does not
    // stand in for it).
    let unverified = json!({ "id": 4243, "login": "unv", "emails": [
        { "email": "unv@gh.test", "primary": true, "verified": false },
        { "email": "other@gh.test", "primary": false, "verified": true }] });
    let landed = sign_in(&s, &idp, "github", unverified).await;
    assert_eq!(
        error_of(&landed).as_deref(),
        Some("sso_user_not_provisioned")
    );
    // An existing account is not taken over by GitHub asserting its address.
    verified_signup(&s, "bob@gh.test").await;
    let bob = json!({ "id": 4244, "login": "bob",
        "emails": [{ "email": "bob@gh.test", "primary": true, "verified": true }] });
    let landed = sign_in(&s, &idp, "github", bob).await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_account_conflict"));
    // The user declining at GitHub: a stable code, nothing more.
    let landed = sign_in(&s, &idp, "github", json!({ "deny": true })).await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_failed"));

    // Discord: OAuth 2.0 + PKCE and `/users/@me`, whose `verified` says whether the address is.
    configure(
        &s,
        &idp,
        "discord",
        json!({
            "client_id": "dc-app", "client_secret": "secret-of-dc",
            "authorization_endpoint": format!("{base}/discord/oauth2/authorize"),
            "token_endpoint": format!("{base}/discord/api/oauth2/token"),
            "userinfo_endpoint": format!("{base}/discord/api/users/@me"),
        }),
    )
    .await;
    let nelly = json!({ "id": "80351110224678912", "username": "nelly", "global_name": "Nelly",
        "email": "nelly@discord.test", "verified": true });
    let tokens = tokens_of(&s, &sign_in(&s, &idp, "discord", nelly).await).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.me(&access).await["email"], "nelly@discord.test");
    // Tokens are not kept unless the configuration asks.
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities/discord/tokens",
        &s.key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let unverified = json!({ "id": "2", "username": "x", "email": "x@discord.test",
        "verified": false });
    let landed = sign_in(&s, &idp, "discord", unverified).await;
    assert_eq!(
        error_of(&landed).as_deref(),
        Some("sso_user_not_provisioned")
    );

    // Microsoft's multi-tenant endpoint: the token's issuer must be its own tenant's; an Entra
    // address counts as verified only with `xms_edov` (a tenant's admin can type any address).
    configure(
        &s,
        &idp,
        "microsoft",
        json!({ "client_id": "ms-app", "client_secret": "secret-of-ms",
                "issuer": format!("{base}/ms/common/v2.0") }),
    )
    .await;
    let personal = json!({ "sub": "ms-1", "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
        "email": "ms@outlook.test", "name": "Outlook User" });
    let tokens = tokens_of(&s, &sign_in(&s, &idp, "microsoft", personal).await).await;
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["email"],
        "ms@outlook.test"
    );
    let typed = json!({ "sub": "ms-2", "tid": "11111111-2222-3333-4444-555555555555",
        "email": "ceo@victim.test", "name": "Not the CEO" });
    let landed = sign_in(&s, &idp, "microsoft", typed).await;
    assert_eq!(
        error_of(&landed).as_deref(),
        Some("sso_user_not_provisioned")
    );
    let edov = json!({ "sub": "ms-3", "tid": "22222222-2222-3333-4444-555555555555",
        "email": "dev@corp.test", "xms_edov": true });
    let tokens = tokens_of(&s, &sign_in(&s, &idp, "microsoft", edov).await).await;
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["email"],
        "dev@corp.test"
    );
    // A token whose issuer names another tenant than its `tid`: refused.
    let forged = json!({ "sub": "ms-4", "tid": "33333333-2222-3333-4444-555555555555",
        "iss_tenant": "44444444-2222-3333-4444-555555555555", "email": "x@corp.test",
        "xms_edov": true });
    let landed = sign_in(&s, &idp, "microsoft", forged).await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_failed"));

    // Apple: form_post back (the cookie SameSite=None), the client secret an ES256 JWT signed
    // with the team's key, `email_verified` the string "true", the name only in the form.
    let pem = idp.get("/_apple_key").await["private_pem"]
        .as_str()
        .unwrap()
        .to_owned();
    let apple = json!({ "client_id": "com.example.app", "client_secret": pem,
        "team_id": "TEAM123", "key_id": "KEY123", "issuer": format!("{base}/apple") });
    configure(&s, &idp, "apple", apple.clone()).await;
    let ann = json!({ "sub": "001234.abcdef", "email": "ann@icloud.test",
        "name": { "firstName": "Ann", "lastName": "Apple" } });
    let tokens = tokens_of(&s, &apple_sign_in(&s, &idp, ann).await).await;
    let me = s.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (&me["email"], &me["display_name"]),
        (&json!("ann@icloud.test"), &json!("Ann Apple"))
    );
    assert!(
        idp.refusals().await.is_empty(),
        "{:?}",
        idp.refusals().await
    );
    // A secret signed for another key id is refused by Apple: the sign-in fails cleanly.
    let mut wrong = apple.clone();
    wrong["key_id"] = json!("OTHERKEY");
    let (status, _) = admin(
        &s.app,
        Method::PUT,
        &format!("/api/admin/clients/{}/social-providers/apple", s.client_id),
        Some(wrong),
    )
    .await;
    assert_eq!(status, 200);
    let landed = apple_sign_in(
        &s,
        &idp,
        json!({ "sub": "001235.x", "email": "z@icloud.test" }),
    )
    .await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_failed"));
    assert_eq!(
        idp.refusals().await,
        ["\"apple\": \"client_secret: kid OTHERKEY\""]
    );
    // A new key id needs the secret again (it is bound to the key).
    let (status, answer) = admin(
        &s.app,
        Method::PUT,
        &format!("/api/admin/clients/{}/social-providers/apple", s.client_id),
        Some(
            json!({ "client_id": "com.example.app", "team_id": "TEAM123", "key_id": "KEY9",
                     "issuer": format!("{base}/apple") }),
        ),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    let events = |t: &'static str| s.app.audit_events(t);
    assert_eq!(events("event_type=social.user_created").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hosted_login_page_offers_each_provider_and_signs_in_in_chromium() {
    let idp = SocialIdp::start();
    let s = acme().await;
    let base = idp.base.clone();
    configure(&s, &idp, "github", github(&base, false)).await;
    let pem = idp.get("/_apple_key").await["private_pem"]
        .as_str()
        .unwrap()
        .to_owned();
    configure(
        &s,
        &idp,
        "apple",
        json!({ "client_id": "com.example.app", "client_secret": pem, "team_id": "TEAM123",
                "key_id": "KEY123", "issuer": format!("{base}/apple") }),
    )
    .await;
    idp.post(
        "/_next/github",
        json!({ "id": 77, "login": "octo", "name": "Octo Cat",
                "emails": [{ "email": "octo@gh.test", "primary": true, "verified": true }] }),
    )
    .await;
    idp.post(
        "/_next/apple",
        json!({ "sub": "000777.x", "email": "ann@icloud.test",
                "name": { "firstName": "Ann", "lastName": "Apple" } }),
    )
    .await;

    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    let login = format!("/login.html?api_key={}&locale=en", s.key);
    ok(&mut b, json!({ "op": "goto", "url": login })).await;
    sees(&mut b, "Continue with Apple").await;
    // GitHub's sign-in, back to the login page with a code it exchanges with its tab's state.
    click(&mut b, "Continue with GitHub").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "octo@gh.test").await;
    signs_out(&mut b).await;
    // Apple answers with a page posting the code back cross-site: the attempt's cookie
    // (SameSite=None; Secure) comes along in a real browser.
    click(&mut b, "Continue with Apple").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ann@icloud.test").await;
    signs_out(&mut b).await;
    // GitHub vouches for an existing account's address: the page asks its owner to sign in,
    // then GitHub joins the account.
    verified_signup(&s, "carla@gh.test").await;
    idp.post(
        "/_next/github",
        json!({ "id": 78, "login": "carla",
                "emails": [{ "email": "carla@gh.test", "primary": true, "verified": true }] }),
    )
    .await;
    click(&mut b, "Continue with GitHub").await;
    sees(&mut b, "An account with this address already exists").await;
    fill(&mut b, "Email", "carla@gh.test").await;
    fill(&mut b, "Password", super::auth_helpers::PASSWORD).await;
    click(&mut b, "Sign in").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "Connected to your account.").await;
    b.close().await;
    let linked = s
        .app
        .audit_events("event_type=social.identity_linked")
        .await;
    assert_eq!(linked.len(), 1);
    assert!(idp.refusals().await.is_empty());
}

async fn password_login(s: &Setup, email: &str) -> String {
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/login",
        &s.key,
        Some(json!({ "email": email, "password": super::auth_helpers::PASSWORD })),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn complete_link(s: &Setup, access: &str, token: &str) -> (StatusCode, Value) {
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/oauth/link/complete",
        &s.key,
        Some(json!({ "link_token": token })),
        Some(access),
    )
    .await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Completes a parked link in `browser` (with its link cookie).
async fn complete_in(
    browser: &mut Browser,
    s: &Setup,
    access: &str,
    token: &str,
) -> (StatusCode, Value) {
    let bearer = format!("Bearer {access}");
    let res = browser
        .post(
            &s.app.url("/api/auth/oauth/link/complete"),
            &[
                ("X-API-Key", s.key.as_str()),
                ("Authorization", bearer.as_str()),
            ],
            json!({ "link_token": token }),
        )
        .await;
    let status = res.status();
    (status, res.json::<Value>().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_joins_a_provider_only_once_its_owner_signs_in() {
    let idp = SocialIdp::start();
    let s = acme().await;
    let base = idp.base.clone();
    configure(&s, &idp, "github", github(&base, true)).await;
    let bob = verified_signup(&s, "bob@gh.test").await;
    verified_signup(&s, "eve@gh.test").await;
    let bob_at_github = json!({ "id": 501, "login": "bob",
        "emails": [{ "email": "bob@gh.test", "primary": true, "verified": true }] });

    // GitHub vouches for Bob's address: nobody is signed in, nothing linked — the identity
    // waits for the account's own sign-in in this browser, under a one-time token.
    idp.post("/_next/github", bob_at_github.clone()).await;
    let mut browser = Browser::new();
    let landed = browser.follow(&start_url(&s, "github"), "https://").await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_account_conflict"));
    assert_eq!(query(&landed, "provider").as_deref(), Some("github"));
    let token = query(&landed, "link_token").expect("a link token");
    assert!(query(&landed, "auth_code").is_none());
    // Another account cannot take it, even in that browser (and does not burn it).
    let eve = password_login(&s, "eve@gh.test").await;
    let (status, answer) = complete_in(&mut browser, &s, &eve, &token).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sso_state_invalid")),
        "{answer}"
    );
    // Nor does anyone without a sign-in.
    let res = call(
        &s.app,
        Method::POST,
        "/api/auth/oauth/link/complete",
        &s.key,
        Some(json!({ "link_token": token })),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A token sent to Bob's own browser elsewhere (no link cookie) joins nothing: a planted
    // link cannot ride Bob's next sign-in.
    let access = password_login(&s, "bob@gh.test").await;
    let (status, _) = complete_link(&s, &access, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Bob signs in with his password in that browser: the identity joins his account, once.
    let (status, answer) = complete_in(&mut browser, &s, &access, &token).await;
    assert_eq!(
        (status, &answer),
        (StatusCode::OK, &json!({ "provider": "github" }))
    );
    let (status, _) = complete_in(&mut browser, &s, &access, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The tokens GitHub gave at that sign-in were kept with it (sealed).
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities/github/tokens",
        &s.key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // From now on GitHub signs Bob in.
    let tokens = tokens_of(&s, &sign_in(&s, &idp, "github", bob_at_github).await).await;
    let me = s.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me["id"], bob["user"]["id"], "{bob}");
    assert_eq!(
        s.app
            .audit_events("event_type=social.identity_linked")
            .await
            .len(),
        1
    );
    // An account whose address was never proven is nobody's yet: no link is offered.
    super::auth_helpers::signup(&s.app, &s.key, "unproven@gh.test").await;
    let landed = sign_in(
        &s,
        &idp,
        "github",
        json!({ "id": 502, "login": "up",
                "emails": [{ "email": "unproven@gh.test", "primary": true, "verified": true }] }),
    )
    .await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_account_conflict"));
    assert!(query(&landed, "link_token").is_none());
    // Another GitHub server (an endpoint moved) is another provider: the secret is asked again
    // and the identities it linked are forgotten.
    let path = format!("/api/admin/clients/{}/social-providers/github", s.client_id);
    let mut moved = github(&base, true);
    moved["token_endpoint"] = json!(format!("{base}/github/login/oauth/access_token?ghe=1"));
    let mut without_secret = moved.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    let (status, _) = admin(&s.app, Method::PUT, &path, Some(without_secret)).await;
    assert_eq!(status, 400);
    let (status, _) = admin(&s.app, Method::PUT, &path, Some(moved)).await;
    assert_eq!(status, 200);
    let landed = sign_in(
        &s,
        &idp,
        "github",
        json!({ "id": 501, "login": "bob",
                "emails": [{ "email": "bob@gh.test", "primary": true, "verified": true }] }),
    )
    .await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_account_conflict"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openid_connect_provider_with_its_endpoints_given_needs_no_discovery() {
    let idp = SocialIdp::start();
    let s = acme().await;
    let base = idp.base.clone();
    let tid = "55555555-2222-3333-4444-555555555555";
    // An issuer that publishes no discovery document: unusable by its issuer alone…
    let path = format!("/api/admin/clients/{}/social-providers/oidc", s.client_id);
    let body = json!({ "client_id": "ms-app", "client_secret": "secret-of-ms",
                       "issuer": format!("{base}/ms/{tid}/v2.0") });
    let (status, answer) = admin(&s.app, Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(status, 200, "{answer}");
    idp.post(
        "/_client/microsoft",
        json!({ "client_id": "ms-app", "client_secret": "secret-of-ms",
                "redirect_uri": answer["redirect_uri"] }),
    )
    .await;
    idp.post(
        "/_next/microsoft",
        json!({ "sub": "ms-9", "tid": tid, "email": "nine@corp.test", "email_verified": true }),
    )
    .await;
    let landed = Browser::new()
        .follow(&start_url(&s, "oidc"), "https://")
        .await;
    assert_eq!(error_of(&landed).as_deref(), Some("idp_unavailable"));
    // …but with its endpoints given (all three, or none), the ID token's issuer still checked.
    let mut partial = body.clone();
    partial["token_endpoint"] = json!(format!("{base}/ms/common/oauth2/v2.0/token"));
    let (status, _) = admin(&s.app, Method::PUT, &path, Some(partial.clone())).await;
    assert_eq!(status, 400);
    let mut given = partial;
    given["authorization_endpoint"] = json!(format!("{base}/ms/common/oauth2/v2.0/authorize"));
    given["jwks_uri"] = json!(format!("{base}/ms/common/discovery/v2.0/keys"));
    let (status, answer) = admin(&s.app, Method::PUT, &path, Some(given)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["jwks_uri"].as_str().unwrap().ends_with("/keys"));
    let tokens = tokens_of(
        &s,
        &Browser::new()
            .follow(&start_url(&s, "oidc"), "https://")
            .await,
    )
    .await;
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["email"],
        "nine@corp.test"
    );
    // A token of another issuer than the configured one: refused.
    idp.post(
        "/_next/microsoft",
        json!({ "sub": "ms-10", "tid": tid, "iss_tenant": "other", "email": "ten@corp.test",
                "email_verified": true }),
    )
    .await;
    let landed = Browser::new()
        .follow(&start_url(&s, "oidc"), "https://")
        .await;
    assert_eq!(error_of(&landed).as_deref(), Some("sso_failed"));
}
