//! The password policy: length in characters and bytes (bcrypt reads at most 72 bytes),
//! distinct characters, common or easily guessed passwords (zxcvbn's frequency lists, which
//! include the most common leaked passwords), and the user's own email or name.
//!
//! Every failed rule is reported at once, so a person can fix them all in one go.

use crate::user::Email;

/// Configurable limits (`PASSWORD_*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_bytes: usize,
    pub min_unique: usize,
    pub block_common: bool,
    pub block_user_info: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_bytes: 72,
            min_unique: 4,
            block_common: true,
            block_user_info: true,
        }
    }
}

/// A rule a password broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort { min: usize },
    TooLong { max_bytes: usize },
    TooFewUniqueCharacters { min: usize },
    Common,
    ContainsUserInfo,
}

impl PasswordRule {
    /// Stable code, part of the API.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::TooFewUniqueCharacters { .. } => "too_few_unique_characters",
            Self::Common => "common_password",
            Self::ContainsUserInfo => "contains_user_info",
        }
    }

    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::TooShort { min } => format!("must be at least {min} characters"),
            Self::TooLong { max_bytes } => format!("must be at most {max_bytes} bytes"),
            Self::TooFewUniqueCharacters { min } => {
                format!("must contain at least {min} different characters")
            }
            Self::Common => "is too common or too easy to guess".to_owned(),
            Self::ContainsUserInfo => "must not contain your email or name".to_owned(),
        }
    }
}

impl PasswordPolicy {
    /// Every rule `password` breaks (empty when acceptable).
    #[must_use]
    pub fn check(
        &self,
        password: &str,
        email: Option<&Email>,
        display_name: Option<&str>,
    ) -> Vec<PasswordRule> {
        let mut broken = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_length {
            broken.push(PasswordRule::TooShort {
                min: self.min_length,
            });
        }
        let too_long = password.len() > self.max_bytes;
        if too_long {
            broken.push(PasswordRule::TooLong {
                max_bytes: self.max_bytes,
            });
        }
        let mut unique: Vec<char> = password.chars().collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() < self.min_unique {
            broken.push(PasswordRule::TooFewUniqueCharacters {
                min: self.min_unique,
            });
        }
        let user_inputs = user_tokens(email, display_name);
        if self.block_user_info {
            let lowered = password.to_lowercase();
            if user_inputs.iter().any(|t| lowered.contains(t.as_str())) {
                broken.push(PasswordRule::ContainsUserInfo);
            }
        }
        if self.block_common && !too_long && !password.is_empty() && is_common(password) {
            broken.push(PasswordRule::Common);
        }
        broken
    }
}

/// The email local part and name words of four or more characters, lowercased.
fn user_tokens(email: Option<&Email>, display_name: Option<&str>) -> Vec<String> {
    let mut tokens = Vec::new();
    if let Some(email) = email {
        let local = email.local_part().to_lowercase();
        if local.chars().count() >= 3 {
            tokens.push(local.clone());
        }
        tokens.extend(
            local
                .split(|c: char| !c.is_alphanumeric())
                .filter(|t| t.chars().count() >= 4)
                .map(str::to_owned),
        );
    }
    if let Some(name) = display_name {
        tokens.extend(
            name.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|t| t.chars().count() >= 4)
                .map(str::to_owned),
        );
    }
    tokens.sort();
    tokens.dedup();
    tokens
}

/// Common: the whole password is (a variant of) an entry of zxcvbn's leaked-password list, or
/// zxcvbn estimates it falls within 10^6 guesses (score 0–1).
fn is_common(password: &str) -> bool {
    let entropy = zxcvbn::zxcvbn(password, &[]);
    if entropy.score() < zxcvbn::Score::Two {
        return true;
    }
    let len = password.chars().count();
    entropy.sequence().iter().any(|m| {
        m.i == 0
            && m.j + 1 == len
            && matches!(
                &m.pattern,
                zxcvbn::matching::patterns::MatchPattern::Dictionary(d)
                    // The dictionary type is not re-exported; its name is stable.
                    if format!("{:?}", d.dictionary_name) == "Passwords"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rules: &[PasswordRule]) -> Vec<&'static str> {
        rules.iter().map(PasswordRule::code).collect()
    }

    #[test]
    fn good_passwords_pass() {
        let policy = PasswordPolicy::default();
        assert!(
            policy
                .check("correct-Horse-battery-7", None, None)
                .is_empty()
        );
        assert!(policy.check("Tq8#mZ2!vL", None, None).is_empty());
    }

    #[test]
    fn each_rule_is_reported() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            codes(&policy.check("aB3$", None, None)),
            vec!["too_short", "common_password"]
        );
        assert!(codes(&policy.check(&"x9!Q".repeat(20), None, None)).contains(&"too_long"));
        assert!(
            codes(&policy.check("aaaabbbbaaaa", None, None)).contains(&"too_few_unique_characters")
        );
        for common in ["password", "Password1", "qwerty123", "iloveyou", "P@ssw0rd"] {
            assert!(
                codes(&policy.check(common, None, None)).contains(&"common_password"),
                "{common}"
            );
        }
        let email = Email::parse("jonathan.smith@example.com").unwrap();
        assert!(
            codes(&policy.check("Xq!jonathan77z", Some(&email), None))
                .contains(&"contains_user_info")
        );
        assert!(
            codes(&policy.check("Zz!Margarethe-91", None, Some("Margarethe Doe")))
                .contains(&"contains_user_info")
        );
    }

    #[test]
    fn rules_can_be_switched_off() {
        let policy = PasswordPolicy {
            block_common: false,
            block_user_info: false,
            ..PasswordPolicy::default()
        };
        let email = Email::parse("password@example.com").unwrap();
        assert!(policy.check("password", Some(&email), None).is_empty());
    }
}
