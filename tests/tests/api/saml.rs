//! Enterprise SSO over SAML 2.0 against three real IdP peers with one HTTP API — node
//! (`tests/browser/saml_idp.mjs`, responses signed with xml-crypto), pysaml2
//! (`tests/peers/saml_idp.py`, its objects signed by its xmlsec1 backend) and samlify
//! (`tests/browser/saml_idp_samlify.mjs`, its login-response template signed by it); pysaml2 and
//! samlify also answer by their own IdP path: SP metadata, SP-initiated sign-in in headless
//! Chromium (HTTP-Redirect AuthnRequest, HTTP-POST Response), and the negative matrix against
//! each — every forged, stale, replayed or misdirected response refused by name, with
//! certificate rotation.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::domains::send;
use super::pages::{click, fill, lands_on, ok, sees};
use super::sso::{APP_CALLBACK, Browser, CONNECTIONS, Setup, acme, query, urlencoding};

/// The SAML IdP peer.
struct SamlIdp {
    child: Child,
    url: String,
    entity_id: String,
    http: reqwest::Client,
}

impl SamlIdp {
    /// The node peer (xml-crypto).
    fn start() -> Self {
        Self::spawn(
            Command::new("node").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/browser/saml_idp.mjs")),
        )
    }

    /// The samlify peer (npm ci in tests/browser).
    fn start_samlify() -> Self {
        Self::spawn(Command::new("node").arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/browser/saml_idp_samlify.mjs"
        )))
    }

    /// The pysaml2 peer (pip install -r tests/peers/requirements.txt; apt xmlsec1).
    fn start_pysaml2() -> Self {
        Self::spawn(
            Command::new("python3")
                .arg("-W")
                .arg("ignore")
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/saml_idp.py")),
        )
    }

    fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the SAML IdP peer");
        let line = authservice_tests::first_line(&mut child, "the SAML IdP peer");
        let started: Value = serde_json::from_str(&line).expect("the IdP's first line");
        Self {
            child,
            url: started["url"].as_str().unwrap().to_owned(),
            entity_id: started["entity_id"].as_str().unwrap().to_owned(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    async fn metadata(&self, certs: &str) -> String {
        self.http
            .get(format!("{}/metadata?certs={certs}", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A Response minted as `body` says (see the peer for the fields).
    async fn response(&self, body: Value) -> String {
        let res = self
            .http
            .post(format!("{}/response", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let minted: Value = res.json().await.unwrap();
        minted["saml_response"].as_str().unwrap().to_owned()
    }

    /// The AuthnRequest a redirect to the IdP carries: `{id, acs, issuer, destination,
    /// relay_state}`.
    async fn decode(&self, redirect: &str) -> Value {
        let query = reqwest::Url::parse(redirect).unwrap();
        let res = self
            .http
            .get(format!("{}/decode?{}", self.url, query.query().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Acme with a SAML connection to `idp` (from its metadata with `certs`).
async fn saml_setup(idp: &SamlIdp, certs: &str) -> Setup {
    let mut s = acme().await;
    let (status, connection) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(json!({
            "organization_id": s.org, "name": "Acme SAML", "protocol": "saml",
            "domains": ["acme.test"],
            "attribute_mapping": { "groups": "groups" },
            "saml": { "idp_metadata_xml": idp.metadata(certs).await },
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    s.connection = connection;
    s
}

/// Begins an attempt in `browser`: the AuthnRequest the IdP receives.
async fn begin(s: &Setup, idp: &SamlIdp, browser: &mut Browser) -> Value {
    let start = format!(
        "{}/api/auth/sso/{}?api_key={}&redirect_uri={}",
        s.app.address,
        s.connection["id"].as_str().unwrap(),
        s.key,
        urlencoding(APP_CALLBACK)
    );
    let res = browser.get(&start).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/sso?", idp.url)),
        "{location}"
    );
    idp.decode(&location).await
}

/// Posts `saml_response` to the ACS as the IdP's form does: where the browser lands.
async fn post(s: &Setup, browser: &mut Browser, request: &Value, saml_response: &str) -> String {
    let cookie: Vec<String> = browser
        .jar_pairs()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
        .post(request["acs"].as_str().unwrap())
        .header("Cookie", cookie.join("; "))
        .form(&[
            ("SAMLResponse", saml_response),
            ("RelayState", request["relay_state"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "{:?}", res.text().await);
    let _ = s;
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn saml_sp_metadata_names_the_acs_and_a_signed_response_signs_in_through_chromium() {
    let idp = SamlIdp::start();
    let s = saml_setup(&idp, "primary").await;
    let c = &s.connection;
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["saml"]["idp_entity_id"], idp.entity_id.as_str());
    assert_eq!(
        c["saml"]["idp_certificate_fingerprints"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The SP metadata (public) names the entityID and the ACS.
    let res = reqwest::get(c["metadata_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let xml = res.text().await.unwrap();
    assert!(xml.contains(&format!(
        "entityID=\"{}\"",
        c["sp_entity_id"].as_str().unwrap()
    )));
    assert!(xml.contains(c["acs_url"].as_str().unwrap()));
    assert!(
        c["acs_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/auth/sso/callback/{id}"))
    );

    // Chromium: the login page's SSO button, the IdP's auto-posted form, back signed in.
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={}&locale=en", s.key) }),
    )
    .await;
    fill(&mut b, "Email", "ann@acme.test").await;
    click(&mut b, "Sign in with SSO").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ann@acme.test").await;
    b.close().await;
    assert_eq!(
        s.app
            .audit_events("event_type=sso.user_provisioned")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_saml_negative_matrix_is_refused_by_name() {
    negative_matrix(&SamlIdp::start()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_saml_negative_matrix_is_refused_by_name_for_pysaml2_responses() {
    negative_matrix(&SamlIdp::start_pysaml2()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_saml_negative_matrix_is_refused_by_name_for_samlify_responses() {
    negative_matrix(&SamlIdp::start_samlify()).await;
}

/// pysaml2's own IdP path: it parses our AuthnRequest, builds and signs its answer for our SP
/// metadata and posts it back through the browser.
#[tokio::test(flavor = "multi_thread")]
async fn a_pysaml2_idp_signs_in_through_chromium() {
    idp_path_in_chromium(SamlIdp::start_pysaml2()).await;
}

/// samlify's own IdP path, the same way.
#[tokio::test(flavor = "multi_thread")]
async fn a_samlify_idp_signs_in_through_chromium() {
    idp_path_in_chromium(SamlIdp::start_samlify()).await;
}

async fn idp_path_in_chromium(idp: SamlIdp) {
    let s = saml_setup(&idp, "primary").await;
    assert_eq!(
        s.connection["saml"]["idp_entity_id"],
        idp.entity_id.as_str()
    );
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={}&locale=en", s.key) }),
    )
    .await;
    fill(&mut b, "Email", "ann@acme.test").await;
    click(&mut b, "Sign in with SSO").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "ann@acme.test").await;
    b.close().await;
    let provisioned = s.app.audit_events("event_type=sso.user_provisioned").await;
    assert_eq!(provisioned.len(), 1);
}

async fn negative_matrix(idp: &SamlIdp) {
    let s = saml_setup(idp, "primary,secondary").await;
    let sp_entity_id = s.connection["sp_entity_id"].as_str().unwrap().to_owned();

    // A valid response, then each forgery of it: (name, changes, signs in?).
    let cases: Vec<(&str, Value, bool)> = vec![
        ("valid, both signed", json!({}), true),
        (
            "only the assertion signed",
            json!({ "sign": "assertion" }),
            true,
        ),
        (
            "only the response signed",
            json!({ "sign": "response" }),
            true,
        ),
        (
            "rotation: the second certificate",
            json!({ "key": "secondary" }),
            true,
        ),
        ("unsigned", json!({ "sign": "none" }), false),
        (
            "tampered after signing",
            json!({ "tamper": "name_id" }),
            false,
        ),
        ("signed by an unknown key", json!({ "key": "rogue" }), false),
        (
            "signed with RSA-SHA1",
            json!({ "algorithm": "sha1" }),
            false,
        ),
        (
            "wrong audience",
            json!({ "audience_override": "https://other.example/sp" }),
            false,
        ),
        (
            "no audience restriction",
            json!({ "no_audience": true }),
            false,
        ),
        (
            "wrong destination",
            json!({ "destination": "https://other.example/acs", "sign": "response" }),
            false,
        ),
        (
            "wrong recipient",
            json!({ "recipient": "https://other.example/acs" }),
            false,
        ),
        (
            "expired",
            json!({ "not_on_or_after_offset_s": -600, "subject_not_on_or_after_offset_s": -600 }),
            false,
        ),
        (
            "not yet valid",
            json!({ "not_before_offset_s": 600 }),
            false,
        ),
        (
            "InResponseTo of another request",
            json!({ "in_response_to": "_another" }),
            false,
        ),
        (
            "answering no request (unsolicited) into an attempt",
            json!({ "in_response_to": null }),
            false,
        ),
        (
            "unknown issuer",
            json!({ "issuer": "https://evil.example/idp" }),
            false,
        ),
    ];
    for (name, changes, signs_in) in cases {
        let mut browser = Browser::new();
        let request = begin(&s, idp, &mut browser).await;
        let mut body = json!({
            "acs": request["acs"], "audience": sp_entity_id, "in_response_to": request["id"],
            "name_id": "ann@acme.test", "attributes": { "email": "ann@acme.test", "groups": ["eng"] },
        });
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        let landed = post(&s, &mut browser, &request, &idp.response(body).await).await;
        if signs_in {
            let code = query(&landed, "auth_code").unwrap_or_else(|| panic!("{name}: {landed}"));
            let (status, tokens) = s.exchange(&code, APP_CALLBACK).await;
            assert_eq!(status, StatusCode::OK, "{name}: {tokens}");
            let me = s.me(tokens["access_token"].as_str().unwrap()).await;
            assert_eq!(me["email"], "ann@acme.test", "{name}");
        } else {
            assert_eq!(
                query(&landed, "error").as_deref(),
                Some("sso_failed"),
                "{name}: {landed}"
            );
        }
    }

    // Signature wrapping: an unsigned assertion for someone else before the signed one is
    // never read (the signed one is).
    let mut browser = Browser::new();
    let request = begin(&s, idp, &mut browser).await;
    let wrapped = idp
        .response(json!({
            "acs": request["acs"], "audience": sp_entity_id, "in_response_to": request["id"],
            "name_id": "ann@acme.test", "sign": "assertion", "wrap": true,
        }))
        .await;
    let landed = post(&s, &mut browser, &request, &wrapped).await;
    if let Some(code) = query(&landed, "auth_code") {
        let (_, tokens) = s.exchange(&code, APP_CALLBACK).await;
        let me = s.me(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(me["email"], "ann@acme.test", "never the wrapped identity");
    } else {
        assert_eq!(query(&landed, "error").as_deref(), Some("sso_failed"));
    }

    // Replay: the same response again (a new attempt of the same browser): refused.
    let mut browser = Browser::new();
    let request = begin(&s, idp, &mut browser).await;
    let body = json!({
        "acs": request["acs"], "audience": sp_entity_id, "in_response_to": request["id"],
        "name_id": "ann@acme.test", "assertion_id": "_fixed-assertion-1",
    });
    let response = idp.response(body).await;
    let landed = post(&s, &mut browser, &request, &response).await;
    assert!(query(&landed, "auth_code").is_some(), "{landed}");
    let landed = post(&s, &mut browser, &request, &response).await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_state_invalid"),
        "the attempt was spent"
    );
    // Even answering a fresh attempt, the same assertion ID is refused.
    let mut browser = Browser::new();
    let again = begin(&s, idp, &mut browser).await;
    let replayed = idp
        .response(json!({
            "acs": again["acs"], "audience": sp_entity_id, "in_response_to": again["id"],
            "name_id": "ann@acme.test", "assertion_id": "_fixed-assertion-1",
        }))
        .await;
    let landed = post(&s, &mut browser, &again, &replayed).await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_failed"),
        "{landed}"
    );
    let failed = s.app.audit_events("event_type=sso.login_failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["metadata"]["reason"] == "assertion_replayed"),
        "{failed:?}"
    );

    // A response posted without the browser's binding cookie signs nobody in.
    let mut browser = Browser::new();
    let request = begin(&s, idp, &mut browser).await;
    let response = idp
        .response(json!({
            "acs": request["acs"], "audience": sp_entity_id, "in_response_to": request["id"],
        }))
        .await;
    let landed = post(&s, &mut Browser::new(), &request, &response).await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_state_invalid")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saml_connections_refuse_idps_without_certificates_and_bad_metadata() {
    let idp = SamlIdp::start();
    let s = acme().await;
    let create = |saml: Value| json!({ "organization_id": s.org, "name": "S", "protocol": "saml", "saml": saml });
    let certs: Value = reqwest::get(format!("{}/certs", idp.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (saml, why) in [
        (
            json!({ "idp_metadata_xml": "<not metadata" }),
            "bad metadata",
        ),
        (
            json!({ "idp_metadata_xml": "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>" }),
            "no IdP",
        ),
        (
            json!({ "idp_entity_id": "x", "idp_sso_url": format!("{}/sso", idp.url), "idp_certificates": [] }),
            "no certificate",
        ),
        (
            json!({ "idp_entity_id": "x", "idp_sso_url": format!("{}/sso", idp.url), "idp_certificates": ["not a pem"] }),
            "bad certificate",
        ),
        (
            json!({ "idp_entity_id": "x", "idp_sso_url": "ftp://idp", "idp_certificates": [certs["primary"]] }),
            "bad URL",
        ),
        (json!({}), "nothing"),
    ] {
        let (status, body) = send(
            &s.app,
            Method::POST,
            CONNECTIONS,
            &s.key,
            &s.owner,
            Some(create(saml)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
    }
    // By hand (entityID, SSO URL, PEM certificates), and from a metadata URL.
    let (status, body) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(create(json!({
            "idp_entity_id": idp.entity_id, "idp_sso_url": format!("{}/sso", idp.url),
            "idp_certificates": [certs["primary"], certs["secondary"]],
        }))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["saml"]["idp_certificate_fingerprints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, body) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(create(
            json!({ "idp_metadata_url": format!("{}/metadata", idp.url) }),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["saml"]["idp_entity_id"], idp.entity_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_adds_a_saml_connection_from_its_metadata_url() {
    let idp = SamlIdp::start();
    let s = acme().await;
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
    fill(&mut b, "Connection name", "Acme SAML").await;
    ok(
        &mut b,
        json!({ "op": "select", "label": "Protocol", "value": "saml" }),
    )
    .await;
    fill(&mut b, "IdP metadata URL", &format!("{}/metadata", idp.url)).await;
    fill(&mut b, "Domains it signs in (space-separated)", "acme.test").await;
    click(&mut b, "Add SSO connection").await;
    sees(&mut b, "Assertion Consumer Service URL (HTTP-POST)").await;
    let (_, page) = super::domains::admin(
        &s.app,
        Method::GET,
        &format!("/api/admin/clients/{}/sso-connections", s.client_id),
        None,
    )
    .await;
    let c = &page["sso_connections"][0];
    assert_eq!(c["protocol"], "saml", "{page}");
    assert_eq!(c["saml"]["idp_entity_id"], idp.entity_id.as_str());
    sees(&mut b, c["acs_url"].as_str().unwrap()).await;
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "accessibility: {axe}");
    b.close().await;
}

/// Posts `saml_response` to the ACS with no attempt (an IdP-initiated sign-in): where the
/// browser is sent.
async fn post_unsolicited(s: &Setup, saml_response: &str, relay_state: Option<&str>) -> String {
    let mut form = vec![("SAMLResponse", saml_response.to_owned())];
    if let Some(relay) = relay_state {
        form.push(("RelayState", relay.to_owned()));
    }
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(s.connection["acs_url"].as_str().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idp_initiated_sign_in_lands_only_where_its_connection_says() {
    let idp = SamlIdp::start();
    let s = saml_setup(&idp, "primary").await;
    let sp_entity_id = s.connection["sp_entity_id"].as_str().unwrap().to_owned();
    let acs = s.connection["acs_url"].as_str().unwrap().to_owned();
    let unsolicited = |name: &str| {
        json!({ "acs": acs, "audience": sp_entity_id, "in_response_to": null, "name_id": name,
                "attributes": { "email": name } })
    };
    // Off by default: an unsolicited response signs nobody in (the login page says why).
    let landed =
        post_unsolicited(&s, &idp.response(unsolicited("ann@acme.test")).await, None).await;
    assert!(
        landed.contains("/login.html?error=sso_state_invalid"),
        "{landed}"
    );

    // It lands only on a registered redirect URI of the client.
    let path = format!("{CONNECTIONS}/{}", s.connection["id"].as_str().unwrap());
    let metadata = idp.metadata("primary").await;
    let (status, answer) = send(
        &s.app,
        Method::PATCH,
        &path,
        &s.key,
        &s.owner,
        Some(json!({ "saml": { "idp_metadata_xml": metadata,
                               "idp_initiated_redirect_uri": "https://evil.example/catch" } })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = send(
        &s.app,
        Method::PATCH,
        &path,
        &s.key,
        &s.owner,
        Some(json!({ "saml": { "idp_metadata_xml": metadata,
                               "idp_initiated_redirect_uri": APP_CALLBACK } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["saml"]["idp_initiated_redirect_uri"], APP_CALLBACK);

    // Now the IdP signs Ann in on its own: a code at the app (a RelayState that is not a
    // registered URI changes nothing).
    let response = idp.response(unsolicited("ann@acme.test")).await;
    let landed = post_unsolicited(&s, &response, Some("https://evil.example/catch")).await;
    assert!(landed.starts_with(APP_CALLBACK), "{landed}");
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").expect(&landed), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["email"],
        "ann@acme.test"
    );
    // The same response again: refused (its assertion was used).
    let landed = post_unsolicited(&s, &response, None).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("sso_failed"));
    // A response minted for someone's SP-initiated request is not accepted as unsolicited.
    let mut answering = unsolicited("ann@acme.test");
    answering["in_response_to"] = json!("_someone-elses-request");
    let landed = post_unsolicited(&s, &idp.response(answering).await, None).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("sso_failed"));
    // Forgeries stay forgeries.
    let mut unsigned = unsolicited("ann@acme.test");
    unsigned["sign"] = json!("none");
    let landed = post_unsolicited(&s, &idp.response(unsigned).await, None).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("sso_failed"));
}
