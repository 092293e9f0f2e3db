//! `BENCH_ONLY=m2m`: the machine endpoints. A service account with a key; then
//! `client_credentials` grants at `/oauth/token` (HTTP Basic, form) and `/oauth/introspect` of
//! 1,000 distinct machine tokens round-robin, each by 64 concurrent callers for `secs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ms, percentile};

pub(super) type Request = Arc<dyn Fn(u64) -> reqwest::RequestBuilder + Send + Sync>;

/// `concurrency` loops sending `request(i)` (i counts per loop) for `secs`: answers per second
/// that are 200 and contain `expect`, p50, p99, failures.
pub(super) async fn phase(
    secs: u64,
    concurrency: usize,
    request: Request,
    expect: &'static str,
) -> (f64, Duration, Duration, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (stop, failures, request) = (stop.clone(), failures.clone(), request.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = w as u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match request(i).send().await {
                    Ok(r) if r.status() == 200 => {
                        let body = r.bytes().await.unwrap_or_default();
                        if body.windows(expect.len()).any(|w| w == expect.as_bytes()) {
                            latencies.push(t.elapsed());
                        } else {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += concurrency as u64;
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_default());
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (
        rate,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        failures.load(Ordering::Relaxed),
    )
}

pub async fn benchmarks(
    http: &reqwest::Client,
    base: &str,
    admin_key: &str,
    client_id: &str,
    secs: u64,
) -> anyhow::Result<Vec<String>> {
    let account: Value = http
        .post(format!(
            "{base}/api/admin/clients/{client_id}/service-accounts"
        ))
        .header("X-Admin-Key", admin_key)
        .json(&json!({"name": "bench", "scopes": ["jobs:run", "jobs:read"]}))
        .send()
        .await?
        .json()
        .await?;
    let sa = account["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("service account: {account}"))?
        .to_owned();
    let key: Value = http
        .post(format!(
            "{base}/api/admin/clients/{client_id}/service-accounts/{sa}/keys"
        ))
        .header("X-Admin-Key", admin_key)
        .json(&json!({}))
        .send()
        .await?
        .json()
        .await?;
    let secret = key["secret"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("key: {key}"))?
        .to_owned();
    let token_url = format!("{base}/oauth/token");

    println!("client_credentials grants for {secs}s (64 concurrent) ...");
    let grant = {
        let (http, url, sa, secret) = (http.clone(), token_url.clone(), sa.clone(), secret.clone());
        Arc::new(move |_| {
            http.post(&url)
                .basic_auth(&sa, Some(&secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "jobs:run")])
        }) as Request
    };
    let (cc_rate, cc_p50, cc_p99, cc_failures) = phase(secs, 64, grant, "\"access_token\"").await;

    println!("minting 1,000 machine tokens ...");
    let mut tokens = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let body: Value = http
            .post(&token_url)
            .basic_auth(&sa, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?
            .json()
            .await?;
        tokens.push(
            body["access_token"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("grant: {body}"))?
                .to_owned(),
        );
    }
    let tokens = Arc::new(tokens);
    println!("introspection for {secs}s (64 concurrent, 1,000 tokens round-robin) ...");
    let introspect = {
        let (http, url, sa, secret, tokens) = (
            http.clone(),
            format!("{base}/oauth/introspect"),
            sa.clone(),
            secret.clone(),
            tokens.clone(),
        );
        Arc::new(move |i: u64| {
            let token = &tokens[usize::try_from(i).unwrap_or(0) % tokens.len()];
            http.post(&url)
                .basic_auth(&sa, Some(&secret))
                .form(&[("token", token.as_str())])
        }) as Request
    };
    let (in_rate, in_p50, in_p99, in_failures) =
        phase(secs, 64, introspect, "\"active\":true").await;
    Ok(vec![
        format!(
            "| client_credentials grants (64 concurrent, Basic, ES256) | {cc_rate:.0}/s, p50 {}, p99 {}, {cc_failures} failures |",
            ms(cc_p50),
            ms(cc_p99)
        ),
        format!(
            "| /oauth/introspect (64 concurrent, 1,000 distinct tokens) | {in_rate:.0}/s, p50 {}, p99 {}, {in_failures} failures |",
            ms(in_p50),
            ms(in_p99)
        ),
    ])
}
