//! `/api/auth/organizations/{org}/authorization/*` (K+B): the organization's versioned policy
//! (`ETag` = its version, `PUT` with `If-Match`), group mappings and the simulator.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::organizations::{
    MappingInput, OrgError, SimulationSubject, mapping_json,
};
use authservice_domain::organization::{AuthorizationPolicy, Grant, OrgRole, groups_from_value};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::dto::double_option;
use super::extractors::CurrentUser;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/auth/organizations/{org}/authorization";
    cfg.service(
        web::resource(format!("{base}/policy"))
            .get(get_policy)
            .put(put_policy),
    )
    .service(web::resource(format!("{base}/policy/versions")).get(list_versions))
    .service(web::resource(format!("{base}/policy/versions/{{version}}")).get(get_version))
    .service(
        web::resource(format!("{base}/group-mappings"))
            .get(list_mappings)
            .post(create_mapping),
    )
    .service(
        web::resource(format!("{base}/group-mappings/{{id}}"))
            .patch(update_mapping)
            .delete(delete_mapping),
    )
    .service(web::resource(format!("{base}/simulate")).post(simulate));
}

fn policy_json(policy: &AuthorizationPolicy) -> Value {
    let mut value = policy.to_value();
    value["version"] = json!(policy.version);
    value
}

fn with_etag(policy: &AuthorizationPolicy) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", policy.version)))
        .json(policy_json(policy))
}

async fn get_policy(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let policy = state
        .services
        .org_authorization
        .policy(&caller, &org)
        .await?;
    Ok(with_etag(&policy))
}

/// `If-Match: "3"` (or `W/"3"`), else the body's `version`.
fn if_match(req: &HttpRequest) -> Result<Option<u32>, OrgError> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            authservice_domain::ValidationError::new("If-Match", "must be a policy version").into()
        })
}

async fn put_policy(
    CurrentUser { ctx, caller }: CurrentUser,
    req: HttpRequest,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let policy = state
        .services
        .org_authorization
        .put_policy(&ctx, &caller, &org, &body, expected)
        .await?;
    Ok(with_etag(&policy))
}

async fn list_versions(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let versions = state
        .services
        .org_authorization
        .versions(&caller, &org)
        .await?;
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "created_at": v.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                "created_by": v.created_by.map(|u| u.to_string()),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "versions": versions })))
}

async fn get_version(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, version) = path.into_inner();
    let policy = state
        .services
        .org_authorization
        .version(&caller, &org, &version)
        .await?;
    Ok(HttpResponse::Ok().json(policy_json(&policy)))
}

async fn list_mappings(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mappings = state
        .services
        .org_authorization
        .mappings(&caller, &org)
        .await?;
    let mappings: Vec<Value> = mappings.iter().map(mapping_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "group_mappings": mappings })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingBody {
    source: Option<String>,
    group: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    role: Option<Option<String>>,
    permissions: Option<Vec<String>>,
}

impl From<MappingBody> for MappingInput {
    fn from(b: MappingBody) -> Self {
        Self {
            source: b.source,
            group: b.group,
            role: b.role,
            permissions: b.permissions,
        }
    }
}

async fn create_mapping(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<MappingBody>,
) -> Result<HttpResponse, ApiError> {
    let mapping = state
        .services
        .org_authorization
        .save_mapping(&ctx, &caller, &org, None, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(mapping_json(&mapping)))
}

async fn update_mapping(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<MappingBody>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    let mapping = state
        .services
        .org_authorization
        .save_mapping(&ctx, &caller, &org, Some(&id), body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(mapping_json(&mapping)))
}

async fn delete_mapping(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    state
        .services
        .org_authorization
        .delete_mapping(&ctx, &caller, &org, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    user_id: Option<String>,
    role: Option<String>,
    /// `{"sso": [..], "scim": [..]}`.
    #[serde(default)]
    groups: Value,
    permission: String,
    /// Accepted for forward compatibility; permissions are organization-wide today.
    #[serde(default)]
    #[allow(dead_code)]
    resource: Option<Value>,
}

async fn simulate(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<SimulateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let subject = match (body.user_id, body.role) {
        (Some(user), None) => SimulationSubject::User(user),
        (None, Some(role)) => SimulationSubject::Role {
            role,
            groups: groups_from_value(&body.groups),
        },
        _ => {
            return Err(OrgError::from(authservice_domain::ValidationError::new(
                "user_id",
                "send either user_id, or role (with groups)",
            ))
            .into());
        }
    };
    let answer = state
        .services
        .org_authorization
        .simulate(&caller, &org, subject, &body.permission)
        .await?;
    let granted_by: Vec<Value> = answer
        .granted_by
        .iter()
        .map(|g| match g {
            Grant::Role(role) => json!({ "type": "role", "name": OrgRole::as_str(role) }),
            Grant::Mapping { id, group } => {
                json!({ "type": "group_mapping", "id": id.to_string(), "name": group })
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "allowed": answer.allowed,
        "permission": answer.permission,
        "granted_by": granted_by,
        "policy_version": answer.policy_version,
    })))
}
