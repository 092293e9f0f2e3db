//! The sign-in gate every path goes through: the domain rule
//! ([`authservice_domain::sign_in::admit`]) with the user's second factors looked up only when
//! a first factor needs them.

use authservice_domain::sign_in::{self, Admission, Proof, Refusal, SecondFactors};
use authservice_domain::{Client, User};

use crate::ports::Ports;

/// May `user` of `client` sign in now with `proof`, and what does the session need?
///
/// # Errors
/// The outer error: a store failed. The inner: the sign-in is refused.
pub(crate) async fn admit(
    ports: &Ports,
    client: &Client,
    user: &User,
    proof: Proof,
) -> anyhow::Result<Result<Admission, Refusal>> {
    admit_knowing(ports, client, user, proof, None).await
}

/// [`admit`] when the user's lookup already said whether they have a passkey.
///
/// # Errors
/// The outer error: a store failed. The inner: the sign-in is refused.
pub(crate) async fn admit_knowing(
    ports: &Ports,
    client: &Client,
    user: &User,
    proof: Proof,
    has_passkey: Option<bool>,
) -> anyhow::Result<Result<Admission, Refusal>> {
    // Refusals first: a refused sign-in costs no factor lookup.
    let admission = sign_in::admit(client, user, proof, SecondFactors::default());
    if admission.is_err() || !proof.is_first_factor() {
        return Ok(admission);
    }
    let factors = factors_knowing(ports, client, user, has_passkey).await?;
    Ok(sign_in::admit(client, user, proof, factors))
}

/// The second factors `user` has (recovery codes are looked up only next to one).
///
/// # Errors
/// A store failed.
pub(crate) async fn second_factors(
    ports: &Ports,
    client: &Client,
    user: &User,
) -> anyhow::Result<SecondFactors> {
    factors_knowing(ports, client, user, None).await
}

async fn factors_knowing(
    ports: &Ports,
    client: &Client,
    user: &User,
    has_passkey: Option<bool>,
) -> anyhow::Result<SecondFactors> {
    let passkey = match has_passkey {
        Some(known) => known,
        None => !ports.passkeys.list(client.id, user.id).await?.is_empty(),
    };
    let totp = user.totp_enabled;
    let recovery_codes =
        (totp || passkey) && ports.mfa.recovery_code_counts(client.id, user.id).await?.0 > 0;
    Ok(SecondFactors {
        totp,
        passkey,
        recovery_codes,
    })
}
