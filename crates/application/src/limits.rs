//! Every rate limit of the service, in one table: what it counts, under which key, its default
//! rule and the setting that changes it. Use cases name a [`Limit`]; [`Limits`] builds the key,
//! applies the configured rule and hands out a [`Slot`] that can be given back (an attempt that
//! turned out legitimate is not counted).
//!
//! Every limit is configured the same way: its setting (`LOGIN_RATE_LIMIT`, ...) takes a count
//! (`10`, keeping the default window) or a count and a window (`10/15m`). docs/api.md lists the
//! table (checked by a test).

use std::sync::Arc;
use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::{ClientId, Email, UserId};

use crate::context::{RequestCtx, ip_bucket};
use crate::ports::{RateDecision, RateLimiter, RateRule};

/// A rate limit, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Signup,
    Login,
    LoginFailure,
    LoginLock,
    PasskeyBegin,
    EmailIp,
    EmailClient,
    EmailAddress,
    ChangePassword,
    Reauthenticate,
    TotpSetup,
    TotpCode,
    ChallengeAttempt,
    ChallengeUser,
    AdminFailure,
    AdminFailureAudit,
    OAuthClientFailure,
    Authorize,
    SsoStart,
    ScimRequest,
    AdminLoginFailure,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct LimitSpec {
    pub limit: Limit,
    /// Key prefix in the limiter (`login` → `login:{subject}`).
    pub name: &'static str,
    /// The subject the limit counts under, as documented.
    pub subject: &'static str,
    pub default: RateRule,
    /// The setting that changes it: `N` or `N/window`.
    pub setting: &'static str,
    pub counts: &'static str,
}

const fn rule(limit: u32, secs: u64) -> RateRule {
    RateRule {
        limit,
        window: Duration::from_secs(secs),
    }
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// The catalogue, in [`Limit`] order.
pub const CATALOGUE: [LimitSpec; 21] = [
    LimitSpec {
        limit: Limit::Signup,
        name: "signup",
        subject: "{ip}",
        default: rule(5, HOUR),
        setting: "SIGNUP_RATE_LIMIT",
        counts: "signups per client IP",
    },
    LimitSpec {
        limit: Limit::Login,
        name: "login",
        subject: "{ip}",
        default: rule(10, 15 * MIN),
        setting: "LOGIN_RATE_LIMIT",
        counts: "password logins per client IP",
    },
    LimitSpec {
        limit: Limit::LoginFailure,
        name: "login_fail",
        subject: "{client}:{email digest}",
        default: rule(5, 15 * MIN),
        setting: "LOGIN_FAILURE_RATE_LIMIT",
        counts: "failed logins per email before a lock (`ACCOUNT_LOCKOUT_ENABLED`)",
    },
    LimitSpec {
        limit: Limit::LoginLock,
        name: "login_lock",
        subject: "{client}:{email digest}",
        default: rule(1, 30 * MIN),
        setting: "LOGIN_LOCK_RATE_LIMIT",
        counts: "a lock: its window is how long the email stays locked",
    },
    LimitSpec {
        limit: Limit::PasskeyBegin,
        name: "passkey_begin",
        subject: "{ip}",
        default: rule(30, MIN),
        setting: "PASSKEY_BEGIN_RATE_LIMIT",
        counts: "passkey login ceremonies begun per client IP",
    },
    LimitSpec {
        limit: Limit::EmailIp,
        name: "email_ip",
        subject: "{ip}",
        default: rule(20, HOUR),
        setting: "EMAIL_IP_RATE_LIMIT",
        counts: "emailed links (forgot-password, magic link, resend-verification) per client IP",
    },
    LimitSpec {
        limit: Limit::EmailClient,
        name: "email_client",
        subject: "{client}",
        default: rule(1000, HOUR),
        setting: "EMAIL_CLIENT_RATE_LIMIT",
        counts: "emailed links per client",
    },
    LimitSpec {
        limit: Limit::EmailAddress,
        name: "email_address",
        subject: "{action}:{client}:{email digest}",
        default: rule(3, HOUR),
        setting: "EMAIL_ADDRESS_RATE_LIMIT",
        counts: "emails of one kind (link or notice) to one address",
    },
    LimitSpec {
        limit: Limit::ChangePassword,
        name: "change_password",
        subject: "{client}:{user}",
        default: rule(5, 15 * MIN),
        setting: "CHANGE_PASSWORD_RATE_LIMIT",
        counts: "wrong current passwords on change-password",
    },
    LimitSpec {
        limit: Limit::Reauthenticate,
        name: "reauth",
        subject: "{client}:{user}",
        default: rule(5, 15 * MIN),
        setting: "REAUTH_RATE_LIMIT",
        counts: "failed re-authentications",
    },
    LimitSpec {
        limit: Limit::TotpSetup,
        name: "totp_setup",
        subject: "{client}:{user}",
        default: rule(10, HOUR),
        setting: "TOTP_SETUP_RATE_LIMIT",
        counts: "TOTP secrets generated",
    },
    LimitSpec {
        limit: Limit::TotpCode,
        name: "totp_code",
        subject: "{client}:{user}",
        default: rule(5, 15 * MIN),
        setting: "TOTP_CODE_RATE_LIMIT",
        counts: "wrong codes when enabling or disabling TOTP",
    },
    LimitSpec {
        limit: Limit::ChallengeAttempt,
        name: "2fa_attempt",
        subject: "{challenge}",
        default: rule(5, 5 * MIN),
        setting: "CHALLENGE_ATTEMPT_RATE_LIMIT",
        counts: "wrong second-factor answers per sign-in challenge (its lifetime)",
    },
    LimitSpec {
        limit: Limit::ChallengeUser,
        name: "2fa_user",
        subject: "{client}:{user}",
        default: rule(10, HOUR),
        setting: "CHALLENGE_USER_RATE_LIMIT",
        counts: "wrong second-factor answers per user, across challenges",
    },
    LimitSpec {
        limit: Limit::AdminFailure,
        name: "admin_auth_fail",
        subject: "{ip}",
        default: rule(10, MIN),
        setting: "ADMIN_FAILURE_RATE_LIMIT",
        counts: "admin API calls without a valid key per client IP",
    },
    LimitSpec {
        limit: Limit::AdminFailureAudit,
        name: "admin_auth_fail_audited",
        subject: "{ip}",
        default: rule(1, MIN),
        setting: "ADMIN_FAILURE_AUDIT_RATE_LIMIT",
        counts: "`admin.auth_rate_limited` audit events per client IP",
    },
    LimitSpec {
        limit: Limit::OAuthClientFailure,
        name: "oauth_client_fail",
        subject: "{ip}",
        default: rule(20, MIN),
        setting: "OAUTH_CLIENT_FAILURE_RATE_LIMIT",
        counts: "failed app or service-account authentications at the OAuth endpoints per client IP (each audited)",
    },
    LimitSpec {
        limit: Limit::Authorize,
        name: "oauth_authorize",
        subject: "{ip}",
        default: rule(60, MIN),
        setting: "OAUTH_AUTHORIZE_RATE_LIMIT",
        counts: "OpenID Connect authorization requests (`/t/{slug}/authorize`) per client IP",
    },
    LimitSpec {
        limit: Limit::SsoStart,
        name: "sso_start",
        subject: "{ip}",
        default: rule(60, MIN),
        setting: "SSO_RATE_LIMIT",
        counts: "enterprise SSO sign-ins begun (`/api/auth/sso…`) per client IP",
    },
    LimitSpec {
        limit: Limit::ScimRequest,
        name: "scim",
        subject: "{directory}",
        default: rule(1200, MIN),
        setting: "SCIM_RATE_LIMIT",
        counts: "SCIM requests (`/scim/v2/{directory}/…`) per directory; over it 429 with `Retry-After`",
    },
    LimitSpec {
        limit: Limit::AdminLoginFailure,
        name: "admin_login_fail",
        subject: "{email digest}:{ip}",
        default: rule(5, 15 * MIN),
        setting: "ADMIN_LOGIN_FAILURE_RATE_LIMIT",
        counts: "failed admin sign-ins (password, TOTP or setup code) per admin email and client IP; over it 429",
    },
];

impl Limit {
    #[must_use]
    pub fn spec(self) -> &'static LimitSpec {
        &CATALOGUE[self as usize]
    }
}

/// The rule of every limit: the defaults, with the configured overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRules([RateRule; CATALOGUE.len()]);

impl Default for RateRules {
    fn default() -> Self {
        Self(CATALOGUE.map(|spec| spec.default))
    }
}

impl RateRules {
    #[must_use]
    pub fn with(mut self, limit: Limit, rule: RateRule) -> Self {
        self.0[limit as usize] = rule;
        self
    }

    #[must_use]
    pub fn get(&self, limit: Limit) -> RateRule {
        self.0[limit as usize]
    }
}

impl Limit {
    /// What a configured rule of this limit must keep: a lock and a "once per window" audit
    /// count exactly one event; a challenge's attempts are counted over at least its lifetime
    /// (a shorter window would give one challenge more wrong answers than its limit).
    ///
    /// # Errors
    /// The rule breaks the limit's meaning (the message says how).
    pub fn check(self, rule: RateRule) -> Result<(), String> {
        match self {
            Self::LoginLock | Self::AdminFailureAudit if rule.limit != 1 => Err(format!(
                "the count must be 1 (one {} per window); set the window, e.g. 1/30m",
                if self == Self::LoginLock {
                    "lock"
                } else {
                    "audit event"
                }
            )),
            Self::ChallengeAttempt if rule.window < crate::mfa::CHALLENGE_TTL => Err(format!(
                "the window must be at least a challenge's lifetime ({}s)",
                crate::mfa::CHALLENGE_TTL.as_secs()
            )),
            _ => Ok(()),
        }
    }
}

/// Parses a limit setting: `N` (the default window) or `N/window` (`10/15m`).
///
/// # Errors
/// A count outside 1..=10,000,000 or a window outside 1 s..=1 day.
pub fn parse_rule(raw: &str, default: RateRule) -> Result<RateRule, String> {
    let (count, window) = match raw.split_once('/') {
        Some((count, window)) => (count, Some(window)),
        None => (raw, None),
    };
    let limit: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=10_000_000).contains(n))
        .ok_or_else(|| {
            format!("'{raw}': the count must be 1 to 10000000 (\"10\" or \"10/15m\")")
        })?;
    let window = match window {
        None => default.window,
        Some(w) => authservice_domain::duration::parse(w.trim())
            .ok()
            .filter(|d| (Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(d))
            .ok_or_else(|| format!("'{raw}': the window must be 1s to 1d (\"10/15m\")"))?,
    };
    Ok(RateRule { limit, window })
}

/// A counted event, which [`Limits::give_back`] uncounts.
#[derive(Debug)]
pub struct Slot {
    key: String,
    ticket: String,
    /// Events the window still had room for after this one.
    pub remaining: u32,
}

/// The limiter with the configured rules.
#[derive(Clone)]
pub struct Limits {
    limiter: Arc<dyn RateLimiter>,
    rules: RateRules,
}

impl Limits {
    #[must_use]
    pub fn new(limiter: Arc<dyn RateLimiter>, rules: RateRules) -> Self {
        Self { limiter, rules }
    }

    #[must_use]
    pub fn rule(&self, limit: Limit) -> RateRule {
        self.rules.get(limit)
    }

    fn key(limit: Limit, subject: &str) -> String {
        format!("{}:{subject}", limit.spec().name)
    }

    /// Counts one event of `subject` if the window has room: the slot, or how long to wait.
    ///
    /// # Errors
    /// The limiter is unreachable (callers fail closed).
    pub async fn take(
        &self,
        limit: Limit,
        subject: &str,
    ) -> anyhow::Result<Result<Slot, Duration>> {
        let key = Self::key(limit, subject);
        Ok(match self.limiter.hit(&key, self.rule(limit)).await? {
            RateDecision::Allowed { remaining, ticket } => Ok(Slot {
                key,
                ticket,
                remaining,
            }),
            RateDecision::Limited { retry_after } => Err(retry_after),
        })
    }

    /// Whether an event of `subject` would be counted now (nothing is counted): `Err` with how
    /// long to wait when not.
    ///
    /// # Errors
    /// The limiter is unreachable.
    pub async fn check(&self, limit: Limit, subject: &str) -> anyhow::Result<Result<(), Duration>> {
        let key = Self::key(limit, subject);
        Ok(match self.limiter.peek(&key, self.rule(limit)).await? {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { retry_after } => Err(retry_after),
        })
    }

    /// Uncounts `slot` (the attempt turned out legitimate).
    ///
    /// # Errors
    /// The limiter is unreachable.
    pub async fn give_back(&self, slot: Slot) -> anyhow::Result<()> {
        self.limiter.release(&slot.key, &slot.ticket).await
    }
}

/// Subjects, built one way everywhere.
pub mod subject {
    use super::{ClientId, Email, RequestCtx, UserId, hex, ip_bucket, sha256};

    /// The caller's IP (an IPv6 /64 counts as one).
    #[must_use]
    pub fn ip(ctx: &RequestCtx) -> String {
        ip_bucket(ctx.ip)
    }

    #[must_use]
    pub fn user(client: ClientId, user: UserId) -> String {
        format!("{client}:{user}")
    }

    /// An address in a client, as a digest: the limiter never holds addresses.
    #[must_use]
    pub fn email(client: ClientId, email: &str) -> String {
        let normalized = email.trim().to_lowercase();
        format!("{client}:{}", hex(&sha256(normalized.as_bytes())[..16]))
    }

    /// One kind of email (`forgot_password`, `signup_notice`, ...) to an address.
    #[must_use]
    pub fn email_action(action: &str, client: ClientId, email: &Email) -> String {
        format!("{action}:{}", self::email(client, email.as_str()))
    }
}

#[cfg(test)]
mod tests;
