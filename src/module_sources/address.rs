//! Module source addresses, read as Terraform reads them: registry addresses
//! (`[host/]namespace/name/provider[//subdir]`) and Terragrunt's `tfr://` form, then
//! go-getter addresses: an optional forced getter (`git::`, `s3::`), the address, an
//! optional `//subdir` after the address's own path start, and query arguments (`ref`,
//! `depth` for git; `archive`, `checksum` for archives; `version` for tfr and S3).

use sha2::{Digest, Sha256};

use crate::archive::ArchiveFormat;

/// A remote module source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteSource {
    Git(GitSource),
    Registry(RegistrySource),
    Archive(ArchiveSource),
    /// Other getters (hg::, gcs::, a web page that is no archive): named, not fetched.
    Other(String),
}

/// The registry host Terraform uses when an address names none.
pub const DEFAULT_REGISTRY: &str = "registry.terraform.io";

/// A module in a registry speaking Terraform's module registry protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySource {
    /// `host` or `host:port`, lower-case.
    pub host: String,
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub subdir: Option<String>,
    /// Terragrunt's `tfr://...?version=X`: one exact version.
    pub version: Option<String>,
}

impl RegistrySource {
    /// `namespace/name/provider`, as the registry's URLs name the module.
    pub fn module_path(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.name, self.provider)
    }
}

/// An archive over HTTP(S) or in S3, unpacked, and the folder inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSource {
    pub location: ArchiveLocation,
    pub format: ArchiveFormat,
    /// `?checksum=sha256:HEX`: the archive must have this digest.
    pub sha256: Option<String>,
    pub subdir: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveLocation {
    /// The URL fetched (its own query kept, go-getter's arguments removed).
    Http(String),
    S3(S3Object),
}

/// An S3 object, as go-getter's S3 getter reads its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Object {
    /// `None` for AWS's own endpoints (the SDK's endpoint settings apply, so
    /// AWS_ENDPOINT_URL reaches an emulator); `Some(scheme://host)` for another
    /// S3-compatible service, addressed path-style.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: String,
    pub key: String,
    pub version: Option<String>,
}

impl ArchiveSource {
    /// The cache folder's name: a digest of where the archive is and what it must be.
    pub fn cache_key(&self) -> String {
        let mut hash = Sha256::new();
        match &self.location {
            ArchiveLocation::Http(url) => hash.update(url.as_bytes()),
            ArchiveLocation::S3(o) => {
                for part in [
                    "s3",
                    o.endpoint.as_deref().unwrap_or(""),
                    &o.bucket,
                    &o.key,
                    o.version.as_deref().unwrap_or(""),
                ] {
                    hash.update(part.as_bytes());
                    hash.update([0]);
                }
            }
        }
        hash.update(format!("{:?}", self.format).as_bytes());
        // A checksum is checked when the archive is fetched, so each one is its own
        // entry: a cached archive never stands in for one whose digest was not checked.
        hash.update(self.sha256.as_deref().unwrap_or("").as_bytes());
        short_hex(&hash.finalize())
    }
}

fn short_hex(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A git repository, the ref to check out and the folder inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitSource {
    /// What `git clone` is given: `https://...`, `ssh://...`, `file://...` or
    /// `git@host:path`.
    pub url: String,
    /// A tag, branch or commit; the remote's default branch when absent.
    pub reference: Option<String>,
    /// `?depth=N`: a shallow clone (a `ref` must then be a branch or tag).
    pub depth: Option<u32>,
    pub subdir: Option<String>,
}

impl GitSource {
    /// The cache folder's name: a digest of what decides the checkout's content.
    pub fn cache_key(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.url.as_bytes());
        hash.update([0]);
        hash.update(self.reference.as_deref().unwrap_or("").as_bytes());
        hash.update([0]);
        hash.update(
            self.depth
                .map(|d| d.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        short_hex(&hash.finalize())
    }
}

/// Reads a source address. Local paths (`./`, `../`, absolute) are not remote sources
/// and are refused here: the caller resolves them itself.
pub fn parse(source: &str) -> Result<RemoteSource, String> {
    let text = source.trim();
    if text.starts_with("./") || text.starts_with("../") || text.starts_with('/') {
        return Err(format!("{source:?} is a local path, not a remote source"));
    }
    let (address, query) = match text.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (text, None),
    };
    if let Some(rest) = address.strip_prefix("tfr://") {
        return parse_tfr(source, rest, query);
    }
    let (forced, address) = match address.split_once("::") {
        Some((getter, rest)) if !getter.contains('/') => (Some(getter), rest),
        _ => (None, address),
    };
    let (address, subdir) = split_subdir(address);
    if forced.is_none()
        && query.is_none()
        && let Some(registry) = registry_address(address, subdir)
    {
        return Ok(RemoteSource::Registry(registry));
    }
    let git_url = match forced {
        Some("git") => Some(address.to_string()),
        Some(_) => None,
        None => shorthand_git_url(address),
    };
    let Some(url) = git_url else {
        return parse_archive(source, forced, address, subdir, query);
    };
    let mut reference = None;
    let mut depth = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "ref" if value.is_empty() || value.starts_with('-') => {
                return Err(format!(
                    "{source:?}: ref must name a tag, branch or commit (and cannot start with -)"
                ));
            }
            "ref" => reference = Some(value.to_string()),
            "depth" => {
                depth = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|d| *d > 0)
                        .ok_or_else(|| {
                            format!("{source:?}: depth must be a whole number of 1 or more")
                        })?,
                );
            }
            _ => {
                return Err(format!(
                    "{source:?}: the query argument {key:?} is not one forge reads for git (ref, depth)"
                ));
            }
        }
    }
    Ok(RemoteSource::Git(GitSource {
        url,
        reference,
        depth,
        subdir: subdir.map(str::to_string),
    }))
}

/// `tfr://host/namespace/name/provider//subdir?version=X` (an empty host, `tfr:///`, is
/// the public registry), as Terragrunt reads it: `version` is required and exact.
fn parse_tfr(source: &str, rest: &str, query: Option<&str>) -> Result<RemoteSource, String> {
    let (address, subdir) = split_subdir(rest);
    let (host, path) = address.split_once('/').unwrap_or((address, ""));
    let host = if host.is_empty() {
        DEFAULT_REGISTRY
    } else {
        host
    };
    let parts: Vec<&str> = path.split('/').collect();
    let [namespace, name, provider] = parts[..] else {
        return Err(format!(
            "{source:?}: a tfr:// source names namespace/name/provider after the host (tfr:///terraform-aws-modules/vpc/aws?version=5.0.0)"
        ));
    };
    let mut version = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("version", v)) if !v.is_empty() => version = Some(v.to_string()),
            _ => {
                return Err(format!(
                    "{source:?}: a tfr:// source takes one query argument, version=X, not {pair:?}"
                ));
            }
        }
    }
    let Some(version) = version else {
        return Err(format!(
            "{source:?}: a tfr:// source needs ?version=X (the exact module version), as Terragrunt requires"
        ));
    };
    let registry = registry_parts(host, namespace, name, provider, subdir).ok_or_else(|| {
        format!("{source:?}: {host}/{path} is not a registry module address (namespace/name/provider, the provider in lower-case letters and digits)")
    })?;
    Ok(RemoteSource::Registry(RegistrySource {
        version: Some(version),
        ..registry
    }))
}

/// `[host/]namespace/name/provider` as Terraform's registry address parser reads it; `None`
/// when the address is not one (then it is read as a go-getter address).
fn registry_address(address: &str, subdir: Option<&str>) -> Option<RegistrySource> {
    if address.contains("://") {
        return None;
    }
    let parts: Vec<&str> = address.split('/').collect();
    match parts[..] {
        [namespace, name, provider] => {
            registry_parts(DEFAULT_REGISTRY, namespace, name, provider, subdir)
        }
        [host, namespace, name, provider] if looks_like_host(host) => {
            registry_parts(host, namespace, name, provider, subdir)
        }
        _ => None,
    }
}

fn registry_parts(
    host: &str,
    namespace: &str,
    name: &str,
    provider: &str,
    subdir: Option<&str>,
) -> Option<RegistrySource> {
    let host = host.to_ascii_lowercase();
    // Terraform refuses these as registries: they are git shorthands.
    if host == "github.com" || host == "bitbucket.org" || !looks_like_host(&host) {
        return None;
    }
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && s.as_bytes()[0].is_ascii_alphanumeric()
    };
    let provider_ok = !provider.is_empty()
        && provider.len() <= 64
        && provider
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (label(namespace) && label(name) && provider_ok).then(|| RegistrySource {
        host,
        namespace: namespace.to_string(),
        name: name.to_string(),
        provider: provider.to_string(),
        subdir: subdir.map(str::to_string),
        version: None,
    })
}

/// A hostname (with a dot, or `localhost`), optionally with a port.
fn looks_like_host(text: &str) -> bool {
    let (name, port) = match text.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (text, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = (name.contains('.') || name == "localhost")
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    port_ok && name_ok
}

/// HTTP(S) and S3 archives: `https://host/x.zip`, `https://host/x?archive=tgz`,
/// `s3::https://s3.amazonaws.com/bucket/key.zip`, `bucket.s3.amazonaws.com/key.zip`.
fn parse_archive(
    source: &str,
    forced: Option<&str>,
    address: &str,
    subdir: Option<&str>,
    query: Option<&str>,
) -> Result<RemoteSource, String> {
    let is_s3_host = |host: &str| {
        host.ends_with(".amazonaws.com")
            && (host.starts_with("s3.") || host.starts_with("s3-") || host.contains(".s3."))
    };
    let (scheme_url, s3) = match forced {
        Some("s3") => (address.to_string(), true),
        Some("http") | Some("https") | None if address.contains("://") => {
            (address.to_string(), false)
        }
        // go-getter's S3 detector: an amazonaws.com S3 host without a scheme.
        None if address.split('/').next().is_some_and(is_s3_host) => {
            (format!("https://{address}"), true)
        }
        _ => return Ok(RemoteSource::Other(source.to_string())),
    };
    let Some((scheme, rest)) = scheme_url.split_once("://") else {
        return Err(format!(
            "{source:?}: an S3 source is a URL (s3::https://s3.amazonaws.com/bucket/key.zip)"
        ));
    };
    if scheme != "https" && scheme != "http" {
        return Ok(RemoteSource::Other(source.to_string()));
    }
    let mut archive = None;
    let mut sha256 = None;
    let mut s3_version = None;
    let mut s3_region = None;
    let mut kept = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "archive" => archive = Some(value.to_string()),
            "checksum" => {
                let hex = value
                    .strip_prefix("sha256:")
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                sha256 = Some(hex.map(str::to_ascii_lowercase).ok_or_else(|| {
                    format!(
                        "{source:?}: forge checks checksum=sha256:<64 hex digits>, not {value:?}"
                    )
                })?);
            }
            "version" if s3 => s3_version = Some(value.to_string()),
            "region" if s3 => s3_region = Some(value.to_string()),
            "aws_access_key_id"
            | "aws_access_key_secret"
            | "aws_access_key_token"
            | "aws_profile"
                if s3 =>
            {
                return Err(format!(
                    "{}: forge does not take AWS credentials in a module source (they would sit in the configuration); use the usual AWS credential settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)",
                    redact_query(source)
                ));
            }
            "filename" => {
                return Err(format!(
                    "{source:?}: forge unpacks archives into a folder; filename= (a single file) is not read"
                ));
            }
            _ if s3 => {
                return Err(format!(
                    "{source:?}: the query argument {key:?} is not one forge reads for S3 (archive, checksum, version, region)"
                ));
            }
            _ => kept.push(pair),
        }
    }
    let path_part = rest.split_once('/').map_or("", |(_, p)| p);
    let format = match &archive {
        Some(name) => ArchiveFormat::from_name(name).map_err(|e| format!("{source:?}: {e}"))?,
        None => ArchiveFormat::from_name(path_part).map_err(|e| format!("{source:?}: {e}"))?,
    };
    let Some(format) = format else {
        return Err(format!(
            "{source:?} does not name an archive forge can unpack (.zip, .tar.gz, .tgz, .tar); add ?archive=zip (or tar.gz) if the URL serves one"
        ));
    };
    let location = if s3 {
        ArchiveLocation::S3(s3_object(source, scheme, rest, s3_version, s3_region)?)
    } else {
        let mut url = scheme_url.clone();
        if !kept.is_empty() {
            url.push('?');
            url.push_str(&kept.join("&"));
        }
        ArchiveLocation::Http(url)
    };
    Ok(RemoteSource::Archive(ArchiveSource {
        location,
        format,
        sha256,
        subdir: subdir.map(str::to_string),
    }))
}

/// The bucket, key and region of an S3 URL: virtual-hosted
/// (`bucket.s3[.-]region.amazonaws.com/key`), path-style on AWS
/// (`s3[.-]region.amazonaws.com/bucket/key`, `s3.amazonaws.com/bucket/key`), or
/// path-style on another endpoint (`http://127.0.0.1:9000/bucket/key`).
fn s3_object(
    source: &str,
    scheme: &str,
    rest: &str,
    version: Option<String>,
    region: Option<String>,
) -> Result<S3Object, String> {
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_lower = host.to_ascii_lowercase();
    let malformed = || {
        format!(
            "{source:?}: an S3 source names a bucket and a key (s3::https://s3.amazonaws.com/bucket/key.zip)"
        )
    };
    let region_of = |label: &str| -> Option<String> {
        // "s3", "s3-eu-west-1", "s3.eu-west-1" (as the label after "s3.")
        let r = label.strip_prefix("s3-").unwrap_or(label);
        (r != "s3" && !r.is_empty()).then(|| r.to_string())
    };
    if let Some(aws) = host_lower.strip_suffix(".amazonaws.com") {
        let labels: Vec<&str> = aws.split('.').collect();
        let s3_at = labels
            .iter()
            .position(|l| *l == "s3" || l.starts_with("s3-"))
            .ok_or_else(malformed)?;
        let host_region = region_of(labels[s3_at]).or_else(|| {
            labels
                .get(s3_at + 1)
                .filter(|l| **l != "dualstack")
                .map(|l| l.to_string())
        });
        let (bucket, key) = if s3_at == 0 {
            path.split_once('/').ok_or_else(malformed)?
        } else {
            (host.split('.').next().unwrap_or(""), path)
        };
        if bucket.is_empty() || key.is_empty() {
            return Err(malformed());
        }
        return Ok(S3Object {
            endpoint: None,
            region: region.or(host_region).or_else(|| Some("us-east-1".into())),
            bucket: bucket.to_string(),
            key: key.to_string(),
            version,
        });
    }
    let (bucket, key) = path.split_once('/').ok_or_else(malformed)?;
    if bucket.is_empty() || key.is_empty() {
        return Err(malformed());
    }
    Ok(S3Object {
        endpoint: Some(format!("{scheme}://{host}")),
        region,
        bucket: bucket.to_string(),
        key: key.to_string(),
        version,
    })
}

/// The source with its query's values hidden, for messages about a source that carries
/// secrets.
fn redact_query(source: &str) -> String {
    match source.split_once('?') {
        Some((address, _)) => format!("{address:?} (query hidden)"),
        None => format!("{source:?}"),
    }
}

/// `//subdir` after the address's own path start: the `//` of a scheme
/// (`https://`, `file://`) is not a subdir separator.
fn split_subdir(address: &str) -> (&str, Option<&str>) {
    let from = address.find("://").map(|i| i + 3).unwrap_or(0);
    match address[from..].find("//") {
        Some(i) => {
            let at = from + i;
            let sub = address[at + 2..].trim_matches('/');
            (&address[..at], (!sub.is_empty()).then_some(sub))
        }
        None => (address, None),
    }
}

/// The git URL Terraform's detectors give a shorthand: `github.com/org/repo`,
/// `bitbucket.org/org/repo`, and scp-like `git@host:path`.
fn shorthand_git_url(address: &str) -> Option<String> {
    for host in ["github.com/", "bitbucket.org/"] {
        if let Some(path) = address.strip_prefix(host) {
            let path = path.trim_end_matches('/');
            let path = path.strip_suffix(".git").unwrap_or(path);
            return Some(format!("https://{host}{path}.git"));
        }
    }
    if address.starts_with("git@") && address.contains(':') {
        return Some(address.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(
        url: &str,
        reference: Option<&str>,
        depth: Option<u32>,
        subdir: Option<&str>,
    ) -> RemoteSource {
        RemoteSource::Git(GitSource {
            url: url.into(),
            reference: reference.map(str::to_string),
            depth,
            subdir: subdir.map(str::to_string),
        })
    }

    /// The forms Terraform's module sources page and Terragrunt's examples use.
    #[test]
    fn addresses_read_as_go_getter_reads_them() {
        let cases = [
            (
                "git::git@github.com:acme/infrastructure-modules.git//modules/mysql?ref=v0.8.0",
                git(
                    "git@github.com:acme/infrastructure-modules.git",
                    Some("v0.8.0"),
                    None,
                    Some("modules/mysql"),
                ),
            ),
            (
                "git::https://example.com/network.git//modules/vpc?ref=v1.2.0&depth=1",
                git(
                    "https://example.com/network.git",
                    Some("v1.2.0"),
                    Some(1),
                    Some("modules/vpc"),
                ),
            ),
            (
                "git::file:///srv/git/modules.git//queue",
                git("file:///srv/git/modules.git", None, None, Some("queue")),
            ),
            (
                "github.com/hashicorp/example//sub/dir?ref=main",
                git(
                    "https://github.com/hashicorp/example.git",
                    Some("main"),
                    None,
                    Some("sub/dir"),
                ),
            ),
            (
                "git@github.com:hashicorp/example.git",
                git("git@github.com:hashicorp/example.git", None, None, None),
            ),
            (
                "bitbucket.org/hashicorp/terraform-consul-aws",
                git(
                    "https://bitbucket.org/hashicorp/terraform-consul-aws.git",
                    None,
                    None,
                    None,
                ),
            ),
            (
                "terraform-aws-modules/vpc/aws",
                registry(
                    DEFAULT_REGISTRY,
                    "terraform-aws-modules/vpc/aws",
                    None,
                    None,
                ),
            ),
            (
                "app.terraform.io/acme/queue/aws//modules/fifo",
                registry(
                    "app.terraform.io",
                    "acme/queue/aws",
                    Some("modules/fifo"),
                    None,
                ),
            ),
            (
                "127.0.0.1:8443/acme/queue/aws",
                registry("127.0.0.1:8443", "acme/queue/aws", None, None),
            ),
            (
                "tfr:///terraform-aws-modules/vpc/aws?version=5.1.0",
                registry(
                    DEFAULT_REGISTRY,
                    "terraform-aws-modules/vpc/aws",
                    None,
                    Some("5.1.0"),
                ),
            ),
            (
                "tfr://registry.example.com/acme/queue/aws//modules/fifo?version=1.2.3",
                registry(
                    "registry.example.com",
                    "acme/queue/aws",
                    Some("modules/fifo"),
                    Some("1.2.3"),
                ),
            ),
            (
                "https://example.com/vpc-module.zip",
                archive(
                    ArchiveLocation::Http("https://example.com/vpc-module.zip".into()),
                    ArchiveFormat::Zip,
                    None,
                ),
            ),
            (
                "https://example.com/get//net?id=7&archive=tgz",
                archive(
                    ArchiveLocation::Http("https://example.com/get?id=7".into()),
                    ArchiveFormat::TarGz,
                    Some("net"),
                ),
            ),
            (
                "https://example.com/m.tar.gz//modules/net",
                archive(
                    ArchiveLocation::Http("https://example.com/m.tar.gz".into()),
                    ArchiveFormat::TarGz,
                    Some("modules/net"),
                ),
            ),
            (
                "s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip",
                archive(
                    s3(None, Some("eu-west-1"), "bucket", "vpc.zip"),
                    ArchiveFormat::Zip,
                    None,
                ),
            ),
            (
                "s3::https://s3.amazonaws.com/bucket/modules/vpc.tgz//net",
                archive(
                    s3(None, Some("us-east-1"), "bucket", "modules/vpc.tgz"),
                    ArchiveFormat::TarGz,
                    Some("net"),
                ),
            ),
            (
                "bucket.s3.eu-central-1.amazonaws.com/vpc.zip",
                archive(
                    s3(None, Some("eu-central-1"), "bucket", "vpc.zip"),
                    ArchiveFormat::Zip,
                    None,
                ),
            ),
            (
                "s3::http://127.0.0.1:4566/bucket/vpc.zip",
                archive(
                    s3(Some("http://127.0.0.1:4566"), None, "bucket", "vpc.zip"),
                    ArchiveFormat::Zip,
                    None,
                ),
            ),
            (
                "hg::http://example.com/repo",
                RemoteSource::Other("hg::http://example.com/repo".into()),
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(parse(source).as_ref(), Ok(&expected), "{source}");
        }
    }

    fn registry(
        host: &str,
        path: &str,
        subdir: Option<&str>,
        version: Option<&str>,
    ) -> RemoteSource {
        let parts: Vec<&str> = path.split('/').collect();
        RemoteSource::Registry(RegistrySource {
            host: host.into(),
            namespace: parts[0].into(),
            name: parts[1].into(),
            provider: parts[2].into(),
            subdir: subdir.map(str::to_string),
            version: version.map(str::to_string),
        })
    }

    fn archive(
        location: ArchiveLocation,
        format: ArchiveFormat,
        subdir: Option<&str>,
    ) -> RemoteSource {
        RemoteSource::Archive(ArchiveSource {
            location,
            format,
            sha256: None,
            subdir: subdir.map(str::to_string),
        })
    }

    fn s3(
        endpoint: Option<&str>,
        region: Option<&str>,
        bucket: &str,
        key: &str,
    ) -> ArchiveLocation {
        ArchiveLocation::S3(S3Object {
            endpoint: endpoint.map(str::to_string),
            region: region.map(str::to_string),
            bucket: bucket.into(),
            key: key.into(),
            version: None,
        })
    }

    #[test]
    fn bad_queries_and_local_paths_are_refused() {
        for bad in [
            "git::https://example.com/x.git?depth=0",
            "git::https://example.com/x.git?sshkey=abc",
            "./modules/queue",
            "../modules/queue",
            // tfr needs an exact version, and names namespace/name/provider.
            "tfr:///terraform-aws-modules/vpc/aws",
            "tfr:///terraform-aws-modules/vpc?version=1.0.0",
            "tfr:///terraform-aws-modules/vpc/aws?ref=v1",
            // An archive type forge does not unpack, and a page that is no archive.
            "https://example.com/m.tar.bz2",
            "https://example.com/module",
            "https://example.com/m.zip?checksum=md5:abc",
            "s3::https://s3.amazonaws.com/bucket",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // A ref that would read as a git option is refused, not passed to git.
        assert!(parse("git::https://example.com/x.git?ref=--upload-pack=evil").is_err());
        // Credentials in an S3 source are refused, and the message does not repeat them.
        let e = parse("s3::https://s3.amazonaws.com/b/m.zip?aws_access_key_id=AKIA&aws_access_key_secret=hunter2")
            .expect_err("credentials");
        assert!(!e.contains("hunter2") && e.contains("query hidden"), "{e}");
    }

    #[test]
    fn a_checksum_is_read_from_an_archive_source() {
        let hex = "ab".repeat(32);
        let Ok(RemoteSource::Archive(a)) =
            parse(&format!("https://example.com/m.zip?checksum=sha256:{hex}"))
        else {
            panic!("not an archive");
        };
        assert_eq!(a.sha256.as_deref(), Some(hex.as_str()));
        assert_eq!(
            a.location,
            ArchiveLocation::Http("https://example.com/m.zip".into())
        );
    }

    #[test]
    fn the_cache_key_changes_with_the_ref() {
        let key = |s: &str| match parse(s) {
            Ok(RemoteSource::Git(g)) => g.cache_key(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            key("git::https://e.com/x.git?ref=v1"),
            key("git::https://e.com/x.git//a?ref=v1")
        );
        assert_ne!(
            key("git::https://e.com/x.git?ref=v1"),
            key("git::https://e.com/x.git?ref=v2")
        );
    }
}
