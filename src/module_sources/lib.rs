//! Remote module sources, as Terraform and Terragrunt fetch them, for `terraform {
//! source }` and `module` blocks:
//! - `git::` addresses over https, ssh and file
//!   (`git::https://example.com/modules.git//queue?ref=v1.2.0&depth=1`,
//!   `git::git@github.com:org/modules.git//queue?ref=main`) and the shorthands Terraform
//!   expands to them (`github.com/org/modules//queue?ref=v1`, `bitbucket.org/org/x`);
//! - the Terraform module registry (`namespace/name/provider` with a `version`
//!   constraint, `host/namespace/name/provider`, Terragrunt's
//!   `tfr:///namespace/name/provider?version=1.2.3`): see [`registry`];
//! - HTTP(S) archives (`https://host/m.zip`, `.tar.gz`, `.tgz`, `.tar`, `?archive=zip`,
//!   `?checksum=sha256:...`) and S3 archives (`s3::https://s3.amazonaws.com/bucket/m.zip`,
//!   `s3::https://s3-eu-west-1.amazonaws.com/...`, `bucket.s3.amazonaws.com/m.zip`),
//!   unpacked safely (see [`archive`]).
//!
//! Everything fetched is kept in a cache folder keyed by the source and its ref or
//! version; a later run, with or without network, reads the cache. A registry version
//! chosen from a constraint is asked of the registry each run (so a new release is
//! seen), and when the registry cannot be reached the newest cached version the
//! constraint allows is used. A fetch goes to a temporary folder renamed into place when
//! complete, so a run killed mid-fetch leaves nothing a later run would take for the
//! module.

mod address;
pub mod archive;
mod http;
pub mod registry;
mod s3;
#[cfg(test)]
mod served_tests;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

pub use address::{
    ArchiveLocation, ArchiveSource, DEFAULT_REGISTRY, GitSource, RegistrySource, RemoteSource,
    S3Object, parse,
};
use archive::Limits;
use forge_config::version_constraint::VersionConstraint;
use registry::{Registry, RegistryError};

/// Reads an environment variable (the process's, or a test's).
type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where fetched modules are kept, and how they are fetched.
#[derive(Clone)]
pub struct ModuleCache {
    root: PathBuf,
    limits: Limits,
    /// Where `TF_TOKEN_<host>` values come from (the process environment by default).
    env: Arc<EnvLookup>,
    /// Registry versions chosen in this run, by module and constraint: each is asked
    /// of the registry once per run, however many units use it.
    chosen: Arc<Mutex<HashMap<String, String>>>,
}

impl std::fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleCache")
            .field("root", &self.root)
            .finish()
    }
}

/// The marker a complete checkout carries.
const COMPLETE: &str = ".forge-fetch-complete";

/// The largest archive forge downloads (far above any real module).
const MAX_DOWNLOAD: usize = 256 << 20;

impl ModuleCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModuleCache {
            root: root.into(),
            limits: Limits::default(),
            env: Arc::new(|k| std::env::var(k).ok()),
            chosen: Arc::default(),
        }
    }

    /// The cache `FORGE_MODULE_CACHE` names, else `$XDG_CACHE_HOME/forge/modules`, else
    /// `~/.cache/forge/modules`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if let Some(dir) = env("FORGE_MODULE_CACHE").filter(|d| !d.is_empty()) {
            return Some(ModuleCache::new(dir));
        }
        let base = env("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".cache")))?;
        Some(ModuleCache::new(base.join("forge").join("modules")))
    }

    /// Reads `TF_TOKEN_<host>` from `env` instead of the process environment.
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(env);
        self
    }

    /// Bounds what an archive may unpack to.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The local folder holding the module `source` names (with a module block's
    /// `version` constraint, for registry modules): from the cache, or fetched into it
    /// first. The error says what failed and names the source.
    pub fn fetch(&self, source: &str, version: Option<&str>) -> Result<PathBuf, String> {
        let remote = parse(source)?;
        if version.is_some() && !matches!(remote, RemoteSource::Registry(_)) {
            return Err(format!(
                "{source:?} is not a registry module, so it takes no version constraint; pin it in the source instead (?ref= for git)"
            ));
        }
        match &remote {
            RemoteSource::Registry(module) => self.fetch_registry(source, module, version),
            RemoteSource::Git(_) | RemoteSource::Archive(_) => self.fetch_package(source, &remote),
            RemoteSource::Other(_) => Err(format!(
                "forge cannot fetch {source:?}: it fetches git sources (git::, github.com/..., git@...), registry modules (namespace/name/provider, tfr://) and .zip/.tar.gz/.tgz/.tar archives over http(s) and S3; check the module out locally and point source at its folder"
            )),
        }
    }

    /// A git repository or an archive: its folder in the cache, then the subdir.
    fn fetch_package(&self, source: &str, remote: &RemoteSource) -> Result<PathBuf, String> {
        let (checkout, subdir) = match remote {
            RemoteSource::Git(git) => {
                let checkout = self.root.join(git.cache_key());
                self.fill_once(&checkout, |partial| clone_into(git, partial))
                    .map_err(|e| format!("cannot fetch the module {source:?}: {e}"))?;
                (checkout, git.subdir.as_deref())
            }
            RemoteSource::Archive(archive) => {
                let checkout = self.root.join("archives").join(archive.cache_key());
                self.fill_once(&checkout, |partial| self.download_into(archive, partial))
                    .map_err(|e| format!("cannot fetch the module {source:?}: {e}"))?;
                (checkout, archive.subdir.as_deref())
            }
            _ => return Err(format!("{source:?} is not a git or archive source")),
        };
        subfolder(source, checkout, subdir)
    }

    fn fetch_registry(
        &self,
        source: &str,
        module: &RegistrySource,
        constraint_text: Option<&str>,
    ) -> Result<PathBuf, String> {
        if module.version.is_some() && constraint_text.is_some() {
            return Err(format!(
                "{source:?} names its version in the source (?version=); remove the module's version argument"
            ));
        }
        let constraint = constraint_text
            .map(|c| {
                VersionConstraint::parse(c)
                    .map_err(|e| format!("{source:?}: the version constraint {c:?}: {e}"))
            })
            .transpose()?;
        let versions_dir = self.root.join("registry").join(registry_key(module));
        let exact = module
            .version
            .clone()
            .or_else(|| constraint_text.and_then(registry::exact_version));
        let memo_key = format!(
            "{}/{}\0{}",
            module.host,
            module.module_path(),
            exact.as_deref().or(constraint_text).unwrap_or("")
        );
        // An exact version already fetched needs no registry; nor does one chosen
        // earlier in this run.
        let known = exact
            .clone()
            .filter(|v| versions_dir.join(v).is_file())
            .or_else(|| self.chosen.lock().ok()?.get(&memo_key).cloned());
        let (version, location) = match known {
            Some(version) => {
                let location = read_location(&versions_dir, &version)?;
                (version, location)
            }
            None => match self.resolve(module, exact.as_deref(), constraint.as_ref()) {
                Ok(found) => found,
                Err(RegistryError::Refused(e)) => {
                    return Err(format!("cannot fetch the module {source:?}: {e}"));
                }
                Err(RegistryError::Unreachable(e)) => {
                    let cached = cached_versions(&versions_dir);
                    let choice = match &exact {
                        Some(v) => cached.iter().find(|c| *c == v).cloned(),
                        None => registry::choose(&cached, constraint.as_ref()),
                    };
                    let Some(version) = choice else {
                        return Err(format!(
                            "cannot fetch the module {source:?}: the registry cannot be reached ({e}), and the module cache holds no version of it{}",
                            constraint_text
                                .map(|c| format!(" that meets {c:?}"))
                                .unwrap_or_default()
                        ));
                    };
                    let location = read_location(&versions_dir, &version)?;
                    (version, location)
                }
            },
        };
        let inner = parse(&location)
            .map_err(|e| format!("{source:?} version {version}: the registry's location {e}"))?;
        if !matches!(inner, RemoteSource::Git(_) | RemoteSource::Archive(_)) {
            return Err(format!(
                "{source:?} version {version}: the registry names {location:?}, which is not a git repository or archive forge fetches"
            ));
        }
        let dir = self
            .fetch_package(&location, &inner)
            .map_err(|e| format!("{source:?} version {version}: {e}"))?;
        write_location(&versions_dir, &version, &location)?;
        if let Ok(mut chosen) = self.chosen.lock() {
            chosen.insert(memo_key, version.clone());
        }
        subfolder(source, dir, module.subdir.as_deref())
    }

    /// Asks the registry which version to use and where it is.
    fn resolve(
        &self,
        module: &RegistrySource,
        exact: Option<&str>,
        constraint: Option<&VersionConstraint>,
    ) -> Result<(String, String), RegistryError> {
        let registry = Registry::discover(module, self.env.as_ref())?;
        let version = match exact {
            Some(v) => v.to_string(),
            None => {
                let listed = registry.versions(module)?;
                registry::choose(&listed, constraint).ok_or_else(|| {
                    RegistryError::Refused(format!(
                        "the registry {} lists no version of {}{} (it has {})",
                        module.host,
                        module.module_path(),
                        constraint
                            .map(|c| format!(" that meets \"{c}\""))
                            .unwrap_or_default(),
                        if listed.is_empty() {
                            "none".to_string()
                        } else {
                            listed.join(", ")
                        }
                    ))
                })?
            }
        };
        let location = registry.location(module, &version)?;
        Ok((version, location))
    }

    /// Downloads an archive and unpacks it into `partial`.
    fn download_into(&self, archive: &ArchiveSource, partial: &Path) -> Result<(), String> {
        let data = match &archive.location {
            ArchiveLocation::Http(url) => {
                let answer = http::get(url, None, MAX_DOWNLOAD)?;
                if answer.status != 200 {
                    return Err(format!("GET {url} answered {}", answer.status));
                }
                answer.body
            }
            ArchiveLocation::S3(object) => s3::get_object(object, MAX_DOWNLOAD)?,
        };
        if let Some(expected) = &archive.sha256 {
            use sha2::Digest;
            let actual: String = sha2::Sha256::digest(&data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if &actual != expected {
                return Err(format!(
                    "the archive's sha256 is {actual}, not the {expected} the source's checksum names"
                ));
            }
        }
        std::fs::create_dir_all(partial)
            .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
        archive::unpack(&data, archive.format, partial, self.limits)
    }

    /// Fills `checkout` once: `fill` works in a temporary folder renamed into place
    /// when complete; a complete checkout is left as it is.
    fn fill_once(
        &self,
        checkout: &Path,
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        if checkout.join(COMPLETE).is_file() {
            return Ok(());
        }
        let parent = checkout.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the cache {}: {e}", parent.display()))?;
        let name = checkout
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = parent.join(format!("{name}.partial-{}", unique_suffix()));
        let _ = std::fs::remove_dir_all(&partial);
        let result = fill(&partial).and_then(|()| {
            std::fs::write(partial.join(COMPLETE), "")
                .map_err(|e| format!("cannot mark the checkout complete: {e}"))
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
        // A checkout left incomplete by a killed run of an older forge is replaced.
        if checkout.is_dir() && !checkout.join(COMPLETE).is_file() {
            let _ = std::fs::remove_dir_all(checkout);
        }
        match std::fs::rename(&partial, checkout) {
            Ok(()) => Ok(()),
            // Another run finished the same fetch first: keep its checkout.
            Err(_) if checkout.join(COMPLETE).is_file() => {
                let _ = std::fs::remove_dir_all(&partial);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                Err(format!("cannot move the checkout into the cache: {e}"))
            }
        }
    }
}

/// `dir/subdir`, which must be a folder inside `dir`.
fn subfolder(source: &str, dir: PathBuf, subdir: Option<&str>) -> Result<PathBuf, String> {
    let Some(sub) = subdir else {
        return Ok(dir);
    };
    if sub.split('/').any(|part| part == "..") {
        return Err(format!("{source:?}: the subfolder {sub} leaves the module"));
    }
    let path = dir.join(sub);
    if !path.is_dir() {
        return Err(format!("the module {source:?} has no folder {sub}"));
    }
    Ok(path)
}

/// The registry cache folder of a module (all its versions).
fn registry_key(module: &RegistrySource) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}", module.host, module.module_path()));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The versions of a module whose location the cache records.
fn cached_versions(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains(".partial"))
        .collect()
}

fn read_location(dir: &Path, version: &str) -> Result<String, String> {
    std::fs::read_to_string(dir.join(version))
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("cannot read the module cache {}: {e}", dir.display()))
}

/// Records where a version is, written whole (temporary file, then rename).
fn write_location(dir: &Path, version: &str, location: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the module cache {}: {e}", dir.display()))?;
    let partial = dir.join(format!("{version}.partial-{}", unique_suffix()));
    std::fs::write(&partial, location)
        .and_then(|()| std::fs::rename(&partial, dir.join(version)))
        .map_err(|e| format!("cannot write the module cache {}: {e}", dir.display()))
}

/// A name part no other fetch uses at the same time: units load in parallel, so the
/// process id alone would let two threads fill one temporary folder.
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Clones `git` into `partial` and checks out its ref.
fn clone_into(git: &GitSource, partial: &Path) -> Result<(), String> {
    let mut clone = vec!["clone".to_string(), "--quiet".to_string()];
    if let Some(depth) = git.depth {
        // A shallow clone can only start at a branch or tag.
        clone.push(format!("--depth={depth}"));
        if let Some(reference) = &git.reference {
            clone.push(format!("--branch={reference}"));
        }
    }
    clone.push("--".into());
    clone.push(git.url.clone());
    clone.push(partial.to_string_lossy().into_owned());
    run_git(None, &clone).and_then(|()| match (&git.reference, git.depth) {
        (Some(reference), None) => run_git(
            Some(partial),
            &["checkout", "--quiet", "--detach", reference.as_str(), "--"].map(String::from),
        ),
        _ => Ok(()),
    })
}

/// Runs git without ever asking for input (no terminal prompt, no askpass), so a
/// missing credential fails instead of hanging.
fn run_git(dir: Option<&Path>, args: &[String]) -> Result<(), String> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git ({e}); install git to use git module sources"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "git {} failed: {}",
        args.first().map(String::as_str).unwrap_or(""),
        stderr.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A bare repository with `modules/queue/main.tf` at tag v1 ("one") and on main ("two").
    fn repository(root: &Path) -> PathBuf {
        let work = root.join("work");
        std::fs::create_dir_all(work.join("modules/queue")).expect("mkdir");
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(work.join("modules/queue/main.tf"), "# one\n").expect("write");
        git(&work, &["add", "."]);
        git(&work, &["commit", "--quiet", "-m", "one"]);
        git(&work, &["tag", "v1"]);
        std::fs::write(work.join("modules/queue/main.tf"), "# two\n").expect("write");
        git(&work, &["commit", "--quiet", "-am", "two"]);
        let bare = root.join("modules.git");
        git(root, &["clone", "--quiet", "--bare", "work", "modules.git"]);
        bare
    }

    #[test]
    fn a_tag_a_branch_and_a_shallow_tag_are_fetched_once_then_read_from_the_cache() {
        let root = tempfile::tempdir().expect("tempdir");
        let bare = repository(root.path());
        let cache = ModuleCache::new(root.path().join("cache"));
        let url = format!("git::file://{}", bare.display());
        let at = |source: &str| {
            let dir = cache.fetch(source, None).expect("fetch");
            std::fs::read_to_string(dir.join("main.tf")).expect("main.tf")
        };
        assert_eq!(at(&format!("{url}//modules/queue?ref=v1")), "# one\n");
        assert_eq!(at(&format!("{url}//modules/queue?ref=main")), "# two\n");
        assert_eq!(
            at(&format!("{url}//modules/queue?ref=v1&depth=1")),
            "# one\n"
        );
        assert_eq!(at(&format!("{url}//modules/queue")), "# two\n");
        // Without the repository, the cache answers.
        std::fs::remove_dir_all(&bare).expect("remove the repository");
        assert_eq!(at(&format!("{url}//modules/queue?ref=v1")), "# one\n");
        // A ref never fetched cannot be had now, and the error names the source.
        let e = cache
            .fetch(&format!("{url}//modules/queue?ref=v2"), None)
            .expect_err("no repository");
        assert!(
            e.contains("?ref=v2") && e.contains("git clone failed"),
            "{e}"
        );
        // No partial checkout is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(root.path().join("cache"))
            .expect("cache")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_missing_subfolder_and_unsupported_sources_are_errors_naming_the_source() {
        let root = tempfile::tempdir().expect("tempdir");
        let bare = repository(root.path());
        let cache = ModuleCache::new(root.path().join("cache"));
        let e = cache
            .fetch(
                &format!("git::file://{}//modules/nope?ref=v1", bare.display()),
                None,
            )
            .expect_err("no such folder");
        assert!(e.contains("has no folder modules/nope"), "{e}");
        let e = cache
            .fetch("hg::https://example.com/modules", None)
            .expect_err("hg");
        assert!(
            e.contains("hg::https://example.com/modules") && e.contains("it fetches git sources"),
            "{e}"
        );
        let e = cache
            .fetch(
                &format!("git::file://{}?ref=v1", bare.display()),
                Some("~> 1.0"),
            )
            .expect_err("a version for git");
        assert!(e.contains("takes no version constraint"), "{e}");
    }
}
