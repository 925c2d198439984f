//! Helpers for CLI tests whose units keep their state in the s3 backend on the emulators
//! (a bucket and a DynamoDB lock table of their own), with `terraform_data` resources, so
//! that what is under test is forge's state handling, not a cloud service.

use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_dynamodb::types::AttributeValue;

use super::Run;
use crate::emulator::sdk_config;

pub const REGION: &str = "us-east-1";

/// Where one test keeps its states and locks.
pub struct Backend {
    pub bucket: String,
    pub table: String,
    /// Also lock with the S3 lock object `<key>.tflock`.
    pub use_lockfile: bool,
}

impl Backend {
    /// The unit's `terragrunt.hcl`: its state at `<prefix>/<unit>/terraform.tfstate`.
    pub fn terragrunt_hcl(&self, key: &str, rest: &str) -> String {
        let lockfile = if self.use_lockfile {
            "    use_lockfile   = true\n"
        } else {
            ""
        };
        format!(
            "remote_state {{\n  backend = \"s3\"\n  config = {{\n    bucket         = \"{bucket}\"\n    key            = \"{key}\"\n    region         = \"{REGION}\"\n    encrypt        = true\n    dynamodb_table = \"{table}\"\n{lockfile}  }}\n}}\n\n{rest}",
            bucket = self.bucket,
            table = self.table,
        )
    }

    /// The lock item's `Info` for a state key, `None` when unlocked.
    pub async fn lock_item(&self, key: &str) -> Option<String> {
        self.item(&format!("{}/{key}", self.bucket), "Info").await
    }

    /// The digest item's MD5 for a state key.
    pub async fn digest(&self, key: &str) -> Option<String> {
        self.item(&format!("{}/{key}-md5", self.bucket), "Digest")
            .await
    }

    async fn item(&self, lock_id: &str, attr: &str) -> Option<String> {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        let out = client
            .get_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(lock_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem on the lock table");
        out.item
            .and_then(|i| i.get(attr).and_then(|v| v.as_s().ok().cloned()))
    }

    /// The lease forge's lock item for a state key carries (`ForgeLeaseExpires`).
    pub async fn lock_lease(&self, key: &str) -> Option<String> {
        self.item(&format!("{}/{key}", self.bucket), "ForgeLeaseExpires")
            .await
    }

    /// Puts a forge lock item with a lease lapsing at `lease` (RFC 3339), as a forge run
    /// that stopped renewing it leaves it.
    pub async fn put_leased_lock_item(&self, key: &str, info: &str, lease: &str) {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        client
            .put_item()
            .table_name(&self.table)
            .item(
                "LockID",
                AttributeValue::S(format!("{}/{key}", self.bucket)),
            )
            .item("Info", AttributeValue::S(info.to_string()))
            .item("ForgeLeaseExpires", AttributeValue::S(lease.to_string()))
            .send()
            .await
            .expect("PutItem on the lock table");
    }

    /// Puts a lock item as another program would (Terraform, a crashed forge).
    pub async fn put_lock_item(&self, key: &str, info: &str) {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        client
            .put_item()
            .table_name(&self.table)
            .item(
                "LockID",
                AttributeValue::S(format!("{}/{key}", self.bucket)),
            )
            .item("Info", AttributeValue::S(info.to_string()))
            .send()
            .await
            .expect("PutItem on the lock table");
    }

    /// An object's bytes, `None` when there is none.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let s3 = super::stacks::s3_client(&sdk_config().await);
        let object = s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(
            object
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec(),
        )
    }

    /// The stored state as JSON.
    pub async fn state(&self, key: &str) -> Option<serde_json::Value> {
        self.object(key)
            .await
            .map(|b| serde_json::from_slice(&b).expect("stored state is JSON"))
    }
}

/// The managed resources a state records, as `type.name`, sorted.
pub fn resources(state: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed")
        .map(|r| {
            format!(
                "{}.{}",
                r["type"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// The `forge` command in `dir`, on the emulators' environment the test runs in.
pub fn forge_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TF_CLI_CONFIG_FILE", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn run(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `forge` to the end.
pub fn forge(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run(forge_command(dir, args, env).output().expect("run forge"))
}
