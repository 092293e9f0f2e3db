//! `/scim/v2/{directory}/…`: the SCIM 2.0 protocol (RFC 7644) with the directory's bearer
//! token. Answers are `application/scim+json`; errors use the SCIM error schema
//! (`{schemas, status, scimType?, detail}`), never this API's envelope.

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use authservice_application::scim::ScimError;
use authservice_domain::scim::ScimDirectory;
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};

use crate::rest::HttpState;

mod groups;
mod request;
mod search;
mod users;
use authservice_application::scim::{BULK_MAX_OPERATIONS, MAX_COUNT};
use authservice_domain::scim::schema;

/// The media type of every SCIM answer (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2/{directory}")
            .service(
                web::resource("/ServiceProviderConfig")
                    .get(service_provider_config)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes")
                    .get(resource_types)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes/{id}")
                    .get(resource_type)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas")
                    .get(schemas)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas/{id}")
                    .get(schema_by_id)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups")
                    .get(groups::list)
                    .post(groups::create)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/.search")
                    .post(groups::search)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/{id}")
                    .get(groups::get)
                    .put(groups::replace)
                    .patch(groups::patch)
                    .delete(groups::delete)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/.search")
                    .post(search::search)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users")
                    .get(users::list)
                    .post(users::create)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/.search")
                    .post(users::search)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/{id}")
                    .get(users::get)
                    .put(users::replace)
                    .patch(users::patch)
                    .delete(users::delete)
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Bulk")
                    .post(bulk)
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}

/// A SCIM error answer.
#[derive(Debug)]
pub struct ScimApiError {
    pub(super) status: StatusCode,
    pub(super) scim_type: Option<&'static str>,
    pub(super) detail: String,
    /// Seconds to wait (`Retry-After`) when rate limited.
    pub(super) retry_after: Option<u64>,
}

impl std::fmt::Display for ScimApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<ScimError> for ScimApiError {
    fn from(e: ScimError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = if let ScimError::Unexpected(cause) = &e {
            tracing::error!(error = format!("{cause:#}"), "SCIM request failed");
            "internal error".to_owned()
        } else {
            e.to_string()
        };
        Self {
            status,
            scim_type: e.scim_type(),
            retry_after: e.retry_after().map(|d| d.as_secs().max(1)),
            detail,
        }
    }
}

impl ScimApiError {
    /// The SCIM error document.
    #[must_use]
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }

    /// An error without a `scimType` (answers built outside the handlers: 404, 405, 413).
    #[must_use]
    pub fn plain(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            retry_after: None,
        }
    }
}

impl ResponseError for ScimApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = scim_json(self.status, &self.body());
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        res
    }
}

/// `body` as `application/scim+json` with `status`.
pub fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

/// The directory of the path, authenticated by its bearer token.
pub struct Directory {
    pub ctx: authservice_application::context::RequestCtx,
    pub directory: ScimDirectory,
    /// `{BASE_URL}/scim/v2/{directory}`.
    pub base: String,
}

impl FromRequest for Directory {
    type Error = ScimApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<HttpState>>()
                .ok_or_else(|| ScimError::Unexpected(anyhow::anyhow!("no HTTP state")))?;
            let id = req.match_info().get("directory").unwrap_or_default();
            let bearer = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.get(..7)
                        .filter(|p| p.eq_ignore_ascii_case("bearer "))
                        .map(|_| &v[7..])
                });
            let directory = state.services.scim.authenticate(id, bearer).await?;
            let base = format!(
                "{}/scim/v2/{}",
                state.services.sso_connections.settings().base_url,
                directory.id
            );
            let ctx = crate::rest::extractors::base_ctx(&req);
            Ok(Self {
                ctx,
                directory,
                base,
            })
        })
    }
}

/// A ListResponse of every item at once (discovery lists are short).
pub(super) fn list_response(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

async fn service_provider_config(d: Directory) -> HttpResponse {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": BULK_MAX_OPERATIONS,
            "maxPayloadSize": crate::rest::BODY_LIMIT,
        },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Directory token",
            "description": "The directory's token (scim_…) in Authorization: Bearer",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", d.base),
        },
    });
    scim_json(StatusCode::OK, &body)
}

/// The resource types served.
async fn resource_types(d: Directory) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &list_response(schema::resource_types_json(&d.base)),
    )
}

/// `POST /Bulk`: a `BulkResponse` with each applied operation's result (`response` holds a
/// failed one's SCIM error).
async fn bulk(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let body = request::body(&raw)?;
    let results = state
        .services
        .scim
        .bulk(&d.ctx, &d.directory, &body)
        .await?;
    let operations: Vec<Value> = results
        .into_iter()
        .map(|r| {
            let mut out = json!({ "method": r.method, "status": r.status.to_string() });
            if let Some(id) = r.bulk_id {
                out["bulkId"] = json!(id);
            }
            if let Some(location) = r.location {
                out["location"] = json!(format!("{}{location}", d.base));
            }
            if let Some(version) = r.version {
                out["version"] = json!(version);
            }
            if let Some(error) = r.error {
                out["response"] = ScimApiError::from(error).body();
            }
            out
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": operations,
        }),
    ))
}

/// One item of a discovery list by its `id`, else 404 in the SCIM form.
fn one_of(items: Vec<Value>, id: &str, what: &str) -> HttpResponse {
    match items.into_iter().find(|i| i["id"].as_str() == Some(id)) {
        Some(item) => scim_json(StatusCode::OK, &item),
        None => ScimApiError {
            status: StatusCode::NOT_FOUND,
            scim_type: None,
            detail: format!("no {what} `{id}`"),
            retry_after: None,
        }
        .error_response(),
    }
}

/// `GET /ResourceTypes/{id}`.
async fn resource_type(d: Directory, id: web::Path<(String, String)>) -> HttpResponse {
    one_of(schema::resource_types_json(&d.base), &id.1, "resource type")
}

/// `GET /Schemas/{id}` (the schema's URI).
async fn schema_by_id(d: Directory, id: web::Path<(String, String)>) -> HttpResponse {
    one_of(schema::schemas_json(&d.base), &id.1, "schema")
}

/// The schemas of the resource types served.
async fn schemas(d: Directory) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &list_response(schema::schemas_json(&d.base)),
    )
}

async fn not_found(_d: Directory, req: HttpRequest) -> HttpResponse {
    ScimApiError {
        status: StatusCode::NOT_FOUND,
        scim_type: None,
        detail: format!("no SCIM endpoint {} {}", req.method(), req.path()),
        retry_after: None,
    }
    .error_response()
}

async fn method_not_allowed(_d: Directory, req: HttpRequest) -> HttpResponse {
    ScimApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        scim_type: None,
        detail: format!("{} is not allowed on {}", req.method(), req.path()),
        retry_after: None,
    }
    .error_response()
}
