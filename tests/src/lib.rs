//! Test harness: `spawn_app()` starts the real application in-process against a fresh
//! PostgreSQL database (cloned from a migrated template) and a unique Redis key prefix, with
//! REST and gRPC on port 0, and returns typed helpers.
//!
//! Needs `DATABASE_URL` and `REDIS_URL` (exported by `deploy/local/test.sh`, or read from the
//! repository's `.env`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use authservice_interfaces::grpc::proto::admin_service_client::AdminServiceClient;
use authservice_server::{Application, Settings};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::{Method, Response};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::transport::Channel;
use uuid::Uuid;

pub mod browser;
pub mod smtp;

/// Base URLs of the real services, from the environment or `.env`.
struct Env {
    database_url: String,
    redis_url: String,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let _ = dotenvy::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../.env"));
        Env {
            database_url: std::env::var("DATABASE_URL")
                .expect("DATABASE_URL must be set (run ./deploy/local/test.sh)"),
            redis_url: std::env::var("REDIS_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .expect("REDIS_URL must be set (run ./deploy/local/test.sh)"),
        }
    })
}

/// `postgres://u:p@h:port/db` with another database name.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database name");
    format!("{base}/{db}")
}

/// Migrates a template database once per test process (on its own runtime, because pools are
/// bound to the runtime that created them), and returns its name.
fn template_database() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let name = format!("tmpl_{}", Uuid::new_v4().simple());
                let mut admin = AsyncPgConnection::establish(&env().database_url)
                    .await
                    .expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create template database");
                let url = with_database(&env().database_url, &name);
                authservice_server::startup::migrate_url(&url)
                    .await
                    .expect("migrate template");
                name
            })
        })
        .join()
        .expect("template thread")
    })
}

/// Options for [`spawn_app_with`].
#[derive(Default, Clone)]
pub struct AppOptions {
    /// Extra or overriding settings (`TRUSTED_PROXY_CIDRS`, `ALLOW_ORIGIN`, ...).
    pub env: Vec<(&'static str, String)>,
    /// Route Redis through a proxy the test can cut (`TestApp::redis_proxy`).
    pub redis_proxy: bool,
    /// Run without Redis (in-process store).
    pub no_redis: bool,
    /// Serve an existing test database (another app's) instead of a fresh one.
    pub database: Option<String>,
    /// Listen on a port chosen before start and make `BASE_URL` that real address
    /// (`http://localhost:{port}`), so issuer URLs in metadata work for third-party clients.
    pub real_base_url: bool,
}

/// A running application and helpers to call it.
pub struct TestApp {
    pub address: String,
    pub grpc_address: String,
    pub admin_key: String,
    pub database: String,
    /// `ENCRYPTION_KEY` of this app (another replica of the same database needs it).
    pub encryption_key: String,
    pub http: reqwest::Client,
    pub redis_proxy: Option<RedisProxy>,
    /// The settings this app was built from (the console commands take the same).
    vars: HashMap<&'static str, String>,
    stop: watch::Sender<bool>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let database = match options.database.clone() {
        Some(existing) => existing,
        None => {
            let template = template_database();
            let database = format!("t_{}", Uuid::new_v4().simple());
            let mut admin = AsyncPgConnection::establish(&env().database_url)
                .await
                .expect("connect to PostgreSQL");
            diesel::sql_query(format!("CREATE DATABASE {database} TEMPLATE {template}"))
                .execute(&mut admin)
                .await
                .expect("create test database");
            database
        }
    };

    let redis_proxy = if options.redis_proxy {
        Some(RedisProxy::start(&env().redis_url).await)
    } else {
        None
    };
    let redis_url = match &redis_proxy {
        Some(proxy) => proxy.url.clone(),
        None => env().redis_url.clone(),
    };
    let admin_key = format!("test-admin-{}", Uuid::new_v4().simple());
    let encryption_key = Uuid::new_v4().simple().to_string() + &Uuid::new_v4().simple().to_string();
    let mail_dir = std::env::temp_dir()
        .join("authservice-test-mail")
        .join(&database);
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("GRPC_PORT", "0".to_owned()),
        (
            "DATABASE_URL",
            with_database(&env().database_url, &database),
        ),
        ("DATABASE_MAX_CONNECTIONS", "4".to_owned()),
        ("REDIS_URL", redis_url),
        (
            "REDIS_KEY_PREFIX",
            format!("t:{}:", Uuid::new_v4().simple()),
        ),
        ("ADMIN_API_KEY", admin_key.clone()),
        ("ENCRYPTION_KEY", encryption_key),
        ("EMAIL_DEV_DIR", mail_dir.display().to_string()),
        ("EMAIL_POLL_INTERVAL", "100ms".to_owned()),
        ("EMAIL_RETRY_BASE", "200ms".to_owned()),
        ("EMAIL_RETRY_MAX", "1s".to_owned()),
        ("SMTP_TIMEOUT", "5s".to_owned()),
        ("EMAIL_ALLOW_PRIVATE_SMTP", "true".to_owned()),
        ("SERVE_FRONTEND", "false".to_owned()),
        ("HTTP_WORKERS", "1".to_owned()),
        ("RUN_MIGRATIONS", "false".to_owned()),
        ("SHUTDOWN_TIMEOUT_SECS", "1".to_owned()),
        ("BCRYPT_COST", "10".to_owned()),
    ]);
    if options.no_redis {
        vars.remove("REDIS_URL");
    }
    if options.real_base_url {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        vars.insert("PORT", port.to_string());
        vars.insert("BASE_URL", format!("http://localhost:{port}"));
        vars.insert("SERVE_FRONTEND", "true".to_owned());
        vars.insert(
            "PUBLIC_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../public").to_owned(),
        );
    }
    for (k, v) in options.env {
        vars.insert(k, v);
    }
    let encryption_key = vars["ENCRYPTION_KEY"].clone();
    let settings = Settings::from_lookup(&|k| vars.get(k).cloned()).expect("valid test settings");
    let vars: HashMap<&'static str, String> = vars.into_iter().collect();
    let app = Application::build(settings)
        .await
        .expect("build application");
    let address = if options.real_base_url {
        format!("http://localhost:{}", app.http_port())
    } else {
        format!("http://127.0.0.1:{}", app.http_port())
    };
    let grpc_address = format!("http://127.0.0.1:{}", app.grpc_port());
    let (stop, mut stopped) = watch::channel(false);
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    TestApp {
        address,
        grpc_address,
        admin_key,
        database,
        encryption_key,
        // Idle connections are dropped before the server's 5 s keep-alive ends them: reusing
        // one the server is closing fails the request (IncompleteMessage).
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("http client"),
        redis_proxy,
        vars,
        stop,
        running: Some(running),
    }
}

impl TestApp {
    /// This app's settings, as `authservice` commands on its host would read them.
    #[must_use]
    pub fn settings(&self) -> Settings {
        Settings::from_lookup(&|k| self.vars.get(k).cloned()).expect("valid test settings")
    }

    /// Asks the server to shut down, as SIGTERM does.
    pub fn begin_shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until the server has stopped; returns what `run_until_stopped` returned.
    pub async fn stopped(&mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }

    /// The app's base URL on `localhost` (a secure context for WebAuthn in the browser tests).
    #[must_use]
    pub fn localhost_base(&self) -> String {
        self.address.replace("127.0.0.1", "localhost")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// An admin request with the right key.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("X-Admin-Key", &self.admin_key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    /// Creates a client and returns the whole creation response (`client`, `api_key`, `jwt_secret`).
    pub async fn create_client(&self, body: Value) -> Value {
        let res = self
            .admin(Method::POST, "/api/admin/clients", Some(body))
            .await;
        assert_eq!(res.status(), 201, "create client failed");
        res.json().await.expect("json")
    }

    /// Creates a client with a unique slug.
    pub async fn new_client(&self) -> Value {
        let slug = format!("app-{}", &Uuid::new_v4().simple().to_string()[..12]);
        self.create_client(serde_json::json!({ "name": "Test App", "slug": slug, "allowed_origins": ["https://app.example.com"] }))
            .await
    }

    /// Audit events matching a query string (e.g. `event_type=client.created`).
    pub async fn audit_events(&self, query: &str) -> Vec<Value> {
        let res = self
            .admin(
                Method::GET,
                &format!("/api/admin/audit-events?{query}"),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["events"].as_array().cloned().unwrap_or_default()
    }

    pub async fn grpc_admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::connect(self.grpc_address.clone())
            .await
            .expect("gRPC connect")
    }

    /// Runs a query returning one text column against this app's database.
    pub async fn query_text(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let mut conn =
            AsyncPgConnection::establish(&with_database(&env().database_url, &self.database))
                .await
                .expect("connect to the test database");
        diesel::sql_query(sql)
            .load::<Row>(&mut conn)
            .await
            .expect("query")
            .into_iter()
            .map(|r| r.value)
            .collect()
    }

    /// Runs one statement on this app's database as the service's own role; the error text
    /// when PostgreSQL refuses it.
    pub async fn execute_sql(&self, sql: &str) -> Result<usize, String> {
        let mut conn =
            AsyncPgConnection::establish(&with_database(&env().database_url, &self.database))
                .await
                .expect("connect to the test database");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    /// Drops this app's database, so PostgreSQL stops answering its queries.
    pub async fn drop_database(&self) {
        let mut admin = AsyncPgConnection::establish(&env().database_url)
            .await
            .expect("connect to PostgreSQL");
        diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", self.database))
            .execute(&mut admin)
            .await
            .expect("drop database");
    }
}

/// Settings that send this app's email through a plain SMTP server on loopback `port`.
#[must_use]
pub fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "none".to_owned()),
        (
            "EMAIL_FROM",
            "AuthService <no-reply@auth.example.com>".to_owned(),
        ),
    ]
}

/// A TCP proxy (in front of Redis, or of the server's JWKS) that a test can switch off
/// (existing connections are cut, new ones refused) and on again.
pub struct TcpProxy {
    pub port: u16,
    enabled: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

/// The proxy in front of Redis, with the URL the app uses.
pub struct RedisProxy {
    pub url: String,
    proxy: TcpProxy,
}

impl RedisProxy {
    async fn start(real_url: &str) -> Self {
        let parsed = reqwest::Url::parse(real_url).expect("REDIS_URL");
        let upstream = format!(
            "{}:{}",
            parsed.host_str().expect("redis host"),
            parsed.port().unwrap_or(6379)
        );
        let proxy = TcpProxy::start(&upstream).await;
        let mut proxied = parsed.clone();
        proxied.set_port(Some(proxy.port)).expect("port");
        Self {
            url: proxied.to_string(),
            proxy,
        }
    }

    pub fn disable(&self) {
        self.proxy.disable();
    }

    pub fn enable(&self) {
        self.proxy.enable();
    }
}

impl TcpProxy {
    /// Proxies 127.0.0.1:<port> to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let enabled = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (flag, cut_tx) = (enabled.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !AtomicBool::load(&flag, Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_rx = cut_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Self { port, enabled, cut }
    }

    /// Cuts every connection and refuses new ones.
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}

/// The first line a peer process prints on stdout (its address), waiting at most 60 s: a peer
/// that never starts fails the test instead of hanging the suite.
///
/// # Panics
/// When the peer prints nothing in time, or its stdout is not piped.
#[must_use]
pub fn first_line(child: &mut std::process::Child, what: &str) -> String {
    try_first_line(child, std::time::Duration::from_secs(60))
        .unwrap_or_else(|| panic!("{what} did not start within 60 s"))
}

/// [`first_line`] within `timeout`, or `None` (the child is killed then).
///
/// # Panics
/// When the peer's stdout is not piped.
#[must_use]
pub fn try_first_line(
    child: &mut std::process::Child,
    timeout: std::time::Duration,
) -> Option<String> {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("the peer's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.trim().is_empty() => Some(line.trim().to_owned()),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}
