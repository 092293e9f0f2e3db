//! `/scim/v2/{directory}/Groups`: list (filter, sort, pages, attribute selection — members are
//! read only when answered), create, read (`If-None-Match`), replace, patch and delete
//! (`If-Match`).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_domain::scim::ScimGroup;
use serde_json::{Map, Value};

use super::request::{ListQuery, Selection, body, header_text, not_modified, selection_of};
use super::{Directory, ScimApiError};
use crate::rest::HttpState;

fn answer(
    d: &Directory,
    group: &ScimGroup,
    status: StatusCode,
    selection: &Selection,
) -> HttpResponse {
    super::request::resource(
        &selection.apply(group.to_json(&d.base, selection.asks_within("members"))),
        &group.etag(),
        &format!("{}/Groups/{}", d.base, group.id),
        status,
    )
}

async fn listed(
    state: &HttpState,
    d: &Directory,
    q: ListQuery,
) -> Result<HttpResponse, ScimApiError> {
    let (params, selection) = q.split()?;
    let (page, start_index) = state
        .services
        .scim
        .list_groups(&d.directory, &params, selection.wants("members"))
        .await?;
    let items = page
        .groups
        .iter()
        .map(|g| selection.apply(g.to_json(&d.base, selection.asks_within("members"))))
        .collect();
    Ok(super::request::page(items, page.total, start_index))
}

pub(super) async fn list(
    d: Directory,
    state: web::Data<HttpState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    listed(&state, &d, ListQuery::from_request(&req)?).await
}

/// `POST /Groups/.search`: the list's parameters in a `SearchRequest` body.
pub(super) async fn search(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    listed(&state, &d, ListQuery::from_search(&raw)?).await
}

pub(super) async fn create(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let group = state
        .services
        .scim
        .create_group(&d.ctx, &d.directory, &value)
        .await?;
    Ok(answer(
        &d,
        &group,
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
    let selection = selection_of(&query)?;
    let group = state.services.scim.get_group(&d.directory, &id.1).await?;
    if let Some(res) = not_modified(&req, &group.etag()) {
        return Ok(res);
    }
    Ok(answer(&d, &group, StatusCode::OK, &selection))
}

pub(super) async fn replace(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let group = state
        .services
        .scim
        .replace_group(
            &d.ctx,
            &d.directory,
            &id.1,
            &value,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(answer(&d, &group, StatusCode::OK, &Selection::default()))
}

pub(super) async fn patch(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let value = body(&raw)?;
    let group = state
        .services
        .scim
        .patch_group(
            &d.ctx,
            &d.directory,
            &id.1,
            &value,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(answer(&d, &group, StatusCode::OK, &Selection::default()))
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
        .delete_group(
            &d.ctx,
            &d.directory,
            &id.1,
            header_text(&req, header::IF_MATCH),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
