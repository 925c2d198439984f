//! Module source addresses, read as Terraform's go-getter reads them: an optional forced
//! getter (`git::`), the address, an optional `//subdir` after the address's own path
//! start, and query arguments (`ref`, `depth` for git).

use sha2::{Digest, Sha256};

/// A remote module source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteSource {
    Git(GitSource),
    /// Registry addresses, archives over HTTP(S) and S3, and other getters: named, not
    /// fetched.
    Other(String),
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
        let digest = hash.finalize();
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
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
    let (forced, address) = match address.split_once("::") {
        Some((getter, rest)) if !getter.contains('/') => (Some(getter), rest),
        _ => (None, address),
    };
    let (address, subdir) = split_subdir(address);
    let git_url = match forced {
        Some("git") => Some(address.to_string()),
        Some(_) => None,
        None => shorthand_git_url(address),
    };
    let Some(url) = git_url else {
        return Ok(RemoteSource::Other(source.to_string()));
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
                RemoteSource::Other("terraform-aws-modules/vpc/aws".into()),
            ),
            (
                "https://example.com/vpc-module.zip",
                RemoteSource::Other("https://example.com/vpc-module.zip".into()),
            ),
            (
                "s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip",
                RemoteSource::Other("s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip".into()),
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(parse(source).as_ref(), Ok(&expected), "{source}");
        }
    }

    #[test]
    fn bad_queries_and_local_paths_are_refused() {
        for bad in [
            "git::https://example.com/x.git?depth=0",
            "git::https://example.com/x.git?sshkey=abc",
            "./modules/queue",
            "../modules/queue",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // A ref that would read as a git option is refused, not passed to git.
        assert!(parse("git::https://example.com/x.git?ref=--upload-pack=evil").is_err());
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
