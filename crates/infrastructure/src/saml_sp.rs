//! The SAML 2.0 service provider of enterprise SSO, with `samael` (xmlsec):
//! - IdP metadata read for its entityID, HTTP-Redirect SSO URL and signing certificates;
//! - AuthnRequests over HTTP-Redirect with our own request ID (answered by `InResponseTo`);
//! - Responses validated by samael — every signature must verify with one of the connection's
//!   certificates (never none: a connection without certificates is refused before samael,
//!   which would otherwise skip verification), RSA/ECDSA-SHA256 only, and only the signed
//!   element is read afterwards (signature wrapping) — then the audience is required (samael
//!   checks it only when present), and a NameID too.
//!
//! samael's errors are not `Send`: every call runs on a blocking thread and comes back as text.

use async_trait::async_trait;
use authservice_application::ports::{
    IdpError, SamlAssertion, SamlAuthRequest, SamlResponseCheck, SamlServiceProvider,
};
use authservice_domain::sso::SamlIdp;
use base64::Engine;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING};
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};
use serde_json::{Map, Value};

use crate::idp_http::IdpHttp;

pub struct SamaelSp {
    http: IdpHttp,
}

impl SamaelSp {
    /// # Errors
    /// The HTTP client for metadata URLs cannot be built.
    pub fn new(allow_insecure: bool) -> anyhow::Result<Self> {
        Ok(Self {
            http: IdpHttp::new(allow_insecure)?,
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The connection's IdP as metadata samael reads (entityID, SSO URL, signing certificates).
fn idp_metadata(idp: &SamlIdp) -> String {
    let keys: String = idp
        .certificates
        .iter()
        .map(|c| {
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
                 </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                escape(c)
            )
        })
        .collect();
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{}\">\
         <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         {keys}<md:SingleSignOnService Binding=\"{HTTP_REDIRECT_BINDING}\" Location=\"{}\"/>\
         </md:IDPSSODescriptor></md:EntityDescriptor>",
        escape(&idp.entity_id),
        escape(&idp.sso_url)
    )
}

fn provider(idp: &SamlIdp, sp_entity_id: &str, acs_url: &str) -> Result<ServiceProvider, String> {
    if idp.certificates.is_empty() {
        // samael would accept unsigned responses without certificates: never.
        return Err("the connection trusts no certificate".to_owned());
    }
    let metadata: EntityDescriptor = idp_metadata(idp)
        .parse()
        .map_err(|e| format!("IdP settings: {e}"))?;
    ServiceProviderBuilder::default()
        .entity_id(sp_entity_id.to_owned())
        .acs_url(acs_url.to_owned())
        .idp_metadata(metadata)
        .allowed_signature_algorithms(vec![
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::EcdsaSha256,
        ])
        .max_issue_delay(chrono::Duration::seconds(120))
        .max_clock_skew(chrono::Duration::seconds(60))
        .build()
        .map_err(|e| format!("service provider: {e}"))
}

/// The IdP a metadata document describes.
fn read_metadata(xml: &str) -> Result<SamlIdp, String> {
    let metadata: EntityDescriptor = xml.parse().map_err(|e| format!("not metadata: {e}"))?;
    let entity_id = metadata
        .entity_id
        .clone()
        .ok_or("the metadata names no entityID")?;
    let idp = metadata
        .idp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or("the metadata describes no IdP (IDPSSODescriptor)")?;
    let sso_url = idp
        .single_sign_on_services
        .iter()
        .find(|s| s.binding == HTTP_REDIRECT_BINDING)
        .map(|s| s.location.clone())
        .ok_or("the IdP offers no HTTP-Redirect SingleSignOnService")?;
    let certificates: Vec<String> = idp
        .key_descriptors
        .iter()
        .filter(|k| k.key_use.as_deref().is_none_or(|u| u == "signing"))
        .filter_map(|k| k.key_info.x509_data.as_ref())
        .flat_map(|x| x.certificates.iter())
        .map(|c| c.split_whitespace().collect::<String>())
        .collect();
    Ok(SamlIdp {
        entity_id,
        sso_url,
        certificates,
        idp_initiated_redirect_uri: None,
    })
}

/// What samael handed back, checked further and flattened.
fn validate(
    idp: &SamlIdp,
    sp_entity_id: &str,
    acs_url: &str,
    response: &str,
    request_id: Option<&str>,
) -> Result<SamlAssertion, String> {
    let mut sp = provider(idp, sp_entity_id, acs_url)?;
    // samael requires the Response's InResponseTo to name a possible request unless told the
    // response may be unsolicited; `check_in_response_to` then requires it to name none.
    sp.allow_idp_initiated = request_id.is_none();
    let expected = request_id.map(|id| [id]);
    let assertion = sp
        .parse_base64_response(
            response.trim(),
            expected.as_ref().map(<[&str; 1]>::as_slice),
        )
        .map_err(|e| format!("response: {e}"))?;
    check_in_response_to(&assertion, response, request_id)?;
    let audiences: Vec<&String> = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.audience_restrictions.as_ref())
        .map(|r| r.iter().flat_map(|a| a.audience.iter()).collect())
        .unwrap_or_default();
    // samael checks the audience only when the assertion restricts it: require it.
    if !audiences.iter().any(|a| a.as_str() == sp_entity_id) {
        return Err("response: the assertion is not restricted to this service provider".into());
    }
    let subject = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .map(|n| n.value.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or("response: no NameID")?;
    let confirmation_end = confirmation_data(&assertion)
        .filter_map(|d| d.not_on_or_after)
        .min();
    let conditions_end = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.not_on_or_after);
    let not_on_or_after = match (confirmation_end, conditions_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut attributes = Map::new();
    for attribute in assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
    {
        let Some(name) = attribute
            .name
            .as_deref()
            .or(attribute.friendly_name.as_deref())
        else {
            continue;
        };
        let values: Vec<Value> = attribute
            .values
            .iter()
            .filter_map(|v| v.value.as_deref())
            .map(|v| Value::from(v.trim()))
            .collect();
        let value = match values.len() {
            0 => continue,
            1 => values.into_iter().next().unwrap_or_default(),
            _ => Value::Array(values),
        };
        attributes.insert(name.to_owned(), value);
    }
    Ok(SamlAssertion {
        subject,
        assertion_id: assertion.id,
        attributes,
        not_on_or_after,
    })
}

/// The data of the assertion's subject confirmations.
fn confirmation_data(
    assertion: &samael::schema::Assertion,
) -> impl Iterator<Item = &samael::schema::SubjectConfirmationData> {
    assertion
        .subject
        .as_ref()
        .and_then(|s| s.subject_confirmations.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.subject_confirmation_data.as_ref())
}

/// Binds the answer to its request: an SP-initiated response's bearer confirmation names our
/// AuthnRequest (`InResponseTo`; samael compares it only when present); an IdP-initiated one
/// answers no request at all (neither the Response nor a confirmation names one) — so a
/// response minted for someone's SP-initiated sign-in cannot be replayed as unsolicited.
fn check_in_response_to(
    assertion: &samael::schema::Assertion,
    response: &str,
    request_id: Option<&str>,
) -> Result<(), String> {
    let answered: Vec<Option<&str>> = confirmation_data(assertion)
        .map(|d| d.in_response_to.as_deref())
        .collect();
    match request_id {
        Some(id) => {
            if answered.contains(&Some(id)) && answered.iter().all(|a| a.is_none_or(|a| a == id)) {
                Ok(())
            } else {
                Err("response: the subject confirmation does not answer this request".into())
            }
        }
        None => {
            let xml = base64::engine::general_purpose::STANDARD
                .decode(response.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or("response: not base64 UTF-8")?;
            let outer = xml
                .parse::<samael::schema::Response>()
                .map_err(|_| "response: not a SAML Response")?;
            if outer.in_response_to.is_some() || answered.iter().any(Option::is_some) {
                Err("response: an unsolicited response answers a request".into())
            } else {
                Ok(())
            }
        }
    }
}

#[async_trait]
impl SamlServiceProvider for SamaelSp {
    fn idp_from_metadata(&self, xml: &str) -> Result<SamlIdp, String> {
        read_metadata(xml)
    }

    #[tracing::instrument(name = "saml_sp.metadata_url", level = "debug", skip_all)]
    async fn idp_from_metadata_url(&self, url: &str) -> Result<SamlIdp, IdpError> {
        let body = self
            .http
            .get(url)
            .await
            .map_err(|e| IdpError::Unavailable(e.to_string()))?;
        let xml = String::from_utf8(body)
            .map_err(|_| IdpError::Refused("the metadata is not UTF-8".to_owned()))?;
        tokio::task::spawn_blocking(move || read_metadata(&xml))
            .await
            .map_err(|e| IdpError::Unavailable(e.to_string()))?
            .map_err(IdpError::Refused)
    }

    fn certificate_from_pem(&self, pem: &str) -> Result<String, String> {
        let certificate = openssl::x509::X509::from_pem(pem.trim().as_bytes())
            .map_err(|_| "not a PEM X.509 certificate".to_owned())?;
        let der = certificate
            .to_der()
            .map_err(|_| "not a PEM X.509 certificate".to_owned())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(der))
    }

    fn authn_request_url(&self, request: SamlAuthRequest<'_>) -> Result<String, IdpError> {
        let refused = |e: String| IdpError::Refused(format!("AuthnRequest: {e}"));
        let sp = provider(request.idp, request.sp_entity_id, request.acs_url).map_err(refused)?;
        let mut authn = sp
            .make_authentication_request(&request.idp.sso_url)
            .map_err(|e| refused(e.to_string()))?;
        authn.id = request.request_id.to_owned();
        authn
            .redirect(request.relay_state)
            .map_err(|e| refused(e.to_string()))?
            .map(|url| url.to_string())
            .ok_or_else(|| refused("no destination".to_owned()))
    }

    #[tracing::instrument(name = "saml_sp.check_response", level = "debug", skip_all)]
    async fn check_response(
        &self,
        check: SamlResponseCheck<'_>,
    ) -> Result<SamlAssertion, IdpError> {
        let idp = check.idp.clone();
        let sp_entity_id = check.sp_entity_id.to_owned();
        let acs_url = check.acs_url.to_owned();
        let response = check.saml_response.to_owned();
        let request_id = check.request_id.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            validate(
                &idp,
                &sp_entity_id,
                &acs_url,
                &response,
                request_id.as_deref(),
            )
        })
        .await
        .map_err(|e| IdpError::Unavailable(e.to_string()))?
        .map_err(IdpError::Refused)
    }

    fn sp_metadata(&self, sp_entity_id: &str, acs_url: &str) -> Result<String, String> {
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\">\
             <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" \
             protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\
             <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>\
             <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
             Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
             </md:SPSSODescriptor></md:EntityDescriptor>\n",
            entity = escape(sp_entity_id),
            acs = escape(acs_url),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_settings_round_trip_through_metadata_and_an_idp_without_certificates_is_refused() {
        let idp = SamlIdp {
            entity_id: "https://idp.example.com/<x>".to_owned(),
            sso_url: "https://idp.example.com/sso?a=1&b=2".to_owned(),
            certificates: vec!["MIIBfake".to_owned()],
            idp_initiated_redirect_uri: None,
        };
        let read = read_metadata(&idp_metadata(&idp)).unwrap();
        assert_eq!(read, idp);
        let none = SamlIdp {
            certificates: Vec::new(),
            ..idp
        };
        assert!(provider(&none, "https://sp", "https://sp/acs").is_err());
    }

    #[test]
    fn malformed_responses_are_refused_without_panicking() {
        let idp = SamlIdp {
            entity_id: "https://idp.example.com".to_owned(),
            sso_url: "https://idp.example.com/sso".to_owned(),
            certificates: vec!["MIIBfake".to_owned()],
            idp_initiated_redirect_uri: None,
        };
        let engine = base64::engine::general_purpose::STANDARD;
        let samples = [
            String::new(),
            "not base64 !!".to_owned(),
            engine.encode("<"),
            engine.encode("<Response/>"),
            engine.encode("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"),
            engine.encode("\u{0}\u{1}\u{2}".repeat(100)),
            engine.encode(
                "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\">",
            ),
        ];
        for sample in samples {
            assert!(validate(&idp, "https://sp", "https://sp/acs", &sample, Some("_r")).is_err());
        }
    }

    /// A property test: 600 random mutations (byte flips, truncations, insertions of markup)
    /// of a Response-shaped document are all refused, none panics.
    #[test]
    fn mutated_responses_never_panic_and_are_all_refused() {
        let idp = SamlIdp {
            entity_id: "https://idp.example.com".to_owned(),
            sso_url: "https://idp.example.com/sso".to_owned(),
            certificates: vec!["MIIBfake".to_owned()],
            idp_initiated_redirect_uri: None,
        };
        let seed = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
            xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r\" Version=\"2.0\" \
            IssueInstant=\"2026-01-01T00:00:00Z\" InResponseTo=\"_q\"><saml:Issuer>https://idp.example.com\
            </saml:Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>\
            </samlp:Status><saml:Assertion ID=\"_a\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\">\
            <saml:Issuer>https://idp.example.com</saml:Issuer><saml:Subject><saml:NameID>a@b.c</saml:NameID>\
            </saml:Subject></saml:Assertion></samlp:Response>";
        let pieces: [&[u8]; 6] = [b"<", b">", b"&amp;", b"<!--x-->", b"\"", b"<![CDATA[x]]>"];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let engine = base64::engine::general_purpose::STANDARD;
        for _ in 0..600 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..(1 + next() % 4) {
                let len = bytes.len().max(1);
                let at = usize::try_from(next()).unwrap_or(0) % len;
                match next() % 3 {
                    0 => {
                        let last = bytes.len() - 1;
                        bytes[at.min(last)] ^= u8::try_from(next() % 255 + 1).unwrap_or(1);
                    }
                    1 => bytes.truncate(at),
                    _ => {
                        let piece = pieces[usize::try_from(next()).unwrap_or(0) % pieces.len()];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let encoded = engine.encode(&bytes);
            assert!(validate(&idp, "https://sp", "https://sp/acs", &encoded, Some("_q")).is_err());
        }
    }
}
