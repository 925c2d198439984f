//! A run killed in the middle of an apply, against LocalStack with the S3 backend: the
//! objects it made are recorded in the unit's journal (the S3 state may lag behind), its
//! lock is left as a crash leaves it; the next apply releases that lock (its holder is
//! gone), takes the journal, makes only what is missing (IAM and Secrets Manager refuse a second object of
//! the same name, so a duplicate create would fail the run) and writes it all to S3.
//!
//! The crash is `FORGE_FAULT_ABORT_AFTER_OPS=N`: forge aborts right after recording its
//! N-th operation, as `kill -9` would.

use std::path::Path;

use super::stacks::s3_client;
use super::{Run, World};
use crate::emulator::{sdk_config, unique};

const BUCKET: &str = "forge-cli-crash-recovery";
const TABLE: &str = "forge-cli-crash-recovery-locks";

fn forge(world: &World, args: &[&str], abort_after: Option<u32>) -> Run {
    forge_with_fault(
        world,
        args,
        abort_after.map(|n| ("FORGE_FAULT_ABORT_AFTER_OPS", n)),
    )
}

fn forge_with_fault(world: &World, args: &[&str], fault: Option<(&str, u32)>) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_forge"));
    cmd.args(args)
        .current_dir(world.dir.path())
        .env("NO_COLOR", "1");
    if let Some((var, n)) = fault {
        cmd.env(var, n.to_string());
    }
    let out = cmd.output().expect("run forge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn instances(state: &serde_json::Value) -> Vec<String> {
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

fn read_json(path: &Path) -> Option<serde_json::Value> {
    std::fs::read(path)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("valid JSON"))
}

async fn stored_state(key: &str) -> Option<serde_json::Value> {
    let s3 = s3_client(&sdk_config().await);
    let object = s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    let bytes = object.body.collect().await.expect("body").into_bytes();
    Some(serde_json::from_slice(&bytes).expect("stored state is JSON"))
}

/// One unit with a chain of three named objects (role -> role -> secret), state in S3
/// with a DynamoDB lock; gives the world and the state's key.
fn three_object_unit(prefix: &str) -> (World, String) {
    let name = unique(prefix);
    let key = format!("{name}/terraform.tfstate");
    let hcl = format!(
        "remote_state {{\n  backend = \"s3\"\n  config = {{\n    bucket         = \"{BUCKET}\"\n    key            = \"{key}\"\n    region         = \"us-east-1\"\n    encrypt        = true\n    dynamodb_table = \"{TABLE}\"\n  }}\n}}\n\ninputs = {{}}\n"
    );
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let main = format!(
        "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n\n\
         resource \"aws_iam_role\" \"first\" {{\n  name               = \"{name}-first\"\n  assume_role_policy = {trust:?}\n}}\n\n\
         resource \"aws_iam_role\" \"second\" {{\n  name               = \"{name}-second\"\n  assume_role_policy = {trust:?}\n  tags = {{\n    after = aws_iam_role.first.arn\n  }}\n}}\n\n\
         resource \"aws_secretsmanager_secret\" \"third\" {{\n  name                    = \"{name}/third\"\n  recovery_window_in_days = 0\n  tags = {{\n    after = aws_iam_role.second.arn\n  }}\n}}\n"
    );
    let world = World::new(&[("env/u/terragrunt.hcl", &hcl), ("env/u/main.tf", &main)]);
    (world, key)
}

#[tokio::test]
async fn cli_a_killed_apply_is_finished_by_the_next_one_from_its_journal() {
    let (world, key) = three_object_unit("crash");
    let journal = world.path("env/u/.forge/journal.tfstate");

    // Killed right after its second operation is recorded: the chain first -> second -> third.
    let killed = forge(&world, &["apply", "env", "--auto-approve"], Some(2));
    assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());
    let recorded = read_json(&journal)
        .unwrap_or_else(|| panic!("no journal after the crash:\n{}", killed.all()));
    assert_eq!(
        instances(&recorded),
        ["aws_iam_role.first", "aws_iam_role.second"],
        "the journal records both operations"
    );
    let stored_before = stored_state(&key)
        .await
        .map(|s| instances(&s))
        .unwrap_or_default();
    assert!(stored_before.len() <= 2, "{stored_before:?}");

    // The crash left its lock; the next apply sees that its holder is gone and releases
    // it (no force-unlock), takes the journal, makes only the secret, and writes
    // everything.
    let resumed = forge(&world, &["apply", "env", "--auto-approve"], None);
    assert_eq!(
        resumed.code,
        0,
        "the resumed apply failed (a duplicate create?):\n{}",
        resumed.all()
    );
    assert!(
        resumed
            .all()
            .contains("released the state lock of a forge run that is gone"),
        "the crashed run's lock was not released with a notice:\n{}",
        resumed.all()
    );
    assert!(
        resumed.all().contains("took its local record"),
        "the recovery is not reported:\n{}",
        resumed.all()
    );
    assert!(
        resumed.all().contains("1 added, 0 changed, 0 destroyed"),
        "{}",
        resumed.all()
    );
    let stored = stored_state(&key).await.expect("state in S3");
    assert_eq!(
        instances(&stored),
        [
            "aws_iam_role.first",
            "aws_iam_role.second",
            "aws_secretsmanager_secret.third"
        ]
    );
    assert_eq!(
        stored["lineage"], recorded["lineage"],
        "the lineage of the crashed run is kept"
    );
    assert!(
        !journal.exists(),
        "the journal outlived the run that wrote it"
    );

    let plan = forge(&world, &["plan", "env", "--detailed-exitcode"], None);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let destroyed = forge(&world, &["destroy", "env", "--auto-approve"], None);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}

/// A bug that panics in the middle of an apply: the unit fails with a message asking for a
/// report, its lock is released (the next run finds none to heal), and the journal keeps
/// what was done, so the next apply makes only what is missing.
#[tokio::test]
async fn cli_a_panic_releases_the_lock_and_keeps_what_was_done() {
    let (world, key) = three_object_unit("panic");
    let journal = world.path("env/u/.forge/journal.tfstate");

    let panicked = forge_with_fault(
        &world,
        &["apply", "env", "--auto-approve"],
        Some(("FORGE_FAULT_PANIC_AFTER_OPS", 2)),
    );
    assert_ne!(
        panicked.code,
        0,
        "the run did not fail:\n{}",
        panicked.all()
    );
    assert!(
        panicked.all().contains("internal error (a bug)")
            && panicked.all().contains("please report this"),
        "the panic is not reported as a bug to report:\n{}",
        panicked.all()
    );
    let recorded = read_json(&journal)
        .unwrap_or_else(|| panic!("no journal after the panic:\n{}", panicked.all()));
    assert_eq!(
        instances(&recorded),
        ["aws_iam_role.first", "aws_iam_role.second"],
        "the journal records both operations"
    );

    let resumed = forge(&world, &["apply", "env", "--auto-approve"], None);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(
        !resumed.all().contains("released the state lock"),
        "the panicked run left its lock behind:\n{}",
        resumed.all()
    );
    assert!(
        resumed.all().contains("1 added, 0 changed, 0 destroyed"),
        "{}",
        resumed.all()
    );
    let stored = stored_state(&key).await.expect("state in S3");
    assert_eq!(
        instances(&stored),
        [
            "aws_iam_role.first",
            "aws_iam_role.second",
            "aws_secretsmanager_secret.third"
        ]
    );
    let destroyed = forge(&world, &["destroy", "env", "--auto-approve"], None);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}
