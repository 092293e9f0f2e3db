//! Its own process (so the peak RSS is this export's): a large audit trail streams out as JSON
//! lines and as CSV with the server's memory flat — pages are read and written one at a time.
//! `AUDIT_EXPORT_EVENTS` sets the size (default 1,000,000).

use reqwest::Method;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// Streams an export; returns (lines, bytes) without keeping it.
async fn export(app: &authservice_tests::TestApp, query: &str) -> (u64, u64) {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/audit-events/export?{query}"),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut res = res;
    while let Some(chunk) = res.chunk().await.expect("the export streams to the end") {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    (lines, bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_audit_export_streams_in_constant_memory() {
    let events: u64 = std::env::var("AUDIT_EXPORT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // The sealer would spend the run linking the million events; this test is about export.
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("AUDIT_CHAIN_INTERVAL", "24h".to_owned())],
        ..Default::default()
    })
    .await;
    let client = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.execute_sql(&format!(
        "INSERT INTO audit_events (id, occurred_at, client_id, event_type, actor_type, actor_id, \
         ip, user_agent, metadata) \
         SELECT gen_random_uuid(), now() - make_interval(secs => g), '{client}', 'user.login', \
         'user', g::text, '203.0.113.7', 'Mozilla/5.0 (export test)', \
         jsonb_build_object('n', g, 'note', 'padding to make each line a realistic size') \
         FROM generate_series(1, {events}) g"
    ))
    .await
    .expect("seed the trail");

    let baseline = status_kib("VmRSS:");
    let started = std::time::Instant::now();
    let (lines, bytes) = export(
        &app,
        &format!("format=jsonl&client_id={client}&event_type=user.login"),
    )
    .await;
    let jsonl_secs = started.elapsed().as_secs_f64();
    assert_eq!(lines, events);
    let started = std::time::Instant::now();
    let (csv_lines, csv_bytes) = export(
        &app,
        &format!("format=csv&client_id={client}&event_type=user.login"),
    )
    .await;
    let csv_secs = started.elapsed().as_secs_f64();
    assert_eq!(csv_lines, events + 1, "a header line, then one per event");
    let peak = status_kib("VmHWM:");
    let grown_mib = peak.saturating_sub(baseline) / 1024;
    println!(
        "audit export of {events} events: jsonl {} MiB in {jsonl_secs:.1} s, csv {} MiB in {csv_secs:.1} s; \
         RSS {} MiB before, peak {} MiB (+{grown_mib} MiB)",
        bytes / 1_048_576,
        csv_bytes / 1_048_576,
        baseline / 1024,
        peak / 1024,
    );
    // The export is far larger than what the process may grow by.
    assert!(bytes / 1_048_576 > 4 * 64 || events < 1_000_000, "{bytes}");
    assert!(
        grown_mib < 64,
        "the export held memory: +{grown_mib} MiB for {} MiB exported",
        bytes / 1_048_576
    );
}
