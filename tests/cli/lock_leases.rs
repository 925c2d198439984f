//! Lock leases, against the emulators (the lock table on moto): forge's DynamoDB lock
//! item carries `ForgeLeaseExpires`, renewed while the run holds the lock. With
//! `--lock-timeout D`, a lock whose lease lapsed more than D ago is taken over with a
//! notice naming the old holder, wherever that holder ran; a lease being renewed is never
//! taken over, and neither is a lock without a lease (Terraform's), whatever the timeout.
//!
//! `FORGE_FAULT_LOCK_LEASE_MS` shortens the lease so renewals show within seconds.

use std::time::{Duration, Instant};

use super::s3_unit::{Backend, forge, forge_command, resources, run};
use crate::emulator::unique;

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-lock-leases".to_string(),
        table: "forge-cli-lock-leases-locks".to_string(),
        use_lockfile: false,
    }
}

/// A chain of three `terraform_data`, each waiting for the one before.
fn world(backend: &Backend, key: &str) -> super::World {
    super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend.terragrunt_hcl(key, "inputs = {}\n"),
        ),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"one\" {\n  input = \"1\"\n}\n\n\
             resource \"terraform_data\" \"two\" {\n  input = terraform_data.one.id\n}\n\n\
             resource \"terraform_data\" \"three\" {\n  input = terraform_data.two.id\n}\n",
        ),
    ])
}

/// A plan first creates the bucket and the lock table when this is the first test to
/// use them.
fn bootstrap(dir: &std::path::Path) {
    let planned = forge(dir, &["plan", "env", "--backend-bootstrap"], &[]);
    assert_eq!(planned.code, 0, "{}", planned.all());
}

/// A lock as a forge run on another machine left it (its process cannot be looked at
/// from here, so only the lease can tell it is gone).
fn forge_lock_from_elsewhere(id: &str) -> String {
    serde_json::json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": "ci@runner-7",
        "Version": "0.1.0", "Created": "2026-11-25T21:07:10.123456Z", "Path": "",
        "ForgeProcess": {
            "Host": "runner-7", "BootID": "c0ffee", "PIDNamespace": "pid:[4026531836]",
            "PID": 4242, "StartTime": 1234,
        },
    })
    .to_string()
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn cli_a_lease_lapsed_longer_than_the_lock_timeout_is_taken_over() {
    let backend = backend();
    let key = format!("{}/u/terraform.tfstate", unique("lapsed"));
    let world = world(&backend, &key);
    let dir = world.dir.path();
    bootstrap(dir);
    let id = uuid::Uuid::new_v4().to_string();
    let lock = forge_lock_from_elsewhere(&id);
    let lapsed = rfc3339(chrono::Utc::now() - chrono::Duration::minutes(10));
    backend.put_leased_lock_item(&key, &lock, &lapsed).await;

    // Without --lock-timeout a lapsed lease is only reported.
    let refused = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("the state is locked")
            && refused.all().contains(&id)
            && refused.all().contains("its lease lapsed"),
        "{}",
        refused.all()
    );
    assert_eq!(backend.lock_item(&key).await, Some(lock.clone()));
    assert_eq!(backend.lock_lease(&key).await, Some(lapsed));

    let taken = forge(
        dir,
        &["apply", "env", "--auto-approve", "--lock-timeout", "30s"],
        &[],
    );
    assert_eq!(taken.code, 0, "{}", taken.all());
    let notice = format!(
        "took over the state lock held by ci@runner-7 since 2026-11-25T21:07:10.123456Z for OperationTypeApply (lock ID {id}): its lease lapsed"
    );
    assert!(
        taken.all().contains(&notice),
        "no `{notice}` in:\n{}",
        taken.all()
    );
    assert!(
        taken.all().contains("longer than --lock-timeout 30s"),
        "{}",
        taken.all()
    );
    assert!(taken.all().contains("3 added"), "{}", taken.all());
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(resources(&state).len(), 3, "{state}");
    // The run released the lock it took over the old one with.
    assert_eq!(backend.lock_item(&key).await, None);
}

#[tokio::test]
async fn cli_a_running_forge_renews_its_lease_and_is_never_taken_over() {
    let backend = backend();
    let key = format!("{}/u/terraform.tfstate", unique("renewed"));
    let world = world(&backend, &key);
    let dir = world.dir.path();
    bootstrap(dir);
    // Three operations of 2.5 s each; a 3 s lease renewed every second.
    let lease_env = [
        ("FORGE_FAULT_LOCK_LEASE_MS", "3000"),
        ("FORGE_FAULT_SLOW_OPS_MS", "2500"),
    ];
    let holder = forge_command(dir, &["apply", "env", "--auto-approve"], &lease_env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run forge");

    let started = Instant::now();
    let first = loop {
        if let Some(lease) = backend.lock_lease(&key).await {
            break lease;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the running apply's lock item has no lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let renewed = backend
        .lock_lease(&key)
        .await
        .expect("the lease is still there");
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 lease");
    assert!(
        parse(&renewed) > parse(&first),
        "the lease was not renewed: {first} then {renewed}"
    );

    let refused = forge(dir, &["plan", "env", "--lock-timeout", "2s"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("the state is locked")
            && refused.all().contains("its lease is renewed by the holder"),
        "{}",
        refused.all()
    );
    assert!(!refused.all().contains("took over"), "{}", refused.all());

    let finished = run(holder.wait_with_output().expect("wait for forge"));
    assert_eq!(finished.code, 0, "{}", finished.all());
    assert!(finished.all().contains("3 added"), "{}", finished.all());
    assert_eq!(backend.lock_item(&key).await, None);
}

#[tokio::test]
async fn cli_a_terraform_lock_is_never_taken_over_whatever_the_timeout() {
    let backend = backend();
    let key = format!("{}/u/terraform.tfstate", unique("tf-lock"));
    let world = world(&backend, &key);
    let dir = world.dir.path();
    bootstrap(dir);
    let id = uuid::Uuid::new_v4().to_string();
    let terraform = serde_json::json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": "ops@laptop",
        "Version": "1.11.4", "Created": "2026-01-01T00:00:00Z", "Path": "",
    })
    .to_string();
    backend.put_lock_item(&key, &terraform).await;
    let refused = forge(dir, &["plan", "env", "--lock-timeout", "2s"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("the state is locked") && refused.all().contains(&id),
        "{}",
        refused.all()
    );
    assert!(!refused.all().contains("took over"), "{}", refused.all());
    assert!(!refused.all().contains("its lease"), "{}", refused.all());
    assert_eq!(backend.lock_item(&key).await, Some(terraform));
    assert_eq!(backend.lock_lease(&key).await, None);
}
