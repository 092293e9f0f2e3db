//! Operators' side of webhooks: endpoints (create, change, delete, rotate the secret), the
//! delivery log and replays.

use authservice_domain::webhook::{
    DeliveryStatus, WebhookEndpoint, new_secret, parse_event_types, parse_url,
};
use authservice_domain::{Client, EventType, Permission, ValidationError};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clients::{ClientActionError, existing_client};
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::{Page, PageRequest};
use crate::ports::{Delivery, Ports, StoredEndpoint};

/// At most this many endpoints per client.
const MAX_ENDPOINTS: usize = 20;
/// A range replay queues at most this many events.
const MAX_REPLAY: usize = 10_000;
/// The longest overlap of a rotated secret.
const MAX_OVERLAP_HOURS: u32 = 720;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("client not found")]
    ClientNotFound,
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("webhook delivery not found")]
    DeliveryNotFound,
    #[error("a client has at most {MAX_ENDPOINTS} webhook endpoints")]
    TooMany,
    #[error(transparent)]
    Page(#[from] crate::pagination::PageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for WebhookError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::ClientNotFound => ErrorKind::ClientNotFound,
            Self::NotFound => ErrorKind::WebhookNotFound,
            Self::DeliveryNotFound => ErrorKind::WebhookDeliveryNotFound,
            Self::TooMany => ErrorKind::Conflict,
            Self::Page(crate::pagination::PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Page(_) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

impl From<ClientActionError> for WebhookError {
    fn from(err: ClientActionError) -> Self {
        match err {
            ClientActionError::Forbidden(f) => Self::Forbidden(f),
            ClientActionError::Invalid(v) => Self::Invalid(v),
            ClientActionError::NotFound | ClientActionError::Conflict => Self::ClientNotFound,
            ClientActionError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// What the server allows endpoints.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_PRIVATE`: loopback, private and link-local targets (and plain http).
    pub allow_private: bool,
}

/// An endpoint's fields as sent: all but `enabled` on create, those present on update.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// An endpoint with its new secret (shown once).
#[derive(Debug)]
pub struct CreatedEndpoint {
    pub endpoint: WebhookEndpoint,
    pub secret: SecretString,
}

/// The audit snapshot (and answer) of an endpoint: never its secrets.
#[must_use]
pub fn endpoint_snapshot(e: &WebhookEndpoint) -> Value {
    json!({
        "id": e.id,
        "client_id": e.client_id.to_string(),
        "url": e.url,
        "event_types": e.event_types,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "failing_since": e.failing_since,
        "previous_secret_expires_at": e.previous_secret_expires_at,
    })
}

pub struct ManageWebhooks {
    ports: Ports,
    settings: WebhookSettings,
}

impl ManageWebhooks {
    #[must_use]
    pub fn new(ports: &Ports, settings: WebhookSettings) -> Self {
        Self {
            ports: ports.clone(),
            settings,
        }
    }

    /// The client, with `permission` and `audit:read` over it: an endpoint receives (and its
    /// log and replays expose) the client's audit events.
    async fn client(
        &self,
        ctx: &RequestCtx,
        client: &str,
        permission: Permission,
    ) -> Result<Client, WebhookError> {
        let client = existing_client(&self.ports, ctx, client, permission).await?;
        ctx.require_for_client(Permission::AuditRead, client.id)?;
        Ok(client)
    }

    async fn load(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        permission: Permission,
    ) -> Result<StoredEndpoint, WebhookError> {
        let client = self.client(ctx, client, permission).await?;
        let id = Uuid::try_parse(id.trim()).map_err(|_| WebhookError::NotFound)?;
        self.ports
            .webhooks
            .endpoint(client.id, id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    fn secret(&self) -> Result<(String, crate::ports::SealedSecret), WebhookError> {
        let secret = new_secret(&self.ports.random.bytes32());
        let sealed = self.ports.secret_box.seal(secret.as_bytes())?;
        Ok((secret, sealed))
    }

    fn event(
        ctx: &RequestCtx,
        event: EventType,
        e: &WebhookEndpoint,
    ) -> crate::context::AuditDraft {
        ctx.audit(event).client(e.client_id).target("webhook", e.id)
    }

    /// Adds an endpoint (`clients:update`); its secret is in this answer only.
    #[tracing::instrument(name = "create_webhook", level = "debug", skip_all)]
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        client: &str,
        input: EndpointInput,
    ) -> Result<CreatedEndpoint, WebhookError> {
        let client = self.client(ctx, client, Permission::ClientsUpdate).await?;
        let url = parse_url(
            input.url.as_deref().unwrap_or_default(),
            self.settings.allow_private,
        )?;
        let event_types = parse_event_types(input.event_types.as_deref().unwrap_or_default())?;
        if self.ports.webhooks.endpoints(client.id).await?.len() >= MAX_ENDPOINTS {
            return Err(WebhookError::TooMany);
        }
        let now = self.ports.clock.now();
        let endpoint = WebhookEndpoint {
            id: Uuid::now_v7(),
            client_id: client.id,
            url,
            event_types,
            enabled: input.enabled.unwrap_or(true),
            previous_secret_expires_at: None,
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let (secret, sealed) = self.secret()?;
        let stored = StoredEndpoint {
            endpoint: endpoint.clone(),
            secret: sealed,
            previous_secret: None,
        };
        let event = Self::event(ctx, EventType::WebhookCreated, &endpoint)
            .after(endpoint_snapshot(&endpoint))
            .at(now);
        self.ports.webhooks.insert_endpoint(&stored, &event).await?;
        Ok(CreatedEndpoint {
            endpoint,
            secret: SecretString::from(secret),
        })
    }

    /// The client's endpoints (`clients:read`).
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        client: &str,
    ) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        let client = self.client(ctx, client, Permission::ClientsRead).await?;
        let all = self.ports.webhooks.endpoints(client.id).await?;
        Ok(all.into_iter().map(|s| s.endpoint).collect())
    }

    /// One endpoint (`clients:read`).
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
    ) -> Result<WebhookEndpoint, WebhookError> {
        Ok(self
            .load(ctx, client, id, Permission::ClientsRead)
            .await?
            .endpoint)
    }

    /// Changes an endpoint (`clients:update`); enabling it again clears why it was disabled.
    #[tracing::instrument(name = "update_webhook", level = "debug", skip_all)]
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        input: EndpointInput,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let mut stored = self
            .load(ctx, client, id, Permission::ClientsUpdate)
            .await?;
        let before = stored.endpoint.clone();
        let e = &mut stored.endpoint;
        if let Some(url) = input.url.as_deref() {
            e.url = parse_url(url, self.settings.allow_private)?;
        }
        if let Some(types) = input.event_types.as_deref() {
            e.event_types = parse_event_types(types)?;
        }
        if let Some(enabled) = input.enabled {
            if enabled && !e.enabled {
                e.disabled_reason = None;
                e.failing_since = None;
            }
            e.enabled = enabled;
        }
        if *e == before {
            return Ok(before);
        }
        let now = self.ports.clock.now();
        e.updated_at = now;
        let endpoint = e.clone();
        let event = Self::event(ctx, EventType::WebhookUpdated, &endpoint)
            .before(endpoint_snapshot(&before))
            .after(endpoint_snapshot(&endpoint))
            .at(now);
        if !self
            .ports
            .webhooks
            .update_endpoint(&stored, Some(&event))
            .await?
        {
            return Err(WebhookError::NotFound);
        }
        Ok(endpoint)
    }

    /// Deletes an endpoint and its delivery log (`clients:update`).
    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
    ) -> Result<(), WebhookError> {
        let stored = self
            .load(ctx, client, id, Permission::ClientsUpdate)
            .await?;
        let e = &stored.endpoint;
        let event = Self::event(ctx, EventType::WebhookDeleted, e)
            .before(endpoint_snapshot(e))
            .at(self.ports.clock.now());
        if !self
            .ports
            .webhooks
            .delete_endpoint(e.client_id, e.id, &event)
            .await?
        {
            return Err(WebhookError::NotFound);
        }
        Ok(())
    }

    /// A new signing secret (`clients:update`); the old one keeps signing next to it for
    /// `overlap_hours` (default 24, 0–720) so receivers can switch without losing messages.
    pub async fn rotate_secret(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        overlap_hours: Option<u32>,
    ) -> Result<CreatedEndpoint, WebhookError> {
        let mut stored = self
            .load(ctx, client, id, Permission::ClientsUpdate)
            .await?;
        let hours = overlap_hours.unwrap_or(24);
        if hours > MAX_OVERLAP_HOURS {
            return Err(ValidationError::new("overlap_hours", "must be 0 to 720").into());
        }
        let now = self.ports.clock.now();
        let (secret, sealed) = self.secret()?;
        let old = std::mem::replace(&mut stored.secret, sealed);
        let expires = now + chrono::Duration::hours(i64::from(hours));
        stored.previous_secret = (hours > 0).then_some(old);
        stored.endpoint.previous_secret_expires_at = (hours > 0).then_some(expires);
        stored.endpoint.updated_at = now;
        let event = Self::event(ctx, EventType::WebhookSecretRotated, &stored.endpoint)
            .metadata(json!({ "previous_expires_at": stored.endpoint.previous_secret_expires_at }))
            .at(now);
        if !self
            .ports
            .webhooks
            .update_endpoint(&stored, Some(&event))
            .await?
        {
            return Err(WebhookError::NotFound);
        }
        Ok(CreatedEndpoint {
            endpoint: stored.endpoint,
            secret: SecretString::from(secret),
        })
    }

    /// The endpoint's delivery log, newest first (`clients:read`).
    pub async fn deliveries(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Delivery>, WebhookError> {
        let stored = self.load(ctx, client, id, Permission::ClientsRead).await?;
        let status = status
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                DeliveryStatus::parse(s).ok_or_else(|| {
                    ValidationError::new("status", "must be pending, succeeded or failed")
                })
            })
            .transpose()?;
        let rows = self
            .ports
            .webhooks
            .deliveries(stored.endpoint.id, status, page.after, page.limit + 1)
            .await?;
        Ok(Page::from_overfetch(rows, page.limit, |d| d.id))
    }

    /// Queues one delivery's event again (`clients:update`): a new delivery, due now.
    pub async fn replay(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        delivery: &str,
    ) -> Result<Delivery, WebhookError> {
        let stored = self
            .load(ctx, client, id, Permission::ClientsUpdate)
            .await?;
        let delivery_id =
            Uuid::try_parse(delivery.trim()).map_err(|_| WebhookError::DeliveryNotFound)?;
        let original = self
            .ports
            .webhooks
            .delivery(stored.endpoint.id, delivery_id)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)?;
        let now = self.ports.clock.now();
        let queued = self
            .ports
            .webhooks
            .replay(&original, Uuid::now_v7(), now)
            .await?;
        let event = Self::event(ctx, EventType::WebhookReplayed, &stored.endpoint)
            .metadata(json!({ "delivery_id": original.id, "event_id": original.event_id }))
            .at(now);
        crate::audit::record_quietly(&self.ports, &event).await;
        Ok(queued)
    }

    /// Queues the client's events of `[from, to)` the endpoint subscribes to (`clients:update`;
    /// at most 10,000 events); how many.
    pub async fn replay_range(
        &self,
        ctx: &RequestCtx,
        client: &str,
        id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, WebhookError> {
        let stored = self
            .load(ctx, client, id, Permission::ClientsUpdate)
            .await?;
        if from >= to {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        let now = self.ports.clock.now();
        let queued = self
            .ports
            .webhooks
            .replay_range(&stored.endpoint, from, to, MAX_REPLAY, now)
            .await?;
        let event = Self::event(ctx, EventType::WebhookReplayed, &stored.endpoint)
            .metadata(json!({ "from": from, "to": to, "queued": queued }))
            .at(now);
        crate::audit::record_quietly(&self.ports, &event).await;
        Ok(queued)
    }
}
