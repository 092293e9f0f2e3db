//! Ready means every dependency (PostgreSQL, and Redis when configured) answers now.

use futures_util::future::join_all;

use crate::ports::{PoolStats, Ports};

/// One dependency's state.
#[derive(Debug, Clone)]
pub struct DependencyStatus {
    pub name: &'static str,
    pub ok: bool,
    /// Short reason when not ok (never contains credentials).
    pub error: Option<String>,
    pub pool: Option<PoolStats>,
}

#[derive(Debug, Clone)]
pub struct Readiness {
    pub ready: bool,
    pub dependencies: Vec<DependencyStatus>,
}

pub struct CheckReadiness {
    ports: Ports,
}

impl CheckReadiness {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Probes every dependency concurrently.
    #[tracing::instrument(name = "check_readiness", level = "debug", skip_all)]
    pub async fn execute(&self) -> Readiness {
        let checks = self.ports.probes.iter().map(|probe| async move {
            let result = probe.ping().await;
            DependencyStatus {
                name: probe.name(),
                ok: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
                pool: probe.pool_stats(),
            }
        });
        let dependencies = join_all(checks).await;
        Readiness {
            ready: dependencies.iter().all(|d| d.ok),
            dependencies,
        }
    }

    /// Pool usage of every dependency, without probing.
    #[must_use]
    pub fn pool_stats(&self) -> Vec<(&'static str, PoolStats)> {
        self.ports
            .probes
            .iter()
            .filter_map(|p| p.pool_stats().map(|s| (p.name(), s)))
            .collect()
    }
}
