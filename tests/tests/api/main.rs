//! End-to-end tests over real HTTP and gRPC against real PostgreSQL and Redis.

mod accounts;
mod admin_auth;
mod clients;
mod grpc;
mod operations;
mod pipeline;
