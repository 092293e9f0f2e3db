//! Prometheus metrics of one server instance (a registry per instance, so tests can run many).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use authservice_application::ports::PoolStats;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    grpc_requests: IntCounterVec,
    grpc_latency: HistogramVec,
    pools: IntGaugeVec,
}

const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// # Panics
    /// Never in practice: the metric definitions are static and valid.
    #[must_use]
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route template, method and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route template",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let grpc_requests = IntCounterVec::new(
            Opts::new(
                "grpc_requests_total",
                "gRPC calls by method and status code",
            ),
            &["rpc", "code"],
        )
        .expect("valid metric");
        let grpc_latency = HistogramVec::new(
            HistogramOpts::new(
                "grpc_request_duration_seconds",
                "gRPC call latency by method",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["rpc", "code"],
        )
        .expect("valid metric");
        let pools = IntGaugeVec::new(
            Opts::new(
                "pool_connections",
                "Connection pool usage (state: max, open, idle)",
            ),
            &["pool", "state"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(grpc_requests.clone()),
            Box::new(grpc_latency.clone()),
            Box::new(pools.clone()),
        ] {
            registry.register(collector).expect("unique metric");
        }
        Self {
            registry,
            requests,
            latency,
            grpc_requests,
            grpc_latency,
            pools,
        }
    }

    /// `rpc` is a served method path or `unmatched`; `code` the numeric gRPC status.
    pub fn observe_grpc(&self, rpc: &str, code: i32, seconds: f64) {
        let code = code.to_string();
        self.grpc_requests.with_label_values(&[rpc, &code]).inc();
        self.grpc_latency
            .with_label_values(&[rpc, &code])
            .observe(seconds);
    }

    /// `method` is folded to the standard set (anything else is `OTHER`) so callers cannot
    /// create unbounded label values; `route` must be a template or `unmatched`.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "OTHER",
        };
        let status = status.to_string();
        self.requests
            .with_label_values(&[method, route, &status])
            .inc();
        self.latency
            .with_label_values(&[method, route, &status])
            .observe(seconds);
    }

    /// Renders the text exposition format, with pool gauges refreshed from `pools`.
    #[must_use]
    pub fn render(&self, pools: &[(&'static str, PoolStats)]) -> String {
        for (name, stats) in pools {
            let set = |state: &str, v: usize| {
                self.pools
                    .with_label_values(&[name, state])
                    .set(i64::try_from(v).unwrap_or(i64::MAX));
            };
            set("max", stats.max_size);
            set("open", stats.size);
            set("idle", stats.available);
        }
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
