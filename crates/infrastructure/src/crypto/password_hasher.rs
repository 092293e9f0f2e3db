//! Password hashing on a bounded pool: Argon2id (default; OWASP's m = 19 MiB, t = 2, p = 1) or
//! bcrypt for new hashes, both verified whatever the stored one is. At most one hash per worker
//! runs at a time (off the async runtime, in `spawn_blocking`) — which also bounds Argon2's
//! memory to workers × m — and at most `queue` more wait; beyond that callers get `Busy` at
//! once (the API answers 503 `server_busy` with Retry-After) instead of queueing without
//! limit. A stored hash of the other algorithm, or weaker parameters, `needs_rehash`: the next
//! successful login replaces it (compare-and-swap).

use std::sync::{Arc, Mutex};

use argon2::Block;
use argon2::password_hash::{PasswordHash, SaltString};
use async_trait::async_trait;
use authservice_application::ports::{HashError, PasswordHasher};
use base64::Engine;
use tokio::sync::{OnceCell, Semaphore};

/// The algorithm (and its parameters) new hashes are made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Argon2id {
        /// Memory in KiB.
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    },
    Bcrypt {
        cost: u32,
    },
}

impl HashAlgorithm {
    /// OWASP's Argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP_ARGON2ID: Self = Self::Argon2id {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Hashes with this algorithm (blocking: call on the pool).
    fn hash(self, password: &str, salt: [u8; 16], memory: &Memory) -> anyhow::Result<String> {
        match self {
            Self::Argon2id {
                memory_kib,
                iterations,
                parallelism,
            } => {
                let params = argon2::Params::new(memory_kib, iterations, parallelism, None)
                    .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
                let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
                argon2_into(&params, password.as_bytes(), &salt, &mut out, memory)?;
                let salt = SaltString::encode_b64(&salt)
                    .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
                // The PHC string format, as `argon2`'s own `PasswordHasher` writes it.
                Ok(format!(
                    "$argon2id$v=19$m={memory_kib},t={iterations},p={parallelism}${}${}",
                    salt.as_str(),
                    base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
                ))
            }
            Self::Bcrypt { cost } => Ok(bcrypt::hash_with_salt(password, cost, salt)?.to_string()),
        }
    }
}

/// Argon2 work areas, one per worker, reused: a fresh 19 MiB allocation per hash would be
/// page-faulted in every time and, spread over the blocking pool's threads, kept by the
/// allocator (hundreds of MB of RSS).
#[derive(Default)]
struct Memory {
    spare: Mutex<Vec<Vec<Block>>>,
    keep: usize,
}

impl Memory {
    fn take(&self, blocks: usize) -> Vec<Block> {
        let found = self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match found {
            Some(mut area) => {
                if area.len() < blocks {
                    area.resize(blocks, Block::default());
                }
                area
            }
            None => vec![Block::default(); blocks],
        }
    }

    fn give_back(&self, area: Vec<Block>) {
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < self.keep {
            spare.push(area);
        }
    }
}

/// Argon2id of `password` into `out` with reused memory.
fn argon2_into(
    params: &argon2::Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &Memory,
) -> anyhow::Result<()> {
    let hasher = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    );
    let mut area = memory.take(params.block_count());
    let done = hasher
        .hash_password_into_with_memory(password, salt, out, &mut area[..params.block_count()])
        .map_err(|e| anyhow::anyhow!("argon2: {e}"));
    memory.give_back(area);
    done
}

/// Checks `password` against a stored hash of either algorithm (blocking); a malformed or
/// unknown hash is `false`.
fn verify(password: &str, hash: &str, memory: &Memory) -> bool {
    if !hash.starts_with("$argon2") {
        return bcrypt::verify(password, hash).unwrap_or(false);
    }
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    if parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    let (Ok(params), Some(expected), Some(salt)) =
        (argon2::Params::try_from(&parsed), parsed.hash, parsed.salt)
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let params = match argon2::Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) {
        Ok(p) => p,
        Err(_) => return false,
    };
    argon2_into(&params, password.as_bytes(), salt, &mut out, memory).is_ok()
        && authservice_domain::secret::secrets_equal(&out, expected.as_bytes())
}

pub struct PooledHasher {
    algorithm: HashAlgorithm,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    memory: Arc<Memory>,
    dummy: OnceCell<String>,
}

impl PooledHasher {
    /// `workers` concurrent hashes, `queue` more waiting.
    #[must_use]
    pub fn new(algorithm: HashAlgorithm, workers: usize, queue: usize) -> Self {
        Self {
            algorithm,
            running: Arc::new(Semaphore::new(workers.max(1))),
            admitted: Arc::new(Semaphore::new(workers.max(1) + queue)),
            memory: Arc::new(Memory {
                spare: Mutex::default(),
                keep: workers.max(1),
            }),
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

    /// Computes the dummy hash now, so the first unknown-email login costs one hash like every
    /// other. The work area it filled is released: an idle server does not hold 19 MiB per
    /// hash it has not yet had to compute.
    pub async fn warm_up(&self) -> Result<(), HashError> {
        self.dummy_hash().await?;
        self.memory
            .spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    async fn dummy_hash(&self) -> Result<&str, HashError> {
        self.dummy
            .get_or_try_init(|| async move { self.hash("dummy-password-for-timing").await })
            .await
            .map(String::as_str)
    }
}

fn salt() -> Result<[u8; 16], HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError::Unexpected(anyhow::anyhow!("salt: {e}")))?;
    Ok(salt)
}

#[async_trait]
impl PasswordHasher for PooledHasher {
    async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        let (algorithm, salt, memory) = (self.algorithm, salt()?, self.memory.clone());
        self.run(move || algorithm.hash(&password, salt, &memory))
            .await?
            .map_err(HashError::Unexpected)
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        let (password, hash, memory) = (password.to_owned(), hash.to_owned(), self.memory.clone());
        self.run(move || verify(&password, &hash, &memory)).await
    }

    async fn verify_dummy(&self, password: &str) -> Result<(), HashError> {
        let dummy = self.dummy_hash().await?.to_owned();
        self.verify(password, &dummy).await.map(|_| ())
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        match self.algorithm {
            HashAlgorithm::Bcrypt { cost } => hash
                .parse::<bcrypt::HashParts>()
                .map_or(!hash.starts_with("$2"), |parts| parts.get_cost() < cost),
            HashAlgorithm::Argon2id {
                memory_kib,
                iterations,
                parallelism,
            } => match PasswordHash::new(hash) {
                Ok(parsed) if parsed.algorithm.as_str() == "argon2id" => {
                    argon2::Params::try_from(&parsed).is_ok_and(|p| {
                        p.m_cost() < memory_kib
                            || p.t_cost() < iterations
                            || p.p_cost() < parallelism
                    })
                }
                // bcrypt (or argon2i/d): upgraded on the next login.
                _ => hash.starts_with("$2"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: HashAlgorithm = HashAlgorithm::Argon2id {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[tokio::test]
    async fn both_algorithms_verify_and_the_old_one_needs_a_rehash() {
        let argon = PooledHasher::new(FAST, 1, 4);
        let bcrypt = PooledHasher::new(HashAlgorithm::Bcrypt { cost: 4 }, 1, 4);
        let a = argon.hash("violet-Harbor-42").await.unwrap();
        let b = bcrypt.hash("violet-Harbor-42").await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert!(b.starts_with("$2b$04$"), "{b}");
        for hasher in [&argon, &bcrypt] {
            for hash in [&a, &b] {
                assert!(hasher.verify("violet-Harbor-42", hash).await.unwrap());
                assert!(!hasher.verify("violet-Harbor-43", hash).await.unwrap());
            }
            assert!(!hasher.verify("x", "not a hash").await.unwrap());
        }
        assert!(argon.needs_rehash(&b));
        assert!(!argon.needs_rehash(&a));
        assert!(!bcrypt.needs_rehash(&b));
        let stronger = PooledHasher::new(
            HashAlgorithm::Argon2id {
                memory_kib: 2048,
                iterations: 1,
                parallelism: 1,
            },
            1,
            1,
        );
        assert!(stronger.needs_rehash(&a));
        assert!(PooledHasher::new(HashAlgorithm::Bcrypt { cost: 5 }, 1, 1).needs_rehash(&b));
    }

    #[tokio::test]
    async fn our_argon2_strings_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PooledHasher::new(FAST, 1, 1);
        let reference = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        );
        let theirs = reference
            .hash_password(
                b"violet-Harbor-42",
                &SaltString::encode_b64(&[1; 16]).unwrap(),
            )
            .unwrap()
            .to_string();
        assert!(hasher.verify("violet-Harbor-42", &theirs).await.unwrap());
        assert!(!hasher.verify("violet-Harbor-41", &theirs).await.unwrap());
        let ours = hasher.hash("violet-Harbor-42").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            reference
                .verify_password(b"violet-Harbor-42", &parsed)
                .is_ok()
        );
        assert!(
            reference
                .verify_password(b"violet-Harbor-41", &parsed)
                .is_err()
        );
    }
}
