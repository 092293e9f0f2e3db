//! The login challenge: started by a password login when the user has TOTP enabled, completed
//! by one correct factor (TOTP code, recovery code or passkey), dead after 5 wrong codes or 5
//! minutes.

use authservice_domain::EventType;
use authservice_domain::sign_in::{self, AuthMethod, Proof, SecondFactors};
use authservice_domain::{Client, ClientId, User, UserId};
use serde_json::json;

use super::{
    CHALLENGE_TTL, MfaError, new_token, normalise_recovery_code, recovery_digest, token_key,
};
use crate::audit::record_quietly;
use crate::auth::{AuthConfig, IssuedTokens, login_event, prepare_session};
use crate::context::RequestCtx;
use crate::limits::{Limit, Slot, subject};
use crate::ports::Ports;

/// The second factors entered as a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFactor {
    Totp,
    RecoveryCode,
}

/// What a password login answers instead of tokens when a second factor is needed.
#[derive(Clone)]
pub struct TwoFactorChallenge {
    pub token: secrecy::SecretString,
    /// `totp`, `recovery_code`, `passkey`: the factors that can complete it.
    pub methods: Vec<&'static str>,
    pub expires_in: u64,
}

impl std::fmt::Debug for TwoFactorChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorChallenge")
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

/// The factor that started a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFactor {
    Password,
    MagicLink,
    /// A social provider's sign-in.
    Federated,
}

impl FirstFactor {
    fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::MagicLink => "magic_link",
            Self::Federated => "federated",
        }
    }
}

/// Starts a challenge for `user`, who just passed `first`, completable by `methods` (from the
/// sign-in gate's [`authservice_domain::sign_in::Admission::SecondFactor`]).
pub async fn start_challenge(
    ports: &Ports,
    ctx: &RequestCtx,
    client: &Client,
    user: &User,
    first: FirstFactor,
    methods: Vec<&'static str>,
) -> anyhow::Result<TwoFactorChallenge> {
    let token = new_token(ports);
    let state = json!({
        "client_id": client.id.to_string(),
        "user_id": user.id.to_string(),
        "first_factor": first.as_str(),
    });
    ports
        .ephemeral
        .put_value(&token_key("2fa", &token), &state.to_string(), CHALLENGE_TTL)
        .await?;
    let mut event = ctx
        .audit(EventType::Login2faRequired)
        .client(client.id)
        .target("user", user.id)
        .metadata(json!({ "methods": methods }))
        .at(ports.clock.now());
    event.user_id = Some(user.id.as_uuid());
    record_quietly(ports, &event).await;
    Ok(TwoFactorChallenge {
        token: token.into(),
        methods,
        expires_in: CHALLENGE_TTL.as_secs(),
    })
}

/// A live challenge: its key, client and user.
pub(crate) struct LiveChallenge {
    pub key: String,
    first_factor: String,
    pub client: Client,
    pub user: User,
    /// The attempt slots this try holds (challenge, user), released on success.
    slots: Vec<Slot>,
}

pub struct CompleteChallenge {
    ports: Ports,
    config: AuthConfig,
}

impl CompleteChallenge {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// The live challenge of `token` for the request's client, with one attempt counted (so
    /// parallel guesses cannot exceed the cap).
    pub(crate) async fn load(
        &self,
        ctx: &RequestCtx,
        token: &str,
        count_attempt: bool,
    ) -> Result<LiveChallenge, MfaError> {
        self.load_key(ctx, token_key("2fa", token.trim()), count_attempt)
            .await
    }

    /// [`Self::load`] by the challenge's store key (what a passkey ceremony keeps).
    pub(crate) async fn load_key(
        &self,
        ctx: &RequestCtx,
        key: String,
        count_attempt: bool,
    ) -> Result<LiveChallenge, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let stored = self
            .ports
            .ephemeral
            .get_value(&key)
            .await?
            .ok_or(MfaError::ChallengeInvalid)?;
        let state: serde_json::Value =
            serde_json::from_str(&stored).map_err(anyhow::Error::from)?;
        let field = |name: &str| state.get(name).and_then(serde_json::Value::as_str);
        let owner = field("client_id").and_then(|c| ClientId::parse(c).ok());
        let user_id = field("user_id").and_then(|u| UserId::parse(u).ok());
        let (Some(owner), Some(user_id)) = (owner, user_id) else {
            return Err(MfaError::ChallengeInvalid);
        };
        if owner != client.id {
            return Err(MfaError::ChallengeInvalid);
        }
        let first_factor = field("first_factor").unwrap_or("password").to_owned();
        let mut slots = Vec::new();
        if count_attempt {
            // Per user across challenges (a correct password must not buy unlimited guesses by
            // starting new challenges), and per challenge (the 5th wrong answer ends it).
            let limits = &self.ports.limits;
            let per_user = limits
                .take(Limit::ChallengeUser, &subject::user(client.id, user_id))
                .await?
                .map_err(|retry_after| MfaError::RateLimited { retry_after })?;
            slots.push(per_user);
            match limits.take(Limit::ChallengeAttempt, &key).await? {
                Ok(slot) => slots.push(slot),
                Err(_) => {
                    self.ports.ephemeral.take(&key).await?;
                    return Err(MfaError::ChallengeInvalid);
                }
            }
        }
        let user = self
            .ports
            .users
            .get(client.id, user_id)
            .await?
            .ok_or(MfaError::ChallengeInvalid)?
            .user;
        let proof = Proof::SecondFactor {
            address_proven: first_factor == FirstFactor::MagicLink.as_str(),
        };
        sign_in::admit(client, &user, proof, SecondFactors::default())?;
        Ok(LiveChallenge {
            key,
            first_factor,
            client: client.clone(),
            user,
            slots,
        })
    }

    /// A wrong factor: audited; the attempt stays counted, and the 5th kills the challenge.
    pub(crate) async fn wrong(
        &self,
        ctx: &RequestCtx,
        challenge: &LiveChallenge,
        method: &str,
        error: MfaError,
    ) -> MfaError {
        let exhausted = matches!(
            self.ports
                .limits
                .check(Limit::ChallengeAttempt, &challenge.key)
                .await,
            Ok(Err(_))
        );
        if exhausted {
            let _ = self.ports.ephemeral.take(&challenge.key).await;
        }
        let mut event = ctx
            .audit(EventType::TwoFactorFailed)
            .client(challenge.client.id)
            .target("user", challenge.user.id)
            .metadata(json!({ "method": method, "reason": error.to_string(), "challenge_closed": exhausted }))
            .at(self.ports.clock.now());
        event.user_id = Some(challenge.user.id.as_uuid());
        record_quietly(&self.ports, &event).await;
        error
    }

    /// Ends the challenge (single use) and starts the session.
    pub(crate) async fn succeed(
        &self,
        ctx: &RequestCtx,
        challenge: LiveChallenge,
        method: &str,
    ) -> Result<IssuedTokens, MfaError> {
        if self.ports.ephemeral.take(&challenge.key).await?.is_none() {
            // Completed (or killed) by a concurrent request.
            return Err(MfaError::ChallengeInvalid);
        }
        for slot in challenge.slots {
            let _ = self.ports.limits.give_back(slot).await;
        }
        let now = self.ports.clock.now();
        let mut user = challenge.user;
        user.last_login_at = Some(now);
        let methods: Vec<AuthMethod> = [challenge.first_factor.as_str(), method]
            .into_iter()
            .filter_map(AuthMethod::parse)
            .collect();
        let prepared = prepare_session(
            &self.ports,
            &self.config,
            ctx,
            &challenge.client,
            user,
            &methods,
        )
        .await?;
        let mut login = login_event(&self.ports, ctx, &prepared);
        login.metadata["method"] = json!(format!("{}+{method}", challenge.first_factor));
        self.ports
            .sessions
            .create(&prepared.session, &login)
            .await?;
        Ok(prepared.tokens)
    }

    /// Completes a challenge with a code of `factor`.
    pub async fn with_code(
        &self,
        ctx: &RequestCtx,
        factor: CodeFactor,
        token: &str,
        code: &str,
    ) -> Result<IssuedTokens, MfaError> {
        match factor {
            CodeFactor::Totp => self.with_totp(ctx, token, code).await,
            CodeFactor::RecoveryCode => self.with_recovery_code(ctx, token, code).await,
        }
    }

    /// Completes a challenge with a TOTP code.
    pub async fn with_totp(
        &self,
        ctx: &RequestCtx,
        token: &str,
        code: &str,
    ) -> Result<IssuedTokens, MfaError> {
        let challenge = self.load(ctx, token, true).await?;
        match super::totp::check_code(&self.ports, &challenge.client, &challenge.user, code).await {
            Ok(()) => self.succeed(ctx, challenge, "totp").await,
            Err(err @ (MfaError::WrongCode | MfaError::CodeReused | MfaError::NotEnabled)) => {
                Err(self.wrong(ctx, &challenge, "totp", err).await)
            }
            Err(err) => Err(err),
        }
    }

    /// Completes a challenge with a recovery code (which is then used up).
    pub async fn with_recovery_code(
        &self,
        ctx: &RequestCtx,
        token: &str,
        code: &str,
    ) -> Result<IssuedTokens, MfaError> {
        let challenge = self.load(ctx, token, true).await?;
        let used = match normalise_recovery_code(code) {
            Some(code) => {
                let digest = recovery_digest(&self.ports, challenge.user.id, &code);
                self.ports
                    .mfa
                    .use_recovery_code(
                        challenge.client.id,
                        challenge.user.id,
                        &digest,
                        self.ports.clock.now(),
                    )
                    .await?
            }
            None => false,
        };
        if !used {
            return Err(self
                .wrong(ctx, &challenge, "recovery_code", MfaError::WrongCode)
                .await);
        }
        let remaining = self
            .ports
            .mfa
            .recovery_code_counts(challenge.client.id, challenge.user.id)
            .await?
            .0;
        let mut event = ctx
            .audit(EventType::RecoveryCodeUsed)
            .client(challenge.client.id)
            .target("user", challenge.user.id)
            .metadata(json!({ "remaining": remaining }))
            .at(self.ports.clock.now());
        event.user_id = Some(challenge.user.id.as_uuid());
        record_quietly(&self.ports, &event).await;
        self.succeed(ctx, challenge, "recovery_code").await
    }
}
