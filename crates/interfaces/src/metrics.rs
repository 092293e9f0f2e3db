//! Prometheus metrics of one server instance (a registry per instance, so tests can run many).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use authservice_application::ports::PoolStats;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pools: IntGaugeVec,
}

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
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
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
            Box::new(pools.clone()),
        ] {
            registry.register(collector).expect("unique metric");
        }
        Self {
            registry,
            requests,
            latency,
            pools,
        }
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
