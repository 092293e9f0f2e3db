//! Sends webhook messages: a POST of the JSON body with the Standard Webhooks headers
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, one signature per key during a secret's overlap), a 5 s
//! timeout, no redirects, and — unless `WEBHOOK_ALLOW_PRIVATE` — only public addresses
//! (checked for the URL and again for every address a name resolves to).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::{SendOutcome, WebhookSender};
use base64::Engine as _;

use crate::idp_http::PublicOnly;

/// How much of an error answer is kept in the delivery log.
const MAX_ERROR: usize = 200;

pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    /// # Errors
    /// The client cannot be built (no TLS backend).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .user_agent("AuthService-Webhooks/1")
            .no_proxy();
        if !allow_private {
            builder = builder.https_only(true).dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private,
        })
    }
}

/// The `webhook-signature` header: `v1,<base64>` for each key, space-separated.
#[must_use]
pub fn signature_header(message_id: &str, timestamp: i64, body: &str, keys: &[Vec<u8>]) -> String {
    keys.iter()
        .map(|key| {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
            let tag =
                aws_lc_rs::hmac::sign(&key, format!("{message_id}.{timestamp}.{body}").as_bytes());
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(
        &self,
        url: &str,
        message_id: &str,
        timestamp: i64,
        body: &str,
        keys: &[Vec<u8>],
    ) -> SendOutcome {
        let started = Instant::now();
        let elapsed =
            |started: Instant| u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        if let Err(e) = authservice_domain::webhook::parse_url(url, self.allow_private) {
            return SendOutcome {
                response_status: None,
                latency_ms: 0,
                error: Some(format!("refused target: {}", e.message)),
            };
        }
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature_header(message_id, timestamp, body, keys),
            )
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let error = (!status.is_success()).then(|| format!("status {}", status.as_u16()));
                SendOutcome {
                    response_status: Some(status.as_u16()),
                    latency_ms: elapsed(started),
                    error,
                }
            }
            Err(e) => {
                let mut message = if e.is_timeout() {
                    "timed out after 5 s".to_owned()
                } else {
                    // The chain of causes, without the URL (it is in the endpoint already).
                    let e = e.without_url();
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        text = format!("{text}: {s}");
                        source = s.source();
                    }
                    text
                };
                message.truncate(MAX_ERROR);
                SendOutcome {
                    response_status: None,
                    latency_ms: elapsed(started),
                    error: Some(message),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signature_header;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .unwrap();
        let header = signature_header(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
            &[key],
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
