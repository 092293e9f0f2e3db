//! Ready-made entities for tests (here and in the application crate's unit tests, with the
//! `testing` feature).

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use crate::api_key::ApiKeyHash;
use crate::client::{Client, ClientId, ClientName, ClientSettings, ClientStatus, Slug, TokenMode};
use crate::user::{Email, User, UserId, UserStatus};

/// The client every [`user`] belongs to.
pub const CLIENT_ID: Uuid = Uuid::from_u128(0x0190_a7c4_0000_7000_8000_0000_0000_0001);
pub const USER_ID: Uuid = Uuid::from_u128(0x0190_a7c4_0000_7000_8000_0000_0000_0002);

/// An active client with default settings.
#[must_use]
pub fn client() -> Client {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Client {
        id: ClientId::from_uuid(CLIENT_ID),
        name: ClientName::parse("Test App").unwrap(),
        slug: Slug::parse("test-app").unwrap(),
        allowed_origins: Vec::new(),
        redirect_uris: Vec::new(),
        webhook_url: None,
        settings: ClientSettings::default(),
        status: ClientStatus::Active,
        token_mode: TokenMode::default(),
        api_key_hash: ApiKeyHash::of_presented("ask_test"),
        api_key_prefix: "ask_test".to_owned(),
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

/// An active, verified user of [`client`] without second factors.
#[must_use]
pub fn user() -> User {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    User {
        id: UserId::from_uuid(USER_ID),
        client_id: ClientId::from_uuid(CLIENT_ID),
        email: Email::parse("ada@example.com").unwrap(),
        email_verified: true,
        display_name: None,
        timezone: None,
        locale: None,
        role: "user".to_owned(),
        status: UserStatus::Active,
        totp_enabled: false,
        last_login_at: None,
        created_at: at,
        updated_at: at,
    }
}
