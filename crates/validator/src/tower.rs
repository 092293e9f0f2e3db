//! A tower [`Layer`](tower_layer::Layer) for axum, tonic and other tower stacks: verifies the
//! bearer token, checks [`Requirements`], puts [`Claims`](crate::Claims) in the request
//! extensions, or answers 401/403 in AuthService's error envelope (gRPC clients see
//! UNAUTHENTICATED / PERMISSION_DENIED).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode, header};

use crate::{Requirements, Validator, authorize, envelope, extract_bearer_token};

/// Wraps services with token validation.
#[derive(Clone)]
pub struct ValidatorLayer {
    validator: Validator,
    requirements: Requirements,
}

impl ValidatorLayer {
    #[must_use]
    pub fn new(validator: Validator, requirements: Requirements) -> Self {
        Self {
            validator,
            requirements,
        }
    }
}

impl<S> tower_layer::Layer<S> for ValidatorLayer {
    type Service = ValidatorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ValidatorService {
            inner,
            validator: self.validator.clone(),
            requirements: self.requirements.clone(),
        }
    }
}

/// The service produced by [`ValidatorLayer`].
#[derive(Clone)]
pub struct ValidatorService<S> {
    inner: S,
    validator: Validator,
    requirements: Requirements,
}

fn refusal<B: From<String>>(status: StatusCode, body: String) -> Response<B> {
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for ValidatorService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // The ready inner service goes with this call; a fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let requirements = self.requirements.clone();
        Box::pin(async move {
            let token = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(extract_bearer_token)
                .map(str::to_owned);
            let Some(token) = token else {
                return Ok(refusal(StatusCode::UNAUTHORIZED, envelope::missing_token()));
            };
            let claims = match validator.validate(&token).await {
                Ok(claims) => claims,
                Err(err) => {
                    return Ok(refusal(
                        StatusCode::UNAUTHORIZED,
                        envelope::unauthenticated(&err),
                    ));
                }
            };
            if let Err(err) = authorize(&claims, &requirements) {
                return Ok(refusal(StatusCode::FORBIDDEN, envelope::forbidden(&err)));
            }
            req.extensions_mut().insert(claims);
            inner.call(req).await
        })
    }
}
