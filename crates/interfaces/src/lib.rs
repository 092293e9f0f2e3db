//! The public surface: REST (actix-web) and gRPC (tonic). Handlers are thin: parse, build the
//! `RequestCtx`, call one use case, map the result. Every error goes through `error::spec`, the
//! one table from error kind to HTTP status, gRPC code and envelope fields.

pub mod client_ip;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod request_id;
pub mod rest;

pub use error::ApiError;
