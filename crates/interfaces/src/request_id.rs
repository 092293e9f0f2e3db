//! Request ids: a caller's id is kept when it is 1–128 of `[A-Za-z0-9._:-]`, else a new one is
//! generated. Used by REST (`X-Request-Id`) and gRPC (`x-request-id` metadata).

/// The caller's id if sane, else a fresh one.
#[must_use]
pub fn accept_or_generate(incoming: Option<&str>) -> String {
    incoming
        .filter(|id| is_sane(id))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

fn is_sane(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sane_ids_only() {
        assert_eq!(accept_or_generate(Some("abc-123_x.y:z")), "abc-123_x.y:z");
        for bad in ["", "a b", "<script>", &"a".repeat(129)] {
            let id = accept_or_generate(Some(bad));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32);
        }
        assert_eq!(accept_or_generate(None).len(), 32);
    }
}
