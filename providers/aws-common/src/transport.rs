//! The HTTP client a provider block asks for: `custom_ca_bundle` adds the certificates
//! of a private certificate authority to the system's roots. Proxies are not set here
//! (`provider_block` warns about them).

use std::path::Path;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use forge_provider::{ProviderError, ProviderResult};

/// `None` when the SDK's default client serves (no `custom_ca_bundle`).
pub fn http_client(custom_ca_bundle: Option<&Path>) -> ProviderResult<Option<SharedHttpClient>> {
    let Some(path) = custom_ca_bundle else {
        return Ok(None);
    };
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
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::default().with_pem_certificate(pem))
        .build()
        .map_err(|e| {
            ProviderError::new(format!(
                "`custom_ca_bundle`: {} cannot be used: {e}",
                path.display()
            ))
        })?;
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https();
    Ok(Some(client))
}
