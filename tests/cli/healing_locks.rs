//! Locks that heal, against the emulators: forge's lock `Info` records the holding process
//! (host, boot id, PID namespace, PID, start time) beside Terraform's fields. A lock whose
//! holder ran on this machine and is gone is released with a notice and the run goes on;
//! a lock Terraform holds, a live process's, or one taken on another host is never taken
//! over. `force-unlock` removes only the lock it names. The local backend's lock file
//! heals the same way.

use super::s3_unit::{Backend, forge, forge_command, resources, run};
use crate::emulator::unique;

fn backend(use_lockfile: bool) -> Backend {
    Backend {
        bucket: "forge-cli-healing-locks".to_string(),
        table: "forge-cli-healing-locks-locks".to_string(),
        use_lockfile,
    }
}

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

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .expect("read /proc")
        .trim()
        .to_string()
}

/// This test process as a lock records it (so, a holder that is alive).
fn this_process() -> serde_json::Value {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat has a name") + 1..];
    let start_time: u64 = after_name
        .split_whitespace()
        .nth(19)
        .expect("field 22")
        .parse()
        .expect("a number");
    serde_json::json!({
        "Host": read_trimmed("/proc/sys/kernel/hostname"),
        "BootID": read_trimmed("/proc/sys/kernel/random/boot_id"),
        "PIDNamespace": std::fs::read_link("/proc/self/ns/pid").expect("readlink").to_string_lossy(),
        "PID": std::process::id(),
        "StartTime": start_time,
    })
}

/// A PID no process has any more: a child that has exited and been collected.
fn finished_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("run true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

/// Runs a plan first, which creates the bucket and the lock table when this is the
/// first test to use them (a plan creates them only when asked to).
fn bootstrap(dir: &std::path::Path) {
    let planned = forge(dir, &["plan", "env", "--backend-bootstrap"], &[]);
    assert_eq!(planned.code, 0, "{}", planned.all());
}

fn lock_json(id: &str, process: Option<serde_json::Value>) -> String {
    let mut lock = serde_json::json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": "someone@somewhere",
        "Version": "1.11.4", "Created": "2026-11-25T21:07:10.123456Z", "Path": "",
    });
    if let Some(p) = process {
        lock["ForgeProcess"] = p;
    }
    lock.to_string()
}

#[tokio::test]
async fn cli_a_killed_runs_lock_names_its_process_and_the_next_run_releases_it() {
    killed_run_healed(false).await;
}

#[tokio::test]
async fn cli_a_killed_runs_lock_object_is_released_too() {
    killed_run_healed(true).await;
}

/// A run killed after its first operation; the next one releases its lock (the DynamoDB
/// item and, with `use_lockfile`, the S3 lock object) and finishes the apply.
async fn killed_run_healed(use_lockfile: bool) {
    let backend = backend(use_lockfile);
    let key = format!("{}/u/terraform.tfstate", unique("heal"));
    let world = world(&backend, &key);
    let dir = world.dir.path();

    let child = forge_command(
        dir,
        &["apply", "env", "--auto-approve"],
        &[("FORGE_FAULT_ABORT_AFTER_OPS", "1")],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("run forge");
    let pid = child.id();
    let killed = run(child.wait_with_output().expect("wait for forge"));
    assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());

    // The lock left behind: Terraform's fields, then the process that held it.
    let info = backend
        .lock_item(&key)
        .await
        .expect("the killed run's lock is left");
    let lock_object = format!("{key}.tflock");
    if use_lockfile {
        let object = backend
            .object(&lock_object)
            .await
            .expect("the lock object is left");
        assert_eq!(
            String::from_utf8_lossy(&object),
            info,
            "the two locks differ"
        );
    }
    let info: serde_json::Value = serde_json::from_str(&info).expect("lock Info is JSON");
    for field in [
        "ID",
        "Operation",
        "Info",
        "Who",
        "Version",
        "Created",
        "Path",
    ] {
        assert!(info.get(field).is_some(), "no {field} in {info}");
    }
    let mut expected = this_process();
    expected["PID"] = pid.into();
    let recorded = &info["ForgeProcess"];
    for field in ["Host", "BootID", "PIDNamespace", "PID"] {
        assert_eq!(recorded[field], expected[field], "{field} in {info}");
    }
    assert!(
        recorded["StartTime"].as_u64().is_some_and(|t| t > 0),
        "{info}"
    );

    // No force-unlock: the next run releases the lock, says so, and finishes the apply.
    let resumed = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    let notice = format!(
        "released the state lock of a forge run that is gone (PID {pid} on {}: no process has PID {pid} on this host any more)",
        expected["Host"].as_str().unwrap_or_default()
    );
    assert!(
        resumed.all().contains(&notice),
        "no `{notice}` in:\n{}",
        resumed.all()
    );
    assert!(resumed.all().contains("2 added"), "{}", resumed.all());
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(resources(&state).len(), 3, "{state}");
    assert_eq!(backend.lock_item(&key).await, None);
    assert_eq!(backend.object(&lock_object).await, None);
}

#[tokio::test]
async fn cli_locks_of_terraform_live_processes_and_other_hosts_are_never_taken_over() {
    let backend = backend(false);
    let me = this_process();
    let mut other_host = me.clone();
    other_host["Host"] = format!("{}-elsewhere", me["Host"].as_str().unwrap_or_default()).into();
    other_host["PID"] = finished_pid().into();
    let mut other_container = me.clone();
    other_container["PIDNamespace"] = "pid:[1]".into();
    other_container["PID"] = finished_pid().into();
    for (what, process) in [
        ("Terraform's lock", None),
        ("a live process's lock", Some(me.clone())),
        ("a lock from another host", Some(other_host)),
        ("a lock from another PID namespace", Some(other_container)),
    ] {
        let key = format!("{}/u/terraform.tfstate", unique("kept"));
        let world = world(&backend, &key);
        bootstrap(world.dir.path());
        let id = uuid::Uuid::new_v4().to_string();
        let lock = lock_json(&id, process);
        backend.put_lock_item(&key, &lock).await;
        let refused = forge(world.dir.path(), &["plan", "env"], &[]);
        assert_ne!(refused.code, 0, "{what} was taken over:\n{}", refused.all());
        assert!(
            refused.all().contains("the state is locked") && refused.all().contains(&id),
            "{what}:\n{}",
            refused.all()
        );
        assert!(
            !refused.all().contains("released the state lock"),
            "{what}:\n{}",
            refused.all()
        );
        assert_eq!(backend.lock_item(&key).await, Some(lock), "{what} changed");
    }
}

#[tokio::test]
async fn cli_force_unlock_removes_only_the_lock_it_names() {
    let backend = backend(true);
    let key = format!("{}/u/terraform.tfstate", unique("force"));
    let world = world(&backend, &key);
    let dir = world.dir.path();
    bootstrap(dir);
    let held = uuid::Uuid::new_v4().to_string();
    let lock = lock_json(&held, None);
    backend.put_lock_item(&key, &lock).await;
    let s3 = super::stacks::s3_client(&crate::emulator::sdk_config().await);
    s3.put_object()
        .bucket(&backend.bucket)
        .key(format!("{key}.tflock"))
        .body(lock.clone().into_bytes().into())
        .send()
        .await
        .expect("put the lock object");

    let stale = uuid::Uuid::new_v4().to_string();
    let refused = forge(dir, &["force-unlock", &stale, "env/u"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(refused.all().contains(&held), "{}", refused.all());
    assert_eq!(backend.lock_item(&key).await, Some(lock.clone()));
    assert!(backend.object(&format!("{key}.tflock")).await.is_some());

    let unlocked = forge(dir, &["force-unlock", &held, "env/u"], &[]);
    assert_eq!(unlocked.code, 0, "{}", unlocked.all());
    assert_eq!(backend.lock_item(&key).await, None);
    assert_eq!(backend.object(&format!("{key}.tflock")).await, None);
    let planned = forge(dir, &["plan", "env"], &[]);
    assert_eq!(planned.code, 0, "{}", planned.all());
}

#[test]
fn cli_a_killed_runs_local_lock_is_released_too() {
    let world = super::World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"one\" {\n  input = \"1\"\n}\n\n\
             resource \"terraform_data\" \"two\" {\n  input = terraform_data.one.id\n}\n",
        ),
    ]);
    let dir = world.dir.path();
    let killed = forge(
        dir,
        &["apply", "env", "--auto-approve"],
        &[("FORGE_FAULT_ABORT_AFTER_OPS", "1")],
    );
    assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());
    let lock_file = world.path("env/u/.forge/.terraform.tfstate.lock.info");
    let lock = std::fs::read_to_string(&lock_file).expect("the killed run's lock file is left");
    assert!(lock.contains("\"ForgeProcess\""), "{lock}");

    let resumed = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(
        resumed
            .all()
            .contains("released the state lock of a forge run that is gone"),
        "{}",
        resumed.all()
    );
    assert!(resumed.all().contains("1 added"), "{}", resumed.all());
    assert!(!lock_file.exists(), "the lock file is left");
}
