//! Load benchmarks against a running server (see `deploy/local/bench.sh`).
//!
//! Measures, in one run on this box: the password-hash ceiling (two threads hashing flat out
//! with the server's algorithm: Argon2id, or bcrypt with BENCH_PASSWORD_HASH=bcrypt), login throughput while `/healthz` latency is sampled, and refresh-token
//! rotation throughput. Prints a Markdown table.
//!
//! usage: bench <base_url> <admin_key> [seconds] [bcrypt_cost]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "bench/m2m.rs"]
mod m2m;
#[path = "bench/scim.rs"]
mod scim;

use futures_util::StreamExt;
use serde_json::{Value, json};

const PASSWORD: &str = "bench-Harbor-42-quill";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The server's password hash (`BENCH_PASSWORD_HASH`, set by bench.sh like the server's
/// `PASSWORD_HASH`): `argon2id` (OWASP: 19 MiB, t = 2, p = 1) or `bcrypt` at `cost`.
fn hash_once(argon2id: bool, cost: u32) {
    if argon2id {
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("params");
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
        let _ = hasher.hash_password(PASSWORD.as_bytes(), &salt);
    } else {
        let _ = bcrypt::hash(PASSWORD, cost);
    }
}

/// Two threads hashing (the server's algorithm) for `secs`: hashes per second.
fn hash_ceiling(argon2id: bool, cost: u32, secs: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    hash_once(argon2id, cost);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Ctx {
    async fn post(&self, path: &str, body: Value) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-API-Key", &self.key)
            .json(&body)
            .send()
            .await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let admin_key = args.get(2).cloned().ok_or_else(|| {
        anyhow::anyhow!("usage: bench <base_url> <admin_key> [seconds] [bcrypt_cost]")
    })?;
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let cost: u32 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(12);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    // A client for the run.
    let slug = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let created: Value = http
        .post(format!("{base}/api/admin/clients"))
        .header("X-Admin-Key", &admin_key)
        .json(&json!({"name": "Bench", "slug": slug}))
        .send()
        .await?
        .json()
        .await?;
    let key = created["api_key"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("client creation failed: {created}"))?
        .to_owned();
    let ctx = Arc::new(Ctx {
        http,
        base: base.clone(),
        key,
    });

    if std::env::var("BENCH_ONLY").as_deref() == Ok("m2m") {
        let client_id = created["client"]["id"].as_str().unwrap_or_default();
        let rows = m2m::benchmarks(&ctx.http, &base, &admin_key, client_id, secs).await?;
        println!();
        println!("| measure | result |");
        println!("|---|---|");
        for row in rows {
            println!("{row}");
        }
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("scim") {
        let client_id = created["client"]["id"].as_str().unwrap_or_default();
        let rows =
            scim::benchmarks(&ctx.http, &base, &admin_key, &ctx.key, client_id, secs).await?;
        println!();
        println!("| measure | result |");
        println!("|---|---|");
        for row in rows {
            println!("{row}");
        }
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("validation") {
        for row in validation_benchmarks(&ctx.http, &base, &admin_key, secs).await? {
            println!("{row}");
        }
        return Ok(());
    }
    let argon2id = std::env::var("BENCH_PASSWORD_HASH").as_deref() != Ok("bcrypt");
    let hash_name = if argon2id {
        "Argon2id m=19 MiB t=2 p=1".to_owned()
    } else {
        format!("bcrypt cost {cost}")
    };
    println!("{hash_name} ceiling: 2 threads for {secs}s ...");
    let ceiling = tokio::task::spawn_blocking(move || hash_ceiling(argon2id, cost, secs)).await?;

    // One user to log in as.
    let res = ctx
        .post(
            "/api/auth/signup",
            json!({"email": "load@example.com", "password": PASSWORD, "token_transport": "json"}),
        )
        .await?;
    anyhow::ensure!(res.status() == 201, "signup failed: {}", res.text().await?);

    println!("login throughput for {secs}s with /healthz sampled ...");
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let login_errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (ctx, stop, logins, errors) = (
            ctx.clone(),
            stop.clone(),
            logins.clone(),
            login_errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match ctx.post("/api/auth/login", json!({"email": "load@example.com", "password": PASSWORD, "token_transport": "json"})).await {
                    Ok(r) if r.status() == 200 => {
                        logins.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let probe = {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let t = Instant::now();
                if let Ok(r) = ctx.http.get(format!("{}/healthz", ctx.base)).send().await
                    && r.status() == 200
                {
                    samples.push(t.elapsed());
                }
            }
            samples
        })
    };
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let login_rate = logins.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let mut health = probe.await?;
    health.sort();
    // The box's speed drifts: the ceiling is measured before and after the logins, and the
    // logins are compared with the mean of both.
    println!("{hash_name} ceiling again: 2 threads for {secs}s ...");
    let ceiling_after =
        tokio::task::spawn_blocking(move || hash_ceiling(argon2id, cost, secs)).await?;
    let ceiling_before = ceiling;
    let ceiling = f64::midpoint(ceiling_before, ceiling_after);

    println!("refresh rotation for {secs}s ...");
    let chains = 32;
    let mut tokens = Vec::new();
    for _ in 0..chains {
        let r: Value = ctx.post("/api/auth/login", json!({"email": "load@example.com", "password": PASSWORD, "token_transport": "json"})).await?.json().await?;
        tokens.push(r["refresh_token"].as_str().unwrap_or_default().to_owned());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for token in tokens {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut token = token;
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match ctx
                    .post("/api/auth/refresh", json!({"refresh_token": token}))
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        let body: Value = r.json().await.unwrap_or_default();
                        token = body["refresh_token"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        latencies.push(t.elapsed());
                    }
                    _ => {
                        failures += 1;
                        break;
                    }
                }
            }
            (latencies, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut rotations = Vec::new();
    let mut refresh_failures = 0;
    for w in workers {
        let (lat, failures) = w.await?;
        rotations.extend(lat);
        refresh_failures += failures;
    }
    let refresh_rate = rotations.len() as f64 / started.elapsed().as_secs_f64();
    rotations.sort();

    println!("emailed links: 50 known vs 50 unknown addresses ...");
    let mut link_rows = Vec::new();
    for i in 0..50 {
        let res = ctx
            .post(
                "/api/auth/signup",
                json!({"email": format!("known{i}@example.com"), "password": PASSWORD, "token_transport": "json"}),
            )
            .await?;
        anyhow::ensure!(res.status() == 201, "signup failed: {}", res.text().await?);
    }
    for path in ["/api/auth/forgot-password", "/api/auth/magic-link/send"] {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..50 {
            // Interleaved, in alternating order, so drift over the run affects both sides
            // alike; a pause after each request lets the outbox worker deliver a known
            // address's message before the next request is timed (delivery is off the request
            // path, but on the same two cores).
            let mut pair = [
                (format!("known{i}@example.com"), true),
                (format!("unknown{i}@example.com"), false),
            ];
            if i % 2 == 1 {
                pair.reverse();
            }
            for (email, is_known) in pair {
                let t = Instant::now();
                let res = ctx.post(path, json!({ "email": email })).await?;
                anyhow::ensure!(res.status() == 200, "{path}: {}", res.status());
                if is_known {
                    known.push(t.elapsed());
                } else {
                    unknown.push(t.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        known.sort();
        unknown.sort();
        let (k, u) = (percentile(&known, 0.5), percentile(&unknown, 0.5));
        link_rows.push(format!(
            "| {path}: median known vs unknown address (50 each) | {} vs {} ({:+.1} %) |",
            ms(k),
            ms(u),
            100.0 * (u.as_secs_f64() - k.as_secs_f64()) / k.as_secs_f64()
        ));
    }

    // BENCH_ONLY=accounts: the password, login and refresh phases only.
    let validation_rows = if std::env::var("BENCH_ONLY").as_deref() == Ok("accounts") {
        Vec::new()
    } else {
        println!("token validation (in process and over gRPC) ...");
        validation_benchmarks(&http_for(&ctx), &base, &admin_key, secs).await?
    };

    println!();
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| {hash_name} ceiling (2 threads; before / after the logins) | {ceiling:.1} hashes/s ({ceiling_before:.1} / {ceiling_after:.1}) |"
    );
    println!(
        "| login throughput (8 concurrent, {hash_name}) | {login_rate:.1} logins/s ({:.0} % of ceiling), {} errors |",
        100.0 * login_rate / ceiling,
        login_errors.load(Ordering::Relaxed)
    );
    println!(
        "| /healthz during logins | p50 {}, p99 {}, max {} ({} samples) |",
        ms(percentile(&health, 0.5)),
        ms(percentile(&health, 0.99)),
        ms(health.last().copied().unwrap_or_default()),
        health.len()
    );
    println!(
        "| refresh rotation (32 chains) | {refresh_rate:.0} rotations/s, p50 {}, p99 {}, {refresh_failures} failures |",
        ms(percentile(&rotations, 0.5)),
        ms(percentile(&rotations, 0.99))
    );
    for row in link_rows.iter().chain(&validation_rows) {
        println!("{row}");
    }
    Ok(())
}

fn http_for(ctx: &Ctx) -> reqwest::Client {
    ctx.http.clone()
}

/// Tight loop of `f` on this thread for `secs`: calls per second.
fn per_second(secs: u64, mut f: impl FnMut() -> Result<(), String>) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..64 {
            if let Err(err) = f() {
                panic!("verification failed after {n} successes: {err}");
            }
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// For ES256, RS256 and EdDSA: raw signature-verify ceiling (jsonwebtoken with a pre-parsed
/// key) vs the validator crate, one thread each; then gRPC ValidateToken under 64 concurrent
/// streams.
async fn validation_benchmarks(
    http: &reqwest::Client,
    base: &str,
    admin_key: &str,
    secs: u64,
) -> anyhow::Result<Vec<String>> {
    use authservice_validator::{JwksOptions, Validator, ValidatorOptions};
    let mut rows = Vec::new();
    let mut grpc_token = None;
    for alg in ["ES256", "RS256", "EdDSA"] {
        let slug = format!(
            "bench-{}-{}",
            alg.to_lowercase(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let created: Value = http
            .post(format!("{base}/api/admin/clients"))
            .header("X-Admin-Key", admin_key)
            .json(&json!({"name": alg, "slug": slug, "signing_algorithm": alg}))
            .send()
            .await?
            .json()
            .await?;
        let key = created["api_key"].as_str().unwrap_or_default().to_owned();
        let id = created["client"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let signed: Value = http
            .post(format!("{base}/api/auth/signup"))
            .header("X-API-Key", &key)
            .json(&json!({"email": format!("v{}@example.com", &slug[6..]), "password": PASSWORD, "token_transport": "json"}))
            .send()
            .await?
            .json()
            .await?;
        let token = signed["access_token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("signup failed: {signed}"))?
            .to_owned();
        let jwks_url = format!("{base}/.well-known/jwks.json?client_id={id}");
        let set: jsonwebtoken::jwk::JwkSet = http.get(&jwks_url).send().await?.json().await?;
        let jwk = set.keys.first().ok_or_else(|| anyhow::anyhow!("no key"))?;
        let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
        let algorithm: jsonwebtoken::Algorithm = alg.parse()?;
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.validate_aud = false;
        let raw_token = token.clone();
        if let Err(err) = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation)
        {
            anyhow::bail!("raw {alg} verification failed: {err:?}");
        }
        let raw = tokio::task::spawn_blocking(move || {
            per_second(secs.min(5), || {
                jsonwebtoken::decode::<serde_json::Value>(&raw_token, &decoding, &validation)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            })
        })
        .await?;
        let validator = Validator::jwks(
            &jwks_url,
            // The server's BASE_URL (bench.sh exports .env) is the tokens' issuer.
            ValidatorOptions::new(
                std::env::var("BASE_URL").unwrap_or_else(|_| "http://localhost:8080".into()),
                &id,
            ),
            JwksOptions::default(),
        );
        validator
            .validate(&token)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let v_token = token.clone();
        let ours = tokio::task::spawn_blocking(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            per_second(secs.min(5), || {
                rt.block_on(validator.validate(&v_token))
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            })
        })
        .await?;
        rows.push(format!(
            "| validator {alg} (1 thread) | {ours:.0}/s vs raw verify {raw:.0}/s = {:.0} % |",
            100.0 * ours / raw
        ));
        if alg == "ES256" {
            grpc_token = Some((token, key));
        }
    }

    // gRPC ValidateToken: 64 concurrent streams over 4 HTTP/2 connections, first as fast as
    // they go (throughput), then paced at 16,000 requests/s in total (latency at that load).
    let one = Arc::new(vec![grpc_token.ok_or_else(|| anyhow::anyhow!("no token"))?]);
    let grpc_url = base.replace(":18080", ":19090");
    // The same token over and over (the per-replica verified-token cache answers most of the
    // signature work), then 10,000 distinct tokens of 1,000 users in 100 clients, round-robin.
    println!("minting 10,000 distinct tokens (1,000 users in 100 clients) ...");
    let many = Arc::new(distinct_tokens(http, base, admin_key, 100, 10, 10).await?);
    for (tokens, what) in [(&one, "1 token"), (&many, "10,000 distinct tokens")] {
        for (label, pace) in [("saturated", None), ("paced at 16,000/s", Some(16_000.0))] {
            let (rate, p50, p99, failures) =
                grpc_validate_phase(&grpc_url, tokens.clone(), secs, pace).await?;
            rows.push(format!(
                "| gRPC ValidateToken (64 streams, ES256, with api_key, {what}, {label}) | {rate:.0} valid/s, p50 {}, p99 {}, {failures} non-OK |",
                ms(p50),
                ms(p99)
            ));
        }
    }
    Ok(rows)
}

/// `clients` clients with `users` users each, and `per_user` access tokens per user (a signup,
/// then refreshes: each rotation mints another token of the same live session). Returns
/// `(access token, API key)` pairs interleaved so that neighbours belong to different users.
async fn distinct_tokens(
    http: &reqwest::Client,
    base: &str,
    admin_key: &str,
    clients: usize,
    users: usize,
    per_user: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut keys = Vec::new();
    for _ in 0..clients {
        let slug = format!(
            "bench-many-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let created: Value = http
            .post(format!("{base}/api/admin/clients"))
            .header("X-Admin-Key", admin_key)
            .json(&json!({"name": "Bench many", "slug": slug}))
            .send()
            .await?
            .json()
            .await?;
        keys.push(
            created["api_key"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("client creation failed: {created}"))?
                .to_owned(),
        );
    }
    let work: Vec<(String, usize)> = keys
        .iter()
        .flat_map(|key| (0..users).map(move |u| (key.clone(), u)))
        .collect();
    let per_user_tokens = futures_util::stream::iter(work.into_iter().map(|(key, u)| {
        let http = http.clone();
        let base = base.to_owned();
        async move {
            let post = |path: &str, body: Value| {
                http.post(format!("{base}{path}"))
                    .header("X-API-Key", &key)
                    .json(&body)
                    .send()
            };
            let mut body: Value = post(
                "/api/auth/signup",
                json!({"email": format!("many{u}@example.com"), "password": PASSWORD, "token_transport": "json"}),
            )
            .await?
            .json()
            .await?;
            let mut tokens = Vec::new();
            for _ in 0..per_user {
                let access = body["access_token"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("no access token: {body}"))?;
                tokens.push((access.to_owned(), key.clone()));
                if tokens.len() < per_user {
                    body = post(
                        "/api/auth/refresh",
                        json!({"refresh_token": body["refresh_token"], "token_transport": "json"}),
                    )
                    .await?
                    .json()
                    .await?;
                }
            }
            anyhow::Ok(tokens)
        }
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await;
    let mut columns = Vec::new();
    for tokens in per_user_tokens {
        columns.push(tokens?);
    }
    Ok((0..per_user)
        .flat_map(|i| columns.iter().map(move |c| c[i].clone()))
        .collect())
}

/// One gRPC ValidateToken phase: 64 streams over 4 connections for `secs`, optionally paced to
/// `pace` requests/s in total. Returns (valid/s, p50, p99, non-OK answers).
async fn grpc_validate_phase(
    grpc_url: &str,
    tokens: Arc<Vec<(String, String)>>,
    secs: u64,
    pace: Option<f64>,
) -> anyhow::Result<(f64, Duration, Duration, u64)> {
    let next_token = Arc::new(AtomicU64::new(0));
    const STREAMS: usize = 64;
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(
            tonic::transport::Endpoint::from_shared(grpc_url.to_owned())?
                .connect()
                .await?,
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let interval = pace.map(|rate| Duration::from_secs_f64(STREAMS as f64 / rate));
    let mut workers = Vec::new();
    for i in 0..STREAMS {
        let channel = channels[i % channels.len()].clone();
        let (tokens, next_token, stop) = (tokens.clone(), next_token.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            use authservice_interfaces::grpc::proto::ValidateTokenRequest;
            use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
            let mut client = TokenServiceClient::new(channel);
            let (mut latencies, mut failures) = (Vec::new(), 0u64);
            // Streams start spread over one interval.
            let mut next = interval
                .map(|iv| tokio::time::Instant::now() + iv.mul_f64(i as f64 / STREAMS as f64));
            while !stop.load(Ordering::Relaxed) {
                if let (Some(at), Some(iv)) = (next, interval) {
                    tokio::time::sleep_until(at).await;
                    next = Some(at + iv);
                }
                // From the actual send: the timer's own lateness (≈1 ms granularity) is the load
                // generator's, not the server's. A stalled server still shows, as a lower rate.
                let n = usize::try_from(next_token.fetch_add(1, Ordering::Relaxed)).unwrap_or(0);
                let (token, key) = &tokens[n % tokens.len()];
                let scheduled = Instant::now();
                match client
                    .validate_token(ValidateTokenRequest {
                        access_token: token.clone(),
                        api_key: key.clone(),
                    })
                    .await
                {
                    Ok(res) if res.get_ref().valid => latencies.push(scheduled.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await?;
        latencies.extend(l);
        failures += f;
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    Ok((
        rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        failures,
    ))
}
