use super::*;

#[test]
fn internal_hosts_are_recognised() {
    for host in [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "[::1]",
        "fd00::1",
        "100.64.0.1",
    ] {
        assert!(is_internal_host(host), "{host}");
    }
    for host in ["smtp.example.com", "8.8.8.8", "2001:db8::1"] {
        assert!(!is_internal_host(host), "{host}");
    }
    assert!(is_loopback_host("127.0.0.1") && !is_loopback_host("10.0.0.1"));
}
