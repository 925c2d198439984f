//! The HTTP client a provider block asks for: `custom_ca_bundle` adds the certificates
//! of a private certificate authority to the system's roots, and `http_proxy` /
//! `https_proxy` / `no_proxy` route the AWS calls through a proxy (the SDK's own proxy
//! support: plain HTTP requests are forwarded, HTTPS ones tunnelled with CONNECT).

use std::path::Path;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use forge_provider::{ProviderError, ProviderResult};

/// The proxy arguments of a provider block, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// `http_proxy`: for requests to `http://` endpoints.
    pub http: Option<String>,
    /// `https_proxy`: for requests to `https://` endpoints.
    pub https: Option<String>,
    /// `no_proxy`: comma-separated hosts, domains and networks reached directly.
    pub no_proxy: Option<String>,
}

/// `None` when the SDK's default client serves (no `custom_ca_bundle`, no proxy).
pub fn http_client(
    custom_ca_bundle: Option<&Path>,
    proxy: &ProxySettings,
) -> ProviderResult<Option<SharedHttpClient>> {
    let proxy = proxy_config(proxy)?;
    let context = match custom_ca_bundle {
        Some(path) => Some(ca_context(path)?),
        None => None,
    };
    let Some(proxy) = proxy else {
        return Ok(context.map(|context| {
            Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context)
                .build_https()
        }));
    };
    Ok(Some(proxied_client(proxy, context.unwrap_or_default())))
}

/// An HTTP client that sends every request through `proxy` (HTTPS tunnelled with
/// CONNECT), trusting `context`'s roots. The connector is made per client configuration,
/// as the SDK's own builder does, with the proxy in front of it. Module downloads from S3
/// use it too, with the proxy the environment names.
pub fn proxied_client(proxy: ProxyConfig, context: TlsContext) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = Connector::builder();
        if let Some(settings) = settings {
            connector = connector.connector_settings(settings.clone());
        }
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector
            .proxy_config(proxy.clone())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context.clone())
            .build()
    })
}

/// The SDK's proxy configuration for the block's arguments. The SDK's client takes one
/// proxy address (for HTTP, for HTTPS, or for both); two different addresses are refused
/// rather than one of them silently dropped.
fn proxy_config(proxy: &ProxySettings) -> ProviderResult<Option<ProxyConfig>> {
    let bad = |name: &str, url: &str, e: &dyn std::fmt::Display| {
        ProviderError::new(format!("`{name}`: {url:?} is not a proxy URL: {e}"))
            .hint("write it as http://host:port")
    };
    let config = match (proxy.http.as_deref(), proxy.https.as_deref()) {
        (None, None) => return Ok(None),
        (Some(http), Some(https)) if http == https => {
            ProxyConfig::all(http).map_err(|e| bad("http_proxy", http, &e))?
        }
        (Some(_), Some(_)) => {
            return Err(ProviderError::new(
                "`http_proxy` and `https_proxy` name different proxies, and forge's HTTP client takes one",
            )
            .hint("use one proxy for both, or set only the one for your endpoints' scheme"));
        }
        (Some(http), None) => ProxyConfig::http(http).map_err(|e| bad("http_proxy", http, &e))?,
        (None, Some(https)) => {
            ProxyConfig::https(https).map_err(|e| bad("https_proxy", https, &e))?
        }
    };
    Ok(Some(match &proxy.no_proxy {
        Some(rules) => config.no_proxy(rules),
        None => config,
    }))
}

fn ca_context(path: &Path) -> ProviderResult<TlsContext> {
    let pem = std::fs::read(path).map_err(|e| {
        ProviderError::new(format!(
            "`custom_ca_bundle`: cannot read {}: {e}",
            path.display()
        ))
        .hint("point custom_ca_bundle at a PEM file of certificates")
    })?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(ProviderError::new(format!(
            "`custom_ca_bundle`: {} holds no PEM certificate",
            path.display()
        ))
        .hint("the file must contain one or more -----BEGIN CERTIFICATE----- blocks"));
    }
    TlsContext::builder()
        .with_trust_store(TrustStore::default().with_pem_certificate(pem))
        .build()
        .map_err(|e| {
            ProviderError::new(format!(
                "`custom_ca_bundle`: {} cannot be used: {e}",
                path.display()
            ))
        })
}
