//! actix-web middleware: verifies the bearer token, checks [`Requirements`], puts [`Claims`]
//! in the request extensions, or answers 401/403 in AuthService's error envelope.
//!
//! ```ignore
//! use actix_web::{App, HttpMessage, HttpRequest, middleware::from_fn};
//! use authservice_validator::{Claims, Requirements, actix::require_token};
//!
//! let (validator, needs) = (validator.clone(), Requirements::default());
//! App::new().wrap(from_fn(move |req, next| {
//!     require_token(validator.clone(), needs.clone(), req, next)
//! }));
//! // in a handler: req.extensions().get::<Claims>()
//! ```

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};

use crate::{Requirements, Validator, authorize, envelope, extract_bearer_token};

/// The middleware function (use with `actix_web::middleware::from_fn`).
///
/// # Errors
/// Only errors of the wrapped service; refusals are responses.
pub async fn require_token(
    validator: Validator,
    requirements: Requirements,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(extract_bearer_token)
        .map(str::to_owned);
    let refusal = match token {
        None => Some((StatusCode::UNAUTHORIZED, envelope::missing_token())),
        Some(token) => match validator.validate(&token).await {
            Err(err) => Some((StatusCode::UNAUTHORIZED, envelope::unauthenticated(&err))),
            Ok(claims) => match authorize(&claims, &requirements) {
                Err(err) => Some((StatusCode::FORBIDDEN, envelope::forbidden(&err))),
                Ok(()) => {
                    req.extensions_mut().insert(claims);
                    None
                }
            },
        },
    };
    match refusal {
        Some((status, body)) => Ok(req.into_response(
            HttpResponse::build(status)
                .content_type("application/json")
                .body(body),
        )),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}
