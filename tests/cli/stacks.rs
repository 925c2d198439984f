//! Shared by the tests that run copies of `stacks/` against the emulators: a temporary
//! `stacks/` folder with environments copied from `stacks/production` under unique names
//! (so concurrent and repeated runs never collide), the `forge` binary run in it, the SDK
//! configuration, and readers of the unit states the S3 backend wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The units of the reference environment, as the state keys name them.
pub const UNITS: [&str; 8] = [
    "ec2-fast-api-jwt",
    "ec2-self-hosted",
    "iam",
    "policies",
    "roles",
    "s3-storage",
    "secret-manager",
    "sqs-notifications",
];

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != ".forge" && entry.file_name() != ".terragrunt-cache" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Fails (never skips) when the emulator variables are missing, saying how to get them.
pub fn require_emulators() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests with `scripts/test` (it starts the emulators), \
         or `source localstack/.run/env.sh` after `localstack/emulators.sh up`"
    );
}

/// A temporary copy of `stacks/` (root file and modules) to which environments are added.
pub struct Stacks {
    pub dir: tempfile::TempDir,
    /// A project name no other run uses; it prefixes every AWS name.
    pub project: String,
    /// The state bucket named in the root `terragrunt.hcl`.
    pub state_bucket: String,
    /// The environments added, destroyed when a test fails midway (see Drop).
    envs: std::cell::RefCell<Vec<String>>,
}

impl Drop for Stacks {
    /// A failed test must not leave its objects in the shared emulators: destroy what it
    /// made, newest environment first, at best effort (the failure is already reported).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for env in self.envs.borrow().iter().rev() {
            let (code, out) = self.forge(&["destroy", env, "--auto-approve"]);
            if code != 0 {
                eprintln!(
                    "cleanup: forge destroy {env} failed; objects named {}-{env}-* may remain:\n{out}",
                    self.project
                );
            }
        }
    }
}

impl Stacks {
    pub fn new() -> Stacks {
        require_emulators();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("tempdir");
        let stacks = dir.path().join("stacks");
        std::fs::create_dir_all(&stacks).expect("mkdir");
        let root = std::fs::read_to_string(repo.join("stacks/terragrunt.hcl"))
            .expect("root terragrunt.hcl");
        std::fs::write(stacks.join("terragrunt.hcl"), &root).expect("root file");
        copy_dir(&repo.join("stacks/modules"), &stacks.join("modules"));
        let state_bucket = regex::Regex::new(r#"bucket\s*=\s*"([^"]+)""#)
            .expect("regex")
            .captures(&root)
            .map(|c| c[1].to_string())
            .expect("stacks/terragrunt.hcl names its state bucket");
        Stacks {
            dir,
            project: format!("fj{}", &unique_id()[..6]),
            state_bucket,
            envs: Default::default(),
        }
    }

    pub fn env_dir(&self, env: &str) -> PathBuf {
        self.dir.path().join("stacks").join(env)
    }

    /// Copies `stacks/production` as `stacks/<env>` with this run's project and that
    /// environment name in its env.hcl.
    pub fn add_production_copy(&self, env: &str) {
        self.envs.borrow_mut().push(env.to_string());
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&repo.join("stacks/production"), &self.env_dir(env));
        let env_hcl = self.env_dir(env).join("env.hcl");
        let text = std::fs::read_to_string(&env_hcl).expect("env.hcl");
        let text = text
            .replace("\"production\"", &format!("\"{env}\""))
            .replace("\"fast-api-jwt\"", &format!("\"{}\"", self.project));
        std::fs::write(&env_hcl, text).expect("env.hcl");
    }

    /// What a user does for a second environment: copy the folder, edit the environment
    /// line of env.hcl and nothing else.
    pub fn copy_environment(&self, from: &str, to: &str) {
        self.envs.borrow_mut().push(to.to_string());
        copy_dir(&self.env_dir(from), &self.env_dir(to));
        let env_hcl = self.env_dir(to).join("env.hcl");
        let text = std::fs::read_to_string(&env_hcl).expect("env.hcl");
        let line = regex::Regex::new(r#"(?m)^(\s*environment\s*=\s*)"[^"]*""#).expect("regex");
        assert!(
            line.is_match(&text),
            "no environment line in {}:\n{text}",
            env_hcl.display()
        );
        std::fs::write(
            &env_hcl,
            line.replace(&text, format!("${{1}}\"{to}\"").as_str())
                .as_ref(),
        )
        .expect("env.hcl");
    }

    /// Runs `forge` in the temporary folder; exit code and stdout + stderr.
    pub fn forge(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            // Unset, the secret-manager unit generates its key (the tests rely on it).
            .env_remove("FAST_API_JWT_SIGNING_KEY")
            .output()
            .expect("run forge");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// The unit's state as the S3 backend wrote it (`<env>/<unit>/terraform.tfstate`), or
    /// `None` when there is no such object.
    pub async fn state(
        &self,
        s3: &aws_sdk_s3::Client,
        env: &str,
        unit: &str,
    ) -> Option<serde_json::Value> {
        let key = format!("{env}/{unit}/terraform.tfstate");
        match s3
            .get_object()
            .bucket(&self.state_bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(o) => {
                let bytes = o.body.collect().await.expect("state body").into_bytes();
                Some(
                    serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("state {key} is not JSON: {e}")),
                )
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
            Err(e) => panic!("reading state {key}: {e:?}"),
        }
    }
}

impl Stacks {
    /// After a successful destroy: removes the environment's emptied states (every version)
    /// and their digest items from the shared state bucket and lock table, so repeated runs
    /// leave nothing behind.
    pub async fn forget(&self, cfg: &aws_config::SdkConfig, env: &str) {
        let s3 = s3_client(cfg);
        let root = std::fs::read_to_string(self.dir.path().join("stacks/terragrunt.hcl"))
            .expect("root terragrunt.hcl");
        let table = regex::Regex::new(r#"dynamodb_table\s*=\s*"([^"]+)""#)
            .expect("regex")
            .captures(&root)
            .map(|c| c[1].to_string());
        let dynamo = aws_sdk_dynamodb::Client::new(cfg);
        for unit in UNITS {
            let key = format!("{env}/{unit}/terraform.tfstate");
            if let Some(s) = self.state(&s3, env, unit).await {
                let managed = s["resources"].as_array().into_iter().flatten().any(|r| {
                    r["mode"] == "managed"
                        && r["instances"].as_array().is_some_and(|i| !i.is_empty())
                });
                assert!(!managed, "{key} still records objects; destroy {env} first");
            }
            let versions = s3
                .list_object_versions()
                .bucket(&self.state_bucket)
                .prefix(&key)
                .send()
                .await
                .expect("ListObjectVersions");
            let ids = versions
                .versions()
                .iter()
                .filter_map(|v| v.version_id())
                .chain(
                    versions
                        .delete_markers()
                        .iter()
                        .filter_map(|m| m.version_id()),
                );
            for id in ids.map(str::to_string).collect::<Vec<_>>() {
                s3.delete_object()
                    .bucket(&self.state_bucket)
                    .key(&key)
                    .version_id(id)
                    .send()
                    .await
                    .expect("DeleteObject");
            }
            if let Some(table) = &table {
                let digest = aws_sdk_dynamodb::types::AttributeValue::S(format!(
                    "{}/{key}-md5",
                    self.state_bucket
                ));
                dynamo
                    .delete_item()
                    .table_name(table)
                    .key("LockID", digest)
                    .send()
                    .await
                    .expect("DeleteItem");
            }
        }
    }
}

/// Runs `forge` in `dir` against the emulators (the real providers, no fake cloud):
/// its exit code and its output, stdout then stderr.
pub fn forge_on_emulators(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run forge");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Writes each `(path under root, text)`, making the folders.
pub fn write_files(root: &Path, files: &[(&str, String)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// Whether the emulator's SQS (in the default account) has a queue of that name.
pub async fn queue_exists(name: &str) -> bool {
    aws_sdk_sqs::Client::new(&sdk_config().await)
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .is_ok()
}

pub fn unique_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    require_emulators();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// S3 against the emulator needs path-style addressing (no `<bucket>.localhost` DNS).
pub fn s3_client(cfg: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    )
}

/// The attributes of the single instance of a managed resource in a state, if recorded.
pub fn instance_attrs<'a>(
    state: &'a serde_json::Value,
    type_name: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    state["resources"]
        .as_array()?
        .iter()
        .find(|r| r["mode"] == "managed" && r["type"] == type_name && r["name"] == name)
        .and_then(|r| r["instances"].as_array()?.first())
        .map(|i| &i["attributes"])
}

/// A unit's section of a plan or apply: from its `── unit <name>` line to the next unit
/// (or the summary table).
pub fn unit_section<'a>(out: &'a str, unit: &str) -> &'a str {
    let head = format!("── unit {unit} \n");
    let start = out
        .find(&head)
        .unwrap_or_else(|| panic!("no section for unit {unit} in:\n{out}"))
        + head.len();
    let rest = &out[start..];
    let end = [rest.find("── unit "), rest.find("\nunit  ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The "changed outside of forge" part of a unit's section (empty when there is none).
pub fn drift_part(section: &str) -> &str {
    let Some(start) = section.find("forge detected the following changes made outside of forge")
    else {
        return "";
    };
    let rest = &section[start..];
    let end = [
        "Unless the configuration is changed accordingly",
        "This is a refresh-only plan",
    ]
    .iter()
    .filter_map(|m| rest.find(m))
    .min()
    .unwrap_or(rest.len());
    &rest[..end]
}

/// The position of a progress line in a run's output, failing with the output when absent.
pub fn line_at(out: &str, line: &str) -> usize {
    out.find(line)
        .unwrap_or_else(|| panic!("no line {line:?} in:\n{out}"))
}

/// `forge destroy` of the reference environment deletes dependents first: each unit has
/// finished before any unit it depends on starts.
pub fn assert_destroy_order(out: &str) {
    let before = [
        ("ec2-fast-api-jwt", "iam"),
        ("ec2-self-hosted", "iam"),
        ("ec2-fast-api-jwt", "secret-manager"),
        ("ec2-fast-api-jwt", "s3-storage"),
        ("ec2-self-hosted", "s3-storage"),
        ("iam", "s3-storage"),
        ("s3-storage", "sqs-notifications"),
    ];
    for (first, then) in before {
        let done = line_at(out, &format!("── {first}: done in "));
        let started = line_at(out, &format!("── {then}: destroying\n"));
        assert!(
            done < started,
            "{then} started destroying before {first} finished:\n{out}"
        );
    }
    assert!(
        out.contains("Schedule:\n  wave 1: ec2-fast-api-jwt, ec2-self-hosted, policies, roles\n  wave 2: iam, secret-manager\n  wave 3: s3-storage\n  wave 4: sqs-notifications\n"),
        "destroy schedule is not dependents-first:\n{out}"
    );
}
