use super::*;

#[test]
fn the_catalogue_is_in_enum_order_with_unique_names_and_settings() {
    for (i, spec) in CATALOGUE.iter().enumerate() {
        assert_eq!(spec.limit as usize, i, "{} out of order", spec.name);
        assert!(spec.setting.ends_with("_RATE_LIMIT"), "{}", spec.setting);
    }
    let mut names: Vec<_> = CATALOGUE.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CATALOGUE.len());
}

#[test]
fn ipv6_is_counted_per_64() {
    let ip = |raw: &str| ip_bucket(Some(raw.parse().unwrap()));
    assert_eq!(ip("2001:db8:1:2::1"), ip("2001:db8:1:2:ffff::9"));
    assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
    assert_eq!(
        Limits::key(Limit::AdminFailure, &ip("10.0.0.1")),
        "admin_auth_fail:10.0.0.1"
    );
}

#[test]
fn rules_parse_a_count_or_a_count_and_window() {
    let default = rule(5, HOUR);
    assert_eq!(parse_rule("7", default), Ok(rule(7, HOUR)));
    assert_eq!(parse_rule("7/15m", default), Ok(rule(7, 15 * MIN)));
    for bad in ["0", "x", "5/0s", "5/2d", "5/", "-1/1m"] {
        assert!(parse_rule(bad, default).is_err(), "{bad}");
    }
}

#[test]
fn docs_list_the_catalogue() {
    let docs = include_str!("../../../../docs/api.md");
    let section = docs
        .split("### Rate limits")
        .nth(1)
        .and_then(|rest| rest.split("\n#").next())
        .expect("docs/api.md has a \"Rate limits\" section");
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `") && !l.starts_with("| `name"))
        .collect();
    assert_eq!(rows.len(), CATALOGUE.len(), "one row per limit");
    for (row, spec) in rows.iter().zip(CATALOGUE.iter()) {
        let expected = format!(
            "| `{}` | `{}:{}` | {}/{} | `{}` |",
            spec.name,
            spec.name,
            spec.subject,
            spec.default.limit,
            authservice_domain::duration::format(spec.default.window),
            spec.setting,
        );
        assert!(
            row.starts_with(&expected),
            "expected {expected}\n got {row}"
        );
    }
}

#[test]
fn a_lock_counts_one_and_a_challenge_window_covers_its_lifetime() {
    for spec in CATALOGUE {
        assert_eq!(
            spec.limit.check(spec.default),
            Ok(()),
            "{} default",
            spec.name
        );
    }
    assert!(Limit::LoginLock.check(rule(5, 30 * MIN)).is_err());
    assert!(Limit::LoginLock.check(rule(1, HOUR)).is_ok());
    assert!(Limit::AdminFailureAudit.check(rule(2, MIN)).is_err());
    assert!(Limit::ChallengeAttempt.check(rule(5, MIN)).is_err());
    assert!(Limit::ChallengeAttempt.check(rule(3, 10 * MIN)).is_ok());
}
