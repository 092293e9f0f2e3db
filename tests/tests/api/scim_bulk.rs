//! SCIM Bulk: operations on Users and Groups with `bulkId` references (forward ones too),
//! per-operation errors, circular and dangling references, `failOnErrors`, and the advertised
//! limits enforced in SCIM's error schema.

use reqwest::Method;
use serde_json::{Value, json};

use super::scim::scim;
use super::scim_users::{directory, patch_op, user};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(ops: Value) -> Value {
    json!({ "schemas": [BULK], "Operations": ops })
}

/// `(bulkId or method, status)` of each result, in the order applied.
fn statuses(answer: &Value) -> Vec<(String, String)> {
    answer["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["bulkId"]
                    .as_str()
                    .or(o["method"].as_str())
                    .unwrap()
                    .to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_applies_operations_with_references_and_reports_each_result() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let (status, config, _) = scim(
        app,
        Method::GET,
        &format!("{base}/ServiceProviderConfig"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        config["bulk"],
        json!({ "supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576 })
    );

    let ops = json!([
        // A forward reference: the group waits for the user it names.
        { "method": "POST", "path": "/Groups", "bulkId": "eng",
          "data": { "displayName": "Eng", "members": [{ "type": "User", "value": "bulkId:ann" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "ann", "data": user("ann@acme.test", json!({})) },
        { "method": "POST", "path": "/Users", "bulkId": "bob", "data": user("bob@acme.test", json!({})) },
        { "method": "PATCH", "path": "/Groups/bulkId:eng",
          "data": patch_op(json!([{ "op": "add", "path": "members", "value": [{ "value": "bulkId:bob" }] }])) },
        { "method": "POST", "path": "/Users", "bulkId": "off", "data": user("eve@elsewhere.test", json!({})) },
        { "method": "PUT", "path": "/Users/bulkId:ann", "version": "W/\"9\"", "data": user("ann@acme.test", json!({})) },
        { "method": "POST", "path": "/Groups", "bulkId": "c1", "data": { "displayName": "C1", "members": [{ "value": "bulkId:c2" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "c2", "data": { "displayName": "C2", "members": [{ "value": "bulkId:c1" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "dangling", "data": { "displayName": "D", "members": [{ "value": "bulkId:nope" }] } },
        { "method": "DELETE", "path": "/Nope/1" },
    ]);
    let (status, answer, kind) = scim(
        app,
        Method::POST,
        &format!("{base}/Bulk"),
        &token,
        Some(bulk(ops)),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/scim+json"),
        "{answer}"
    );
    assert_eq!(
        answer["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let expected: Vec<(String, String)> = [
        ("ann", "201"),
        ("bob", "201"),
        ("off", "400"),
        ("PUT", "412"),
        ("dangling", "409"),
        ("DELETE", "400"),
        ("eng", "201"),
        ("PATCH", "200"),
        ("c1", "409"),
        ("c2", "409"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(statuses(&answer), expected, "{answer}");
    let results = answer["Operations"].as_array().unwrap();
    assert_eq!(results[2]["response"]["scimType"], "invalidValue");
    assert_eq!(
        results[2]["response"]["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    let eng = &results[6];
    assert_eq!(eng["version"], "W/\"1\"");
    let location = eng["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("{base}/Groups/")),
        "{location}"
    );
    // The references resolved to the users created: both are members.
    let (_, group, _) = scim(app, Method::GET, location, &token, None).await;
    let ann_id = results[0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "{group}");
    assert!(members.contains(&ann_id));
    let (_, groups, _) = scim(app, Method::GET, &format!("{base}/Groups"), &token, None).await;
    assert_eq!(groups["totalResults"], 1, "only Eng was created: {groups}");

    // failOnErrors: processing stops at that many errors.
    let ops = json!([
        { "method": "POST", "path": "/Users", "bulkId": "x", "data": user("x@elsewhere.test", json!({})) },
        { "method": "POST", "path": "/Users", "bulkId": "carl", "data": user("carl@acme.test", json!({})) },
    ]);
    let mut body = bulk(ops);
    body["failOnErrors"] = json!(1);
    let (status, answer, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Bulk"),
        &token,
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&answer), [("x".to_owned(), "400".to_owned())]);
    let q = reqwest::Url::parse_with_params(
        &format!("{base}/Users"),
        [("filter", "userName eq \"carl@acme.test\"")],
    )
    .unwrap();
    let (_, list, _) = scim(app, Method::GET, q.as_str(), &token, None).await;
    assert_eq!(list["totalResults"], 0);

    // The limits: more operations than advertised, a body larger than advertised, bad shapes.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "method": "DELETE", "path": format!("/Users/{i}") }))
        .collect();
    let (status, err, kind) = scim(
        app,
        Method::POST,
        &format!("{base}/Bulk"),
        &token,
        Some(bulk(Value::Array(many))),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (413, "application/scim+json"),
        "{err}"
    );
    assert_eq!(err["status"], "413");
    let huge = json!({ "schemas": [BULK], "Operations": [], "pad": "x".repeat(1_100_000) });
    let (status, err, kind) = scim(
        app,
        Method::POST,
        &format!("{base}/Bulk"),
        &token,
        Some(huge),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (413, "application/scim+json"),
        "{err}"
    );
    assert_eq!(
        err["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    for body in [
        json!({ "Operations": [{ "method": "GET", "path": "/Users" }] }),
        json!({ "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "a" }, { "method": "POST", "path": "/Groups", "bulkId": "a" }] }),
    ] {
        let (status, err, _) = scim(
            app,
            Method::POST,
            &format!("{base}/Bulk"),
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(err["scimType"].is_string());
    }
}

/// 1,000 users made by one Bulk request, then read back in pages of every size the protocol
/// allows, sorted both ways: each user exactly once, in order, with the total on every page.
#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_users_made_in_one_bulk_request_page_and_sort_in_order() {
    let (s, base, token) = directory().await;
    let app = &s.app;
    let ops: Vec<Value> = (0..1000)
        .map(|i| {
            json!({ "method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                    "data": user(&format!("user{i:04}@acme.test"),
                                 json!({ "name": { "familyName": format!("F{:04}", 999 - i) } })) })
        })
        .collect();
    let (status, answer, _) = scim(
        app,
        Method::POST,
        &format!("{base}/Bulk"),
        &token,
        Some(bulk(Value::Array(ops))),
    )
    .await;
    assert_eq!(status, 200);
    let created = answer["Operations"].as_array().unwrap();
    assert_eq!(created.len(), 1000);
    assert!(
        created.iter().all(|o| o["status"] == "201"),
        "{}",
        created.iter().find(|o| o["status"] != "201").unwrap()
    );

    let page = |query: String| {
        let (app, base, token) = (app, &base, &token);
        async move {
            let (status, list, _) = scim(
                app,
                Method::GET,
                &format!("{base}/Users?{query}"),
                token,
                None,
            )
            .await;
            assert_eq!(status, 200, "{query}: {list}");
            list
        }
    };
    for (sort, count) in [
        ("sortBy=userName&sortOrder=descending", 100),
        ("sortBy=name.familyName", 333),
    ] {
        let mut names = Vec::new();
        let mut start = 1;
        loop {
            let list = page(format!("{sort}&startIndex={start}&count={count}")).await;
            assert_eq!(list["totalResults"], 1000);
            assert_eq!(list["startIndex"], start);
            let items = list["Resources"].as_array().unwrap();
            assert_eq!(list["itemsPerPage"], items.len());
            if items.is_empty() {
                break;
            }
            names.extend(
                items
                    .iter()
                    .map(|u| u["userName"].as_str().unwrap().to_owned()),
            );
            start += items.len();
        }
        let mut expected: Vec<String> =
            (0..1000).map(|i| format!("user{i:04}@acme.test")).collect();
        // Descending by userName, and ascending by family name (which runs the other way).
        expected.reverse();
        assert_eq!(names, expected, "{sort}");
    }
    // A filtered page: 100 of the 1,000, in pages of 30.
    let list = page("filter=userName%20sw%20%22user09%22&count=30&startIndex=91".to_owned()).await;
    assert_eq!(list["totalResults"], 100);
    assert_eq!(list["Resources"].as_array().unwrap().len(), 10);
    // At most 1,000 per page, whatever is asked.
    let list = page("count=5000&attributes=userName".to_owned()).await;
    assert_eq!(list["Resources"].as_array().unwrap().len(), 1000);
    assert_eq!(
        list["Resources"][0].as_object().unwrap().len(),
        3,
        "id, schemas, userName"
    );
}

/// A Bulk request is no way around the directory's rate limit: each operation counts.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_operations_count_against_the_rate_limit() {
    let (app, key, _client, owner, org) =
        super::scim::acme_with(vec![("SCIM_RATE_LIMIT", "6/1m".to_owned())]).await;
    let (status, d) = super::domains::send(
        &app,
        Method::POST,
        super::scim::DIRECTORIES,
        &key,
        &owner,
        Some(json!({ "organization_id": org, "name": "A" })),
    )
    .await;
    assert_eq!(status, 201);
    let base = format!("{}/scim/v2/{}", app.address, d["id"].as_str().unwrap());
    let token = d["token"].as_str().unwrap();
    let ops: Vec<Value> = (0..8)
        .map(|i| json!({ "method": "DELETE", "path": format!("/Groups/{}", uuid::Uuid::now_v7()), "bulkId": format!("b{i}") }))
        .collect();
    let (status, answer, _) = scim(
        &app,
        Method::POST,
        &format!("{base}/Bulk"),
        token,
        Some(bulk(Value::Array(ops))),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // The request itself took one: five operations ran (404), three were refused (429).
    let codes: Vec<&str> = answer["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["404", "404", "404", "404", "404", "429", "429", "429"],
        "{answer}"
    );
    let (status, _, _) = scim(&app, Method::GET, &format!("{base}/Groups"), token, None).await;
    assert_eq!(status, 429);
}
