//! `POST /api/admin/tokens/revoke {jti, exp}`: deny-list one access token until it expires.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tokens/revoke").post(revoke));
}

#[derive(Debug, Deserialize)]
struct RevokeBody {
    jti: String,
    /// The token's `exp` (unix seconds).
    exp: i64,
}

async fn revoke(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    body: web::Json<RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    let written = state
        .services
        .revoke_access_token
        .execute(&ctx, &body.jti, body.exp)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": true, "deny_listed": written })))
}
