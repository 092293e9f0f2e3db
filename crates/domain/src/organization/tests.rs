use serde_json::json;

use super::*;

#[test]
fn a_route_names_an_organization_by_id_or_slug() {
    let id = Uuid::now_v7();
    assert_eq!(
        OrgRef::parse(&id.to_string()).unwrap(),
        OrgRef::Id(OrganizationId::from_uuid(id))
    );
    assert!(matches!(
        OrgRef::parse("acme-corp").unwrap(),
        OrgRef::Slug(_)
    ));
    assert!(OrgRef::parse("Not A Slug!").is_err());
    // A slug may not look like an id, or routes could not tell them apart.
    assert!(Organization::slug(&id.to_string()).is_err());
    assert!(Organization::slug("acme").is_ok());
}

#[test]
fn metadata_is_a_small_object() {
    assert_eq!(Organization::metadata(json!(null)).unwrap(), json!({}));
    assert!(Organization::metadata(json!({"plan": "pro"})).is_ok());
    assert!(Organization::metadata(json!([1, 2])).is_err());
    assert!(Organization::metadata(json!({"x": "y".repeat(MAX_METADATA_BYTES)})).is_err());
}

#[test]
fn a_logo_is_an_https_url() {
    assert!(LogoUrl::parse("https://cdn.example.com/logo.png").is_ok());
    assert!(LogoUrl::parse("http://cdn.example.com/logo.png").is_err());
    assert!(LogoUrl::parse("javascript:alert(1)").is_err());
}

#[test]
fn the_builtin_roles_nest() {
    let set = |name: &str| OrgRole::parse(name).unwrap().builtin_permissions().unwrap();
    let (owner, admin, member, viewer) = (set("owner"), set("admin"), set("member"), set("viewer"));
    assert_eq!(owner.iter().count(), OrgPermission::ALL.len());
    assert!(owner.covers(&admin) && admin.covers(&member) && member.covers(&viewer));
    assert!(!admin.allows(OrgPermission::OrgDelete));
    assert!(!admin.covers(&owner));
    assert!(!member.allows(OrgPermission::MembersInvite));
    assert!(viewer.allows(OrgPermission::MembersRead));
    assert!(!viewer.allows(OrgPermission::InvitationsRead));
    assert!(
        OrgRole::parse("billing")
            .unwrap()
            .builtin_permissions()
            .is_none()
    );
}

#[test]
fn role_names_are_plain() {
    assert!(OrgRole::parse("billing:admin").is_ok());
    for bad in ["", "Owner", "9lives", "a b", &"x".repeat(65)] {
        assert!(OrgRole::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_deep_diamond_of_roles_resolves_once_per_role() {
    // r_k inherits r_{k-1} and r_{k-2}: exponential without memoisation.
    let roles: Vec<serde_json::Value> = (0..150)
        .map(|k| {
            let inherits: Vec<String> = (k.max(2) - 2..k).map(|p| format!("r{p}")).collect();
            json!({"name": format!("r{k}"), "permissions": [format!("app:p{k}")], "inherits": inherits})
        })
        .collect();
    let permissions: Vec<serde_json::Value> = (0..150)
        .map(|k| json!({"name": format!("app:p{k}")}))
        .collect();
    let started = std::time::Instant::now();
    let policy =
        AuthorizationPolicy::parse(&json!({"permissions": permissions, "roles": roles})).unwrap();
    let top = policy
        .role_permissions(&OrgRole::parse("r149").unwrap())
        .unwrap();
    assert_eq!(top.iter().count(), 150);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn declared_permissions_are_plain_names_of_the_apps_own_resources() {
    for name in [
        "reports:*",
        "org:archive",
        "members:poke",
        "nocolon",
        "a:b:c",
    ] {
        let err =
            AuthorizationPolicy::parse(&json!({"permissions": [{"name": name}]})).unwrap_err();
        assert_eq!(err.reason, "malformed", "{name}");
    }
    let too_many: Vec<String> = (0..21).map(|k| format!("viewer{k}")).collect();
    let err = AuthorizationPolicy::parse(&json!({"roles": [{"name": "x", "inherits": too_many}]}))
        .unwrap_err();
    assert_eq!(err.reason, "malformed");
    // Repeated parents count once.
    let policy = AuthorizationPolicy::parse(
        &json!({"roles": [{"name": "x", "inherits": ["viewer", "viewer"]}]}),
    )
    .unwrap();
    assert_eq!(policy.roles[0].inherits.len(), 1);
}
