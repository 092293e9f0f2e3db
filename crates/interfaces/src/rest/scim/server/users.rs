//! `/scim/v2/{directory}/Users`: list (filter, sort, pages, attribute selection), create, read
//! (`If-None-Match`), replace, patch and delete (`If-Match`).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_domain::scim::ScimUser;
use serde_json::{Map, Value};

use super::request::{ListQuery, Selection, body, header_text, not_modified, selection_of};
use super::{Directory, ScimApiError};
use crate::rest::HttpState;

/// The users with their `groups` (read only when answered), selected.
pub(super) async fn rendered(
    state: &HttpState,
    d: &Directory,
    users: &[ScimUser],
    selection: &Selection,
) -> Result<Vec<Value>, ScimApiError> {
    let mut groups = if selection.wants("groups") {
        let ids: Vec<_> = users.iter().map(|u| u.id).collect();
        state
            .services
            .scim
            .groups_of(&d.directory, &d.base, &ids)
            .await?
    } else {
        Default::default()
    };
    Ok(users
        .iter()
        .map(|u| {
            let mine = groups.remove(&u.id).unwrap_or_default();
            selection.apply(u.to_json(&d.base, &mine))
        })
        .collect())
}

/// One user with its `ETag` and `Location`.
async fn answer(
    state: &HttpState,
    d: &Directory,
    user: &ScimUser,
    status: StatusCode,
    selection: &Selection,
) -> Result<HttpResponse, ScimApiError> {
    let body = rendered(state, d, std::slice::from_ref(user), selection)
        .await?
        .pop()
        .unwrap_or_default();
    Ok(super::request::resource(
        &body,
        &user.etag(),
        &format!("{}/Users/{}", d.base, user.id),
        status,
    ))
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
        .list_users(&d.directory, &params)
        .await?;
    let items = rendered(state, d, &page.users, &selection).await?;
    Ok(super::request::page(items, page.total, start_index))
}

pub(super) async fn list(
    d: Directory,
    state: web::Data<HttpState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    listed(&state, &d, ListQuery::from_request(&req)?).await
}

/// `POST /Users/.search`: the list's parameters in a `SearchRequest` body.
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
    let user = state
        .services
        .scim
        .create_user(&d.ctx, &d.directory, &value)
        .await?;
    answer(
        &state,
        &d,
        &user,
        StatusCode::CREATED,
        &Selection::default(),
    )
    .await
}

pub(super) async fn get(
    d: Directory,
    state: web::Data<HttpState>,
    id: web::Path<(String, String)>,
    req: HttpRequest,
    query: web::Query<Map<String, Value>>,
) -> Result<HttpResponse, ScimApiError> {
    let selection = selection_of(&query)?;
    let user = state.services.scim.get_user(&d.directory, &id.1).await?;
    if let Some(res) = not_modified(&req, &user.etag()) {
        return Ok(res);
    }
    answer(&state, &d, &user, StatusCode::OK, &selection).await
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
    answer(&state, &d, &user, StatusCode::OK, &Selection::default()).await
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
    answer(&state, &d, &user, StatusCode::OK, &Selection::default()).await
}
