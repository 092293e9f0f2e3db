use super::*;

#[test]
fn docs_list_every_code_with_its_status() {
    let docs = include_str!("../../../../docs/api.md");
    let rows: Vec<&str> = docs
        .lines()
        .skip_while(|l| !l.starts_with("| code | HTTP | gRPC |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), ALL.len(), "one row per code");
    for (row, &kind) in rows.iter().zip(ALL) {
        let s = spec(kind);
        let grpc: String = format!("{:?}", s.grpc)
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                sep.into_iter()
                    .chain(std::iter::once(c.to_ascii_uppercase()))
            })
            .collect();
        let expected = format!(
            "| `{}` | {} | {grpc} | {} |",
            s.code,
            s.status.as_u16(),
            s.title
        );
        assert_eq!(*row, expected);
    }
}

#[test]
fn every_kind_has_a_distinct_code_and_sane_status() {
    // One code names one failure.
    let mut codes = std::collections::HashSet::new();
    for &kind in ALL {
        let s = spec(kind);
        assert!(codes.insert(s.code), "duplicate code {}", s.code);
        assert!(s.status.is_client_error() || s.status.is_server_error());
        assert!(s.auth_code.starts_with("AUTH_"));
        assert!(
            s.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            s.code
        );
    }
}

#[test]
fn retry_after_rounds_up() {
    assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
}

#[test]
fn the_codes_sso_writes_down_are_the_tables() {
    use authservice_application::UseCaseError;
    for error in authservice_application::sso::SsoError::samples() {
        assert_eq!(error.code(), spec(error.kind()).code, "{error:?}");
    }
}
