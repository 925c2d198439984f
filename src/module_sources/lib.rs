//! Remote module sources, as Terraform and Terragrunt fetch them, for `terraform {
//! source }` and `module` blocks: `git::` addresses over https, ssh and file
//! (`git::https://example.com/modules.git//queue?ref=v1.2.0&depth=1`,
//! `git::git@github.com:org/modules.git//queue?ref=main`) and the shorthands Terraform
//! expands to them (`github.com/org/modules//queue?ref=v1`, `git@github.com:org/x.git`,
//! `bitbucket.org/org/modules`).
//!
//! Each repository and ref is fetched once, with the `git` command (the user's own
//! credentials, SSH agent and configuration apply; it never prompts), into a cache folder
//! keyed by the address and ref; a later run, with or without network, reads the cache.
//! A fetch goes to a temporary folder renamed into place when complete, so a run killed
//! mid-fetch leaves no half checkout that a later run would take for the module.
//!
//! The Terraform registry (`namespace/name/provider`, `tfr://`), HTTP(S) and S3 archives
//! are not fetched yet: [`ModuleCache::fetch`] says so, naming the source.

mod address;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use address::{GitSource, RemoteSource, parse};

/// Where fetched modules are kept.
#[derive(Clone, Debug)]
pub struct ModuleCache {
    root: PathBuf,
}

/// The marker a complete checkout carries.
const COMPLETE: &str = ".forge-fetch-complete";

impl ModuleCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModuleCache { root: root.into() }
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

    /// The local folder holding the module `source` names: from the cache, or fetched
    /// into it first. The error says what failed and names the source.
    pub fn fetch(&self, source: &str) -> Result<PathBuf, String> {
        let remote = parse(source)?;
        let RemoteSource::Git(git) = &remote else {
            return Err(format!(
                "forge cannot fetch {source:?} yet: only git sources (git::, github.com/..., git@...) are fetched; check the module out locally and point source at its folder"
            ));
        };
        let checkout = self.root.join(git.cache_key());
        if !checkout.join(COMPLETE).is_file() {
            self.clone_into(git, &checkout)
                .map_err(|e| format!("cannot fetch the module {source:?}: {e}"))?;
        }
        let dir = match git.subdir.as_deref() {
            Some(sub) => checkout.join(sub),
            None => checkout,
        };
        if !dir.is_dir() {
            return Err(format!(
                "the module {source:?} has no folder {}",
                git.subdir.as_deref().unwrap_or(".")
            ));
        }
        Ok(dir)
    }

    fn clone_into(&self, git: &GitSource, checkout: &Path) -> Result<(), String> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| format!("cannot create the cache {}: {e}", self.root.display()))?;
        let partial = self.root.join(format!(
            "{}.partial-{}",
            git.cache_key(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&partial);
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
        let result = run_git(None, &clone).and_then(|()| match (&git.reference, git.depth) {
            (Some(reference), None) => run_git(
                Some(&partial),
                &["checkout", "--quiet", "--detach", reference.as_str(), "--"].map(String::from),
            ),
            _ => Ok(()),
        });
        let result = result.and_then(|()| {
            std::fs::write(partial.join(COMPLETE), &git.url)
                .map_err(|e| format!("cannot mark the checkout complete: {e}"))
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
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
            let dir = cache.fetch(source).expect("fetch");
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
            .fetch(&format!("{url}//modules/queue?ref=v2"))
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
            .fetch(&format!(
                "git::file://{}//modules/nope?ref=v1",
                bare.display()
            ))
            .expect_err("no such folder");
        assert!(e.contains("has no folder modules/nope"), "{e}");
        let e = cache
            .fetch("terraform-aws-modules/vpc/aws")
            .expect_err("registry");
        assert!(
            e.contains("terraform-aws-modules/vpc/aws") && e.contains("only git sources"),
            "{e}"
        );
    }
}
