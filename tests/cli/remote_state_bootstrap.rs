//! The s3 backend's bucket and table checks through the `forge` binary, against the
//! emulators. Opening a backend does not wait for them (the first lock goes out at once),
//! so what they report arrives while the units run: every notice must still reach the
//! output, once, under a unit, and a check's error must still fail the unit.

use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::emulator::{sdk_config, unique};

const REGION: &str = "us-east-1";

/// Exit code and stdout + stderr of `forge` run in `dir`.
fn forge(dir: &Path, args: &[&str]) -> (i32, String) {
    forge_with_input(dir, args, "")
}

fn forge_with_input(dir: &Path, args: &[&str], input: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TF_CLI_CONFIG_FILE", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run forge");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("wait for forge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A unit folder `dir` whose state is `<bucket>/<key>`, locked in `table`, with one
/// output and no cloud objects (the state backend is what is under test). `extra` is
/// more of the remote_state config.
fn write_unit(dir: &Path, bucket: &str, table: &str, key: &str, extra: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let hcl = format!(
        "remote_state {{\n  backend = \"s3\"\n  config = {{\n    bucket         = \"{bucket}\"\n    key            = \"{key}\"\n    region         = \"{REGION}\"\n    encrypt        = true\n    dynamodb_table = \"{table}\"\n{extra}  }}\n}}\n\ninputs = {{}}\n"
    );
    std::fs::write(dir.join("terragrunt.hcl"), hcl).expect("write terragrunt.hcl");
    std::fs::write(
        dir.join("main.tf"),
        format!("output \"key\" {{\n  value = \"{key}\"\n}}\n"),
    )
    .expect("write main.tf");
}

/// The output's lines that contain `what`.
fn lines_with<'a>(text: &'a str, what: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(what)).collect()
}

/// The line is a notice given under one of `units` (`note: <unit>: ...`).
fn under_a_unit(line: &str, units: &[&str]) -> bool {
    units
        .iter()
        .any(|u| line.starts_with(&format!("note: {u}: ")))
}

async fn lock_item(table: &str, lock_id: &str) -> Option<String> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let out = client
        .get_item()
        .table_name(table)
        .key("LockID", AttributeValue::S(lock_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on the lock table");
    out.item
        .and_then(|i| i.get("Info").and_then(|v| v.as_s().ok().cloned()))
}

fn s3_client(cfg: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(true)
            .build(),
    )
}

#[tokio::test]
async fn cli_apply_shows_each_bootstrap_notice_once_under_a_unit() {
    let cfg = sdk_config().await;
    let root = tempfile::tempdir().expect("tempdir");
    let (bucket, table) = (unique("forge-cli-boot"), unique("forge-cli-boot-locks"));
    let units = ["a", "b", "c"];
    for u in units {
        write_unit(
            &root.path().join("env").join(u),
            &bucket,
            &table,
            &format!("{u}/terraform.tfstate"),
            "",
        );
    }
    // Three units take their locks and read their states at once, on a bucket and a
    // table that do not exist yet.
    let (code, out) = forge(root.path(), &["apply", "env", "--auto-approve"]);
    assert_eq!(code, 0, "forge apply failed:\n{out}");
    let bucket_notes = lines_with(&out, &format!("created the state bucket {bucket}"));
    assert_eq!(
        bucket_notes.len(),
        1,
        "the bucket's creation is told once:\n{out}"
    );
    assert!(
        under_a_unit(bucket_notes[0], &units),
        "under the unit that opened it:\n{out}"
    );
    let table_notes = lines_with(&out, &format!("created the DynamoDB lock table {table}"));
    assert_eq!(
        table_notes.len(),
        1,
        "the table's creation is told once:\n{out}"
    );
    assert!(
        under_a_unit(table_notes[0], &units),
        "under the unit that opened it:\n{out}"
    );

    let s3 = s3_client(&cfg);
    for u in units {
        let key = format!("{u}/terraform.tfstate");
        let state = s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no state at {key}: {e:?}"));
        let bytes = state.body.collect().await.expect("state body").into_bytes();
        let state: serde_json::Value = serde_json::from_slice(&bytes).expect("state JSON");
        assert_eq!(state["outputs"]["key"]["value"], key.as_str());
        assert_eq!(
            lock_item(&table, &format!("{bucket}/{key}")).await,
            None,
            "{u} was unlocked"
        );
    }

    // Once made, the bucket and table have nothing more to say.
    let (code, out) = forge(root.path(), &["plan", "env"]);
    assert_eq!(code, 0, "forge plan failed:\n{out}");
    assert!(lines_with(&out, "created the").is_empty(), "{out}");
}

#[tokio::test]
async fn cli_versioning_warning_is_shown_once_by_every_command() {
    let cfg = sdk_config().await;
    let root = tempfile::tempdir().expect("tempdir");
    let (bucket, table) = (
        unique("forge-cli-unversioned"),
        unique("forge-cli-unversioned-locks"),
    );
    s3_client(&cfg)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let unit = root.path().join("unit");
    write_unit(&unit, &bucket, &table, "u/terraform.tfstate", "");
    let warning = format!("versioning is off on the state bucket {bucket}");
    let told_once = |args: &[&str], input: &str| {
        let (code, out) = forge_with_input(&unit, args, input);
        assert_eq!(code, 0, "forge {args:?} failed:\n{out}");
        let notes = lines_with(&out, &warning);
        assert_eq!(notes.len(), 1, "forge {args:?} tells it once:\n{out}");
        assert!(
            notes[0].starts_with("note: ") && !notes[0].starts_with("note: warning"),
            "under the unit:\n{out}"
        );
        out
    };
    // apply --auto-approve: one walk; plan: the plan walk.
    told_once(&["apply", ".", "--auto-approve"], "");
    told_once(&["plan", "."], "");
    // apply with a confirmation: a plan walk, then the apply walk reading the state again.
    std::fs::write(
        unit.join("main.tf"),
        "output \"key\" {\n  value = \"changed\"\n}\n",
    )
    .expect("write main.tf");
    let out = told_once(&["apply", "."], "yes\n");
    assert!(out.contains("Apply complete!"), "{out}");
    // Only the first run created the table.
    let (_, out) = forge(&unit, &["plan", "."]);
    assert!(
        lines_with(&out, &format!("created the DynamoDB lock table {table}")).is_empty(),
        "{out}"
    );
}

#[tokio::test]
async fn cli_a_failed_bucket_check_fails_the_unit_with_its_message() {
    sdk_config().await;
    let root = tempfile::tempdir().expect("tempdir");
    let (bucket, table) = (
        unique("forge-cli-bad-tags"),
        unique("forge-cli-bad-tags-locks"),
    );
    let unit = root.path().join("unit");
    // S3 refuses tags in the aws: namespace: the new bucket is made, then cannot be tagged.
    write_unit(
        &unit,
        &bucket,
        &table,
        "u/terraform.tfstate",
        "    s3_bucket_tags = { \"aws:team\" = \"platform\" }\n",
    );
    let (code, out) = forge(&unit, &["apply", ".", "--auto-approve"]);
    assert_ne!(code, 0, "the unit must fail:\n{out}");
    assert!(
        out.contains(&format!("could not tag the state bucket {bucket}"))
            && out.contains("System tags"),
        "the check's own message:\n{out}"
    );
    assert!(!out.contains("Apply complete"), "{out}");
    // The lock, taken while the check ran, is released.
    assert_eq!(
        lock_item(&table, &format!("{bucket}/u/terraform.tfstate")).await,
        None,
        "no lock is left:\n{out}"
    );
}

/// Only a command that changes something creates a missing bucket or table: a plan, an
/// output or a state list says the state does not exist yet and leaves the account as it
/// was; `--backend-bootstrap` asks a plan to create them; apply creates them itself.
#[tokio::test]
async fn cli_only_a_changing_command_or_backend_bootstrap_creates_a_missing_bucket_or_table() {
    let cfg = sdk_config().await;
    let s3 = s3_client(&cfg);
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let bucket_exists = |bucket: String| {
        let s3 = s3.clone();
        async move { s3.head_bucket().bucket(bucket).send().await.is_ok() }
    };
    let table_exists = |table: String| {
        let ddb = ddb.clone();
        async move { ddb.describe_table().table_name(table).send().await.is_ok() }
    };
    let root = tempfile::tempdir().expect("tempdir");
    let unit = root.path().join("unit");

    let (bucket, table) = (unique("forge-cli-absent"), unique("forge-cli-absent-locks"));
    write_unit(&unit, &bucket, &table, "u/terraform.tfstate", "");
    for args in [
        &["plan", "."][..],
        &["output", "."],
        &["state", "list", "."],
    ] {
        let (code, out) = forge(&unit, args);
        assert_eq!(code, 1, "forge {args:?} on a missing bucket:\n{out}");
        assert!(
            out.contains(&format!("the state bucket {bucket} does not exist yet"))
                && out.contains("`forge apply` creates it"),
            "forge {args:?}:\n{out}"
        );
        assert!(
            !bucket_exists(bucket.clone()).await,
            "forge {args:?} made the bucket"
        );
        assert!(
            !table_exists(table.clone()).await,
            "forge {args:?} made the table"
        );
    }

    // The bucket there, the table missing: the plan says so about the table.
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let (code, out) = forge(&unit, &["plan", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "the DynamoDB lock table {table} does not exist yet"
        )),
        "{out}"
    );
    assert!(
        !table_exists(table.clone()).await,
        "the plan made the table"
    );

    // Asked to, a plan creates what is missing and plans.
    let (code, out) = forge(&unit, &["plan", ".", "--backend-bootstrap"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        lines_with(&out, &format!("created the DynamoDB lock table {table}")).len(),
        1,
        "{out}"
    );
    assert!(table_exists(table.clone()).await);

    // An apply needs no asking.
    let (bucket2, table2) = (unique("forge-cli-absent"), unique("forge-cli-absent-locks"));
    write_unit(&unit, &bucket2, &table2, "u/terraform.tfstate", "");
    let (code, out) = forge(&unit, &["apply", ".", "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(bucket_exists(bucket2.clone()).await && table_exists(table2.clone()).await);
}
