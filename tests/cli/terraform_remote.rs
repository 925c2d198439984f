//! forge and the real Terraform (the oracle on PATH, see
//! /work/shared/notes/terraform-as-oracle.md) on one S3 state key under one DynamoDB lock
//! table, through the `forge` binary: Terraform's lock refuses `forge plan` and `forge
//! apply` with Terraform's own lock details, neither leaves a lock behind, and the state
//! each writes is read by the other with serial, lineage and outputs intact.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::emulator::{sdk_config, unique};

/// One bucket and table for every run: forge creates them on first use (bootstrap).
const BUCKET: &str = "forge-cli-terraform-interop";
const TABLE: &str = "forge-cli-terraform-interop-locks";
const REGION: &str = "us-east-1";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn forge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run forge")
}

fn terraform(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("terraform");
    cmd.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1");
    cmd
}

fn run_terraform(dir: &Path, args: &[&str]) -> Output {
    terraform(dir, args).output().unwrap_or_else(|e| {
        panic!("could not run `terraform {}`: {e}. These tests need Terraform 1.11 on PATH (the oracle); do not skip them", args.join(" "))
    })
}

/// A forge unit whose remote state is `key`, with `module` as its Terraform files.
fn forge_unit(root: &Path, key: &str, module: &str) -> std::path::PathBuf {
    let unit = root.join("forge-unit");
    std::fs::create_dir_all(&unit).expect("mkdir");
    let hcl = format!(
        "remote_state {{\n  backend = \"s3\"\n  config = {{\n    bucket         = \"{BUCKET}\"\n    key            = \"{key}\"\n    region         = \"{REGION}\"\n    encrypt        = true\n    dynamodb_table = \"{TABLE}\"\n  }}\n}}\n\ninputs = {{}}\n"
    );
    std::fs::write(unit.join("terragrunt.hcl"), hcl).expect("write terragrunt.hcl");
    std::fs::write(unit.join("main.tf"), module).expect("write main.tf");
    unit
}

/// A Terraform root module with the S3 backend at `key` (endpoints from the emulator
/// variables), initialised.
fn terraform_root(root: &Path, key: &str, body: &str) -> std::path::PathBuf {
    let dir = root.join("terraform-root");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let s3 = std::env::var("AWS_ENDPOINT_URL").expect("emulator variables");
    let dynamodb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| s3.clone());
    let main = format!(
        "terraform {{\n  backend \"s3\" {{\n    bucket                      = \"{BUCKET}\"\n    key                         = \"{key}\"\n    region                      = \"{REGION}\"\n    dynamodb_table              = \"{TABLE}\"\n    use_path_style              = true\n    skip_credentials_validation = true\n    skip_requesting_account_id  = true\n    skip_metadata_api_check     = true\n    endpoints = {{\n      s3       = \"{s3}\"\n      dynamodb = \"{dynamodb}\"\n    }}\n  }}\n}}\n\n{body}\n"
    );
    std::fs::write(dir.join("main.tf"), main).expect("write main.tf");
    let out = run_terraform(&dir, &["init", "-input=false", "-no-color"]);
    assert!(
        out.status.success(),
        "terraform init failed:\n{}",
        text(&out)
    );
    dir
}

async fn lock_item(lock_id: &str) -> Option<String> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let item = client
        .get_item()
        .table_name(TABLE)
        .key("LockID", AttributeValue::S(lock_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .ok()?;
    item.item?.get("Info")?.as_s().ok().cloned()
}

/// Makes sure the bucket and table exist (forge bootstraps them) before Terraform uses them.
fn bootstrap(root: &Path) {
    let unit = forge_unit(
        root,
        &format!("{}/bootstrap.tfstate", unique("interop")),
        "",
    );
    let out = forge(&unit, &["plan", ".", "--backend-bootstrap"]);
    assert!(
        out.status.success(),
        "forge plan (bootstrap) failed:\n{}",
        text(&out)
    );
    std::fs::remove_dir_all(unit).expect("rm");
}

#[tokio::test]
async fn terraform_lock_refuses_forge_plan_and_apply_and_neither_leaves_a_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    sdk_config().await;
    bootstrap(dir.path());
    let key = format!("{}/terraform.tfstate", unique("tf-holds"));
    let tf = terraform_root(
        dir.path(),
        &key,
        "resource \"terraform_data\" \"slow\" {\n  provisioner \"local-exec\" {\n    command = \"sleep 10\"\n  }\n}\n",
    );
    let apply = terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start terraform apply");
    let lock_id = format!("{BUCKET}/{key}");
    let started = Instant::now();
    let info = loop {
        if let Some(info) = lock_item(&lock_id).await {
            break info;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Terraform took no lock on {lock_id} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let info: serde_json::Value =
        serde_json::from_str(&info).expect("Terraform's lock Info is JSON");
    let terraform_id = info["ID"].as_str().expect("ID").to_string();
    let who = info["Who"].as_str().expect("Who").to_string();

    let unit = forge_unit(dir.path(), &key, "output \"x\" {\n  value = 1\n}\n");
    for command in [&["plan", "."][..], &["apply", ".", "--auto-approve"][..]] {
        let out = forge(&unit, command);
        let shown = text(&out);
        assert_ne!(
            out.status.code(),
            Some(0),
            "forge {command:?} must be refused while Terraform holds the lock:\n{shown}"
        );
        assert!(
            shown.contains(&terraform_id),
            "forge names Terraform's lock ID {terraform_id}:\n{shown}"
        );
        assert!(
            shown.contains("OperationTypeApply"),
            "forge names Terraform's operation:\n{shown}"
        );
        assert!(
            shown.contains(&who),
            "forge names the holder {who}:\n{shown}"
        );
        assert!(
            shown.contains(&format!("forge force-unlock {terraform_id}")),
            "forge gives the unlock command:\n{shown}"
        );
        assert_eq!(
            lock_item(&lock_id).await.map(|i| i.contains(&terraform_id)),
            Some(true),
            "a refused forge must leave Terraform's lock as it was"
        );
    }

    let out = apply.wait_with_output().expect("terraform apply");
    assert!(
        out.status.success(),
        "terraform apply failed (was its lock disturbed?):\n{}",
        text(&out)
    );
    assert_eq!(
        lock_item(&lock_id).await,
        None,
        "Terraform released its lock"
    );
    let out = forge(&unit, &["output", ".", "--json"]);
    assert!(
        out.status.success(),
        "forge reads the state Terraform wrote:\n{}",
        text(&out)
    );
    assert_eq!(
        lock_item(&lock_id).await,
        None,
        "forge leaves no lock behind"
    );
}

#[tokio::test]
async fn state_moves_between_terraform_and_forge_with_serial_lineage_and_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    sdk_config().await;
    bootstrap(dir.path());
    let key = format!("{}/terraform.tfstate", unique("tf-state"));
    let tf = terraform_root(
        dir.path(),
        &key,
        "output \"greeting\" {\n  value = \"hello from terraform\"\n}\n\noutput \"token\" {\n  value     = \"hunter2-token\"\n  sensitive = true\n}\n",
    );
    let out = run_terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    assert!(
        out.status.success(),
        "terraform apply failed:\n{}",
        text(&out)
    );
    let pulled = |what: &str| -> serde_json::Value {
        let out = run_terraform(&tf, &["state", "pull"]);
        assert!(
            out.status.success(),
            "terraform state pull ({what}) failed:\n{}",
            text(&out)
        );
        serde_json::from_slice(&out.stdout).expect("state JSON")
    };
    let terraform_state = pulled("after terraform apply");
    let lineage = terraform_state["lineage"]
        .as_str()
        .expect("lineage")
        .to_string();
    let serial = terraform_state["serial"].as_u64().expect("serial");

    // forge reads Terraform's state as it is.
    let unit = forge_unit(
        dir.path(),
        &key,
        "output \"greeting\" {\n  value = \"hello from forge\"\n}\n\noutput \"token\" {\n  value     = \"hunter2-token\"\n  sensitive = true\n}\n",
    );
    let out = forge(&unit, &["state", "pull", "."]);
    assert!(
        out.status.success(),
        "forge state pull failed:\n{}",
        text(&out)
    );
    let forge_view: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("forge state pull prints JSON");
    assert_eq!(forge_view["lineage"], terraform_state["lineage"]);
    assert_eq!(forge_view["serial"], terraform_state["serial"]);
    let out = forge(&unit, &["output", "."]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("greeting = \"hello from terraform\""),
        "{shown}"
    );
    assert!(
        shown.contains("token = (sensitive value)") && !shown.contains("hunter2"),
        "{shown}"
    );

    // forge changes an output; Terraform reads what forge wrote.
    let out = forge(&unit, &["apply", ".", "--auto-approve"]);
    assert!(out.status.success(), "forge apply failed:\n{}", text(&out));
    assert!(
        !text(&out).contains("hunter2"),
        "a sensitive output reached the terminal:\n{}",
        text(&out)
    );
    let after = pulled("after forge apply");
    assert_eq!(
        after["lineage"].as_str(),
        Some(lineage.as_str()),
        "forge kept Terraform's lineage"
    );
    assert!(
        after["serial"].as_u64().expect("serial") > serial,
        "forge advanced the serial: {after}"
    );
    let out = run_terraform(&tf, &["output", "-raw", "greeting"]);
    assert!(
        out.status.success(),
        "terraform output failed (digest mismatch?):\n{}",
        text(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from forge");
    let out = run_terraform(&tf, &["output", "-json", "token"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "\"hunter2-token\"",
        "the sensitive output survives the round trip"
    );
}
