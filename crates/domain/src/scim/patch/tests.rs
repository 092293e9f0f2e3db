use serde_json::json;

use super::*;
use crate::scim::schema::ENTERPRISE_USER_SCHEMA;

fn doc() -> Map<String, Value> {
    json!({
        "userName": "bjensen",
        "active": true,
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn patch(doc: &mut Map<String, Value>, ops: Value) -> Result<(), ScimProblem> {
    let parsed = parse_patch(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops,
    }))?;
    apply(Resource::User, doc, &parsed)
}

#[test]
fn replace_add_and_remove_with_paths() {
    let mut d = doc();
    patch(
        &mut d,
        json!([
            { "op": "replace", "path": "name.familyName", "value": "Smith" },
            { "op": "add", "path": "emails", "value": [{ "value": "b@new.example", "type": "other" }] },
            { "op": "remove", "path": "emails[type eq \"home\"]" },
            { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com" },
            { "op": "add", "path": "title", "value": "Tour Guide" },
            { "op": "replace", "path": "active", "value": false },
        ]),
    )
    .unwrap();
    assert_eq!(d["name"]["familyName"], "Smith");
    assert_eq!(d["title"], "Tour Guide");
    assert_eq!(d["active"], false);
    let emails = d["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0]["value"], "barbara@example.com");
    assert_eq!(emails[1]["value"], "b@new.example");
    patch(
        &mut d,
        json!([{ "op": "remove", "path": "title" }, { "op": "remove", "path": "name.givenName" }]),
    )
    .unwrap();
    assert!(d.get("title").is_none());
    assert_eq!(d["name"], json!({ "familyName": "Smith" }));
}

#[test]
fn entra_id_sends_pathless_replace_with_paths_as_keys_and_adds_through_filters() {
    let mut d = doc();
    // Recorded from Microsoft's provisioning documentation (request shapes).
    patch(
        &mut d,
        json!([
            { "op": "Replace", "value": { "active": "False" } },
            { "op": "Replace", "value": {
                "name.givenName": "Babs",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
            } },
            { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": { "value": "m-1" } },
        ]),
    )
    .unwrap();
    assert_eq!(d["active"], "False");
    assert_eq!(d["name"]["givenName"], "Babs");
    assert_eq!(d[ENTERPRISE_USER_SCHEMA]["department"], "Sales");
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({ "value": "m-1" })
    );
    assert_eq!(
        d["phoneNumbers"],
        json!([{ "type": "work", "value": "+1 555 0100" }])
    );
}

#[test]
fn a_new_primary_value_takes_primary_from_the_others() {
    let mut d = doc();
    patch(
        &mut d,
        json!([{ "op": "add", "path": "emails", "value": { "value": "p@example.com", "primary": true } }]),
    )
    .unwrap();
    let primaries: Vec<&Value> = d["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("primary") == Some(&json!(true)))
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "p@example.com");
}

#[test]
fn bad_operations_name_what_is_wrong() {
    for (ops, scim_type) in [
        (json!([{ "op": "remove" }]), ScimType::NoTarget),
        (
            json!([{ "op": "move", "path": "title" }]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{ "op": "add", "path": "title" }]),
            ScimType::InvalidValue,
        ),
        (
            json!([{ "op": "replace", "value": "x" }]),
            ScimType::InvalidValue,
        ),
        (
            json!([{ "op": "replace", "path": "nope", "value": "x" }]),
            ScimType::InvalidPath,
        ),
        (
            json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }]),
            ScimType::InvalidPath,
        ),
        (
            json!([{ "op": "replace", "path": "name[givenName eq \"x\"]", "value": {} }]),
            ScimType::InvalidPath,
        ),
        (
            json!([{ "op": "replace", "path": "id", "value": "mine" }]),
            ScimType::Mutability,
        ),
        (
            json!([{ "op": "replace", "path": "groups", "value": [] }]),
            ScimType::Mutability,
        ),
        (
            json!([{ "op": "replace", "path": "emails[type co \"zzz\"].value", "value": "x" }]),
            ScimType::NoTarget,
        ),
        (
            json!([{ "op": "replace", "path": "emails[type eq \"w\"].nope", "value": "x" }]),
            ScimType::InvalidPath,
        ),
    ] {
        let err = patch(&mut doc(), ops.clone()).unwrap_err();
        assert_eq!(err.scim_type, scim_type, "{ops}: {}", err.detail);
    }
    let too_many: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({ "op": "remove", "path": "title" }))
        .collect();
    assert_eq!(
        patch(&mut doc(), Value::Array(too_many))
            .unwrap_err()
            .scim_type,
        ScimType::TooMany
    );
}

#[test]
fn value_filters_match_values_case_insensitively() {
    let item = json!({ "value": "A@Example.com", "type": "Work", "primary": true });
    for (f, expected) in [
        (r#"type eq "work""#, true),
        (r#"value co "example""#, true),
        (r#"value ew ".COM""#, true),
        ("primary eq true", true),
        (r#"type eq "home" or primary eq false"#, false),
        (r#"not (type eq "home")"#, true),
        ("display pr", false),
        (r#"display ne "x""#, true),
    ] {
        assert_eq!(matches(&item, &Filter::parse(f).unwrap()), expected, "{f}");
    }
}

#[test]
fn the_extension_is_added_replaced_and_removed_as_a_whole() {
    let mut d = doc();
    patch(
        &mut d,
        json!([{ "op": "add", "path": ENTERPRISE_USER_SCHEMA,
                 "value": { "schemas": [ENTERPRISE_USER_SCHEMA], "department": "Sales", "costCenter": "7" } }]),
    )
    .unwrap();
    assert_eq!(
        d[ENTERPRISE_USER_SCHEMA],
        json!({ "department": "Sales", "costCenter": "7" })
    );
    patch(
        &mut d,
        json!([{ "op": "replace", "path": ENTERPRISE_USER_SCHEMA, "value": { "division": "North" } }]),
    )
    .unwrap();
    assert_eq!(d[ENTERPRISE_USER_SCHEMA], json!({ "division": "North" }));
    patch(
        &mut d,
        json!([{ "op": "remove", "path": ENTERPRISE_USER_SCHEMA }]),
    )
    .unwrap();
    assert!(!d.contains_key(ENTERPRISE_USER_SCHEMA));
    let err = patch(
        &mut d,
        json!([{ "op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": "x" }]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type, ScimType::InvalidValue);
}

#[test]
fn group_members_are_added_and_removed_the_ways_okta_and_entra_send_them() {
    let group = |ops: Value| {
        let mut d =
            json!({ "displayName": "Sales", "members": [{ "value": "a" }, { "value": "b" }] })
                .as_object()
                .cloned()
                .unwrap();
        let parsed = parse_patch(&json!({ "Operations": ops }))?;
        apply(Resource::Group, &mut d, &parsed).map(|()| d)
    };
    let d = group(json!([{ "op": "remove", "path": "members[value eq \"a\"]" }])).unwrap();
    assert_eq!(d["members"], json!([{ "value": "b" }]));
    let d =
        group(json!([{ "op": "Remove", "path": "members", "value": [{ "value": "b" }] }])).unwrap();
    assert_eq!(d["members"], json!([{ "value": "a" }]));
    let d =
        group(json!([{ "op": "add", "path": "members", "value": [{ "value": "c" }] }])).unwrap();
    assert_eq!(d["members"].as_array().unwrap().len(), 3);
    let d =
        group(json!([{ "op": "replace", "value": { "id": "g", "displayName": "Ops" } }])).unwrap();
    assert_eq!(d["displayName"], "Ops");
    let d = group(json!([{ "op": "remove", "path": "members" }])).unwrap();
    assert!(!d.contains_key("members"));
    for (ops, scim_type) in [
        (
            json!([{ "op": "add", "path": "userName", "value": "x" }]),
            ScimType::InvalidPath,
        ),
        (
            json!([{ "op": "replace", "path": "meta", "value": {} }]),
            ScimType::Mutability,
        ),
        (
            json!([{ "op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:department"), "value": "x" }]),
            ScimType::InvalidPath,
        ),
    ] {
        assert_eq!(
            group(ops.clone()).unwrap_err().scim_type,
            scim_type,
            "{ops}"
        );
    }
}
