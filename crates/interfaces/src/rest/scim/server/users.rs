//! `/scim/v2/{directory}/Users`: list (filter, sort, pages, attribute selection), create, read
//! (`If-None-Match`), replace and delete (`If-Match`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::scim::ListParams;
use authservice_domain::scim::schema::USER_SCHEMA;
use authservice_domain::scim::{AttrPath, ScimUser};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Directory, ScimApiError, list_response, scim_json};
use crate::rest::HttpState;

/// A JSON body whatever its media type (`application/scim+json` or `application/json`).
fn body(raw: &[u8]) -> Result<Value, ScimApiError> {
    serde_json::from_slice(raw).map_err(|e| ScimApiError {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some("invalidSyntax"),
        detail: format!("the body is not JSON: {e}"),
    })
}

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `attributes` / `excludedAttributes`: comma-separated attribute paths.
#[derive(Debug, Default, Clone)]
struct Selection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

impl Selection {
    fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimApiError> {
        let paths = |raw: Option<&str>| -> Result<Vec<AttrPath>, ScimApiError> {
            raw.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    AttrPath::parse(p).map_err(|e| ScimApiError {
                        status: StatusCode::BAD_REQUEST,
                        scim_type: Some("invalidValue"),
                        detail: e.to_string(),
                    })
                })
                .collect()
        };
        Ok(Self {
            attributes: paths(attributes)?,
            excluded: paths(excluded)?,
        })
    }

    /// The resource with only the selected attributes (`id` and `schemas` always).
    fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut fields) = resource else {
            return resource;
        };
        // What each path selects of top-level `key`: all of it (`None`) or one sub-key. An
        // extension's attribute (`urn:…:enterprise:2.0:User:department`) is a sub-key of the
        // extension's object.
        let named = |paths: &[AttrPath], key: &str| -> Vec<Option<String>> {
            paths
                .iter()
                .filter_map(|p| match &p.uri {
                    Some(uri) if uri.eq_ignore_ascii_case(key) => Some(Some(p.attr.clone())),
                    Some(uri) if !uri.eq_ignore_ascii_case(USER_SCHEMA) => None,
                    _ => p.attr.eq_ignore_ascii_case(key).then(|| p.sub.clone()),
                })
                .collect()
        };
        let always = |key: &str| key == "id" || key == "schemas";
        if !self.attributes.is_empty() {
            fields.retain(|key, value| {
                if always(key) {
                    return true;
                }
                let wanted = named(&self.attributes, key);
                if wanted.is_empty() {
                    return false;
                }
                // `name.givenName` keeps that sub-attribute of `name` only.
                if wanted.iter().all(Option::is_some)
                    && let Value::Object(sub) = value
                {
                    sub.retain(|k, _| wanted.iter().flatten().any(|w| w.eq_ignore_ascii_case(k)));
                }
                true
            });
        }
        for (key, value) in &mut fields {
            if always(key) {
                continue;
            }
            let dropped = named(&self.excluded, key);
            if dropped.iter().any(Option::is_none) {
                *value = Value::Null;
            } else if let Value::Object(sub) = value {
                sub.retain(|k, _| !dropped.iter().flatten().any(|d| d.eq_ignore_ascii_case(k)));
            }
        }
        fields.retain(|_, v| !v.is_null());
        Value::Object(fields)
    }
}

fn resource(d: &Directory, user: &ScimUser) -> Value {
    user.to_json(&d.base, &[])
}

/// The user with its `ETag` and `Location`.
fn answer(
    d: &Directory,
    user: &ScimUser,
    status: StatusCode,
    selection: &Selection,
) -> HttpResponse {
    let mut res = scim_json(status, &selection.apply(resource(d, user)));
    let headers = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&user.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(location) = HeaderValue::from_str(&format!("{}/Users/{}", d.base, user.id)) {
        headers.insert(header::LOCATION, location);
    }
    res
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListQuery {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

async fn listed(
    state: &HttpState,
    d: &Directory,
    q: ListQuery,
) -> Result<HttpResponse, ScimApiError> {
    let selection = Selection::parse(q.attributes.as_deref(), q.excluded_attributes.as_deref())?;
    let params = ListParams {
        filter: q.filter,
        sort_by: q.sort_by,
        sort_order: q.sort_order,
        start_index: q.start_index,
        count: q.count,
    };
    let (page, start_index) = state
        .services
        .scim
        .list_users(&d.directory, &params)
        .await?;
    let items: Vec<Value> = page
        .users
        .iter()
        .map(|u| selection.apply(resource(d, u)))
        .collect();
    let mut body = list_response(items);
    body["totalResults"] = page.total.into();
    body["startIndex"] = start_index.into();
    Ok(scim_json(StatusCode::OK, &body))
}

pub(super) async fn list(
    d: Directory,
    state: web::Data<HttpState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    // Query parameter names are case-sensitive in SCIM; unknown ones are ignored.
    let q = web::Query::<ListQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ScimApiError {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some("invalidValue"),
            detail: e.to_string(),
        })?;
    listed(&state, &d, q).await
}

/// `POST /Users/.search`: the list's parameters in a `SearchRequest` body.
pub(super) async fn search(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let mut value = body(&raw)?;
    // `attributes` and `excludedAttributes` are lists in a SearchRequest.
    if let Value::Object(fields) = &mut value {
        for key in ["attributes", "excludedAttributes"] {
            if let Some(Value::Array(items)) = fields.get(key) {
                let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                fields.insert(key.to_owned(), Value::String(joined.join(",")));
            }
        }
        fields.remove("schemas");
    }
    let q: ListQuery = serde_json::from_value(value).map_err(|e| ScimApiError {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some("invalidValue"),
        detail: e.to_string(),
    })?;
    listed(&state, &d, q).await
}

pub(super) async fn create(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let user = state
        .services
        .scim
        .create_user(&d.ctx, &d.directory, &value)
        .await?;
    Ok(answer(
        &d,
        &user,
        StatusCode::CREATED,
        &Selection::default(),
    ))
}

pub(super) async fn get(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    query: web::Query<Map<String, Value>>,
) -> Result<HttpResponse, ScimApiError> {
    let selection = Selection::parse(
        query.get("attributes").and_then(Value::as_str),
        query.get("excludedAttributes").and_then(Value::as_str),
    )?;
    let user = state.services.scim.get_user(&d.directory, &id.1).await?;
    let etag = user.etag();
    if header_text(&req, header::IF_NONE_MATCH).is_some_and(|tags| user.has_etag(tags)) {
        let mut res = HttpResponse::NotModified().finish();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            res.headers_mut().insert(header::ETAG, v);
        }
        return Ok(res);
    }
    Ok(answer(&d, &user, StatusCode::OK, &selection))
}

pub(super) async fn replace(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let user = state
        .services
        .scim
        .replace_user(
            &d.ctx,
            &d.directory,
            &id.1,
            &value,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(answer(&d, &user, StatusCode::OK, &Selection::default()))
}

pub(super) async fn delete(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    state
        .services
        .scim
        .delete_user(
            &d.ctx,
            &d.directory,
            &id.1,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn patch(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let user = state
        .services
        .scim
        .patch_user(
            &d.ctx,
            &d.directory,
            &id.1,
            &value,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(answer(&d, &user, StatusCode::OK, &Selection::default()))
}
