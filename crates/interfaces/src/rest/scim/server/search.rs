//! `POST /scim/v2/{directory}/.search`: one search across Users and Groups (RFC 7644 §3.4.3),
//! users first, then groups; the filter applies to each type as far as it can.

use actix_web::{HttpResponse, web};

use super::request::ListQuery;
use super::{Directory, ScimApiError};
use crate::rest::HttpState;

pub(super) async fn search(
    d: Directory,
    state: web::Data<HttpState>,
    raw: web::Bytes,
) -> Result<HttpResponse, ScimApiError> {
    let (params, selection) = ListQuery::from_search(&raw)?.split()?;
    let (page, start_index) = state
        .services
        .scim
        .search_all(&d.directory, &params, selection.wants("members"))
        .await?;
    let mut items = super::users::rendered(&state, &d, &page.users, &selection).await?;
    let full = selection.asks_within("members");
    items.extend(
        page.groups
            .iter()
            .map(|g| selection.apply(g.to_json(&d.base, full))),
    );
    Ok(super::request::page(items, page.total, start_index))
}
