//! One-time token rows: reading, the single conditional consume, voiding older ones, and
//! storing a token with its message.

#![allow(clippy::wildcard_imports)]

use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = one_time_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(super) struct TokenRow {
    pub(super) id: Uuid,
    pub(super) client_id: Uuid,
    pub(super) user_id: Uuid,
    pub(super) purpose: String,
    pub(super) email: String,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) consumed_at: Option<DateTime<Utc>>,
    pub(super) voided_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub(super) fn into_record(self) -> anyhow::Result<OneTimeTokenRecord> {
        Ok(OneTimeTokenRecord {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            user_id: UserId::from_uuid(self.user_id),
            purpose: TokenPurpose::parse(&self.purpose)?,
            email: self.email,
            expires_at: self.expires_at,
            consumed_at: self.consumed_at,
            voided_at: self.voided_at,
        })
    }
}

/// Stores a token, its outbox row and audit event (voiding older tokens when asked). Must run
/// inside a transaction; also used by signup.
/// Voids the user's live tokens of the same purpose, after locking the user row: two
/// concurrent requests for the same user cannot both stay live.
pub(super) async fn void_older(
    conn: &mut AsyncPgConnection,
    t: &authservice_application::ports::NewOneTimeToken,
) -> QueryResult<()> {
    users::table
        .filter(users::id.eq(t.user_id.as_uuid()))
        .select(users::id)
        .for_update()
        .load::<Uuid>(conn)
        .await?;
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::client_id.eq(t.client_id.as_uuid()))
            .filter(one_time_tokens::user_id.eq(t.user_id.as_uuid()))
            .filter(one_time_tokens::purpose.eq(t.purpose.as_str()))
            .filter(one_time_tokens::consumed_at.is_null())
            .filter(one_time_tokens::voided_at.is_null()),
    )
    .set(one_time_tokens::voided_at.eq(t.created_at))
    .execute(conn)
    .await
    .map(|_| ())
}

pub(in crate::postgres) async fn insert_pending(
    conn: &mut AsyncPgConnection,
    pending: &PendingEmail,
) -> QueryResult<()> {
    let t = &pending.token;
    if pending.void_older {
        void_older(conn, t).await?;
    }
    diesel::insert_into(one_time_tokens::table)
        .values((
            one_time_tokens::id.eq(t.id),
            one_time_tokens::client_id.eq(t.client_id.as_uuid()),
            one_time_tokens::user_id.eq(t.user_id.as_uuid()),
            one_time_tokens::purpose.eq(t.purpose.as_str()),
            one_time_tokens::token_hash.eq(&t.token_hash[..]),
            one_time_tokens::email.eq(t.email.as_str()),
            one_time_tokens::created_at.eq(t.created_at),
            one_time_tokens::expires_at.eq(t.expires_at),
        ))
        .execute(conn)
        .await?;
    crate::postgres::outbox::insert_queued(conn, &pending.email).await?;
    insert_event(conn, &pending.audit).await
}

/// Consumes a live token (one conditional UPDATE); `None` when none matched.
pub(super) async fn consume_row(
    conn: &mut AsyncPgConnection,
    purpose: TokenPurpose,
    hash: &[u8; 32],
    client: Option<ClientId>,
    now: DateTime<Utc>,
) -> QueryResult<Option<TokenRow>> {
    let mut query = diesel::update(one_time_tokens::table)
        .filter(one_time_tokens::token_hash.eq(&hash[..]))
        .filter(one_time_tokens::purpose.eq(purpose.as_str()))
        .filter(one_time_tokens::consumed_at.is_null())
        .filter(one_time_tokens::voided_at.is_null())
        .filter(one_time_tokens::expires_at.gt(now))
        .into_boxed();
    if let Some(client) = client {
        query = query.filter(one_time_tokens::client_id.eq(client.as_uuid()));
    }
    query
        .set(one_time_tokens::consumed_at.eq(now))
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub(super) async fn find_row(
    conn: &mut AsyncPgConnection,
    purpose: TokenPurpose,
    hash: &[u8; 32],
) -> QueryResult<Option<TokenRow>> {
    one_time_tokens::table
        .filter(one_time_tokens::token_hash.eq(&hash[..]))
        .filter(one_time_tokens::purpose.eq(purpose.as_str()))
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The event with the consumed token's client, user and target.
pub(super) fn stamped(audit: &AuditEvent, row: &TokenRow) -> AuditEvent {
    let mut event = audit.clone();
    event.client_id = Some(ClientId::from_uuid(row.client_id));
    event.user_id = Some(row.user_id);
    event.target_type = Some("user".to_owned());
    event.target_id = Some(row.user_id.to_string());
    event
}

/// Marks the user's address verified if it is still the one the token was sent to.
pub(super) async fn mark_verified(
    conn: &mut AsyncPgConnection,
    row: &TokenRow,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::client_id.eq(row.client_id))
            .filter(users::id.eq(row.user_id))
            .filter(users::email.eq(&row.email))
            .filter(users::email_verified.eq(false)),
    )
    .set((users::email_verified.eq(true), users::updated_at.eq(now)))
    .execute(conn)
    .await
}
