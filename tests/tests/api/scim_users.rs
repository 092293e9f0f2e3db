//! SCIM Users: provisioning on the organization's verified domains, ETags, the filter grammar
//! answered in SQL, pages and sorting, attribute selection, and deprovisioning that ends the
//! account's sessions and tokens at once.

use reqwest::Method;
use serde_json::{Value, json};

use super::scim::scim;
use super::sso::{Setup, acme, verified_signup};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Acme (owning `acme.test`) with a directory: (setup, `…/scim/v2/{dir}`, token).
pub(crate) async fn directory() -> (Setup, String, String) {
    let s = acme().await;
    let (status, d) = super::domains::send(
        &s.app,
        Method::POST,
        super::scim::DIRECTORIES,
        &s.key,
        &s.owner,
        Some(json!({ "organization_id": s.org, "name": "Okta" })),
    )
    .await;
    assert_eq!(status, 201, "{d}");
    let base = format!("{}/scim/v2/{}", s.app.address, d["id"].as_str().unwrap());
    (s, base, d["token"].as_str().unwrap().to_owned())
}

pub(crate) fn user(user_name: &str, extra: Value) -> Value {
    let mut body = json!({ "schemas": [USER], "userName": user_name });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

pub(crate) async fn create(
    base: &str,
    token: &str,
    app: &authservice_tests::TestApp,
    body: Value,
) -> Value {
    let (status, created, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Users"),
        token,
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_provisioned_on_verified_domains_read_replaced_and_versioned() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let body = user(
        "bjensen@acme.test",
        json!({ "externalId": "701984", "name": { "givenName": "Barbara", "familyName": "Jensen" },
                "emails": [{ "value": "bjensen@acme.test", "type": "work", "primary": true }],
                ENTERPRISE: { "employeeNumber": "42", "department": "Tour Operations" } }),
    );
    let res = app
        .http
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(location, format!("{base}/Users/{id}"));
    assert_eq!(created["meta"]["version"], etag.as_str());
    assert_eq!(created["meta"]["location"], location.as_str());
    assert_eq!(created["active"], true);
    assert_eq!(created["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(created[ENTERPRISE]["department"], "Tour Operations");
    // The account joined the organization.
    let (_, members) = super::domains::send(
        app,
        Method::GET,
        &format!("/api/auth/organizations/{}/members", s.org),
        &s.key,
        &s.owner,
        None,
    )
    .await;
    assert!(
        members.to_string().contains("bjensen@acme.test"),
        "{members}"
    );

    // Read; unchanged since the ETag → 304; attribute selection.
    let url = format!("{base}/Users/{id}");
    let res = app
        .http
        .get(&url)
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let (status, picked, _) = scim(
        app,
        Method::GET,
        &format!("{url}?attributes=userName,name.givenName"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut keys: Vec<&String> = picked.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "name", "schemas", "userName"], "{picked}");
    assert_eq!(picked["name"], json!({ "givenName": "Barbara" }));
    let (_, trimmed, _) = scim(
        app,
        Method::GET,
        &format!("{url}?excludedAttributes=emails,{ENTERPRISE}:department"),
        &token,
        None,
    )
    .await;
    assert!(trimmed.get("emails").is_none());
    assert_eq!(trimmed[ENTERPRISE], json!({ "employeeNumber": "42" }));

    // Replace with If-Match: the version grows; a stale version is refused with 412.
    let replaced_body = user(
        "bjensen@acme.test",
        json!({ "displayName": "Babs", "emails": [{ "value": "bjensen@acme.test" }] }),
    );
    let res = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&replaced_body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "W/\"2\"");
    let replaced: Value = res.json().await.unwrap();
    assert_eq!(replaced["displayName"], "Babs");
    assert!(
        replaced.get(ENTERPRISE).is_none(),
        "PUT replaces: {replaced}"
    );
    let res = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&replaced_body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = app
        .http
        .delete(&url)
        .bearer_auth(&token)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);

    // Uniqueness and the address rules.
    let refused = |(status, body, _): (u16, Value, String), expected: u16, scim_type: &str| {
        assert_eq!(
            (status, body["scimType"].as_str()),
            (expected, Some(scim_type)),
            "{body}"
        );
    };
    refused(
        scim(
            app,
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(user("BJENSEN@acme.test", json!({}))),
        )
        .await,
        409,
        "uniqueness",
    );
    refused(
        scim(
            app,
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(user("mallory@gmail.test", json!({}))),
        )
        .await,
        400,
        "invalidValue",
    );
    refused(
        scim(
            app,
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(user("noaddress", json!({}))),
        )
        .await,
        400,
        "invalidValue",
    );
    refused(
        scim(
            app,
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(json!({ "emails": "x" })),
        )
        .await,
        400,
        "invalidValue",
    );
    let res = app
        .http
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // An account whose address nobody proved is not taken over; a proven one joins.
    super::auth_helpers::signup(app, &s.key, "unproven@acme.test").await;
    refused(
        scim(
            app,
            Method::POST,
            &format!("{base}/Users"),
            &token,
            Some(user("unproven@acme.test", json!({}))),
        )
        .await,
        409,
        "uniqueness",
    );
    let carla = verified_signup(&s, "carla@acme.test").await;
    let linked = create(
        &base,
        &token,
        app,
        user(
            "carla",
            json!({ "emails": [{ "value": "carla@acme.test" }] }),
        ),
    )
    .await;
    assert_eq!(linked["userName"], "carla");
    let events = app.audit_events("event_type=scim.user_provisioned").await;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .any(|e| e["user_id"] == carla["user"]["id"] || e["target_id"] == carla["user"]["id"])
    );
    let (status, _, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users/{}", uuid::Uuid::now_v7()),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_sorting_and_pages_are_answered_in_sql() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let people = [
        ("alice", "Alice", "Smith", "work", "Sales", true),
        ("bob", "Bob", "Jones", "home", "Sales", true),
        ("carol", "Carol", "Smith", "work", "Engineering", false),
        ("dave", "Dave", "Brown", "work", "Engineering", true),
        ("erin", "Erin", "O\"Neil", "home", "Support", true),
    ];
    for (name, given, family, kind, department, active) in people {
        create(
            &base,
            &token,
            app,
            user(
                &format!("{name}@acme.test"),
                json!({ "active": active, "externalId": format!("ext-{name}"),
                        "name": { "givenName": given, "familyName": family },
                        "emails": [{ "value": format!("{name}@acme.test"), "type": kind, "primary": true },
                                   { "value": format!("{name}@home.example"), "type": "other" }],
                        ENTERPRISE: { "department": department } }),
            ),
        )
        .await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                u["userName"]
                    .as_str()
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let list = async |filter: &str| -> Value {
        let url = reqwest::Url::parse_with_params(&format!("{base}/Users"), &[("filter", filter)])
            .unwrap();
        let (status, body, _) = scim(app, Method::GET, url.as_str(), &token, None).await;
        assert_eq!(status, 200, "{filter}: {body}");
        body
    };
    for (filter, expected) in [
        (r#"userName eq "ALICE@acme.test""#, vec!["alice"]),
        (
            r#"userName ne "alice@acme.test""#,
            vec!["bob", "carol", "dave", "erin"],
        ),
        (r#"userName co "AR""#, vec!["carol"]),
        (r#"userName sw "d""#, vec!["dave"]),
        (r#"name.familyName ew "ITH""#, vec!["alice", "carol"]),
        (r#"userName gt "carol@acme.test""#, vec!["dave", "erin"]),
        (
            r#"userName ge "carol@acme.test""#,
            vec!["carol", "dave", "erin"],
        ),
        (r#"userName lt "bob@acme.test""#, vec!["alice"]),
        (r#"userName le "bob@acme.test""#, vec!["alice", "bob"]),
        (r#"externalId eq "ext-bob""#, vec!["bob"]),
        (r#"externalId eq "EXT-BOB""#, vec![]),
        ("active eq false", vec!["carol"]),
        ("title pr", vec![]),
        (
            "name.givenName pr",
            vec!["alice", "bob", "carol", "dave", "erin"],
        ),
        (r#"name.familyName eq "O\"Neil""#, vec!["erin"]),
        (r#"emails.type eq "home""#, vec!["bob", "erin"]),
        (
            r#"emails co "@home.example" and active eq true"#,
            vec!["alice", "bob", "dave", "erin"],
        ),
        (
            r#"emails[type eq "work" and value co "@acme"]"#,
            vec!["alice", "carol", "dave"],
        ),
        (
            r#"emails[type eq "home" and value co "@home.example"]"#,
            vec![],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales""#,
            vec!["alice", "bob"],
        ),
        (
            r#"name.familyName eq "Smith" or userName eq "bob@acme.test" and active eq false"#,
            vec!["alice", "carol"],
        ),
        (
            r#"(name.familyName eq "Smith" or userName eq "bob@acme.test") and active eq true"#,
            vec!["alice", "bob"],
        ),
        (
            r#"not (name.familyName eq "Smith") and not (emails.type eq "home")"#,
            vec!["dave"],
        ),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z" and meta.lastModified le "2999-01-01T00:00:00Z""#,
            vec!["alice", "bob", "carol", "dave", "erin"],
        ),
        (
            r#"meta.resourceType eq "User" and userName sw "a""#,
            vec!["alice"],
        ),
    ] {
        assert_eq!(names(&list(filter).await), expected, "{filter}");
    }
    for bad in [
        "userName",
        r#"nope eq "x""#,
        r#"userName eq true"#,
        "active gt true",
        r#"meta.created gt "yesterday""#,
        r#"name eq "x""#,
        r#"emails[nope eq "x"]"#,
        r#"urn:example:custom:attr eq "x""#,
        r#"userName eq "x" or"#,
    ] {
        let url =
            reqwest::Url::parse_with_params(&format!("{base}/Users"), &[("filter", bad)]).unwrap();
        let (status, body, _) = scim(app, Method::GET, url.as_str(), &token, None).await;
        assert_eq!(
            (status, body["scimType"].as_str()),
            (400, Some("invalidFilter")),
            "{bad}: {body}"
        );
    }

    // Pages (1-based) with the total; sorting; POST /.search says the same.
    let (_, page, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?startIndex=2&count=2"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (
            page["totalResults"].as_u64(),
            page["startIndex"].as_u64(),
            page["itemsPerPage"].as_u64()
        ),
        (Some(5), Some(2), Some(2))
    );
    assert_eq!(names(&page), ["bob", "carol"]);
    let (_, past, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?startIndex=9"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (past["totalResults"].as_u64(), names(&past).len()),
        (Some(5), 0)
    );
    let (_, counted, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?count=0"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (counted["totalResults"].as_u64(), names(&counted).len()),
        (Some(5), 0)
    );
    let (_, sorted, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?sortBy=name.familyName&sortOrder=descending"),
        &token,
        None,
    )
    .await;
    assert_eq!(names(&sorted), ["alice", "carol", "erin", "bob", "dave"]);
    let (_, by_email, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?sortBy=emails&count=2"),
        &token,
        None,
    )
    .await;
    assert_eq!(names(&by_email), ["alice", "bob"]);
    let (status, bad_sort, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?sortBy=name"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, bad_sort["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let (status, searched, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Users/.search"),
        &token,
        Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                     "filter": "emails.type eq \"work\"", "sortBy": "userName", "sortOrder": "descending",
                     "startIndex": 1, "count": 2, "attributes": ["userName"] })),
    )
    .await;
    assert_eq!(status, 200, "{searched}");
    assert_eq!(searched["totalResults"], 3);
    assert_eq!(names(&searched), ["dave", "carol"]);
    assert!(searched["Resources"][0].get("emails").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn deprovisioning_ends_sign_in_sessions_and_tokens_and_reactivation_restores_sign_in() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    verified_signup(&s, "dana@acme.test").await;
    let created = create(&base, &token, app, user("dana@acme.test", json!({}))).await;
    let url = format!("{base}/Users/{}", created["id"].as_str().unwrap());
    let login = async || {
        super::auth_helpers::call(
            app,
            Method::POST,
            "/api/auth/login",
            &s.key,
            Some(json!({ "email": "dana@acme.test", "password": super::auth_helpers::PASSWORD, "token_transport": "json" })),
            None,
        )
        .await
    };
    let res = login().await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(
        super::token_validation::validate(app, &access, &s.key)
            .await
            .valid
    );

    // Entra ID deactivates with a string boolean.
    let (status, off, _) = scim(
        app,
        Method::PUT,
        &url,
        &token,
        Some(user("dana@acme.test", json!({ "active": "False" }))),
    )
    .await;
    assert_eq!(
        (status, off["active"].as_bool()),
        (200, Some(false)),
        "{off}"
    );
    let refusal = super::token_validation::refused_within(
        app,
        &access,
        &s.key,
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(
        refusal == "user_disabled" || refusal == "session_revoked",
        "{refusal}"
    );
    let refused: Value = login().await.json().await.unwrap();
    assert_eq!(refused["code"], "account_disabled");
    let refresh = super::auth_helpers::call(
        app,
        Method::POST,
        "/api/auth/refresh",
        &s.key,
        Some(json!({ "refresh_token": tokens["refresh_token"], "token_transport": "json" })),
        None,
    )
    .await;
    assert_eq!(refresh.status(), 401);

    // Reactivated: signs in again (the old session stays ended).
    let (status, on, _) = scim(
        app,
        Method::PUT,
        &url,
        &token,
        Some(user("dana@acme.test", json!({ "active": true }))),
    )
    .await;
    assert_eq!((status, on["active"].as_bool()), (200, Some(true)));
    let res = login().await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    let access = again["access_token"].as_str().unwrap().to_owned();
    assert!(
        super::token_validation::validate(app, &access, &s.key)
            .await
            .valid
    );

    // Deleted: the resource is gone and the account disabled, its tokens refused.
    let res = app
        .http
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(scim(app, Method::GET, &url, &token, None).await.0, 404);
    let refusal = super::token_validation::refused_within(
        app,
        &access,
        &s.key,
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(
        refusal == "user_disabled" || refusal == "session_revoked",
        "{refusal}"
    );
    assert_eq!(login().await.status(), 403);
    assert_eq!(
        app.audit_events("event_type=scim.user_deleted").await.len(),
        1
    );
    let updates = app.audit_events("event_type=scim.user_updated").await;
    assert_eq!(updates.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_sees_and_changes_only_its_own_users() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let (status, other, _) = {
        let (st, d) = super::domains::send(
            app,
            Method::POST,
            super::scim::DIRECTORIES,
            &s.key,
            &s.owner,
            Some(json!({ "organization_id": s.org, "name": "Second" })),
        )
        .await;
        assert_eq!(st, 201);
        (st, d, ())
    };
    let _ = status;
    let other_base = format!("{}/scim/v2/{}", app.address, other["id"].as_str().unwrap());
    let other_token = other["token"].as_str().unwrap();
    let created = create(&base, &token, app, user("eve@acme.test", json!({}))).await;
    let id = created["id"].as_str().unwrap();
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PUT,
            Some(user("eve@acme.test", json!({ "active": false }))),
        ),
        (Method::DELETE, None),
    ] {
        let (status, _, _) = scim(
            app,
            method.clone(),
            &format!("{other_base}/Users/{id}"),
            other_token,
            body,
        )
        .await;
        assert_eq!(status, 404, "{method}");
    }
    let (_, listed, _) = scim(
        app,
        Method::GET,
        &format!("{other_base}/Users"),
        other_token,
        None,
    )
    .await;
    assert_eq!(listed["totalResults"], 0);
    // The same address in the second directory: the account is the first directory's only
    // while it provisions it — a second directory may provision the same account too.
    let (status, _, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
}

pub(crate) fn patch_op(ops: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_id_and_okta_patch_sequences_change_and_deprovision_users() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    verified_signup(&s, "frank@acme.test").await;
    // Entra ID: create with the enterprise extension, then its PATCH shapes (Microsoft's
    // provisioning documentation): path-less replace with paths as keys, add through a value
    // filter, string booleans.
    let created = create(
        &base,
        &token,
        app,
        user(
            "frank@acme.test",
            json!({ "externalId": "frank", "active": true, "displayName": "Frank",
                    "emails": [{ "primary": true, "type": "work", "value": "frank@acme.test" }],
                    "name": { "givenName": "Frank", "familyName": "Harris" } }),
        ),
    )
    .await;
    let url = format!("{base}/Users/{}", created["id"].as_str().unwrap());
    let (status, patched, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(json!([
            { "op": "Replace", "path": "displayName", "value": "Frank H." },
            { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100" },
            { "op": "Replace", "value": {
                "name.familyName": "Hill",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales" } },
        ]))),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["displayName"], "Frank H.");
    assert_eq!(patched["name"]["familyName"], "Hill");
    assert_eq!(
        patched["phoneNumbers"],
        json!([{ "type": "work", "value": "+1 555 0100" }])
    );
    assert_eq!(patched[ENTERPRISE]["department"], "Sales");
    assert_eq!(patched["meta"]["version"], "W/\"2\"");
    // A stale If-Match is refused; bad operations name their scimType.
    let res = app
        .http
        .patch(&url)
        .bearer_auth(&token)
        .header("if-match", "W/\"1\"")
        .json(&patch_op(
            json!([{ "op": "replace", "path": "title", "value": "x" }]),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    for (ops, scim_type) in [
        (
            json!([{ "op": "replace", "path": "id", "value": "x" }]),
            "mutability",
        ),
        (json!([{ "op": "remove" }]), "noTarget"),
        (
            json!([{ "op": "replace", "path": "nope", "value": "x" }]),
            "invalidPath",
        ),
        (
            json!([{ "op": "remove", "path": "userName" }]),
            "invalidValue",
        ),
    ] {
        let (status, err, _) = scim(
            app,
            Method::PATCH,
            &url,
            &token,
            Some(patch_op(ops.clone())),
        )
        .await;
        assert_eq!(
            (status, err["scimType"].as_str()),
            (400, Some(scim_type)),
            "{ops}: {err}"
        );
    }

    // Signed in, then deactivated the Entra way: `"active": "False"` in a path-less replace.
    let login = async || {
        super::auth_helpers::call(
            app,
            Method::POST,
            "/api/auth/login",
            &s.key,
            Some(json!({ "email": "frank@acme.test", "password": super::auth_helpers::PASSWORD, "token_transport": "json" })),
            None,
        )
        .await
    };
    let tokens: Value = login().await.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, off, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(
            json!([{ "op": "Replace", "value": { "active": "False" } }]),
        )),
    )
    .await;
    assert_eq!((status, off["active"].as_bool()), (200, Some(false)));
    let refusal = super::token_validation::refused_within(
        app,
        &access,
        &s.key,
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(
        refusal == "user_disabled" || refusal == "session_revoked",
        "{refusal}"
    );
    assert_eq!(login().await.status(), 403);
    // Okta reactivates with `{"op": "replace", "value": {"active": true}}`.
    let (status, on, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(
            json!([{ "op": "replace", "value": { "active": true } }]),
        )),
    )
    .await;
    assert_eq!((status, on["active"].as_bool()), (200, Some(true)));
    assert_eq!(login().await.status(), 200);
    // The account's shown name follows the directory.
    let updates = app.audit_events("event_type=scim.user_updated").await;
    assert_eq!(updates.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_disabled_by_an_operator_or_another_directory_stays_disabled() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let signed_up = verified_signup(&s, "gina@acme.test").await;
    let account = signed_up["user"]["id"].as_str().unwrap().to_owned();
    let created = create(&base, &token, app, user("gina@acme.test", json!({}))).await;
    let url = format!("{base}/Users/{}", created["id"].as_str().unwrap());
    let login_status = async || {
        super::auth_helpers::call(
            app,
            Method::POST,
            "/api/auth/login",
            &s.key,
            Some(json!({ "email": "gina@acme.test", "password": super::auth_helpers::PASSWORD })),
            None,
        )
        .await
        .status()
        .as_u16()
    };
    // An operator disables the account: the directory's routine updates do not undo it.
    let (status, _) = super::domains::admin(
        app,
        Method::PATCH,
        &format!("/api/admin/clients/{}/users/{account}", s.client_id),
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = scim(
        app,
        Method::PUT,
        &url,
        &token,
        Some(user(
            "gina@acme.test",
            json!({ "active": true, "title": "x" }),
        )),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(login_status().await, 403);
    // Neither does a deactivation and reactivation by the directory.
    for active in [false, true] {
        let (status, _, _) = scim(
            app,
            Method::PUT,
            &url,
            &token,
            Some(user("gina@acme.test", json!({ "active": active }))),
        )
        .await;
        assert_eq!(status, 200);
    }
    assert_eq!(login_status().await, 403);
    let (status, _) = super::domains::admin(
        app,
        Method::PATCH,
        &format!("/api/admin/clients/{}/users/{account}", s.client_id),
        Some(json!({ "status": "active" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(login_status().await, 200);

    // Two directories provision the account: while one holds it deactivated, the other's
    // reactivation does not enable it.
    let (_, second) = super::domains::send(
        app,
        Method::POST,
        super::scim::DIRECTORIES,
        &s.key,
        &s.owner,
        Some(json!({ "organization_id": s.org, "name": "Second" })),
    )
    .await;
    let second_base = format!("{}/scim/v2/{}", app.address, second["id"].as_str().unwrap());
    let second_token = second["token"].as_str().unwrap();
    let other = create(
        &second_base,
        second_token,
        app,
        user("gina@acme.test", json!({})),
    )
    .await;
    let other_url = format!("{second_base}/Users/{}", other["id"].as_str().unwrap());
    for (url, token, active) in [
        (&url, token.as_str(), false),
        (&other_url, second_token, false),
        (&other_url, second_token, true),
    ] {
        let (status, _, _) = scim(
            app,
            Method::PUT,
            url,
            token,
            Some(user("gina@acme.test", json!({ "active": active }))),
        )
        .await;
        assert_eq!(status, 200);
    }
    assert_eq!(login_status().await, 403);
    let (status, _, _) = scim(
        app,
        Method::PUT,
        &url,
        &token,
        Some(user("gina@acme.test", json!({ "active": true }))),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(login_status().await, 200);
    assert!(
        !app.audit_events("event_type=user.disabled")
            .await
            .is_empty()
    );

    // What is not offered answers in SCIM's error schema; NUL characters are refused.
    for (method, path, expected) in [
        (Method::PUT, "/Users", 405),
        (Method::GET, "/Bulk", 405),
        (Method::GET, "/.search", 405),
    ] {
        let (status, body, kind) = scim(
            app,
            method,
            &format!("{base}{path}"),
            &token,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, kind.as_str()),
            (expected, "application/scim+json"),
            "{path}: {body}"
        );
        assert_eq!(body["status"], expected.to_string());
    }
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/Users"),
        &[("filter", "userName eq \"a\\u0000b\"")],
    )
    .unwrap();
    let (status, body, _) = scim(app, Method::GET, url.as_str(), &token, None).await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidFilter")),
        "{body}"
    );
    let (status, body, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Users"),
        &token,
        Some(user("nul\u{0}@acme.test", json!({}))),
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{body}"
    );
}

/// When the identity provider changes a user's primary address, the account's address
/// follows — only to an address on a domain verified for the organization, never to one
/// another account has — and the change is audited with both addresses.
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_primary_address_moves_the_account_on_verified_domains_only() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    verified_signup(&s, "taken@acme.test").await;
    let created = create(
        &base,
        &token,
        app,
        user(
            "dana",
            json!({ "emails": [{ "value": "dana@acme.test", "primary": true }] }),
        ),
    )
    .await;
    let url = format!("{base}/Users/{}", created["id"].as_str().unwrap());
    let new_primary = |address: &str| {
        patch_op(
            json!([{ "op": "replace", "path": "emails[primary eq true].value", "value": address }]),
        )
    };
    // Off the organization's domains, or another account's address: refused, nothing moved.
    for (address, status, scim_type) in [
        ("dana@elsewhere.test", 400, "invalidValue"),
        ("taken@acme.test", 409, "uniqueness"),
    ] {
        let (got, err, _) =
            scim(app, Method::PATCH, &url, &token, Some(new_primary(address))).await;
        assert_eq!(
            (got, err["scimType"].as_str()),
            (status, Some(scim_type)),
            "{address}: {err}"
        );
    }
    let (_, read, _) = scim(app, Method::GET, &url, &token, None).await;
    assert_eq!(read["emails"][0]["value"], "dana@acme.test");
    assert_eq!(read["meta"]["version"], "W/\"1\"");
    // On the domain: the account's address follows.
    let (status, patched, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(new_primary("dana.smith@acme.test")),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let (_, listed) = super::domains::send(
        app,
        Method::GET,
        &format!("/api/auth/organizations/{}/members", s.org),
        &s.key,
        &s.owner,
        None,
    )
    .await;
    let listed = listed.to_string();
    assert!(
        listed.contains("dana.smith@acme.test") && !listed.contains("\"dana@acme.test\""),
        "{listed}"
    );
    let events = app.audit_events("event_type=scim.user_email_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["before"]["email"], "dana@acme.test");
    assert_eq!(events[0]["after"]["email"], "dana.smith@acme.test");
    // The account can be reached at the new address: a magic link goes there.
    let res = app
        .http
        .post(format!("{}/api/auth/magic-link/send", app.address))
        .header("X-API-Key", &s.key)
        .json(&json!({ "email": "dana.smith@acme.test" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    s.sink
        .wait_for_text(
            "dana.smith@acme.test",
            "magic-link/verify",
            std::time::Duration::from_secs(10),
        )
        .await;
}
