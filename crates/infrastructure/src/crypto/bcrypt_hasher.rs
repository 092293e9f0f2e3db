//! bcrypt on a bounded pool: at most one hash per core runs at a time (off the async runtime,
//! in `spawn_blocking`), and at most `queue` more wait; beyond that callers get `Busy` at once
//! (the API answers 503 `server_busy` with Retry-After) instead of queueing without limit.

use std::sync::Arc;

use async_trait::async_trait;
use authservice_application::ports::{HashError, PasswordHasher};
use tokio::sync::{OnceCell, Semaphore};

pub struct BcryptHasher {
    cost: u32,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    dummy: OnceCell<String>,
}

impl BcryptHasher {
    /// `workers` concurrent hashes, `queue` more waiting.
    #[must_use]
    pub fn new(cost: u32, workers: usize, queue: usize) -> Self {
        Self {
            cost,
            running: Arc::new(Semaphore::new(workers.max(1))),
            admitted: Arc::new(Semaphore::new(workers.max(1) + queue)),
            dummy: OnceCell::new(),
        }
    }

    /// Runs `job` on the blocking pool. The permits travel into the blocking closure, so a
    /// caller that gives up (a cancelled gRPC call) does not free a slot while its hash still
    /// runs.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError::Unexpected(e.into()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permits = (admitted, running);
            span.in_scope(job)
        })
        .await
        .map_err(|e| HashError::Unexpected(e.into()))
    }

    /// Computes the dummy hash now, so the first unknown-email login costs one bcrypt like
    /// every other.
    pub async fn warm_up(&self) -> Result<(), HashError> {
        self.dummy_hash().await.map(|_| ())
    }

    async fn dummy_hash(&self) -> Result<&str, HashError> {
        let cost = self.cost;
        self.dummy
            .get_or_try_init(|| async move {
                self.run(move || bcrypt::hash("dummy-password-for-timing", cost))
                    .await?
                    .map_err(|e| HashError::Unexpected(e.into()))
            })
            .await
            .map(String::as_str)
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| HashError::Unexpected(e.into()))
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
    }

    async fn verify_dummy(&self, password: &str) -> Result<(), HashError> {
        let dummy = self.dummy_hash().await?.to_owned();
        self.verify(password, &dummy).await.map(|_| ())
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        hash.parse::<bcrypt::HashParts>()
            .map(|parts| parts.get_cost() < self.cost)
            .unwrap_or(false)
    }
}
