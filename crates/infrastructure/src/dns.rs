//! DNS TXT lookups with hickory-resolver: the system's resolver configuration, or the
//! nameservers of `DNS_NAMESERVERS` (UDP then TCP, no cache so a record just published counts).

use std::net::SocketAddr;

use async_trait::async_trait;
use authservice_application::ports::{DnsError, DnsResolver};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveErrorKind, TokioResolver};

pub struct HickoryDns {
    resolver: TokioResolver,
}

impl HickoryDns {
    /// A resolver asking `nameservers`, or the system's configured ones when empty.
    #[must_use]
    pub fn new(nameservers: &[SocketAddr]) -> Self {
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.timeout = std::time::Duration::from_secs(3);
        opts.attempts = 2;
        let builder = if nameservers.is_empty() {
            // Without a readable system configuration the server still starts: lookups then
            // answer `dns_unavailable` until DNS_NAMESERVERS is set.
            TokioResolver::builder_tokio().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no system DNS configuration: set DNS_NAMESERVERS for domain verification");
                TokioResolver::builder_with_config(
                    ResolverConfig::new(),
                    TokioConnectionProvider::default(),
                )
            })
        } else {
            let mut config = ResolverConfig::new();
            for addr in nameservers {
                config.add_name_server(NameServerConfig::new(*addr, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*addr, Protocol::Tcp));
            }
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        };
        Self {
            resolver: builder.with_options(opts).build(),
        }
    }
}

#[async_trait]
impl DnsResolver for HickoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        // Fully qualified: no search domains appended.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>()
                })
                .collect()),
            Err(e) if is_no_records(&e) => Ok(Vec::new()),
            Err(e) => Err(DnsError::Unavailable(e.to_string())),
        }
    }
}

fn is_no_records(e: &hickory_resolver::ResolveError) -> bool {
    match e.kind() {
        ResolveErrorKind::Proto(p) => matches!(p.kind(), ProtoErrorKind::NoRecordsFound { .. }),
        _ => false,
    }
}
