//! What the SCIM resource endpoints share: JSON bodies of either media type, conditional
//! headers, list parameters (query string or `SearchRequest`) and attribute selection.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use authservice_application::scim::ListParams;
use authservice_domain::scim::AttrPath;
use authservice_domain::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ScimApiError, scim_json};

/// A JSON body whatever its media type (`application/scim+json` or `application/json`).
pub(super) fn body(raw: &[u8]) -> Result<Value, ScimApiError> {
    serde_json::from_slice(raw).map_err(|e| ScimApiError {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some("invalidSyntax"),
        detail: format!("the body is not JSON: {e}"),
        retry_after: None,
    })
}

pub(super) fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `attributes` / `excludedAttributes`: comma-separated attribute paths.
#[derive(Debug, Default, Clone)]
pub(super) struct Selection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

impl Selection {
    pub(super) fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimApiError> {
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
                        retry_after: None,
                    })
                })
                .collect()
        };
        Ok(Self {
            attributes: paths(attributes)?,
            excluded: paths(excluded)?,
        })
    }

    /// Whether top-level attribute `attr` of a core schema is answered (so worth reading).
    pub(super) fn wants(&self, attr: &str) -> bool {
        let names = |paths: &[AttrPath]| {
            paths
                .iter()
                .filter(|p| p.attr.eq_ignore_ascii_case(attr))
                .map(|p| p.sub.is_none())
                .collect::<Vec<bool>>()
        };
        let excluded_whole = names(&self.excluded).into_iter().any(|whole| whole);
        let selected = self.attributes.is_empty() || !names(&self.attributes).is_empty();
        selected && !excluded_whole
    }

    /// Whether `attributes` names a sub-attribute of `attr` other than `value` (what
    /// attributes returned on request need).
    pub(super) fn asks_within(&self, attr: &str) -> bool {
        self.attributes.iter().any(|p| {
            p.attr.eq_ignore_ascii_case(attr)
                && p.sub
                    .as_deref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case("value"))
        })
    }

    /// The resource with only the selected attributes (`id` and `schemas` always).
    pub(super) fn apply(&self, resource: Value) -> Value {
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
                    Some(uri)
                        if !uri.eq_ignore_ascii_case(USER_SCHEMA)
                            && !uri.eq_ignore_ascii_case(GROUP_SCHEMA) =>
                    {
                        None
                    }
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

impl ListQuery {
    /// The list's parameters and attribute selection.
    pub(super) fn split(self) -> Result<(ListParams, Selection), ScimApiError> {
        let selection = Selection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )?;
        Ok((
            ListParams {
                filter: self.filter,
                sort_by: self.sort_by,
                sort_order: self.sort_order,
                start_index: self.start_index,
                count: self.count,
            },
            selection,
        ))
    }

    /// From the query string (names are case-sensitive in SCIM; unknown ones are ignored).
    pub(super) fn from_request(req: &HttpRequest) -> Result<Self, ScimApiError> {
        actix_web::web::Query::<Self>::from_query(req.query_string())
            .map(actix_web::web::Query::into_inner)
            .map_err(|e| ScimApiError {
                status: StatusCode::BAD_REQUEST,
                scim_type: Some("invalidValue"),
                detail: e.to_string(),
                retry_after: None,
            })
    }

    /// From a `SearchRequest` body (`POST …/.search`), whose `attributes` and
    /// `excludedAttributes` are lists.
    pub(super) fn from_search(raw: &[u8]) -> Result<Self, ScimApiError> {
        let mut value = body(raw)?;
        if let Value::Object(fields) = &mut value {
            for key in ["attributes", "excludedAttributes"] {
                if let Some(Value::Array(items)) = fields.get(key) {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    fields.insert(key.to_owned(), Value::String(joined.join(",")));
                }
            }
            fields.remove("schemas");
        }
        serde_json::from_value(value).map_err(|e| ScimApiError {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some("invalidValue"),
            detail: e.to_string(),
            retry_after: None,
        })
    }
}

/// The selection of a single resource's `GET` (`attributes`, `excludedAttributes`).
pub(super) fn selection_of(query: &Map<String, Value>) -> Result<Selection, ScimApiError> {
    Selection::parse(
        query.get("attributes").and_then(Value::as_str),
        query.get("excludedAttributes").and_then(Value::as_str),
    )
}

/// A page as a `ListResponse`.
pub(super) fn page(items: Vec<Value>, total: u64, start_index: u64) -> HttpResponse {
    let mut body = super::list_response(items);
    body["totalResults"] = total.into();
    body["startIndex"] = start_index.into();
    scim_json(StatusCode::OK, &body)
}

/// A resource (already selected) with its `ETag` and `Location`.
pub(super) fn resource(
    body: &Value,
    etag: &str,
    location: &str,
    status: StatusCode,
) -> HttpResponse {
    let mut res = scim_json(status, body);
    let headers = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    res
}

/// `304 Not Modified` when `If-None-Match` names the current `etag`.
pub(super) fn not_modified(req: &HttpRequest, etag: &str) -> Option<HttpResponse> {
    let tags = header_text(req, header::IF_NONE_MATCH)?;
    if !authservice_domain::scim::etag_matches(etag, tags) {
        return None;
    }
    let mut res = HttpResponse::NotModified().finish();
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Some(res)
}
