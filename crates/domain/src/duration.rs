//! Durations as settings write them: `900` (seconds), `900s`, `15m`, `168h`, `7d`, `250ms`.

use std::time::Duration;

/// `900`, `900s`, `15m`, `168h`, `7d` (also `ms`); never zero.
pub fn parse(v: &str) -> Result<Duration, String> {
    let (number, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{v}' is not a duration (e.g. 15m, 168h)"))?;
    if unit == "ms" {
        return if n == 0 {
            Err("must be greater than zero".to_owned())
        } else {
            Ok(Duration::from_millis(n))
        };
    }
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{v}' is not a duration (e.g. 15m, 168h)")),
    };
    let secs = n
        .checked_mul(unit_secs)
        .ok_or_else(|| format!("'{v}' is too long"))?;
    if secs == 0 {
        return Err("must be greater than zero".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

/// The shortest way [`parse`] reads back: `15m`, `1h`, `7d`, `90s`, `250ms`.
#[must_use]
pub fn format(d: Duration) -> String {
    if d.subsec_nanos() != 0 || d.is_zero() {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_refusals() {
        assert_eq!(parse("900"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "0", "0s", "soon", "5w", "-1m", "99999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_what_it_parses() {
        for raw in ["15m", "1h", "7d", "90s", "250ms", "25h"] {
            assert_eq!(format(parse(raw).unwrap()), raw);
        }
    }
}
