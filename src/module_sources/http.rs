//! A small blocking HTTP(S) GET for the registry protocol and archive downloads.
//!
//! Each request runs on its own thread with its own single-threaded runtime, so it can
//! be called from anywhere (config loading runs both inside and outside forge's async
//! runtime, and a runtime cannot be blocked on from within another). Redirects are
//! followed (at most [`MAX_REDIRECTS`]); a bearer token is sent only to the host it was
//! given for, never to a host a redirect leads to. Every wait is bounded.
//!
//! The proxy variables are honoured as Terraform's downloads honour them (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, upper or lower case, read as curl reads
//! them): a request to a host they send through a proxy goes through a CONNECT tunnel
//! to it (with the user and password of the proxy URL, if any), TLS end to end.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{AUTHORIZATION, HeaderValue, LOCATION, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;

const MAX_REDIRECTS: usize = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The whole exchange, body included: archives can be large on slow links.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// An answer: the final URL (after redirects), status, the headers forge reads, body.
#[derive(Debug)]
pub struct Response {
    pub url: String,
    pub status: u16,
    pub terraform_get: Option<String>,
    pub body: Vec<u8>,
}

/// A bearer token for one host name (lower-case; any port, since a TF_TOKEN_ variable's
/// name cannot hold one).
#[derive(Clone)]
pub struct Token {
    pub host: String,
    pub value: String,
}

/// GETs `url`, reading at most `max_body` bytes of body.
pub fn get(url: &str, token: Option<&Token>, max_body: usize) -> Result<Response, String> {
    let url = url.to_string();
    let token = token.cloned();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
                runtime.block_on(async {
                    tokio::time::timeout(REQUEST_TIMEOUT, get_following(&url, token, max_body))
                        .await
                        .map_err(|_| {
                            format!("GET {url} took longer than {}s", REQUEST_TIMEOUT.as_secs())
                        })?
                })
            })
            .join()
            .map_err(|_| "the HTTP client thread failed".to_string())?
    })
}

async fn get_following(
    url: &str,
    token: Option<Token>,
    max_body: usize,
) -> Result<Response, String> {
    let proxies = Matcher::from_env();
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let uri: hyper::Uri = current
            .parse()
            .map_err(|e| format!("{current:?} is not a URL: {e}"))?;
        let mut request = hyper::Request::get(uri.clone())
            .header(USER_AGENT, concat!("forge/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|e| format!("cannot build a request for {current}: {e}"))?;
        if let Some(token) = &token
            && uri.host().map(str::to_ascii_lowercase).as_deref() == Some(token.host.as_str())
        {
            let value = HeaderValue::from_str(&format!("Bearer {}", token.value))
                .map_err(|_| format!("the token for {} is not a valid header value", token.host))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let response = match proxies.intercept(&uri) {
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), plain_connector());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                send(https_over(tunnel)?, request).await.map_err(|e| {
                    format!(
                        "GET {current} through the proxy {} failed: {}",
                        proxy.uri(),
                        error_chain(&e)
                    )
                })?
            }
            None => send(https_over(plain_connector())?, request)
                .await
                .map_err(|e| format!("GET {current} failed: {}", error_chain(&e)))?,
        };
        let status = response.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("GET {current}: redirect ({status}) without a Location"))?;
            current = join_url(&current, location)?;
            continue;
        }
        let terraform_get = response
            .headers()
            .get("x-terraform-get")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Limited::new(response.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| {
                format!(
                    "GET {current}: the answer is unreadable or larger than {max_body} bytes: {e}"
                )
            })?
            .to_bytes()
            .to_vec();
        return Ok(Response {
            url: current,
            status,
            terraform_get,
            body,
        });
    }
    Err(format!("GET {url}: more than {MAX_REDIRECTS} redirects"))
}

/// A TCP connector for `http://` and for what TLS is layered on.
fn plain_connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http
}

/// TLS over `connector` for `https://` URLs (plain for `http://` ones), with the
/// system's certificates.
fn https_over<C>(connector: C) -> Result<hyper_rustls::HttpsConnector<C>, String> {
    let provider = || rustls::crypto::aws_lc_rs::default_provider();
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider())
    {
        Ok(builder) => builder,
        // No system certificates: plain http (a loopback registry) still works, and an
        // https request fails with an unknown-issuer error naming its URL.
        Err(_no_system_certificates) => {
            let config = rustls::ClientConfig::builder_with_provider(provider().into())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("cannot set up TLS: {e}"))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    Ok(builder
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}

/// One request on a client of its own (a redirect may lead to a host the proxy
/// settings treat differently).
async fn send<C>(
    connector: C,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client: Client<C, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    client.request(request).await
}

/// `reference` read relative to `base`, as a browser reads a link: an absolute URL, a
/// `//host/...` network path, an `/absolute` path or a path relative to base's folder.
pub fn join_url(base: &str, reference: &str) -> Result<String, String> {
    if reference.contains("://") {
        return Ok(reference.to_string());
    }
    let uri: hyper::Uri = base
        .parse()
        .map_err(|e| format!("{base:?} is not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    if let Some(rest) = reference.strip_prefix("//") {
        return Ok(format!("{scheme}://{rest}"));
    }
    if reference.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{reference}"));
    }
    let path = uri.path();
    let folder = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    let (reference_path, query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let trailing = reference_path.ends_with('/') || reference_path.is_empty();
    for part in reference_path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut joined = format!("{scheme}://{authority}/{}", parts.join("/"));
    if trailing && !joined.ends_with('/') {
        joined.push('/');
    }
    if let Some(q) = query {
        joined.push('?');
        joined.push_str(q);
    }
    Ok(joined)
}

/// The error and its causes: hyper's top-level message alone ("client error
/// (Connect)") does not say what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_locations_are_read_against_the_answering_url() {
        let base = "https://registry.example.com/v1/modules/acme/queue/aws/1.0.0/download";
        for (reference, expected) in [
            (
                "https://cdn.example.com/q.zip",
                "https://cdn.example.com/q.zip",
            ),
            ("//cdn.example.com/q.zip", "https://cdn.example.com/q.zip"),
            (
                "/archives/q.zip",
                "https://registry.example.com/archives/q.zip",
            ),
            (
                "../../q.tgz?x=1",
                "https://registry.example.com/v1/modules/acme/queue/q.tgz?x=1",
            ),
            (
                "q.zip",
                "https://registry.example.com/v1/modules/acme/queue/aws/1.0.0/q.zip",
            ),
        ] {
            assert_eq!(
                join_url(base, reference).as_deref(),
                Ok(expected),
                "{reference}"
            );
        }
    }
}
