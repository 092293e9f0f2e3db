//! Who may sign in now, and what the session needs: one rule for every way in.
//!
//! Every sign-in path (password, passkey, magic link, second-factor challenge, redirect-code
//! exchange, password reset, and each refresh of a session) proves something about the caller and then asks [`admit`]. The
//! answer depends only on the client, the user, what was proven and the user's second factors;
//! later rules (SSO enforcement, MFA policy) belong here too.

use crate::client::Client;
use crate::user::{User, UserStatus};

/// What the caller has just proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The password: a first factor.
    Password,
    /// A magic link opened from the inbox: a first factor that also proves the address.
    MagicLink,
    /// A passkey: strong enough alone.
    Passkey,
    /// The second factor of a challenge begun by a first factor (`address_proven` when that
    /// was a magic link).
    SecondFactor { address_proven: bool },
    /// A redirect code minted when a magic link was opened: a first factor; the address was
    /// proven (and marked verified) when the link was consumed, not now.
    MagicLinkCode,
    /// A redirect code minted after a completed sign-in.
    CompletedSignIn,
    /// A redirect code minted after a consumer identity provider (social sign-in) vouched for
    /// the user: a first factor (the user's own second factor is still asked for).
    ExternalIdentity,
    /// A password-reset link: proves the address; leads to no session by itself.
    PasswordReset,
    /// A refresh token of a live session: the session continues only while the rule holds.
    Refresh,
}

impl Proof {
    /// Whether a second factor is still owed after this proof.
    #[must_use]
    pub fn is_first_factor(self) -> bool {
        matches!(
            self,
            Self::Password | Self::MagicLink | Self::MagicLinkCode | Self::ExternalIdentity
        )
    }

    /// Whether this proof shows the caller reads the account's inbox.
    #[must_use]
    pub fn proves_address(self) -> bool {
        matches!(
            self,
            Self::MagicLink
                | Self::PasswordReset
                | Self::SecondFactor {
                    address_proven: true
                }
        )
    }
}

/// The second factors a user has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondFactors {
    pub totp: bool,
    pub passkey: bool,
    /// Unused recovery codes (they only count next to TOTP or a passkey).
    pub recovery_codes: bool,
}

impl SecondFactors {
    #[must_use]
    pub fn any(self) -> bool {
        self.totp || self.passkey
    }

    /// The ways a challenge can be completed, in the order the pages offer them.
    #[must_use]
    pub fn methods(self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.totp {
            methods.push("totp");
        }
        if self.recovery_codes {
            methods.push("recovery_code");
        }
        if self.passkey {
            methods.push("passkey");
        }
        methods
    }
}

/// A way the user proved who they are when a session began: what the session's `amr`
/// (Authentication Methods References, RFC 8176) and `acr` claims are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    /// A magic link (or its redirect code) opened from the inbox.
    MagicLink,
    Totp,
    RecoveryCode,
    /// A passkey (WebAuthn with user verification).
    Passkey,
    /// An external identity provider (social sign-in); RFC 8176 has no value for it.
    Federated,
}

impl AuthMethod {
    /// The method's name in challenge answers and audit events.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "password" => Self::Password,
            "magic_link" => Self::MagicLink,
            "totp" => Self::Totp,
            "recovery_code" => Self::RecoveryCode,
            "passkey" => Self::Passkey,
            "federated" => Self::Federated,
            _ => return None,
        })
    }

    /// Its `amr` values: `pwd`, `otp` (TOTP and recovery codes), `hwk` + `user` (a key held by
    /// the user, unlocked by user verification) from RFC 8176; `email` for a link from the
    /// inbox, which RFC 8176 has no value for.
    #[must_use]
    pub fn amr_values(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::MagicLink => &["email"],
            Self::Totp | Self::RecoveryCode => &["otp"],
            Self::Passkey => &["hwk", "user"],
            Self::Federated => &[],
        }
    }
}

/// The `amr` of a sign-in by `methods` (in the order used), each value once, with `mfa` when
/// more than one factor was proven — two methods, or a passkey (a possession factor unlocked by
/// a PIN or biometric).
#[must_use]
pub fn amr(methods: &[AuthMethod]) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for value in methods.iter().flat_map(|m| m.amr_values()) {
        if !values.iter().any(|v| v == value) {
            values.push((*value).to_owned());
        }
    }
    if methods.len() > 1 || methods.contains(&AuthMethod::Passkey) {
        values.push("mfa".to_owned());
    }
    values
}

/// The authentication context class (`acr`) of one factor.
pub const ACR_ONE_FACTOR: &str = "urn:authservice:acr:loa1";
/// The authentication context class (`acr`) of more than one factor.
pub const ACR_MULTI_FACTOR: &str = "urn:authservice:acr:loa2";

/// The `acr` of a session with this `amr`: [`ACR_MULTI_FACTOR`] with `mfa`, else
/// [`ACR_ONE_FACTOR`].
#[must_use]
pub fn acr(amr: &[String]) -> &'static str {
    if amr.iter().any(|v| v == "mfa") {
        ACR_MULTI_FACTOR
    } else {
        ACR_ONE_FACTOR
    }
}

/// Why a sign-in is refused although its proof was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this application is suspended")]
    ClientSuspended,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("email address is not verified")]
    EmailNotVerified,
}

impl Refusal {
    /// The reason recorded in audit events.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::ClientSuspended => "client_suspended",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
        }
    }
}

/// What the sign-in leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// A session may start now.
    Session,
    /// A second factor first: a challenge completable by these methods.
    SecondFactor(Vec<&'static str>),
}

/// The rule. `factors` is consulted only after a first factor (see [`Proof::is_first_factor`]).
///
/// # Errors
/// The client is suspended, the user disabled, or the client requires a verified address that
/// this proof does not show and the account has not verified.
pub fn admit(
    client: &Client,
    user: &User,
    proof: Proof,
    factors: SecondFactors,
) -> Result<Admission, Refusal> {
    if !client.is_active() {
        return Err(Refusal::ClientSuspended);
    }
    if user.status != UserStatus::Active {
        return Err(Refusal::AccountDisabled);
    }
    if client.policy().require_verified_email && !user.email_verified && !proof.proves_address() {
        return Err(Refusal::EmailNotVerified);
    }
    if proof.is_first_factor() && factors.any() {
        return Ok(Admission::SecondFactor(factors.methods()));
    }
    Ok(Admission::Session)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::client::{ClientSettings, ClientStatus};
    use crate::testing::{client, user};

    const NONE: SecondFactors = SecondFactors {
        totp: false,
        passkey: false,
        recovery_codes: false,
    };
    const TOTP: SecondFactors = SecondFactors {
        totp: true,
        passkey: false,
        recovery_codes: true,
    };

    fn verified_only() -> Client {
        let mut c = client();
        c.settings = ClientSettings::parse(json!({"require_verified_email": true})).unwrap();
        c
    }

    #[test]
    fn amr_names_each_method_once_and_mfa_for_two_factors_or_a_passkey() {
        use AuthMethod::{MagicLink, Passkey, Password, RecoveryCode, Totp};
        assert_eq!(amr(&[Password]), vec!["pwd"]);
        assert_eq!(acr(&amr(&[Password])), ACR_ONE_FACTOR);
        assert_eq!(amr(&[MagicLink]), vec!["email"]);
        assert_eq!(amr(&[Password, Totp]), vec!["pwd", "otp", "mfa"]);
        assert_eq!(amr(&[MagicLink, RecoveryCode]), vec!["email", "otp", "mfa"]);
        assert_eq!(amr(&[Password, Passkey]), vec!["pwd", "hwk", "user", "mfa"]);
        assert_eq!(amr(&[Passkey]), vec!["hwk", "user", "mfa"]);
        assert_eq!(acr(&amr(&[Passkey])), ACR_MULTI_FACTOR);
        assert_eq!(acr(&[]), ACR_ONE_FACTOR);
        for name in ["password", "magic_link", "totp", "recovery_code", "passkey"] {
            assert!(AuthMethod::parse(name).is_some(), "{name}");
        }
        assert_eq!(AuthMethod::parse("sms"), None);
    }

    #[test]
    fn a_first_factor_owes_the_second_and_the_others_do_not() {
        let (c, u) = (client(), user());
        for proof in [Proof::Password, Proof::MagicLink, Proof::MagicLinkCode] {
            assert_eq!(
                admit(&c, &u, proof, TOTP),
                Ok(Admission::SecondFactor(vec!["totp", "recovery_code"]))
            );
            assert_eq!(admit(&c, &u, proof, NONE), Ok(Admission::Session));
        }
        for proof in [
            Proof::Passkey,
            Proof::SecondFactor {
                address_proven: false,
            },
            Proof::CompletedSignIn,
            Proof::PasswordReset,
            Proof::Refresh,
        ] {
            assert_eq!(admit(&c, &u, proof, TOTP), Ok(Admission::Session));
        }
        // Recovery codes alone are not a second factor.
        let codes_only = SecondFactors {
            recovery_codes: true,
            ..NONE
        };
        assert_eq!(
            admit(&c, &u, Proof::Password, codes_only),
            Ok(Admission::Session)
        );
        let passkey = SecondFactors {
            passkey: true,
            ..NONE
        };
        assert_eq!(
            admit(&c, &u, Proof::Password, passkey),
            Ok(Admission::SecondFactor(vec!["passkey"]))
        );
    }

    #[test]
    fn suspended_clients_and_disabled_users_are_refused_whatever_the_proof() {
        let mut suspended = client();
        suspended.status = ClientStatus::Suspended;
        let mut disabled = user();
        disabled.status = UserStatus::Disabled;
        for proof in [Proof::Password, Proof::Passkey, Proof::PasswordReset] {
            assert_eq!(
                admit(&suspended, &user(), proof, NONE),
                Err(Refusal::ClientSuspended)
            );
            assert_eq!(
                admit(&client(), &disabled, proof, NONE),
                Err(Refusal::AccountDisabled)
            );
        }
    }

    #[test]
    fn the_verified_email_rule_is_met_by_a_verified_account_or_a_proof_of_the_inbox() {
        let c = verified_only();
        let mut u = user();
        u.email_verified = false;
        let after = |address_proven| Proof::SecondFactor { address_proven };
        for proof in [
            Proof::Password,
            Proof::Passkey,
            after(false),
            Proof::MagicLinkCode,
            Proof::CompletedSignIn,
            Proof::Refresh,
        ] {
            assert_eq!(admit(&c, &u, proof, NONE), Err(Refusal::EmailNotVerified));
        }
        for proof in [Proof::MagicLink, Proof::PasswordReset, after(true)] {
            assert_eq!(admit(&c, &u, proof, NONE), Ok(Admission::Session));
        }
        u.email_verified = true;
        assert_eq!(admit(&c, &u, Proof::Password, NONE), Ok(Admission::Session));
        // Off by default.
        u.email_verified = false;
        assert_eq!(
            admit(&client(), &u, Proof::Password, NONE),
            Ok(Admission::Session)
        );
    }
}
