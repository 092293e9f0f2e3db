//! RFC 6238 TOTP through totp-rs: SHA-1, 6 digits, 30-second steps, ±1 step of skew.

use authservice_application::ports::{TotpEngine, TotpProvisioning};
use totp_rs::{Algorithm, Secret, Totp};

#[derive(Debug, Clone, Copy, Default)]
pub struct RfcTotp;

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> anyhow::Result<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(issuer)
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP parameters: {e:?}"))
}

impl TotpEngine for RfcTotp {
    fn check(&self, secret: &[u8], code: &str, unix_time: u64) -> Option<u64> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        totp(secret, None, "user").ok()?.check(code, unix_time)
    }

    fn provisioning(
        &self,
        secret: &[u8],
        issuer: &str,
        account: &str,
    ) -> anyhow::Result<TotpProvisioning> {
        // Issuer and account may not contain ':' in an otpauth URI.
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        let totp = totp(secret, Some(&issuer), &account)?;
        Ok(TotpProvisioning {
            secret_base32: Secret::from(secret.to_vec()).to_base32(),
            otpauth_url: totp
                .to_url()
                .map_err(|e| anyhow::anyhow!("otpauth URL: {e:?}"))?,
            qr_png_base64: totp
                .to_qr_base64()
                .map_err(|e| anyhow::anyhow!("QR code: {e:?}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (8-digit vectors truncated to their last 6 digits).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(RfcTotp.check(secret, code, time), Some(time / 30), "{time}");
        }
        assert_eq!(RfcTotp.check(secret, "287082", 59 + 60), None);
        assert_eq!(RfcTotp.check(secret, "28708", 59), None);
    }
}
