//! The value types of settings and the error that lists every bad one.

use secrecy::SecretString;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// The server's SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub server: authservice_domain::SmtpServer,
    pub password: Option<SecretString>,
}

/// `SameSite` of the refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSameSite {
    Lax,
    Strict,
    None,
}

/// The 32-byte AES-256-GCM key (never printed).
#[derive(Clone)]
pub struct EncryptionKey(pub [u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// All problems found, one line each.
#[derive(Debug)]
pub struct SettingsError(pub Vec<String>);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for line in &self.0 {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}
