//! The JWKS key cache: keys by `kid`, refreshed after `ttl`, refetched for an unknown `kid` at
//! most once per `min_refetch_interval`, and kept for `stale_for` past their TTL while the
//! endpoint cannot be reached.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

use crate::ValidationError;

/// JWKS caching policy.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// How long fetched keys are fresh (default 10 min).
    pub ttl: Duration,
    /// Minimum time between two fetches (default 5 s), whatever triggers them.
    pub min_refetch_interval: Duration,
    /// How long keys stay usable past `ttl` while refetching fails (default 24 h).
    pub stale_for: Duration,
    /// Timeout of one fetch (default 5 s).
    pub timeout: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            min_refetch_interval: Duration::from_secs(5),
            stale_for: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub(crate) struct JwksCache {
    url: String,
    options: JwksOptions,
    http: reqwest::Client,
    state: RwLock<State>,
    fetching: Mutex<()>,
}

impl JwksCache {
    pub(crate) fn new(url: &str, options: JwksOptions) -> Self {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .unwrap_or_default();
        Self {
            url: url.to_owned(),
            options,
            http,
            state: RwLock::default(),
            fetching: Mutex::new(()),
        }
    }

    /// The key for `kid`, fetching when it is unknown or the set is older than `ttl`.
    pub(crate) async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), ValidationError> {
        {
            let state = self.state.read().await;
            if let Some(key) = state.keys.get(kid)
                && state
                    .fetched_at
                    .is_some_and(|t| t.elapsed() < self.options.ttl)
            {
                return Ok(key.clone());
            }
        }
        self.refetch().await;
        let state = self.state.read().await;
        let usable = state
            .fetched_at
            .is_some_and(|t| t.elapsed() < self.options.ttl + self.options.stale_for);
        match state.keys.get(kid) {
            Some(key) if usable => Ok(key.clone()),
            Some(_) => Err(ValidationError::KeysUnavailable),
            None if state.fetched_at.is_none() => Err(ValidationError::KeysUnavailable),
            None => Err(ValidationError::UnknownKey),
        }
    }

    /// Fetches the set unless a fetch happened less than `min_refetch_interval` ago. On failure
    /// the previous keys stay.
    async fn refetch(&self) {
        let _one_at_a_time = self.fetching.lock().await;
        if self
            .state
            .read()
            .await
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.options.min_refetch_interval)
        {
            return;
        }
        self.state.write().await.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let mut state = self.state.write().await;
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
            }
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed; keeping cached keys")
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), jwk.common.key_algorithm)
            else {
                continue;
            };
            let Ok(alg) = alg.to_string().parse::<Algorithm>() else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, alg));
            }
        }
        Ok(keys)
    }
}
