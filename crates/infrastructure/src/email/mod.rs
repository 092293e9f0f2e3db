//! Email adapters: the template renderer (minijinja, files under `templates/email/`), the
//! lettre SMTP mailer with a development folder transport, and the worker's wake-up signal.

mod mailer;
mod templates;

pub use mailer::{MailTransport, SmtpMailer};
pub use templates::TemplateRenderer;

use std::sync::Arc;

use authservice_application::ports::OutboxSignal;
use tokio::sync::Notify;

/// Wakes this replica's outbox worker when a message is queued.
#[derive(Clone, Default)]
pub struct NotifySignal(pub Arc<Notify>);

impl OutboxSignal for NotifySignal {
    fn wake(&self) {
        self.0.notify_one();
    }
}
