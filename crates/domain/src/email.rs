//! Email: one-time token purposes and their lifetimes, message locales, tenant branding, and a
//! client's email settings (sender, link base, optional own SMTP server).

use std::time::Duration;

use crate::client::{Client, ValidationError};
use crate::user::Email;

/// What a one-time emailed token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    MagicLink,
}

impl TokenPurpose {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::MagicLink => "magic_link",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "verify_email" => Ok(Self::VerifyEmail),
            "reset_password" => Ok(Self::ResetPassword),
            "magic_link" => Ok(Self::MagicLink),
            other => Err(ValidationError::new(
                "purpose",
                format!("unknown token purpose '{other}'"),
            )),
        }
    }

    /// How long a token lives: verify 24 h, reset 1 h, magic link 15 min.
    #[must_use]
    pub fn ttl(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::from_secs(24 * 3600),
            Self::ResetPassword => Duration::from_secs(3600),
            Self::MagicLink => Duration::from_secs(15 * 60),
        }
    }

    /// The path (under the link base) the emailed link opens.
    #[must_use]
    pub fn link_path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email.html",
            Self::ResetPassword => "/reset-password.html",
            Self::MagicLink => "/api/auth/magic-link/verify",
        }
    }
}

/// A security notice to an account's owner: something changed (or was tried) that they should
/// know about. Carries no token; its link opens the account page (or the sign-in page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    PasskeyAdded,
    PasskeyRemoved,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    PasswordChanged,
    /// Someone tried to sign up with an address that already has an account.
    SignupWithExistingAccount,
    /// An operator removed the account's second factors (TOTP, recovery codes, passkeys).
    SecondFactorsReset,
    /// The account's address was changed (sent to the old address).
    EmailChanged,
}

impl Notice {
    pub const ALL: [Self; 9] = [
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::TotpEnabled,
        Self::TotpDisabled,
        Self::RecoveryCodesRegenerated,
        Self::PasswordChanged,
        Self::SignupWithExistingAccount,
        Self::SecondFactorsReset,
        Self::EmailChanged,
    ];

    /// The message's name (its strings section is `notice_<name>`, its outbox kind too).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::PasswordChanged => "password_changed",
            Self::SignupWithExistingAccount => "signup_existing_account",
            Self::SecondFactorsReset => "second_factors_reset",
            Self::EmailChanged => "email_changed",
        }
    }

    /// The hosted page the notice links to.
    #[must_use]
    pub fn link_path(self) -> &'static str {
        match self {
            Self::SignupWithExistingAccount => "/login.html",
            _ => "/account.html",
        }
    }
}

/// What an email says: a one-time link for a purpose, or a security notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    Link(TokenPurpose),
    Notice(Notice),
    /// An invitation into an organization (placeholders `{org}`, `{inviter}`, `{role}`,
    /// `{days}`).
    Invitation,
}

impl Message {
    /// The strings section of the message in the locale files.
    #[must_use]
    pub fn strings_key(self) -> String {
        match self {
            Self::Link(purpose) => purpose.as_str().to_owned(),
            Self::Notice(notice) => format!("notice_{}", notice.as_str()),
            Self::Invitation => "organization_invitation".to_owned(),
        }
    }

    /// The template the message renders with.
    #[must_use]
    pub fn template(self) -> &'static str {
        match self {
            Self::Link(_) | Self::Invitation => "link",
            Self::Notice(_) => "notice",
        }
    }
}

/// The languages messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    De,
    Fr,
    Es,
}

impl Locale {
    pub const ALL: [Self; 4] = [Self::En, Self::De, Self::Fr, Self::Es];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
        }
    }

    /// The supported language of a BCP 47 tag (`de-AT` → de), if any.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        let lang = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == lang)
    }

    /// The user's language, else the client's, else English.
    #[must_use]
    pub fn resolve(user: Option<&str>, client: Option<&str>) -> Self {
        user.and_then(Self::from_tag)
            .or_else(|| client.and_then(Self::from_tag))
            .unwrap_or_default()
    }
}

/// How a tenant's messages look, from `client.settings.auth_ui`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub name: String,
    /// An absolute https (or http) URL.
    pub logo_url: Option<String>,
    /// `#rgb` or `#rrggbb`.
    pub primary_color: String,
    /// `auth_ui.locale`: the client's default language.
    pub locale: Option<String>,
}

impl Branding {
    pub const DEFAULT_COLOR: &'static str = "#2563eb";

    /// The branding of `client` (its `auth_ui` policy, validated when written).
    #[must_use]
    pub fn of(client: &Client) -> Self {
        let ui = &client.policy().auth_ui;
        Self {
            name: ui
                .brand_name
                .clone()
                .unwrap_or_else(|| client.name.as_str().to_owned()),
            logo_url: ui.logo_url.clone(),
            primary_color: ui
                .primary_color
                .clone()
                .unwrap_or_else(|| Self::DEFAULT_COLOR.to_owned()),
            locale: ui.locale.clone(),
        }
    }
}

/// The base of emailed links: an http(s) URL without query, fragment or credentials, kept
/// without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBase(String);

impl LinkBase {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let url = url::Url::parse(raw)
            .map_err(|_| ValidationError::new(field, "must be an absolute http(s) URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ValidationError::new(field, "must be an http or https URL"));
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || raw.len() > 1024
        {
            return Err(ValidationError::new(
                field,
                "must be at most 1024 characters, without credentials, query or fragment",
            ));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]` of the base.
    #[must_use]
    pub fn origin(&self) -> String {
        url::Url::parse(&self.0)
            .map_or_else(|_| self.0.clone(), |u| u.origin().ascii_serialization())
    }

    /// The link that carries `token` for `purpose`.
    #[must_use]
    pub fn link(&self, purpose: TokenPurpose, token: &str) -> String {
        self.page(purpose.link_path(), token)
    }

    /// The page at `path` under this base carrying `token`.
    #[must_use]
    pub fn page(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.0)
    }
}

/// How to talk to an SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain text (loopback or a trusted network only).
    None,
    /// Upgrade with STARTTLS (required, not opportunistic).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            other => Err(ValidationError::new(
                "smtp.tls",
                format!("'{other}' is not one of none, starttls, tls"),
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }
}

/// A client's own SMTP server (its password is kept sealed, separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub tls: SmtpTls,
}

impl SmtpServer {
    pub fn parse(
        host: &str,
        port: Option<u16>,
        username: Option<&str>,
        tls: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let host = host.trim();
        if host.is_empty()
            || host.len() > 253
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(ValidationError::new(
                "smtp.host",
                "must be a host name or IP address",
            ));
        }
        let tls = tls.map(SmtpTls::parse).transpose()?.unwrap_or_default();
        let port = match port {
            Some(0) => return Err(ValidationError::new("smtp.port", "must be 1-65535")),
            Some(p) => p,
            None => match tls {
                SmtpTls::Tls => 465,
                SmtpTls::StartTls => 587,
                SmtpTls::None => 25,
            },
        };
        let username = username.map(str::trim).filter(|u| !u.is_empty());
        if username.is_some_and(|u| u.len() > 256) {
            return Err(ValidationError::new(
                "smtp.username",
                "must be at most 256 characters",
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            username: username.map(str::to_owned),
            tls,
        })
    }
}

/// A client's email settings. Every field is optional; unset ones fall back to the server's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientEmailConfig {
    pub from_name: Option<String>,
    pub from_email: Option<Email>,
    pub reply_to: Option<Email>,
    pub base_url: Option<LinkBase>,
    pub smtp: Option<SmtpServer>,
}

/// A sender display name: 1–100 characters without control characters.
pub fn parse_sender_name(raw: &str) -> Result<Option<String>, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "from_name",
            "must be at most 100 characters without control characters",
        ));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests;
