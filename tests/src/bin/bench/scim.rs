//! `BENCH_ONLY=scim`: a SCIM directory of 100,000 users (seeded in SQL), then `GET /Users` with
//! an indexed `userName eq` filter for random users, 8 concurrent callers for `secs`.

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use super::m2m::{Request, phase};
use super::ms;

/// Users in the directory.
const USERS: u64 = 100_000;

pub async fn benchmarks(
    http: &reqwest::Client,
    base: &str,
    admin_key: &str,
    api_key: &str,
    client_id: &str,
    secs: u64,
) -> anyhow::Result<Vec<String>> {
    // An organization (its owner signs up) that owns bench.test, and a directory of it.
    let owner: Value = http
        .post(format!("{base}/api/auth/signup"))
        .header("X-API-Key", api_key)
        .json(&json!({ "email": "owner@bench.test", "password": super::PASSWORD, "token_transport": "json" }))
        .send()
        .await?
        .json()
        .await?;
    let token = owner["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("signup: {owner}"))?;
    let org: Value = http
        .post(format!("{base}/api/auth/organizations"))
        .header("X-API-Key", api_key)
        .bearer_auth(token)
        .json(&json!({ "name": "Bench Org" }))
        .send()
        .await?
        .json()
        .await?;
    let org_id = org["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("organization: {org}"))?
        .to_owned();
    let database = std::env::var("DATABASE_URL")?;
    let mut db = AsyncPgConnection::establish(&database).await?;
    // The domain proven (the DNS check is not what is measured).
    diesel::sql_query(format!(
        "INSERT INTO organization_domains (id, client_id, organization_id, domain, status, txt_name, \
         txt_value, created_at, verified_at) VALUES (gen_random_uuid(), '{client_id}', '{org_id}', \
         'bench.test', 'verified', '_x.bench.test', 'x', now(), now())"
    ))
    .execute(&mut db)
    .await?;
    let directory: Value = http
        .post(format!(
            "{base}/api/admin/clients/{client_id}/scim-directories"
        ))
        .header("X-Admin-Key", admin_key)
        .json(&json!({ "organization_id": org_id, "name": "Bench" }))
        .send()
        .await?
        .json()
        .await?;
    let dir = directory["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("directory: {directory}"))?
        .to_owned();
    let scim_token = directory["token"].as_str().unwrap_or_default().to_owned();
    println!("seeding {USERS} SCIM users ...");
    diesel::sql_query(format!(
        "INSERT INTO users (id, client_id, email, email_verified, role, status, totp_enabled, \
         created_at, updated_at) SELECT gen_random_uuid(), '{client_id}', 'u' || i || '@bench.test', \
         true, 'user', 'active', false, now(), now() FROM generate_series(1, {USERS}) AS i"
    ))
    .execute(&mut db)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO scim_users (id, directory_id, client_id, user_id, user_name, external_id, active, \
         attributes, version, created_at, updated_at) SELECT gen_random_uuid(), '{dir}', client_id, id, \
         email, 'ext-' || email, true, jsonb_build_object('emails', jsonb_build_array(\
         jsonb_build_object('value', email, 'primary', true)), 'displayName', email), 1, now(), now() \
         FROM users WHERE client_id = '{client_id}' AND email LIKE 'u%@bench.test'"
    ))
    .execute(&mut db)
    .await?;
    diesel::sql_query("ANALYZE scim_users")
        .execute(&mut db)
        .await?;

    println!("SCIM userName eq over {USERS} users for {secs}s ...");
    let users = format!("{base}/scim/v2/{dir}/Users");
    let (http, bearer) = (http.clone(), scim_token.clone());
    let request: Request = Arc::new(move |i| {
        // Spread over the directory (a multiplicative hash of the loop counter).
        let n = (i.wrapping_mul(2_654_435_761) % USERS) + 1;
        http.get(&users)
            .bearer_auth(&bearer)
            .query(&[("filter", format!("userName eq \"U{n}@bench.test\""))])
    });
    let (rate, p50, p99, failures) = phase(secs, 8, request, "\"totalResults\":1").await;
    Ok(vec![format!(
        "| SCIM `GET /Users?filter=userName eq \"…\"` over {USERS} users (8 concurrent) | {rate:.0}/s, p50 {}, p99 {}, {failures} failures |",
        ms(p50),
        ms(p99)
    )])
}
