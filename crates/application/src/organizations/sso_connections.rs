//! Organizations' SSO connections (enterprise onboarding): managed by members with
//! `enterprise:write` (`enterprise:read` to read) or by operators. The OIDC client secret is
//! sealed with `ENCRYPTION_KEY` and never shown again; audit snapshots leave it out.

use authservice_domain::organization::{GroupSource, Organization};
use authservice_domain::sso::{
    AttributeMapping, ConnectionStatus, OidcIdp, SamlIdp, SsoConnection, SsoProtocol,
    check_idp_url, parse_connection_domains, parse_connection_name,
};
use authservice_domain::{EventType, ValidationError};
use serde_json::{Value, json};
use uuid::Uuid;

use super::OrgError;
use super::domains::{
    DomainActor, acting_client, acting_org, list_scope, require_covers_mappings,
    require_member_write,
};
use crate::context::{AuditDraft, RequestCtx};
use crate::pagination::{Page, PageRequest};
use crate::ports::{IdpError, Ports, Write};

/// How many SSO connections one organization may have.
pub const MAX_CONNECTIONS: usize = 20;

/// What SSO connections need from the configuration.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// `BASE_URL` without a trailing `/`: callbacks are `{base}/api/auth/sso/callback/{id}`.
    pub base_url: String,
    /// `ALLOW_INSECURE_IDP_URLS`: IdPs on `http` and loopback or private hosts (development
    /// and tests only).
    pub allow_insecure_idp_urls: bool,
    /// `JWT_ACCESS_TTL`: how long a group change must be checked against the store.
    pub access_ttl: std::time::Duration,
}

impl SsoSettings {
    /// Whether `client` accepts `uri` as where a sign-in lands: a registered redirect URI (or,
    /// for clients with none, an allowed origin), or this server's own origin.
    #[must_use]
    pub fn accepts_redirect_uri(&self, client: &authservice_domain::Client, uri: &str) -> bool {
        let own = url::Url::parse(&self.base_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        client.accepts_redirect_uri(uri, &own)
    }

    /// Where the IdP sends the user back for connection `id`.
    #[must_use]
    pub fn callback_url(&self, id: Uuid) -> String {
        format!("{}/api/auth/sso/callback/{id}", self.base_url)
    }

    /// This server's SAML entityID for connection `id` (its SP metadata).
    #[must_use]
    pub fn metadata_url(&self, id: Uuid) -> String {
        format!("{}/api/auth/sso/metadata/{id}", self.base_url)
    }

    /// Where a browser starts a sign-in through connection `id`.
    #[must_use]
    pub fn start_url(&self, id: Uuid) -> String {
        format!("{}/api/auth/sso/{id}", self.base_url)
    }
}

/// A connection body: every field optional (a patch), the creation needs
/// `organization_id`, `name`, `protocol` and the protocol's settings.
#[derive(Default)]
pub struct ConnectionInput {
    pub organization_id: Option<String>,
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub status: Option<String>,
    pub domains: Option<Value>,
    pub enforce_for_domains: Option<bool>,
    pub jit: Option<bool>,
    pub attribute_mapping: Option<Value>,
    /// `{issuer, client_id, client_secret, scopes}`.
    pub oidc: Option<Value>,
    pub saml: Option<Value>,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("oidc", &self.oidc.as_ref().map(|_| "[with secret]"))
            .finish_non_exhaustive()
    }
}

/// The connection as audit events and answers show it (never the secret).
#[must_use]
pub fn snapshot(c: &SsoConnection) -> Value {
    json!({
        "id": c.id.to_string(),
        "organization_id": c.organization_id.as_uuid().to_string(),
        "name": c.name,
        "protocol": c.protocol.as_str(),
        "status": c.status.as_str(),
        "domains": c.domains,
        "enforce_for_domains": c.enforce_for_domains,
        "jit": c.jit,
        "attribute_mapping": c.attribute_mapping.to_value(),
        "oidc": c.oidc.as_ref().map(|o| {
            let mut v = o.to_value();
            v["client_secret_set"] = json!(c.sealed_secret.is_some());
            v
        }),
        "saml": c.saml.as_ref().map(|s| json!({
            "idp_entity_id": s.entity_id,
            "idp_sso_url": s.sso_url,
            // SHA-256 fingerprints (hex) of the trusted certificates, not the certificates.
            "idp_certificate_fingerprints": s.certificates.iter().map(|c| fingerprint(c)).collect::<Vec<_>>(),
            "idp_initiated_redirect_uri": s.idp_initiated_redirect_uri,
        })),
    })
}

/// Who the connection's subjects belong to: the OIDC issuer, client id and hand-named endpoints
/// (their keys sign the tokens), or the SAML entityID (certificates rotate within one IdP).
fn idp_identity(c: &SsoConnection) -> (Option<(String, String, String)>, Option<String>) {
    (
        c.oidc.as_ref().map(|o| {
            (
                o.issuer.clone(),
                o.client_id.clone(),
                format!("{:?}", o.endpoints),
            )
        }),
        c.saml.as_ref().map(|s| s.entity_id.clone()),
    )
}

/// The SHA-256 (hex) of a base64 DER certificate, as admins compare it with their IdP's.
fn fingerprint(certificate: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(certificate)
        .map(|der| authservice_domain::secret::hex(&authservice_domain::secret::sha256(&der)))
        .unwrap_or_default()
}

pub struct ManageSsoConnections {
    ports: Ports,
    settings: SsoSettings,
}

impl ManageSsoConnections {
    #[must_use]
    pub fn new(ports: &Ports, settings: &SsoSettings) -> Self {
        Self {
            ports: ports.clone(),
            settings: settings.clone(),
        }
    }

    #[must_use]
    pub fn settings(&self) -> &SsoSettings {
        &self.settings
    }

    /// Connection `id` the actor may see (`write`: change).
    async fn connection(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
        write: bool,
    ) -> Result<SsoConnection, OrgError> {
        let id = Uuid::try_parse(id.trim()).map_err(|_| OrgError::ConnectionNotFound)?;
        let client = acting_client(ctx, actor, write)?;
        let connection = self
            .ports
            .sso_connections
            .get(client, id)
            .await?
            .ok_or(OrgError::ConnectionNotFound)?;
        require_member_write(
            &self.ports,
            actor,
            connection.organization_id,
            OrgError::ConnectionNotFound,
        )
        .await?;
        Ok(connection)
    }

    /// The sealed client secret from `oidc.client_secret`, if the body has one.
    fn sealed_secret(&self, oidc: &Value) -> Result<Option<Vec<u8>>, OrgError> {
        match oidc.get("client_secret") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(secret)) if (1..=1024).contains(&secret.len()) => {
                Ok(Some(self.ports.secret_box.seal(secret.as_bytes())?.0))
            }
            Some(_) => Err(ValidationError::new(
                "oidc",
                "client_secret must be 1 to 1,024 characters",
            )
            .into()),
        }
    }

    /// The IdP a `saml` object describes: `idp_metadata_xml`, `idp_metadata_url` (fetched
    /// now), or `idp_entity_id` + `idp_sso_url` + `idp_certificates` (PEM); and
    /// `idp_initiated_redirect_uri` (IdP-initiated sign-in, off when missing).
    async fn saml_idp(
        &self,
        saml: &Value,
        client: &authservice_domain::Client,
    ) -> Result<SamlIdp, OrgError> {
        let bad = |why: String| OrgError::from(ValidationError::new("saml", why));
        let text = |name: &str| saml.get(name).and_then(Value::as_str).map(str::trim);
        let sp = &self.ports.saml_sp;
        let idp =
            if let Some(xml) = text("idp_metadata_xml") {
                if xml.len() > 512 * 1024 {
                    return Err(bad("idp_metadata_xml: at most 512 KiB".to_owned()));
                }
                sp.idp_from_metadata(xml)
                    .map_err(|e| bad(format!("idp_metadata_xml: {e}")))?
            } else if let Some(url) = text("idp_metadata_url") {
                check_idp_url(url, self.settings.allow_insecure_idp_urls)
                    .map_err(|e| bad(format!("idp_metadata_url: {}", e.message)))?;
                sp.idp_from_metadata_url(url).await.map_err(|e| match e {
                    IdpError::Unavailable(why) => OrgError::IdpUnavailable(why),
                    IdpError::Refused(why) => bad(format!("idp_metadata_url: {why}")),
                })?
            } else {
                let pems =
                    saml.get("idp_certificates")
                        .and_then(Value::as_array)
                        .ok_or_else(|| {
                            bad("idp_metadata_xml, idp_metadata_url, or idp_entity_id, idp_sso_url \
                         and idp_certificates are required"
                        .to_owned())
                        })?;
                let mut certificates = Vec::new();
                for pem in pems.iter().take(SamlIdp::MAX_CERTIFICATES + 1) {
                    let pem = pem.as_str().unwrap_or_default();
                    certificates.push(
                        sp.certificate_from_pem(pem)
                            .map_err(|e| bad(format!("idp_certificates: {e}")))?,
                    );
                }
                SamlIdp {
                    entity_id: text("idp_entity_id").unwrap_or_default().to_owned(),
                    sso_url: text("idp_sso_url").unwrap_or_default().to_owned(),
                    certificates,
                    idp_initiated_redirect_uri: None,
                }
            };
        let idp = SamlIdp {
            idp_initiated_redirect_uri: match saml.get("idp_initiated_redirect_uri") {
                None | Some(Value::Null) => None,
                Some(Value::String(uri)) if self.settings.accepts_redirect_uri(client, uri) => {
                    Some(uri.clone())
                }
                Some(_) => {
                    return Err(bad(
                        "idp_initiated_redirect_uri must be a redirect URI the client accepts \
                         (registered; IdP-initiated sign-in lands there)"
                            .to_owned(),
                    ));
                }
            },
            ..idp
        };
        Ok(idp.checked(self.settings.allow_insecure_idp_urls)?)
    }

    /// Applies the body's fields to `c` (the protocol is fixed at creation).
    async fn apply(&self, c: &mut SsoConnection, input: &ConnectionInput) -> Result<(), OrgError> {
        if let Some(name) = &input.name {
            c.name = parse_connection_name(name)?;
        }
        if let Some(status) = &input.status {
            c.status = ConnectionStatus::parse(status)?;
        }
        if let Some(domains) = &input.domains {
            c.domains = parse_connection_domains(domains)?;
        }
        if let Some(enforce) = input.enforce_for_domains {
            c.enforce_for_domains = enforce;
        }
        if let Some(jit) = input.jit {
            c.jit = jit;
        }
        if let Some(mapping) = &input.attribute_mapping {
            c.attribute_mapping = AttributeMapping::parse(mapping)?;
        }
        if let Some(oidc) = &input.oidc {
            if c.protocol != SsoProtocol::Oidc {
                return Err(ValidationError::new("oidc", "only for protocol oidc").into());
            }
            let idp = OidcIdp::parse(oidc, self.settings.allow_insecure_idp_urls)?;
            let sealed = self.sealed_secret(oidc)?;
            // The sealed secret goes only to the IdP it was given for: another issuer, client
            // id or endpoint (a token endpoint elsewhere would receive it) needs its own.
            let same_idp = c.oidc.as_ref().is_some_and(|o| {
                o.issuer == idp.issuer
                    && o.client_id == idp.client_id
                    && o.endpoints == idp.endpoints
            });
            if sealed.is_none() && !same_idp {
                c.sealed_secret = None;
            }
            if let Some(sealed) = sealed {
                c.sealed_secret = Some(sealed);
            }
            c.oidc = Some(idp);
        }
        if let Some(saml) = &input.saml {
            if c.protocol != SsoProtocol::Saml {
                return Err(ValidationError::new("saml", "only for protocol saml").into());
            }
            let client = self
                .ports
                .clients
                .get(c.client_id)
                .await?
                .ok_or(OrgError::ClientNotFound)?;
            c.saml = Some(self.saml_idp(saml, &client).await?);
        }
        if c.protocol == SsoProtocol::Saml && c.saml.is_none() {
            return Err(ValidationError::new("saml", "is required for protocol saml").into());
        }
        if c.protocol == SsoProtocol::Oidc && (c.oidc.is_none() || c.sealed_secret.is_none()) {
            return Err(ValidationError::new(
                "oidc",
                "issuer, client_id and client_secret are required for protocol oidc",
            )
            .into());
        }
        Ok(())
    }

    fn event(ctx: &RequestCtx, event: EventType, c: &SsoConnection) -> AuditDraft {
        ctx.audit(event)
            .client(c.client_id)
            .target("sso_connection", c.id)
            .metadata(json!({
                "organization_id": c.organization_id.as_uuid().to_string(),
                "protocol": c.protocol.as_str(),
            }))
    }

    /// Adds a connection to organization `input.organization_id`.
    ///
    /// # Errors
    /// `Invalid` (a field; SAML metadata that cannot be read), `IdpUnavailable` (a metadata URL
    /// that cannot be fetched), `NotFound`/`Forbidden`, a
    /// store failure.
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        input: &ConnectionInput,
    ) -> Result<SsoConnection, OrgError> {
        let org_ref = input
            .organization_id
            .as_deref()
            .ok_or_else(|| ValidationError::new("organization_id", "is required"))?;
        let name = parse_connection_name(input.name.as_deref().unwrap_or_default())?;
        let protocol = SsoProtocol::parse(input.protocol.as_deref().unwrap_or_default())?;
        let org: Organization = acting_org(&self.ports, ctx, actor, org_ref, true).await?;
        require_covers_mappings(&self.ports, actor, org.id, GroupSource::Sso).await?;
        let count = self
            .ports
            .sso_connections
            .count(org.client_id, org.id)
            .await?;
        if count >= MAX_CONNECTIONS {
            return Err(ValidationError::new(
                "organization_id",
                format!("an organization has at most {MAX_CONNECTIONS} SSO connections"),
            )
            .into());
        }
        let now = self.ports.clock.now();
        let mut connection = SsoConnection {
            id: Uuid::now_v7(),
            client_id: org.client_id,
            organization_id: org.id,
            name,
            protocol,
            status: ConnectionStatus::Active,
            domains: Vec::new(),
            enforce_for_domains: false,
            jit: true,
            attribute_mapping: AttributeMapping::default(),
            oidc: None,
            saml: None,
            sealed_secret: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };
        self.apply(&mut connection, input).await?;
        let event = Self::event(ctx, EventType::SsoConnectionCreated, &connection)
            .after(snapshot(&connection))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::CreateSsoConnection(connection.clone()),
                Write::Audit(event),
            ])
            .await?;
        Ok(connection)
    }

    /// One page of the connections of organization `org` (or, for an operator, of the client).
    ///
    /// # Errors
    /// `NotFound`/`Forbidden`, `Invalid` (a member without `organization_id`), a store failure.
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        org: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<SsoConnection>, OrgError> {
        let (client, org) = list_scope(&self.ports, ctx, actor, org).await?;
        let rows = self.ports.sso_connections.list(client, org, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |c| c.id))
    }

    /// Connection `id`.
    ///
    /// # Errors
    /// `ConnectionNotFound`, a store failure.
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<SsoConnection, OrgError> {
        self.connection(ctx, actor, id, false).await
    }

    /// Changes connection `id` (a new `oidc.client_secret` replaces the sealed one; without
    /// one the old secret stays).
    ///
    /// # Errors
    /// `ConnectionNotFound`, `Invalid`, a store failure.
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
        input: &ConnectionInput,
    ) -> Result<SsoConnection, OrgError> {
        let mut connection = self.connection(ctx, actor, id, true).await?;
        // Whoever points the connection somewhere puts people in its groups.
        require_covers_mappings(
            &self.ports,
            actor,
            connection.organization_id,
            GroupSource::Sso,
        )
        .await?;
        if let Some(protocol) = &input.protocol
            && SsoProtocol::parse(protocol)? != connection.protocol
        {
            return Err(ValidationError::new("protocol", "cannot change").into());
        }
        let before = snapshot(&connection);
        let idp_before = idp_identity(&connection);
        self.apply(&mut connection, input).await?;
        // Another IdP (issuer, client id, entityID) has other subjects: the old links go.
        let forget_identities = idp_identity(&connection) != idp_before;
        let now = self.ports.clock.now();
        connection.updated_at = now;
        let event = Self::event(ctx, EventType::SsoConnectionUpdated, &connection)
            .before(before)
            .after(snapshot(&connection))
            .at(now);
        let mut writes = vec![Write::UpdateSsoConnection(connection.clone())];
        if forget_identities {
            writes.push(Write::DeleteSsoIdentities {
                client: connection.client_id,
                connection: connection.id,
            });
        }
        writes.push(Write::Audit(event));
        let committed = self.ports.uow.commit(writes).await?;
        if !committed.is_all() {
            return Err(OrgError::ConnectionNotFound);
        }
        Ok(connection)
    }

    /// Deletes connection `id` with the identities it linked (their users stay).
    ///
    /// # Errors
    /// `ConnectionNotFound`, a store failure.
    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<(), OrgError> {
        let connection = self.connection(ctx, actor, id, true).await?;
        let event = Self::event(ctx, EventType::SsoConnectionDeleted, &connection)
            .before(snapshot(&connection))
            .at(self.ports.clock.now());
        let committed = self
            .ports
            .uow
            .commit(vec![
                Write::DeleteSsoConnection {
                    client: connection.client_id,
                    id: connection.id,
                },
                Write::Audit(event),
            ])
            .await?;
        if committed.is_all() {
            Ok(())
        } else {
            Err(OrgError::ConnectionNotFound)
        }
    }

    /// Begins a test sign-in through connection `id`: `(test id, the IdP URL to open in a
    /// browser)`. The browser comes back to the connection's callback, which shows what the
    /// IdP sent; [`Self::test_result`] reads it.
    ///
    /// # Errors
    /// `ConnectionNotFound`, `IdpUnavailable` (discovery failed), a
    /// store failure.
    pub async fn test_sign_in(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<(Uuid, String), OrgError> {
        let connection = self.connection(ctx, actor, id, true).await?;
        crate::sso::begin_test(&self.ports, &self.settings, &connection)
            .await
            .map_err(|e| match e {
                crate::sso::SsoError::IdpUnavailable(why) => OrgError::IdpUnavailable(why),
                other => OrgError::Unexpected(anyhow::Error::new(other)),
            })
    }

    /// The result of test sign-in `test` of connection `id`.
    ///
    /// # Errors
    /// `ConnectionNotFound`, `TestNotFound` (not finished, expired, another connection's), a
    /// store failure.
    pub async fn test_result(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
        test: &str,
    ) -> Result<Value, OrgError> {
        let connection = self.connection(ctx, actor, id, false).await?;
        let test = Uuid::try_parse(test.trim()).map_err(|_| OrgError::TestNotFound)?;
        crate::sso::test_result(&self.ports, &connection, test)
            .await?
            .ok_or(OrgError::TestNotFound)
    }
}
