//! Webhooks: a client's endpoints (operators manage them, `clients:update`), and the delivery
//! of its audit events to them — queued by a dispatcher that follows the audit trail, signed
//! per Standard Webhooks, retried with exponential backoff for a day, logged, replayable.

mod deliver;
mod manage;

pub use deliver::{DeliverWebhooks, DeliveryConfig, message_body};
pub use manage::{
    CreatedEndpoint, EndpointInput, ManageWebhooks, WebhookError, WebhookSettings,
    endpoint_snapshot,
};
