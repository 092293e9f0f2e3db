//! Webhook delivery with the in-memory ports: events become deliveries, a failure is retried
//! after the base delay (doubling), a success clears the endpoint's failing state, an endpoint
//! failing long enough is disabled (audited), a rotated secret signs next to the new one.

use std::sync::atomic::Ordering;
use std::time::Duration;

use authservice_application::ports::StoredEndpoint;
use authservice_application::webhooks::{DeliverWebhooks, DeliveryConfig};
use authservice_domain::webhook::{DeliveryStatus, WebhookEndpoint, new_secret};
use authservice_domain::{ActorType, AuditEvent};
use authservice_test_support::World;
use serde_json::json;
use uuid::Uuid;

fn event(world: &World, kind: &str) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        occurred_at: world.ports.clock.now(),
        client_id: Some(world.client.id),
        user_id: None,
        event_type: kind.to_owned(),
        actor_type: ActorType::System,
        actor_id: None,
        target_type: None,
        target_id: None,
        request_id: None,
        ip: None,
        user_agent: None,
        metadata: json!({}),
        before: None,
        after: None,
    }
}

async fn endpoint(world: &World, previous: bool) -> WebhookEndpoint {
    let now = world.ports.clock.now();
    let seal = |b: &[u8; 32]| {
        world
            .ports
            .secret_box
            .seal(new_secret(b).as_bytes())
            .unwrap()
    };
    let endpoint = WebhookEndpoint {
        id: Uuid::now_v7(),
        client_id: world.client.id,
        url: "https://hooks.example.com/in".to_owned(),
        event_types: vec!["user.signed_up".to_owned()],
        enabled: true,
        previous_secret_expires_at: previous.then(|| now + chrono::Duration::hours(1)),
        failing_since: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    let stored = StoredEndpoint {
        endpoint: endpoint.clone(),
        secret: seal(&[1; 32]),
        previous_secret: previous.then(|| seal(&[2; 32])),
    };
    world
        .ports
        .webhooks
        .insert_endpoint(&stored, &event(world, "webhook.created"))
        .await
        .unwrap();
    endpoint
}

fn deliverer(world: &World) -> DeliverWebhooks {
    DeliverWebhooks::new(
        &world.ports,
        DeliveryConfig {
            retry_base: Duration::from_secs(30),
            disable_after: Duration::from_secs(3600),
        },
    )
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff_and_then_succeeds() {
    let world = World::new();
    let hook = endpoint(&world, true).await;
    let deliver = deliverer(&world);
    world
        .ports
        .audit
        .record(&event(&world, "user.signed_up"))
        .await
        .unwrap();
    world
        .ports
        .audit
        .record(&event(&world, "user.logged_in"))
        .await
        .unwrap();
    assert!(deliver.dispatch(100).await.unwrap() >= 2);

    world.webhook_sender.status.store(503, Ordering::Relaxed);
    assert_eq!(
        deliver.deliver_due(10).await.unwrap(),
        1,
        "only the subscribed type"
    );
    let log = world
        .ports
        .webhooks
        .deliveries(hook.id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].status, log[0].attempts, log[0].response_status),
        (DeliveryStatus::Pending, 1, Some(503))
    );
    // Not due before the base delay; due after it.
    world.clock.advance(Duration::from_secs(29));
    assert_eq!(deliver.deliver_due(10).await.unwrap(), 0);
    world.clock.advance(Duration::from_secs(2));
    assert_eq!(deliver.deliver_due(10).await.unwrap(), 1);
    let log = world
        .ports
        .webhooks
        .deliveries(hook.id, None, None, 10)
        .await
        .unwrap();
    let next = log[0].next_attempt_at.unwrap();
    assert_eq!(
        next - world.ports.clock.now(),
        chrono::Duration::seconds(60),
        "doubled"
    );

    world.webhook_sender.status.store(200, Ordering::Relaxed);
    world.clock.advance(Duration::from_secs(61));
    assert_eq!(deliver.deliver_due(10).await.unwrap(), 1);
    let log = world
        .ports
        .webhooks
        .deliveries(hook.id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (log[0].status, log[0].attempts),
        (DeliveryStatus::Succeeded, 3)
    );
    let stored = world
        .ports
        .webhooks
        .endpoint(world.client.id, hook.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.endpoint.failing_since.is_none());
    // Every attempt carried the same message id and both secrets' signatures.
    let sent = world.webhook_sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|s| s.1 == sent[0].1 && s.3 == 2));
    let body: serde_json::Value = serde_json::from_str(&sent[0].2).unwrap();
    assert_eq!(body["type"], "user.signed_up");
}

#[tokio::test]
async fn an_endpoint_failing_for_long_enough_is_disabled() {
    let world = World::new();
    let hook = endpoint(&world, false).await;
    let deliver = deliverer(&world);
    world.webhook_sender.status.store(0, Ordering::Relaxed);
    for _ in 0..4 {
        world
            .ports
            .audit
            .record(&event(&world, "user.signed_up"))
            .await
            .unwrap();
        deliver.dispatch(100).await.unwrap();
        deliver.deliver_due(10).await.unwrap();
        world.clock.advance(Duration::from_secs(25 * 60));
    }
    let stored = world
        .ports
        .webhooks
        .endpoint(world.client.id, hook.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.endpoint.enabled);
    assert_eq!(stored.endpoint.disabled_reason.as_deref(), Some("failing"));
    let trail = world
        .ports
        .audit
        .list(&Default::default(), None, 100)
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.event_type == "webhook.disabled"));
    // A disabled endpoint gets nothing more.
    world
        .ports
        .audit
        .record(&event(&world, "user.signed_up"))
        .await
        .unwrap();
    deliver.dispatch(100).await.unwrap();
    world.clock.advance(Duration::from_secs(3600 * 7));
    assert_eq!(deliver.deliver_due(10).await.unwrap(), 0);
}
