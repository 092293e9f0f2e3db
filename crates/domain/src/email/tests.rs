use super::*;

#[test]
fn locales_resolve_user_then_client_then_english() {
    assert_eq!(Locale::resolve(Some("de-AT"), Some("fr")), Locale::De);
    assert_eq!(Locale::resolve(Some("pt-BR"), Some("fr")), Locale::Fr);
    assert_eq!(Locale::resolve(None, Some("es_ES")), Locale::Es);
    assert_eq!(Locale::resolve(None, None), Locale::En);
    assert_eq!(Locale::resolve(Some(""), Some("xx")), Locale::En);
}

#[test]
fn link_bases_are_plain_http_urls() {
    let base = LinkBase::parse("base_url", "https://app.example.com/auth/").unwrap();
    assert_eq!(base.as_str(), "https://app.example.com/auth");
    assert_eq!(base.origin(), "https://app.example.com");
    assert_eq!(
        base.link(TokenPurpose::ResetPassword, "abc"),
        "https://app.example.com/auth/reset-password.html?token=abc"
    );
    for bad in [
        "ftp://x",
        "https://u:p@x",
        "https://x/?q=1",
        "https://x/#f",
        "nope",
    ] {
        assert!(LinkBase::parse("base_url", bad).is_err(), "{bad}");
    }
}

#[test]
fn smtp_ports_follow_the_tls_mode() {
    let s = SmtpServer::parse("smtp.example.com", None, Some(" u "), Some("tls")).unwrap();
    assert_eq!((s.port, s.username.as_deref()), (465, Some("u")));
    assert_eq!(SmtpServer::parse("h", None, None, None).unwrap().port, 587);
    assert!(SmtpServer::parse("bad host", None, None, None).is_err());
    assert!(SmtpServer::parse("h", Some(0), None, None).is_err());
    assert!(SmtpServer::parse("h", None, None, Some("ssl")).is_err());
}
