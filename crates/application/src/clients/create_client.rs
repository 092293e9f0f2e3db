//! Create a client: validate, generate its API key and JWT secret, store both with the audit
//! event in one transaction, and hand the plain key back exactly once.

use authservice_domain::EventType;
use authservice_domain::{
    AdminScope, AllowedOrigin, ApiKey, Client, ClientId, ClientName, ClientSettings, ClientStatus,
    Permission, SigningAlgorithm, Slug, TokenMode, ValidationError, WebhookUrl,
};
use serde_json::Value;
use uuid::Uuid;

use super::{new_api_key, new_jwt_secret, snapshot};
use secrecy::{ExposeSecret, SecretString};

use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{ClientWriteError, Ports, SealedSigningKey};

#[derive(Debug, Clone, Default)]
pub struct CreateClientInput {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    pub allowed_origins: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub webhook_url: Option<String>,
    pub settings: Option<Value>,
    pub token_mode: Option<String>,
    /// `ES256` (default), `RS256` or `EdDSA`.
    pub signing_algorithm: Option<String>,
}

/// The new client and its secrets, shown once.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub api_key: ApiKey,
    pub jwt_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateClientError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("slug already taken")]
    SlugTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for CreateClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(e) => super::invalid_kind(e),
            Self::SlugTaken => ErrorKind::SlugTaken,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::Invalid(e) => super::invalid_details(e),
            _ => None,
        }
    }
}

pub struct CreateClient {
    ports: Ports,
}

impl CreateClient {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "create_client", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: CreateClientInput,
    ) -> Result<CreatedClient, CreateClientError> {
        let admin = ctx.require(Permission::ClientsCreate)?;
        if admin.scope != AdminScope::All {
            return Err(Forbidden("clients:create needs access to all clients").into());
        }
        let name = ClientName::parse(&input.name)?;
        let slug = match input.slug.as_deref() {
            Some(raw) => Slug::parse(raw)?,
            None => Slug::from_name(&name)?,
        };
        let allowed_origins = AllowedOrigin::parse_list(&input.allowed_origins)?;
        let redirect_uris = authservice_domain::RedirectUri::parse_list(&input.redirect_uris)?;
        let webhook_url = input
            .webhook_url
            .as_deref()
            .filter(|w| !w.trim().is_empty())
            .map(WebhookUrl::parse)
            .transpose()?;
        let settings = ClientSettings::parse(input.settings.unwrap_or(Value::Null))?;
        let token_mode = input
            .token_mode
            .as_deref()
            .map(TokenMode::parse)
            .transpose()?
            .unwrap_or_default();

        let api_key = new_api_key(self.ports.random.as_ref());
        let jwt_secret = new_jwt_secret(self.ports.random.as_ref());
        let sealed = self
            .ports
            .secret_box
            .seal(jwt_secret.expose_secret().as_bytes())?;
        let algorithm = input
            .signing_algorithm
            .as_deref()
            .map(SigningAlgorithm::parse)
            .transpose()?
            .unwrap_or_default();
        let key = self.ports.tokens.generate_key(algorithm).await?;
        let signing_key = SealedSigningKey {
            private_key: self.ports.secret_box.seal(&key.private_key_der)?,
            kid: key.kid,
            alg: key.alg,
            public_jwk: key.public_jwk,
        };
        let now = self.ports.clock.now();
        let client = Client {
            id: ClientId::from_uuid(Uuid::now_v7()),
            name,
            slug,
            allowed_origins,
            redirect_uris,
            webhook_url,
            settings,
            status: ClientStatus::Active,
            token_mode,
            api_key_hash: api_key.hash(),
            api_key_prefix: api_key.display_prefix(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let audit = ctx
            .audit(EventType::ClientCreated)
            .client(client.id)
            .target("client", client.id)
            .after(snapshot(&client))
            .at(now);
        match self
            .ports
            .clients
            .insert(&client, &sealed, &signing_key, &audit)
            .await
        {
            Ok(()) => Ok(CreatedClient {
                client,
                api_key,
                jwt_secret,
            }),
            Err(ClientWriteError::SlugTaken) => Err(CreateClientError::SlugTaken),
            Err(other) => Err(CreateClientError::Unexpected(other.into())),
        }
    }
}
