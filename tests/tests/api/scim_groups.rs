//! SCIM Groups: members are the directory's users, Okta's and Entra ID's member operations,
//! filters over names and members, ETags, and the group names feeding the organization's
//! group mappings (source `scim`) — granted and taken away with every change.

use reqwest::Method;
use serde_json::{Value, json};

use super::domains::send;
use super::scim::scim;
use super::scim_users::{create, directory, patch_op, user};
use super::sso::Setup;

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Whether `user` may `permission` in Acme now, by the simulator.
async fn allowed(s: &Setup, user: &str, permission: &str) -> bool {
    let (status, answer) = send(
        &s.app,
        Method::POST,
        &format!("/api/auth/organizations/{}/authorization/simulate", s.org),
        &s.key,
        &s.owner,
        Some(json!({ "user_id": user, "permission": permission })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["allowed"].as_bool().unwrap()
}

/// The account behind a SCIM user (its `emails`), by the organization's member list.
async fn account_of(s: &Setup, email: &str) -> String {
    let (_, members) = send(
        &s.app,
        Method::GET,
        &format!("/api/auth/organizations/{}/members", s.org),
        &s.key,
        &s.owner,
        None,
    )
    .await;
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m.to_string().contains(email))
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{email} is no member: {members}"))
}

fn ids(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_hold_users_feed_group_mappings_and_follow_okta_and_entra_member_operations() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let ann = create(
        &base,
        &token,
        app,
        user("ann@acme.test", json!({ "displayName": "Ann" })),
    )
    .await;
    let bob = create(&base, &token, app, user("bob@acme.test", json!({}))).await;
    let (ann_id, bob_id) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let (ann_account, bob_account) = (
        account_of(&s, "ann@acme.test").await,
        account_of(&s, "bob@acme.test").await,
    );
    // Members of SCIM group "Admins" get the admin role's permissions.
    let (status, mapping) = send(
        app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{}/authorization/group-mappings",
            s.org
        ),
        &s.key,
        &s.owner,
        Some(json!({ "source": "scim", "group": "Admins", "role": "admin" })),
    )
    .await;
    assert_eq!(status, 201, "{mapping}");
    assert!(!allowed(&s, &ann_account, "members:invite").await);

    // Create with a member: 201, ETag, Location, members with their names.
    let res = app
        .http
        .post(format!("{base}/Groups"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(
            json!({ "schemas": [GROUP], "displayName": "Admins", "externalId": "g-1",
                      "members": [{ "value": ann_id }] })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "W/\"1\"");
    let group: Value = res.json().await.unwrap();
    let gid = group["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/Groups/{gid}");
    assert_eq!(group["schemas"], json!([GROUP]));
    assert_eq!(group["meta"]["location"], url.as_str());
    // Members are answered as written; their URI, name and type when asked for.
    assert_eq!(group["members"], json!([{ "value": ann_id }]));
    let (_, full, _) = scim(
        app,
        Method::GET,
        &format!("{url}?attributes=members.display,members.$ref,members.type,members.value"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        full["members"],
        json!([{ "value": ann_id, "$ref": format!("{base}/Users/{ann_id}"), "display": "Ann", "type": "User" }])
    );
    assert!(allowed(&s, &ann_account, "members:invite").await);
    assert!(!allowed(&s, &bob_account, "members:invite").await);
    // The user shows the group (read-only on users).
    let (_, read, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users/{ann_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        read["groups"],
        json!([{ "value": gid, "$ref": url, "display": "Admins", "type": "direct" }])
    );

    // The same name in any case, an unknown member, a nested group: refused by name.
    for (body, status, scim_type) in [
        (json!({ "displayName": "ADMINS" }), 409, "uniqueness"),
        (
            json!({ "displayName": "X", "members": [{ "value": uuid::Uuid::now_v7().to_string() }] }),
            400,
            "invalidValue",
        ),
        (
            json!({ "displayName": "Y", "members": [{ "value": gid, "type": "Group" }] }),
            400,
            "invalidValue",
        ),
        (json!({ "members": [] }), 400, "invalidValue"),
    ] {
        let (got, err, kind) = scim(
            app,
            Method::POST,
            &format!("{base}/Groups"),
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (got, err["scimType"].as_str()),
            (status, Some(scim_type)),
            "{body}: {err}"
        );
        assert_eq!(kind, "application/scim+json");
    }

    // Okta: add a member (with its display), remove one through a value filter.
    let (status, patched, _) = scim(app, Method::PATCH, &url, &token, Some(patch_op(json!([
        { "op": "add", "path": "members", "value": [{ "value": bob_id, "display": "bob@acme.test" }] }
    ])))).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["members"].as_array().unwrap().len(), 2);
    assert_eq!(patched["meta"]["version"], "W/\"2\"");
    assert!(allowed(&s, &bob_account, "members:invite").await);
    let (status, patched, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(json!([
            { "op": "remove", "path": format!("members[value eq \"{ann_id}\"]") }
        ]))),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["members"][0]["value"], bob_id);
    assert!(!allowed(&s, &ann_account, "members:invite").await);
    // Entra ID: Remove by value list, Add by value list.
    let (status, patched, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(json!([
            { "op": "Remove", "path": "members", "value": [{ "value": bob_id }] },
            { "op": "Add", "path": "members", "value": [{ "value": ann_id }] }
        ]))),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["members"].as_array().unwrap().len(), 1);
    assert!(!allowed(&s, &bob_account, "members:invite").await);
    assert!(allowed(&s, &ann_account, "members:invite").await);

    // Filters over names and members, in SQL; selection without members.
    for (filter, expected) in [
        ("displayName eq \"admins\"".to_owned(), vec![gid.as_str()]),
        (
            "displayName sw \"Adm\" and externalId eq \"g-1\"".to_owned(),
            vec![gid.as_str()],
        ),
        (
            format!("members[value eq \"{ann_id}\"]"),
            vec![gid.as_str()],
        ),
        (
            format!("id eq \"{gid}\" and members[value eq \"{bob_id}\"]"),
            vec![],
        ),
        ("members.display co \"ann\"".to_owned(), vec![gid.as_str()]),
        (
            "meta.resourceType eq \"Group\"".to_owned(),
            vec![gid.as_str()],
        ),
        ("not (members pr)".to_owned(), vec![]),
    ] {
        let q = reqwest::Url::parse_with_params(
            &format!("{base}/Groups"),
            [("filter", filter.as_str())],
        )
        .unwrap();
        let (status, list, _) = scim(app, Method::GET, q.as_str(), &token, None).await;
        assert_eq!(status, 200, "{filter}: {list}");
        assert_eq!(ids(&list), expected, "{filter}");
    }
    let (status, err, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Groups?filter=userName%20eq%20%22x%22"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
    let (_, list, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Groups?excludedAttributes=members"),
        &token,
        None,
    )
    .await;
    assert!(list["Resources"][0].get("members").is_none(), "{list}");
    assert_eq!(list["Resources"][0]["displayName"], "Admins");
    let (_, users, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users?filter=groups.display%20eq%20%22Admins%22"),
        &token,
        None,
    )
    .await;
    assert_eq!(ids(&users), [ann_id]);

    // Okta's path-less replace repeats the id: a rename; mappings grant by the new name.
    let (status, renamed, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(json!([
            { "op": "replace", "value": { "id": gid, "displayName": "Owners" } }
        ]))),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["displayName"], "Owners");
    assert!(!allowed(&s, &ann_account, "members:invite").await);
    // PUT with a stale version → 412; with the current one → 200; read unchanged → 304.
    let put = json!({ "schemas": [GROUP], "displayName": "Admins", "members": [{ "value": ann_id }, { "value": bob_id }] });
    let stale = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(put.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let res = app
        .http
        .put(&url)
        .bearer_auth(&token)
        .header("if-match", renamed["meta"]["version"].as_str().unwrap())
        .header("content-type", "application/scim+json")
        .body(put.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(allowed(&s, &bob_account, "members:invite").await);
    let res = app
        .http
        .get(&url)
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // Deleting a user drops it from its groups and its account's names; deleting the group
    // takes the grant away from the rest.
    let (status, _, _) = scim(
        app,
        Method::DELETE,
        &format!("{base}/Users/{ann_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, read, _) = scim(app, Method::GET, &url, &token, None).await;
    assert_eq!(read["members"].as_array().unwrap().len(), 1, "{read}");
    assert!(!allowed(&s, &ann_account, "members:invite").await);
    let (status, _, _) = scim(app, Method::DELETE, &url, &token, None).await;
    assert_eq!(status, 204);
    let (status, err, _) = scim(app, Method::GET, &url, &token, None).await;
    assert_eq!(status, 404, "{err}");
    assert!(!allowed(&s, &bob_account, "members:invite").await);
    let (_, read, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Users/{bob_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(read["groups"], json!([]));

    // The audit trail names the directory and counts who joined and left.
    let updates = app.audit_events("event_type=scim.group_updated").await;
    assert_eq!(updates.len(), 5);
    let first = updates
        .iter()
        .find(|e| e["metadata"]["added"] == 1 && e["metadata"]["removed"] == 0)
        .unwrap();
    assert!(first.to_string().contains("scim_directory:"), "{first}");
    assert_eq!(
        app.audit_events("event_type=scim.group_created")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.audit_events("event_type=scim.group_deleted")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_describes_groups_answers_one_schema_at_a_time_and_searches_both_types() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let (status, types, _) = scim(
        app,
        Method::GET,
        &format!("{base}/ResourceTypes"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&types), ["User", "Group"]);
    let (status, group, _) = scim(
        app,
        Method::GET,
        &format!("{base}/ResourceTypes/Group"),
        &token,
        None,
    )
    .await;
    assert_eq!((status, group["endpoint"].as_str()), (200, Some("/Groups")));
    let (status, schema, _) = scim(
        app,
        Method::GET,
        &format!("{base}/Schemas/{GROUP}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{schema}");
    let names: Vec<&str> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["displayName", "members"]);
    for path in ["/Schemas/urn:nope", "/ResourceTypes/Nope", "/Nope"] {
        let (status, err, kind) =
            scim(app, Method::GET, &format!("{base}{path}"), &token, None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            err["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(kind, "application/scim+json");
    }
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, err, _) = scim(
            app,
            method.clone(),
            &format!("{base}/ServiceProviderConfig"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 405, "{method}: {err}");
    }
    // One search across both types: users first, then groups; a filter naming what only one
    // type has finds none of the other.
    let ann = create(&base, &token, app, user("ann@acme.test", json!({}))).await;
    let (_, group, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Groups"),
        &token,
        Some(json!({ "displayName": "Sales", "members": [{ "value": ann["id"] }] })),
    )
    .await;
    let search = |body: Value| {
        let (base, token) = (&base, &token);
        async move {
            scim(
                app,
                Method::POST,
                &format!("{base}/.search"),
                token,
                Some(body),
            )
            .await
        }
    };
    let (status, all, _) =
        search(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] })).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["totalResults"], 2);
    assert_eq!(
        ids(&all),
        [ann["id"].as_str().unwrap(), group["id"].as_str().unwrap()]
    );
    assert_eq!(all["Resources"][1]["meta"]["resourceType"], "Group");
    for (filter, expected) in [
        ("displayName eq \"Sales\"", group["id"].as_str().unwrap()),
        ("userName sw \"ann\"", ann["id"].as_str().unwrap()),
    ] {
        let (status, found, _) = search(json!({ "filter": filter })).await;
        assert_eq!(status, 200, "{filter}: {found}");
        assert_eq!(ids(&found), [expected], "{filter}");
    }
    let (_, second, _) =
        search(json!({ "startIndex": 2, "count": 1, "excludedAttributes": ["members"] })).await;
    assert_eq!(
        (
            second["totalResults"].as_u64(),
            second["startIndex"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(ids(&second), [group["id"].as_str().unwrap()]);
    assert!(second["Resources"][0].get("members").is_none());
    let (status, err, _) = search(json!({ "sortBy": "userName" })).await;
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let (status, err, _) = search(json!({ "filter": "nope eq 1" })).await;
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_sees_only_its_groups_and_adds_only_its_users() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let ann = create(&base, &token, app, user("ann@acme.test", json!({}))).await;
    let (_, group, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Groups"),
        &token,
        Some(json!({ "displayName": "Sales", "members": [{ "value": ann["id"] }] })),
    )
    .await;
    // A second directory of the same organization.
    let (status, other) = send(
        app,
        Method::POST,
        super::scim::DIRECTORIES,
        &s.key,
        &s.owner,
        Some(json!({ "organization_id": s.org, "name": "Entra" })),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let other_base = format!("{}/scim/v2/{}", app.address, other["id"].as_str().unwrap());
    let other_token = other["token"].as_str().unwrap();
    let gid = group["id"].as_str().unwrap();
    for method in [Method::GET, Method::DELETE] {
        let (status, _, _) = scim(
            app,
            method,
            &format!("{other_base}/Groups/{gid}"),
            other_token,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    let (_, list, _) = scim(
        app,
        Method::GET,
        &format!("{other_base}/Groups"),
        other_token,
        None,
    )
    .await;
    assert_eq!(list["totalResults"], 0);
    // Another directory's user is no member here.
    let (status, err, _) = scim(
        app,
        Method::POST,
        &format!("{other_base}/Groups"),
        other_token,
        Some(json!({ "displayName": "Sales", "members": [{ "value": ann["id"] }] })),
    )
    .await;
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{err}"
    );
    // The first directory's token does not open the second's group list by another path.
    let (status, _, _) = scim(
        app,
        Method::GET,
        &format!("{other_base}/Groups"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 401);
}

/// scim2-tester (PyPI) runs its whole compliance suite against a directory: discovery, CRUD
/// of Users and Groups, attribute selection, PATCH add/remove/replace of every attribute the
/// schemas publish. Its generated addresses are put on the organization's verified domain
/// (the only ones a directory provisions) and its group members are users it created.
#[tokio::test(flavor = "multi_thread")]
async fn scim2_tester_passes_every_check() {
    let (s, base, token) = directory().await;
    let output = tokio::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/scim_tester.py"))
        .args([
            "--url",
            &base,
            "--token",
            &token,
            "--email-domain",
            "acme.test",
        ])
        .output()
        .await
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_str(report.lines().last().unwrap()).unwrap();
    assert_eq!(summary["failed"], 0, "{report}");
    assert!(summary["passed"].as_u64().unwrap() >= 100, "{report}");
    println!("scim2-tester: {summary}");
    drop(s);
}

/// Okta and Entra ID send member changes without `If-Match`, often several at once: each is
/// applied to the state the others left (none lost). A disabled directory's groups grant
/// nothing until it is enabled again. Members are removed by id in any case.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_member_changes_all_land_and_a_disabled_directory_grants_nothing() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let mut ids = Vec::new();
    for i in 0..12 {
        let u = create(
            &base,
            &token,
            app,
            user(&format!("p{i}@acme.test"), json!({})),
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let (status, mapping) = send(
        app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{}/authorization/group-mappings",
            s.org
        ),
        &s.key,
        &s.owner,
        Some(json!({ "source": "scim", "group": "Admins", "role": "admin" })),
    )
    .await;
    assert_eq!(status, 201, "{mapping}");
    let (_, group, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Groups"),
        &token,
        Some(json!({ "displayName": "Admins" })),
    )
    .await;
    let url = format!("{base}/Groups/{}", group["id"].as_str().unwrap());
    let adds = ids.iter().map(|id| {
        let (url, token) = (url.clone(), token.clone());
        let body =
            patch_op(json!([{ "op": "add", "path": "members", "value": [{ "value": id }] }]));
        async move { scim(app, Method::PATCH, &url, &token, Some(body)).await.0 }
    });
    let statuses = futures_util::future::join_all(adds).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, read, _) = scim(app, Method::GET, &url, &token, None).await;
    assert_eq!(read["members"].as_array().unwrap().len(), 12, "{read}");

    // Removal by the id in capitals still removes.
    let (status, patched, _) = scim(
        app,
        Method::PATCH,
        &url,
        &token,
        Some(patch_op(json!([
            { "op": "remove", "path": "members", "value": [{ "value": ids[0].to_uppercase() }] }
        ]))),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(patched["members"].as_array().unwrap().len(), 11);

    let account = account_of(&s, "p1@acme.test").await;
    assert!(allowed(&s, &account, "members:invite").await);
    let dir_path = format!(
        "{}/{}",
        super::scim::DIRECTORIES,
        base.rsplit('/').next().unwrap()
    );
    let (status, _) = send(
        app,
        Method::PATCH,
        &dir_path,
        &s.key,
        &s.owner,
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!allowed(&s, &account, "members:invite").await);
    let (status, _) = send(
        app,
        Method::PATCH,
        &dir_path,
        &s.key,
        &s.owner,
        Some(json!({ "status": "active" })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(allowed(&s, &account, "members:invite").await);
}
