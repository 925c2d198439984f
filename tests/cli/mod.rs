//! The `forge` binary end to end on the in-memory fake provider (FORGE_FAKE_CLOUD keeps
//! its objects in a file between runs). Output is compared with snapshots in
//! `tests/cli/snapshots/`, with paths, timings and ids redacted; set
//! FORGE_UPDATE_SNAPSHOTS=1 to rewrite them after an intended change.

mod commands;
mod crash_recovery;
mod create_intents;
mod drift;
mod environments;
mod eventual_consistency;
mod healing_locks;
mod idempotent_destroy;
mod json_stream;
mod json_syntax_oracle;
mod lock_leases;
mod logging;
mod lost_answers;
mod module_sources;
mod modules;
mod oracle;
mod plan_json_oracle;
mod production;
mod provider_identity;
mod provider_oracle;
mod refactoring;
mod remote_state_bootstrap;
mod requirements;
mod s3_unit;
mod show_report;
mod stacks;
mod state_encryption;
mod stop_signals;
mod terraform_flags;
mod terraform_remote;
mod terragrunt_functions;
mod unit_hooks;
mod unit_settings;
mod unmanaged;
mod utility_providers;
mod variables;
mod version_completions;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new(files: &[(&str, &str)]) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = World { dir };
        w.write(files);
        w
    }

    pub fn write(&self, files: &[(&str, &str)]) {
        for (path, text) in files {
            let p = self.dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `forge` in the world's folder with `stdin` as input.
    pub fn forge_with_input(&self, args: &[&str], stdin: &str) -> Run {
        self.forge_with(args, stdin, &[])
    }

    /// Runs `forge` in the world's folder with `stdin` as input and more environment.
    pub fn forge_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_forge"))
            .envs(env.iter().copied())
            .args(args)
            .current_dir(self.dir.path())
            .env("FORGE_FAKE_CLOUD", self.dir.path().join("fake-cloud.json"))
            .env("NO_COLOR", "1")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run forge");
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("wait");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn forge(&self, args: &[&str]) -> Run {
        self.forge_with_input(args, "")
    }

    /// The output with this world's paths, timings and generated ids made stable.
    pub fn redact(&self, text: &str) -> String {
        let root = self.dir.path().to_string_lossy().into_owned();
        let canonical = self
            .dir
            .path()
            .canonicalize()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| root.clone());
        let text = text.replace(&canonical, "<DIR>").replace(&root, "<DIR>");
        let uuid =
            regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .expect("regex");
        let time = regex::Regex::new(r"\b\d+(\.\d+)?(ms|s)\b").expect("regex");
        let text = uuid.replace_all(&text, "<UUID>");
        time.replace_all(&text, "<T>").into_owned()
    }
}

/// Compares with the stored snapshot; a missing or different snapshot fails (unless
/// FORGE_UPDATE_SNAPSHOTS=1, which writes it).
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("FORGE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; run with FORGE_UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from snapshot {}\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}
