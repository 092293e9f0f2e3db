//! Composing a message: the client's email settings, the link base, rendering and sealing,
//! and the prepared token + outbox row + audit event stored together.

#![allow(clippy::wildcard_imports)]

use super::*;

/// Which message to prepare.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outgoing<'a> {
    pub(super) purpose: TokenPurpose,
    /// The caller's requested link base, if any (checked by [`checked_base`]).
    pub(super) base_url: Option<&'a LinkBase>,
    /// The client's email settings.
    pub(super) settings: &'a ClientEmailConfig,
    /// The audit event recording the send.
    pub(super) event_type: EventType,
}

/// The client's email settings (defaults when it has none).
pub(super) async fn load_settings(
    ports: &Ports,
    client: &Client,
) -> anyhow::Result<ClientEmailConfig> {
    Ok(ports
        .email_configs
        .get(client.id)
        .await?
        .map(|s| s.config)
        .unwrap_or_default())
}

/// Renders the message carrying `token` to `to` (in the user's locale, else the client's) and
/// seals it; returns the locale used too.
#[allow(clippy::too_many_arguments)]
pub(super) fn render_sealed(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    settings: &ClientEmailConfig,
    user_locale: Option<&str>,
    to: &Email,
    purpose: TokenPurpose,
    base: &LinkBase,
    token: &str,
) -> anyhow::Result<(crate::ports::SealedSecret, Locale)> {
    render_message(
        ports,
        config,
        client,
        settings,
        user_locale,
        to,
        authservice_domain::Message::Link(purpose),
        base.link(purpose, token),
        Vec::new(),
    )
}

/// Renders any message for `to` with the client's branding and sender, and seals it.
#[allow(clippy::too_many_arguments)]
pub(super) fn render_message(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    settings: &ClientEmailConfig,
    user_locale: Option<&str>,
    to: &Email,
    message: authservice_domain::Message,
    link: String,
    vars: Vec<(&'static str, String)>,
) -> anyhow::Result<(crate::ports::SealedSecret, Locale)> {
    let brand = Branding::of(client);
    let locale = Locale::resolve(user_locale, brand.locale.as_deref());
    let content = ports.email_renderer.render(&EmailContent {
        message,
        locale,
        link,
        brand: brand.clone(),
        vars,
    })?;
    let outbound = OutboundEmail {
        from: Mailbox {
            name: settings.from_name.clone().or(Some(brand.name)),
            email: settings.from_email.as_ref().map_or_else(
                || config.default_from.email.clone(),
                |e| e.as_str().to_owned(),
            ),
        },
        reply_to: settings.reply_to.as_ref().map(|e| e.as_str().to_owned()),
        to: to.as_str().to_owned(),
        content,
    };
    Ok((
        ports.secret_box.seal(&serde_json::to_vec(&outbound)?)?,
        locale,
    ))
}

/// A security notice for `user` ("a passkey was added to your account"), rendered in their
/// language with the client's branding and sealed, ready to queue in the outbox — in the same
/// transaction as the change it reports.
pub(crate) async fn prepare_notice(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    user: &User,
    notice: authservice_domain::Notice,
) -> anyhow::Result<QueuedEmail> {
    let settings = load_settings(ports, client).await?;
    // The app's own pages when it configured a link base, else the hosted pages.
    let link = match &settings.base_url {
        Some(base) => base.as_str().to_owned(),
        None => format!("{}{}", config.base_url.as_str(), notice.link_path()),
    };
    let (sealed, _) = render_message(
        ports,
        config,
        client,
        &settings,
        user.locale.as_deref(),
        &user.email,
        authservice_domain::Message::Notice(notice),
        link,
        Vec::new(),
    )?;
    Ok(QueuedEmail {
        id: uuid::Uuid::now_v7(),
        client_id: client.id,
        user_id: Some(user.id),
        kind: format!("notice_{}", notice.as_str()),
        recipient: user.email.clone(),
        sealed,
        created_at: ports.clock.now(),
    })
}

/// An invitation into an organization for `to`, carrying `token` to the accept page of the
/// client's link base (its own pages when it configured one, else the hosted pages), in the
/// client's language, sealed and ready to queue with the invitation. `vars` fill the message's
/// `{org}`, `{inviter}`, `{role}` and `{days}`.
pub(crate) async fn prepare_invitation(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    to: &Email,
    token: &str,
    vars: Vec<(&'static str, String)>,
) -> anyhow::Result<QueuedEmail> {
    let settings = load_settings(ports, client).await?;
    let base = settings.base_url.as_ref().unwrap_or(&config.base_url);
    let (sealed, _) = render_message(
        ports,
        config,
        client,
        &settings,
        None,
        to,
        authservice_domain::Message::Invitation,
        base.page("/accept-invitation.html", token),
        vars,
    )?;
    Ok(QueuedEmail {
        id: uuid::Uuid::now_v7(),
        client_id: client.id,
        user_id: None,
        kind: "organization_invitation".to_owned(),
        recipient: to.clone(),
        sealed,
        created_at: ports.clock.now(),
    })
}

/// Queues a notice on its own (when no change of state goes with it, e.g. a signup attempt with
/// a registered address).
pub(crate) async fn notify(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    user: &User,
    notice: authservice_domain::Notice,
) -> anyhow::Result<()> {
    let email = prepare_notice(ports, config, client, user, notice).await?;
    ports.outbox.enqueue(&email).await?;
    ports.outbox_signal.wake();
    Ok(())
}

/// The base of a link: magic links always point at this server (`BASE_URL`: it must receive
/// the click); verification and reset links at the requested base, else the client's, else
/// `BASE_URL` (where the hosted pages are).
pub(super) fn link_base<'a>(
    purpose: TokenPurpose,
    requested: Option<&'a LinkBase>,
    settings: &'a ClientEmailConfig,
    config: &'a MailConfig,
) -> &'a LinkBase {
    if purpose == TokenPurpose::MagicLink {
        return &config.base_url;
    }
    requested
        .or(settings.base_url.as_ref())
        .unwrap_or(&config.base_url)
}

/// Builds a token for `purpose` and the message that carries it (rendered and sealed), ready
/// to store in one transaction.
pub(super) async fn prepare_email(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    client: &Client,
    user: &User,
    what: Outgoing<'_>,
) -> Result<PendingEmail, EmailFlowError> {
    let Outgoing {
        purpose,
        base_url,
        settings,
        event_type,
    } = what;
    let base = link_base(purpose, base_url, settings, config);
    let token = hex(&ports.random.bytes32());
    let (sealed, locale) = render_sealed(
        ports,
        config,
        client,
        settings,
        user.locale.as_deref(),
        &user.email,
        purpose,
        base,
        &token,
    )?;
    let now = ports.clock.now();
    let email_id = Uuid::now_v7();
    let mut audit = ctx
        .audit(event_type)
        .client(client.id)
        .target("user", user.id)
        .metadata(json!({
            "email_id": email_id.to_string(),
            "purpose": purpose.as_str(),
            "locale": locale.as_str(),
        }))
        .at(now);
    audit.user_id = Some(user.id.as_uuid());
    Ok(PendingEmail {
        token: NewOneTimeToken {
            id: Uuid::now_v7(),
            client_id: client.id,
            user_id: user.id,
            purpose,
            token_hash: sha256(token.as_bytes()),
            email: user.email.clone(),
            created_at: now,
            expires_at: now
                + chrono::Duration::from_std(purpose.ttl()).map_err(anyhow::Error::from)?,
        },
        email: QueuedEmail {
            id: email_id,
            client_id: client.id,
            user_id: Some(user.id),
            kind: purpose.as_str().to_owned(),
            recipient: user.email.clone(),
            sealed,
            created_at: now,
        },
        audit,
        void_older: purpose == TokenPurpose::ResetPassword,
    })
}

/// The verification message of a new account (stored with the account by signup).
pub(crate) async fn prepare_verification(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    client: &Client,
    user: &User,
) -> anyhow::Result<PendingEmail> {
    let settings = load_settings(ports, client).await?;
    prepare_email(
        ports,
        config,
        ctx,
        client,
        user,
        Outgoing {
            purpose: TokenPurpose::VerifyEmail,
            base_url: None,
            settings: &settings,
            event_type: EventType::VerificationEmailSent,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("preparing the verification email: {e}"))
}
