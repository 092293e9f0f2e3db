use authservice_interfaces::grpc::proto::{
    CreateClientRequest, GetClientRequest, ListClientsRequest, RotateApiKeyRequest,
    RotateJwtSecretRequest,
};
use authservice_tests::spawn_app;
use tonic::{Code, Request};

fn authed<T>(app: &authservice_tests::TestApp, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("x-admin-api-key", app.admin_key.parse().unwrap());
    req
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_service_flows() {
    let app = spawn_app().await;
    let mut grpc = app.grpc_admin().await;

    let created = grpc
        .create_client(authed(
            &app,
            CreateClientRequest {
                name: "Grpc App".into(),
                slug: "grpc-app".into(),
                allowed_origins: vec!["https://grpc.example.com".into()],
                webhook_url: "https://hooks.example.com/x".into(),
                token_mode: String::new(),
                redirect_uris: vec!["https://grpc.example.com/callback".into()],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let client = created.client.unwrap();
    assert_eq!(client.slug, "grpc-app");
    assert_eq!(client.redirect_uris, ["https://grpc.example.com/callback"]);
    assert_eq!(client.status, "active");
    assert_eq!(client.token_mode, "v2_jwks");
    assert!(created.api_key.starts_with("ask_"));
    assert_eq!(created.jwt_secret.len(), 64);

    let got = grpc
        .get_client(authed(
            &app,
            GetClientRequest {
                client_id: client.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.name, "Grpc App");
    assert_eq!(
        got.allowed_origins,
        vec!["https://grpc.example.com".to_owned()]
    );

    grpc.create_client(authed(
        &app,
        CreateClientRequest {
            name: "Second".into(),
            ..Default::default()
        },
    ))
    .await
    .unwrap();
    let page = grpc
        .list_clients(authed(
            &app,
            ListClientsRequest {
                limit: 1,
                cursor: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.clients.len(), 1);
    assert!(!page.next_cursor.is_empty());
    let page2 = grpc
        .list_clients(authed(
            &app,
            ListClientsRequest {
                limit: 1,
                cursor: page.next_cursor,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.clients[0].slug, "second");
    assert!(page2.next_cursor.is_empty());

    let rotated = grpc
        .rotate_api_key(authed(
            &app,
            RotateApiKeyRequest {
                client_id: client.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.api_key, created.api_key);
    let old = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", &created.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    let new = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", &rotated.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);

    let secret = grpc
        .rotate_jwt_secret(authed(
            &app,
            RotateJwtSecretRequest {
                client_id: client.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(secret.jwt_secret.len(), 64);
    assert_ne!(secret.jwt_secret, created.jwt_secret);

    // Errors carry the table's codes.
    let err = grpc
        .get_client(authed(
            &app,
            GetClientRequest {
                client_id: "0190a7c4-0000-7000-8000-000000000000".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        err.metadata().get("x-error-code").unwrap(),
        "client_not_found"
    );
    let err = grpc
        .create_client(authed(
            &app,
            CreateClientRequest {
                name: "Dup".into(),
                slug: "grpc-app".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let err = grpc
        .get_client(authed(
            &app,
            GetClientRequest {
                client_id: "nope".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Audited like REST.
    let events = app.audit_events(&format!("target_id={}", client.id)).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"client.created"));
    assert!(types.contains(&"client.api_key_rotated"));
    assert!(types.contains(&"client.jwt_secret_rotated"));
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_service_without_metadata_is_unauthenticated() {
    let app = spawn_app().await;
    let mut grpc = app.grpc_admin().await;
    let err = grpc
        .list_clients(Request::new(ListClientsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.metadata().get("x-error-code").unwrap(),
        "admin_unauthorized"
    );

    let mut wrong = Request::new(ListClientsRequest::default());
    wrong
        .metadata_mut()
        .insert("x-admin-api-key", "wrong".parse().unwrap());
    assert_eq!(
        grpc.list_clients(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        app.audit_events("event_type=admin.auth_failed").await.len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_health_reports_serving() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let app = spawn_app().await;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let res = health
        .check(HealthCheckRequest {
            service: "auth.v1.AdminService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        res.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

async fn list_services_by_reflection(
    app: &authservice_tests::TestApp,
) -> Result<Vec<String>, tonic::Status> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await?
        .into_inner();
    let message = stream.message().await?.expect("a reflection answer");
    match message.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_only_when_enabled() {
    let off = spawn_app().await;
    let err = list_services_by_reflection(&off).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    let on = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("GRPC_REFLECTION", "true".to_owned())],
        ..Default::default()
    })
    .await;
    let services = list_services_by_reflection(&on).await.unwrap();
    assert!(
        services.contains(&"auth.v1.AdminService".to_owned()),
        "{services:?}"
    );
    assert!(
        services.contains(&"grpc.health.v1.Health".to_owned()),
        "{services:?}"
    );
}
