//! One tower layer around every gRPC call: the request id (the caller's `x-request-id` when it
//! is a safe token, else a new one, put back into the request so the handlers use the same), a
//! `grpc.request` span carrying it with the method and the resulting code, and the Prometheus
//! metrics `grpc_requests_total` / `grpc_request_duration_seconds` like the REST ones.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    #[must_use]
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

/// gRPC code of a response: in the headers for errors (trailers-only), else OK.
fn code_of<B>(res: &http::Response<B>) -> i32 {
    res.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Observe<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let request_id = crate::request_id::accept_or_generate(
            req.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
        );
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            req.headers_mut().insert("x-request-id", value);
        }
        let method = req.uri().path().to_owned();
        let span = tracing::info_span!(
            "grpc.request",
            request_id = %request_id,
            rpc = %method,
            code = tracing::field::Empty,
            client_id = tracing::field::Empty,
        );
        // The clone that was polled ready goes into the call; the fresh one stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let call = inner.call(req);
        Box::pin(
            async move {
                let res = call.await?;
                let code = code_of(&res);
                tracing::Span::current().record("code", code);
                // Unknown methods answer UNIMPLEMENTED: fold them into one label value.
                let rpc = if code == 12 {
                    "unmatched"
                } else {
                    method.as_str()
                };
                let seconds = started.elapsed().as_secs_f64();
                metrics.observe_grpc(rpc, code, seconds);
                tracing::info!(latency_ms = seconds * 1000.0, "request finished");
                Ok(res)
            }
            .instrument(span),
        )
    }
}
