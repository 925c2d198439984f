//! SIGTERM, SIGINT and SIGHUP in the middle of an apply, against the emulators: forge
//! starts nothing new, lets the operation in flight finish and records it, writes the
//! state, releases the lock and exits with 128 + the signal (143, 130, 129). The next run
//! needs no force-unlock and makes only what is missing (IAM refuses a second role of the
//! same name, so a duplicate create would fail it). A second signal quits at once.
//!
//! `FORGE_FAULT_SLOW_OPS_MS` makes every operation last long enough that the signal,
//! sent when the second one is reported started, surely arrives while it is in flight.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use super::Run;
use super::s3_unit::{Backend, forge, forge_command, resources};
use crate::emulator::unique;

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-stop-signals".to_string(),
        table: "forge-cli-stop-signals-locks".to_string(),
        use_lockfile: false,
    }
}

/// A chain of five objects, each waiting for the one before: IAM roles and
/// `terraform_data` in turn.
fn chain(backend: &Backend, key: &str, name: &str) -> super::World {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let main = format!(
        "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n\n\
         resource \"aws_iam_role\" \"one\" {{\n  name               = \"{name}-one\"\n  assume_role_policy = {trust:?}\n}}\n\n\
         resource \"terraform_data\" \"two\" {{\n  input = aws_iam_role.one.arn\n}}\n\n\
         resource \"aws_iam_role\" \"three\" {{\n  name               = \"{name}-three\"\n  assume_role_policy = {trust:?}\n  tags = {{\n    after = terraform_data.two.id\n  }}\n}}\n\n\
         resource \"terraform_data\" \"four\" {{\n  input = aws_iam_role.three.arn\n}}\n\n\
         resource \"terraform_data\" \"five\" {{\n  input = terraform_data.four.id\n}}\n"
    );
    super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend.terragrunt_hcl(key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", &main),
    ])
}

/// Runs `forge apply` with slow operations and sends `signals` (`kill` names), one
/// after another, as soon as the second operation is reported started.
fn apply_interrupted(dir: &std::path::Path, signals: &[&str]) -> Run {
    apply_interrupted_with(dir, signals, &[("FORGE_FAULT_SLOW_OPS_MS", "1500")])
}

fn apply_interrupted_with(dir: &std::path::Path, signals: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = forge_command(dir, &["apply", "env", "--auto-approve"], env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run forge");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let errors = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let second_started = loop {
        match lines_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains("terraform_data.two: Creating...") => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    assert!(
        second_started,
        "the second operation did not start within a minute"
    );
    for signal in signals {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().expect("wait for forge");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: reader.join().expect("stdout reader"),
        stderr: errors.join().expect("stderr reader"),
    }
}

#[tokio::test]
async fn cli_sigterm_finishes_the_operation_in_flight_releases_the_lock_and_exits_143() {
    let backend = backend();
    let name = unique("sigterm");
    let key = format!("{name}/u/terraform.tfstate");
    let world = chain(&backend, &key, &name);
    let dir = world.dir.path();

    let stopped = apply_interrupted(dir, &["TERM"]);
    assert_eq!(stopped.code, 143, "{}", stopped.all());
    assert!(
        stopped
            .stderr
            .contains("SIGTERM received: waiting for the operations in flight"),
        "{}",
        stopped.all()
    );
    // The summary counts what the interrupted unit did.
    assert!(
        stopped
            .stderr
            .contains("2 added, 0 changed, 0 destroyed before the failure."),
        "{}",
        stopped.all()
    );
    assert!(
        stopped.stderr.ends_with(
            "Stopped by SIGTERM: every finished operation is recorded in state and the locks are released; run the same command again to continue.\n"
        ),
        "{}",
        stopped.all()
    );
    // The second operation was in flight when the signal came: it finished and is recorded.
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(
        resources(&state),
        ["aws_iam_role.one", "terraform_data.two"],
        "{}",
        stopped.all()
    );
    assert_eq!(
        backend.lock_item(&key).await,
        None,
        "the lock is left:\n{}",
        stopped.all()
    );
    assert!(
        !world.path("env/u/.forge/journal.tfstate").exists(),
        "the journal is left: the state was not written"
    );

    // No force-unlock: the next run takes the lock and makes the other three, once.
    let resumed = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(
        resumed.all().contains("3 added, 0 changed, 0 destroyed"),
        "{}",
        resumed.all()
    );
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(resources(&state).len(), 5, "{state}");
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}

#[tokio::test]
async fn cli_sigint_and_sighup_stop_cleanly_with_their_exit_codes() {
    let backend = backend();
    for (signal, code) in [("INT", 130), ("HUP", 129)] {
        let name = unique(&format!("sig{}", signal.to_lowercase()));
        let key = format!("{name}/u/terraform.tfstate");
        let world = chain(&backend, &key, &name);
        let dir = world.dir.path();
        let stopped = apply_interrupted(dir, &[signal]);
        assert_eq!(stopped.code, code, "SIG{signal}:\n{}", stopped.all());
        assert_eq!(
            backend.lock_item(&key).await,
            None,
            "SIG{signal} left the lock:\n{}",
            stopped.all()
        );
        let state = backend.state(&key).await.expect("state in S3");
        assert_eq!(resources(&state).len(), 2, "SIG{signal}: {state}");
        let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
        assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    }
}

#[tokio::test]
async fn cli_a_second_signal_quits_at_once() {
    let backend = backend();
    let name = unique("sigtwice");
    let key = format!("{name}/u/terraform.tfstate");
    let world = chain(&backend, &key, &name);
    let dir = world.dir.path();
    let quit = apply_interrupted(dir, &["TERM", "INT"]);
    assert_eq!(quit.code, 130, "{}", quit.all());
    assert!(
        quit.stderr
            .contains("SIGINT received again: quitting now; locks may be left held"),
        "{}",
        quit.all()
    );
    // It did not wait for the operation in flight: that one is not recorded.
    let state = backend.state(&key).await;
    let recorded = state.as_ref().map(resources).unwrap_or_default();
    assert!(recorded.len() <= 1, "{recorded:?}");
    cleanup_after_quitting(dir).await;
}

/// A forge that quit at once left its lock: the next run releases it (its holder is
/// gone) and destroys what the journal recorded.
async fn cleanup_after_quitting(dir: &std::path::Path) {
    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    assert!(
        destroyed
            .all()
            .contains("released the state lock of a forge run that is gone"),
        "{}",
        destroyed.all()
    );
}

#[tokio::test]
async fn cli_an_operation_outliving_the_grace_period_is_left_and_forge_quits() {
    let backend = backend();
    let name = unique("siggrace");
    let key = format!("{name}/u/terraform.tfstate");
    let world = chain(&backend, &key, &name);
    let dir = world.dir.path();
    let started = std::time::Instant::now();
    let quit = apply_interrupted_with(
        dir,
        &["TERM"],
        &[
            ("FORGE_FAULT_SLOW_OPS_MS", "20000"),
            ("FORGE_STOP_GRACE_SECONDS", "1"),
        ],
    );
    assert_eq!(quit.code, 143, "{}", quit.all());
    assert!(
        quit.stderr
            .contains("operations still in flight 1s after SIGTERM: quitting now"),
        "{}",
        quit.all()
    );
    // The first operation took 20 s; the second was left after one more second.
    assert!(
        started.elapsed() < Duration::from_secs(35),
        "forge waited for the operation in flight: {:?}",
        started.elapsed()
    );
    cleanup_after_quitting(dir).await;
}
