//! Registering OIDC applications: create, list, read, change, delete, rotate the secret. The
//! secret (confidential apps with a client-secret method) is shown once and kept only as its
//! SHA-256 with a short prefix.

use authservice_domain::oidc_app::{AppType, AuthMethod, GrantType, OidcApp};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{ClientName, EventType, Permission, ValidationError};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clients::{ClientActionError, existing_client};
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{Ports, Write};

/// An app's fields as sent: all on create (with defaults), those present on update.
#[derive(Debug, Clone, Default)]
pub struct OidcAppInput {
    pub name: Option<String>,
    pub app_type: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    /// `Some(None)` removes the keys.
    pub jwks: Option<Option<Value>>,
    pub first_party: Option<bool>,
}

/// An app as stored, with its secret when one was just made (shown once).
#[derive(Debug)]
pub struct SavedOidcApp {
    pub app: OidcApp,
    pub client_secret: Option<SecretString>,
}

pub struct ManageOidcApps {
    ports: Ports,
}

impl ManageOidcApps {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    fn event(
        &self,
        ctx: &RequestCtx,
        event: EventType,
        app: &OidcApp,
    ) -> crate::context::AuditDraft {
        ctx.audit(event)
            .client(app.client_id)
            .target("oidc_app", app.id)
    }

    async fn load(
        &self,
        ctx: &RequestCtx,
        client: &str,
        app: &str,
        permission: Permission,
    ) -> Result<OidcApp, OidcAppError> {
        let client = existing_client(&self.ports, ctx, client, permission).await?;
        let id = Uuid::try_parse(app.trim()).map_err(|_| OidcAppError::NotFound)?;
        self.ports
            .oidc_apps
            .get(client.id, id)
            .await?
            .ok_or(OidcAppError::NotFound)
    }

    /// Registers an app (`clients:update`).
    #[tracing::instrument(name = "create_oidc_app", level = "debug", skip_all)]
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        client: &str,
        input: OidcAppInput,
    ) -> Result<SavedOidcApp, OidcAppError> {
        let client = existing_client(&self.ports, ctx, client, Permission::ClientsUpdate).await?;
        let now = self.ports.clock.now();
        let app_type = AppType::parse(input.app_type.as_deref().unwrap_or("confidential"))?;
        let default_method = match app_type {
            AppType::Confidential => "client_secret_basic",
            AppType::Public => "none",
        };
        let mut app = OidcApp {
            id: Uuid::now_v7(),
            client_id: client.id,
            public_id: format!("app_{}", &hex(&self.ports.random.bytes32())[..32]),
            name: ClientName::parse(input.name.as_deref().unwrap_or_default())?,
            app_type,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            auth_method: AuthMethod::parse(
                input
                    .token_endpoint_auth_method
                    .as_deref()
                    .unwrap_or(default_method),
            )?,
            jwks: None,
            first_party: false,
            secret_prefix: None,
            created_at: now,
            updated_at: now,
        };
        apply(
            &mut app,
            OidcAppInput {
                name: None,
                app_type: None,
                token_endpoint_auth_method: None,
                ..input
            },
        )?;
        let (secret, hash) = self.new_secret(&mut app);
        let event = self
            .event(ctx, EventType::OidcAppCreated, &app)
            .after(snapshot(&app))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::CreateOidcApp {
                    app: app.clone(),
                    secret_hash: hash,
                },
                Write::Audit(event),
            ])
            .await?;
        Ok(SavedOidcApp {
            app,
            client_secret: secret,
        })
    }

    /// A new secret for an app that uses one: `(secret, hash)`, the prefix set on the app.
    fn new_secret(&self, app: &mut OidcApp) -> (Option<SecretString>, Option<[u8; 32]>) {
        if !app.uses_secret() {
            app.secret_prefix = None;
            return (None, None);
        }
        let secret = format!("oidc_{}", hex(&self.ports.random.bytes32()));
        app.secret_prefix = Some(secret[..13].to_owned());
        let hash = sha256(secret.as_bytes());
        (Some(SecretString::from(secret)), Some(hash))
    }

    /// One page of the client's apps (`clients:read`).
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        client: &str,
        page: PageRequest,
    ) -> Result<Page<OidcApp>, OidcAppError> {
        let client = existing_client(&self.ports, ctx, client, Permission::ClientsRead).await?;
        let rows = self.ports.oidc_apps.list(client.id, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |a| a.id))
    }

    /// One app (`clients:read`).
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        client: &str,
        app: &str,
    ) -> Result<OidcApp, OidcAppError> {
        self.load(ctx, client, app, Permission::ClientsRead).await
    }

    /// Changes an app (`clients:update`). Switching to a secret method makes a secret (shown
    /// once); switching away removes it.
    #[tracing::instrument(name = "update_oidc_app", level = "debug", skip_all)]
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        client: &str,
        app: &str,
        input: OidcAppInput,
    ) -> Result<SavedOidcApp, OidcAppError> {
        let mut app = self
            .load(ctx, client, app, Permission::ClientsUpdate)
            .await?;
        let before = snapshot(&app);
        let had_secret = app.uses_secret();
        apply(&mut app, input)?;
        let now = self.ports.clock.now();
        app.updated_at = now;
        let event = self
            .event(ctx, EventType::OidcAppUpdated, &app)
            .before(before)
            .after(snapshot(&app))
            .at(now);
        // A change of auth method that adds or drops the secret replaces it with the fields,
        // in the same unit (one audit event).
        let (secret, writes) = if had_secret == app.uses_secret() {
            (
                None,
                vec![Write::UpdateOidcApp(app.clone()), Write::Audit(event)],
            )
        } else {
            let (secret, hash) = self.new_secret(&mut app);
            let writes = vec![
                Write::UpdateOidcApp(app.clone()),
                Write::SetOidcAppSecret {
                    app: app.clone(),
                    secret_hash: hash,
                },
                Write::Audit(event),
            ];
            (secret, writes)
        };
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(OidcAppError::NotFound);
        }
        Ok(SavedOidcApp {
            app,
            client_secret: secret,
        })
    }

    /// A new secret (`clients:rotate_keys`); the old one stops working at once.
    #[tracing::instrument(name = "rotate_oidc_app_secret", level = "debug", skip_all)]
    pub async fn rotate_secret(
        &self,
        ctx: &RequestCtx,
        client: &str,
        app: &str,
    ) -> Result<SavedOidcApp, OidcAppError> {
        let mut app = self
            .load(ctx, client, app, Permission::ClientsRotateKeys)
            .await?;
        if !app.uses_secret() {
            return Err(ValidationError::new(
                "token_endpoint_auth_method",
                "this app holds no secret",
            )
            .into());
        }
        let (secret, hash) = self.new_secret(&mut app);
        let event = self
            .event(ctx, EventType::OidcAppSecretRotated, &app)
            .metadata(json!({ "secret_prefix": app.secret_prefix }))
            .at(self.ports.clock.now());
        let writes = vec![
            Write::SetOidcAppSecret {
                app: app.clone(),
                secret_hash: hash,
            },
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(OidcAppError::NotFound);
        }
        Ok(SavedOidcApp {
            app,
            client_secret: secret,
        })
    }

    /// Deletes an app (`clients:update`).
    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        client: &str,
        app: &str,
    ) -> Result<(), OidcAppError> {
        let app = self
            .load(ctx, client, app, Permission::ClientsUpdate)
            .await?;
        let event = self
            .event(ctx, EventType::OidcAppDeleted, &app)
            .before(snapshot(&app))
            .at(self.ports.clock.now());
        let writes = vec![
            Write::DeleteOidcApp {
                client: app.client_id,
                app: app.id,
            },
            Write::Audit(event),
        ];
        if self.ports.uow.commit(writes).await?.is_all() {
            Ok(())
        } else {
            Err(OidcAppError::NotFound)
        }
    }
}

/// Applies the fields present in `input`, then checks the app as a whole.
fn apply(app: &mut OidcApp, input: OidcAppInput) -> Result<(), ValidationError> {
    if let Some(name) = input.name.as_deref() {
        app.name = ClientName::parse(name)?;
    }
    if let Some(t) = input.app_type.as_deref() {
        app.app_type = AppType::parse(t)?;
    }
    if let Some(uris) = &input.redirect_uris {
        app.redirect_uris = OidcApp::uris("redirect_uris", uris)?;
    }
    if let Some(uris) = &input.post_logout_redirect_uris {
        app.post_logout_redirect_uris = OidcApp::uris("post_logout_redirect_uris", uris)?;
    }
    if let Some(scopes) = &input.scopes {
        app.scopes = OidcApp::scope_names(scopes)?;
    }
    if let Some(grants) = &input.grant_types {
        let mut parsed = grants
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort();
        parsed.dedup();
        app.grant_types = parsed;
    }
    if let Some(method) = input.token_endpoint_auth_method.as_deref() {
        app.auth_method = AuthMethod::parse(method)?;
    }
    if let Some(jwks) = input.jwks {
        app.jwks = jwks;
    }
    if let Some(first_party) = input.first_party {
        app.first_party = first_party;
    }
    app.check()
}

/// The JSON of an app (answers and audit snapshots; never the secret).
#[must_use]
pub fn snapshot(app: &OidcApp) -> Value {
    json!({
        "id": app.id.to_string(),
        "client_id": app.public_id,
        "name": app.name.as_str(),
        "type": app.app_type.as_str(),
        "redirect_uris": app.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "post_logout_redirect_uris": app.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "scopes": app.scopes,
        "grant_types": app.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_method": app.auth_method.as_str(),
        "jwks": app.jwks,
        "first_party": app.first_party,
        "secret_prefix": app.secret_prefix,
    })
}

/// What managing OIDC applications fails with.
#[derive(Debug, thiserror::Error)]
pub enum OidcAppError {
    #[error(transparent)]
    Client(#[from] ClientActionError),
    #[error("no such OIDC application")]
    NotFound,
    #[error(transparent)]
    Page(#[from] crate::pagination::PageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ValidationError> for OidcAppError {
    fn from(err: ValidationError) -> Self {
        Self::Client(err.into())
    }
}

impl crate::error::UseCaseError for OidcAppError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Client(e) => e.kind(),
            Self::NotFound => crate::error::ErrorKind::OidcAppNotFound,
            Self::Page(crate::pagination::PageError::BadCursor) => {
                crate::error::ErrorKind::InvalidCursor
            }
            Self::Page(_) => crate::error::ErrorKind::InvalidRequest,
            Self::Unexpected(_) => crate::error::ErrorKind::Internal,
        }
    }
}
