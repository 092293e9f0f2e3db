//! End-to-end tests over real HTTP and gRPC against real PostgreSQL and Redis.

mod account_settings;
mod accounts;
mod admin_auth;
mod auth_helpers;
mod clients;
mod cookies;
mod domains;
mod email;
mod grpc;
mod grpc_auth;
mod mfa;
mod oidc_apps;
mod oidc_flow;
mod operations;
mod organizations;
mod pages;
mod passkeys;
mod pipeline;
mod saml;
mod service_accounts;
mod signing_keys;
mod social;
mod social_providers;
mod sso;
mod token_validation;
mod validator;
