//! Readiness of the dependencies.

mod check_readiness;

pub use check_readiness::{CheckReadiness, DependencyStatus, Readiness};
