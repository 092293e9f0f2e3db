//! The route × role matrix: every admin route of the permission table
//! (`authservice_interfaces::rest::admin_routes::ADMIN_ROUTES`, the same table the server
//! enforces) called by every kind of operator — super admin, client admin, support, auditor, a
//! custom role, an organization-scoped admin — inside and outside their scope, over REST and
//! over gRPC `AdminService`. A route is either answered (never 401/403/5xx) or refused with 403
//! `forbidden`, exactly as its permission and scope say.

use authservice_interfaces::grpc::proto::{
    CreateClientRequest, GetClientRequest, ListClientsRequest, RotateApiKeyRequest,
    RotateJwtSecretRequest,
};
use authservice_interfaces::rest::admin_routes::ADMIN_ROUTES;
use authservice_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tonic::{Code, Request};

use super::admin_accounts::{bearer, signed_in_admin};
use super::auth_helpers::{call, key_of, signup};

#[derive(Debug, Clone, PartialEq)]
enum Scope {
    All,
    Client,
    Organization,
}

struct Operator {
    name: &'static str,
    token: String,
    permissions: Vec<String>,
    scope: Scope,
}

/// Whether `op` may call `route` on client `in_scope_client` (`false`: the other client).
fn allowed(
    op: &Operator,
    path: &str,
    permission: Option<&str>,
    all_scope: bool,
    on_mine: Option<bool>,
) -> bool {
    if permission.is_some_and(|p| !op.permissions.iter().any(|q| q == p)) {
        return false;
    }
    if all_scope {
        return op.scope == Scope::All;
    }
    match (on_mine, &op.scope) {
        (_, Scope::All) => true,
        (None, Scope::Client) => true,
        // Without a client in the path an organization admin reaches its own session and the
        // (empty) client list; the audit trail needs a client it may read.
        (None, Scope::Organization) => !path.starts_with("/audit-events"),
        (Some(mine), Scope::Client) => mine,
        (Some(mine), Scope::Organization) => mine && path.contains("{org}"),
    }
}

fn concrete(path: &str, client: &str, org: &str) -> String {
    let filler = uuid::Uuid::new_v4().to_string();
    let mut out = Vec::new();
    for segment in path.split('/') {
        out.push(match segment {
            "{id}" => client.to_owned(),
            "{org}" => org.to_owned(),
            "{provider}" => "google".to_owned(),
            "{name}" => "matrix-role".to_owned(),
            s if s.starts_with('{') => filler.clone(),
            s => s.to_owned(),
        });
    }
    format!("/api/admin{}", out.join("/"))
}

async fn operators(app: &TestApp, client: &str, org: &str) -> Vec<Operator> {
    let (status, roles) = app_roles(app).await;
    assert_eq!(status, StatusCode::OK);
    let permissions_of = |role: &str| -> Vec<String> {
        roles["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == role)
            .unwrap_or_else(|| panic!("role {role}"))["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    };
    let specs = [
        (
            "super_admin",
            "super_admin",
            json!({ "type": "all" }),
            Scope::All,
        ),
        (
            "client_admin",
            "client_admin",
            json!({ "type": "client", "id": client }),
            Scope::Client,
        ),
        (
            "support",
            "support",
            json!({ "type": "client", "id": client }),
            Scope::Client,
        ),
        (
            "auditor",
            "auditor",
            json!({ "type": "client", "id": client }),
            Scope::Client,
        ),
        (
            "global auditor",
            "auditor",
            json!({ "type": "all" }),
            Scope::All,
        ),
        (
            "custom role",
            "matrix-custom",
            json!({ "type": "client", "id": client }),
            Scope::Client,
        ),
        (
            "organization admin",
            "client_admin",
            json!({ "type": "organization", "id": org }),
            Scope::Organization,
        ),
    ];
    let mut out = Vec::new();
    for (i, (name, role, scope_body, scope)) in specs.into_iter().enumerate() {
        let token = signed_in_admin(app, &format!("op{i}@example.com"), &[role], scope_body).await;
        out.push(Operator {
            name,
            token,
            permissions: permissions_of(role),
            scope,
        });
    }
    out
}

async fn app_roles(app: &TestApp) -> (StatusCode, Value) {
    let res = app.admin(Method::GET, "/api/admin/roles", None).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn with_bearer<T>(token: &str, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_route_checks_permission_and_scope_for_every_role() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("SIGNUP_RATE_LIMIT", "100".to_owned())],
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let mine = created["client"]["id"].as_str().unwrap().to_owned();
    let other = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An organization of the scoped client, for the organization-scoped admin.
    let key = key_of(&created);
    let owner = signup(&app, &key, "owner@example.com").await;
    let token = owner["access_token"].as_str().unwrap();
    let res = call(
        &app,
        Method::POST,
        "/api/auth/organizations",
        &key,
        Some(json!({ "name": "Acme" })),
        Some(token),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let org_body: Value = res.json().await.unwrap();
    let org = org_body["id"]
        .as_str()
        .or_else(|| org_body["organization"]["id"].as_str())
        .unwrap_or_else(|| panic!("{org_body}"))
        .to_owned();
    let res = app
        .admin(
            Method::PUT,
            "/api/admin/roles/matrix-custom",
            Some(json!({ "permissions": ["clients:read", "clients:rotate_keys", "audit:read"] })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ops = operators(&app, &mine, &org).await;

    let mut checked = 0;
    let mut failures = Vec::new();
    for route in ADMIN_ROUTES {
        // Signing out would end the operator's session midway; it is tested on its own.
        if route.path == "/auth/logout" {
            continue;
        }
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let targets: Vec<(Option<bool>, String)> = if route.path.contains("{id}") {
            vec![
                (Some(true), concrete(route.path, &mine, &org)),
                (Some(false), concrete(route.path, &other, &org)),
            ]
        } else {
            vec![(None, concrete(route.path, &mine, &org))]
        };
        for op in &ops {
            for (on_mine, path) in &targets {
                let expected = allowed(
                    op,
                    route.path,
                    route.permission.map(|p| p.as_str()),
                    route.all_scope,
                    *on_mine,
                );
                let body = (route.method != "GET" && route.method != "DELETE").then(|| json!({}));
                let (status, answer) = bearer(&app, &op.token, method.clone(), path, body).await;
                checked += 1;
                let ok = if expected {
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && !status.is_server_error()
                        && answer["code"] != "not_found"
                } else {
                    status == StatusCode::FORBIDDEN && answer["code"] == "forbidden"
                };
                if !ok {
                    failures.push(format!(
                        "{} {} {path} as {}: expected {}, got {status} {answer}",
                        route.method,
                        route.path,
                        op.name,
                        if expected {
                            "an answer"
                        } else {
                            "403 forbidden"
                        },
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 500, "{checked}");

    // gRPC AdminService: the admin user's bearer, the same permissions and scopes.
    let mut grpc = app.grpc_admin().await;
    for op in &ops {
        let has = |p: &str| op.permissions.iter().any(|q| q == p);
        let reaches = |mine: bool| op.scope == Scope::All || (mine && op.scope == Scope::Client);
        let token = op.token.as_str();
        let mut outcomes: Vec<(&str, bool, Result<(), Code>)> = vec![(
            "CreateClient",
            has("clients:create") && op.scope == Scope::All,
            grpc.create_client(with_bearer(
                token,
                CreateClientRequest {
                    name: String::new(),
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ())
            .map_err(|s| s.code()),
        )];
        outcomes.push((
            "ListClients",
            has("clients:read"),
            grpc.list_clients(with_bearer(token, ListClientsRequest::default()))
                .await
                .map(|_| ())
                .map_err(|s| s.code()),
        ));
        for (target, mine) in [(&mine, true), (&other, false)] {
            outcomes.push((
                "GetClient",
                has("clients:read") && reaches(mine),
                grpc.get_client(with_bearer(
                    token,
                    GetClientRequest {
                        client_id: target.clone(),
                    },
                ))
                .await
                .map(|_| ())
                .map_err(|s| s.code()),
            ));
            outcomes.push((
                "RotateAPIKey",
                has("clients:rotate_keys") && reaches(mine),
                grpc.rotate_api_key(with_bearer(
                    token,
                    RotateApiKeyRequest {
                        client_id: target.clone(),
                    },
                ))
                .await
                .map(|_| ())
                .map_err(|s| s.code()),
            ));
            outcomes.push((
                "RotateJWTSecret",
                has("clients:rotate_keys") && reaches(mine),
                grpc.rotate_jwt_secret(with_bearer(
                    token,
                    RotateJwtSecretRequest {
                        client_id: target.clone(),
                    },
                ))
                .await
                .map(|_| ())
                .map_err(|s| s.code()),
            ));
        }
        for (rpc, expected, got) in outcomes {
            let ok = match got {
                Err(Code::PermissionDenied) => !expected,
                Err(Code::Unauthenticated | Code::Internal | Code::Unknown) => false,
                _ => expected,
            };
            assert!(
                ok,
                "{rpc} as {}: expected allowed={expected}, got {got:?}",
                op.name
            );
        }
    }
    // A wrong bearer is refused like a wrong key.
    let mut req = Request::new(ListClientsRequest::default());
    req.metadata_mut()
        .insert("authorization", "Bearer adm_at_forged".parse().unwrap());
    assert_eq!(
        grpc.list_clients(req).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}
