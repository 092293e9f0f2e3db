use authservice_interfaces::grpc::proto::auth_service_client::AuthServiceClient;
use authservice_interfaces::grpc::proto::{
    ChangePasswordRequest, GetUserRequest, LoginRequest, LogoutRequest, RefreshTokenRequest,
    SignupRequest, UpdateUserRequest,
};
use authservice_tests::spawn_app;
use tonic::Code;
use tonic::transport::Channel;

use crate::auth_helpers::{PASSWORD, key_of};

async fn client(app: &authservice_tests::TestApp) -> AuthServiceClient<Channel> {
    AuthServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap()
}

fn error_code(status: &tonic::Status) -> &str {
    status
        .metadata()
        .get("x-error-code")
        .unwrap()
        .to_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_lifecycle_over_grpc() {
    // The backend's address is a trusted proxy, so the end-user address it forwards counts.
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("TRUSTED_PROXY_CIDRS", "127.0.0.1/32".to_owned())],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let mut grpc = client(&app).await;

    let signed_up = grpc
        .signup(SignupRequest {
            email: "grpc@example.com".into(),
            password: PASSWORD.into(),
            display_name: "Rpc User".into(),
            api_key: key.clone(),
            ip: "203.0.113.9".into(),
            user_agent: "backend/1.0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let user = signed_up.user.clone().unwrap();
    assert_eq!(user.email, "grpc@example.com");
    assert_eq!(signed_up.token_type, "Bearer");
    assert!(!signed_up.requires_2fa);
    assert_eq!(signed_up.refresh_token.len(), 64);
    // The forwarded end-user address is what the audit records.
    let events = app.audit_events("event_type=user.signed_up").await;
    assert_eq!(events[0]["ip"], "203.0.113.9");
    assert_eq!(events[0]["user_agent"], "backend/1.0");

    let logged_in = grpc
        .login(LoginRequest {
            email: "grpc@example.com".into(),
            password: PASSWORD.into(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = grpc
        .login(LoginRequest {
            email: "grpc@example.com".into(),
            password: "wrong-wrong-1".into(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(error_code(&err), "invalid_credentials");

    // GetUser needs that very user's token.
    let got = grpc
        .get_user(GetUserRequest {
            user_id: user.id.clone(),
            api_key: key.clone(),
            access_token: logged_in.access_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name, "Rpc User");
    let err = grpc
        .get_user(GetUserRequest {
            user_id: user.id.clone(),
            api_key: key.clone(),
            access_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let other = grpc
        .signup(SignupRequest {
            email: "other@example.com".into(),
            password: PASSWORD.into(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = grpc
        .get_user(GetUserRequest {
            user_id: user.id.clone(),
            api_key: key.clone(),
            access_token: other.access_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let updated = grpc
        .update_user(UpdateUserRequest {
            user_id: user.id.clone(),
            display_name: "Renamed".into(),
            timezone: "Europe/Paris".into(),
            api_key: key.clone(),
            access_token: logged_in.access_token.clone(),
            locale: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "Renamed");
    assert_eq!(updated.timezone, "Europe/Paris");

    // Refresh rotation and reuse.
    let rotated = grpc
        .refresh_token(RefreshTokenRequest {
            refresh_token: logged_in.refresh_token.clone(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.refresh_token, logged_in.refresh_token);
    let err = grpc
        .refresh_token(RefreshTokenRequest {
            refresh_token: logged_in.refresh_token.clone(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "refresh_token_reused");

    // ChangePassword needs the token (the Go service does not check).
    let err = grpc
        .change_password(ChangePasswordRequest {
            user_id: user.id.clone(),
            old_password: PASSWORD.into(),
            new_password: "fresh-Password-77x".into(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    grpc.change_password(ChangePasswordRequest {
        user_id: user.id.clone(),
        old_password: PASSWORD.into(),
        new_password: "fresh-Password-77x".into(),
        api_key: key.clone(),
        access_token: signed_up.access_token.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    // The signup session survives; logout ends it.
    grpc.logout(LogoutRequest {
        refresh_token: signed_up.refresh_token.clone(),
        api_key: key.clone(),
    })
    .await
    .unwrap();
    let err = grpc
        .refresh_token(RefreshTokenRequest {
            refresh_token: signed_up.refresh_token.clone(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "invalid_refresh_token");
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_refuses_another_clients_token_and_bad_keys() {
    let app = spawn_app().await;
    let key_a = key_of(&app.new_client().await);
    let key_b = key_of(&app.new_client().await);
    let mut grpc = client(&app).await;
    let a = grpc
        .signup(SignupRequest {
            email: "a@example.com".into(),
            password: PASSWORD.into(),
            api_key: key_a.clone(),
            ip: "198.51.100.1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // An untrusted caller cannot choose the address that limits and audit see.
    assert_eq!(
        app.audit_events("event_type=user.signed_up").await[0]["ip"],
        "127.0.0.1"
    );
    let user_id = a.user.unwrap().id;
    let err = grpc
        .get_user(GetUserRequest {
            user_id: user_id.clone(),
            api_key: key_b.clone(),
            access_token: a.access_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(error_code(&err), "token_client_mismatch");
    let err = grpc
        .update_user(UpdateUserRequest {
            user_id,
            display_name: "x".into(),
            api_key: key_b,
            access_token: a.access_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "token_client_mismatch");
    let err = grpc
        .login(LoginRequest {
            email: "a@example.com".into(),
            password: PASSWORD.into(),
            api_key: "ask_wrong".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "invalid_api_key");
}
