//! FORGE_LOG / TF_LOG: forge's events and the AWS SDK's, at the level asked, into
//! FORGE_LOG_PATH, as text or JSON, with no secret in them: run against the emulator's
//! SQS and Secrets Manager with a session token and a secret value the test knows.

use std::path::Path;
use std::process::Command;

use super::World;
use super::stacks::require_emulators;

fn forge(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("FORGE_LOG")
        .env_remove("TF_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run forge");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn cli_trace_log_has_the_sdks_events_and_no_secret() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let secret_value = format!("s3cr3t-{id}");
    let session_token = format!("FwoGZXIvYXdzSessionToken{id}");
    let secret_key = format!("SecretAccessKey{id}");
    let unit = tmp.path().join("env/app");
    std::fs::create_dir_all(&unit).expect("mkdir");
    std::fs::write(unit.join("terragrunt.hcl"), "").expect("write");
    std::fs::write(
        unit.join("main.tf"),
        format!(
            r#"resource "aws_sqs_queue" "q" {{
  name = "forge-log-{id}"
}}

resource "aws_secretsmanager_secret" "s" {{
  name = "forge-log-{id}"
  recovery_window_in_days = 0
}}

resource "aws_secretsmanager_secret_version" "v" {{
  secret_id     = aws_secretsmanager_secret.s.id
  secret_string = "{secret_value}"
}}
"#
        ),
    )
    .expect("write");
    let log = tmp.path().join("forge.log");
    let log_path = log.to_str().expect("path");
    let env = [
        ("FORGE_LOG", "trace"),
        ("FORGE_LOG_PATH", log_path),
        ("AWS_SECRET_ACCESS_KEY", secret_key.as_str()),
        ("AWS_SESSION_TOKEN", session_token.as_str()),
    ];
    let (code, out) = forge(tmp.path(), &["apply", "env/app", "-auto-approve"], &env);
    assert_eq!(code, Some(0), "{out}");
    // Nothing of the log on the terminal.
    assert!(!out.contains("forge logging started"), "{out}");
    let text = std::fs::read_to_string(&log).expect("log file");
    for wanted in [
        "forge logging started",
        "state lock taken",
        "provider operation finished",
        "address=aws_sqs_queue.q",
        // The SDK's orchestrator, inside forge's operation span.
        "aws_smithy_runtime",
        "CreateQueue",
    ] {
        assert!(
            text.contains(wanted),
            "no {wanted:?} in the log:\n{}",
            &text[..text.len().min(3000)]
        );
    }
    for secret in [&secret_value, &session_token, &secret_key] {
        assert!(!text.contains(secret.as_str()), "{secret} is in the log");
    }
    // error level: the same run logs nothing at info or below.
    let quiet = tmp.path().join("quiet.log");
    let (code, out) = forge(
        tmp.path(),
        &["destroy", "env/app", "-auto-approve"],
        &[
            ("TF_LOG", "error"),
            ("TF_LOG_PATH", quiet.to_str().expect("path")),
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let quiet = std::fs::read_to_string(&quiet).expect("log file");
    assert!(
        !quiet.contains("INFO") && !quiet.contains("DEBUG"),
        "{quiet}"
    );
}

#[test]
fn cli_json_log_is_one_object_a_line_and_bad_settings_are_refused() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", ""),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n",
        ),
    ]);
    let log = w.path("log.json");
    let (code, out) = forge(
        w.dir.path(),
        &["plan", "env/u"],
        &[
            ("TF_LOG", "json"),
            ("TF_LOG_PATH", log.to_str().expect("path")),
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() >= 3, "{text}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(text.contains("unit run finished"), "{text}");
    // Without a path the log goes to stderr.
    let (code, out) = forge(w.dir.path(), &["plan", "env/u"], &[("FORGE_LOG", "info")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("forge logging started"), "{out}");
    let (code, out) = forge(w.dir.path(), &["plan", "env/u"], &[("FORGE_LOG", "loud")]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("FORGE_LOG=\"loud\" is not a log level"),
        "{out}"
    );
    let (code, out) = forge(
        w.dir.path(),
        &["plan", "env/u"],
        &[
            ("FORGE_LOG", "info"),
            ("FORGE_LOG_PATH", "/nonexistent/dir/x.log"),
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        out.contains("cannot open the log file /nonexistent/dir/x.log"),
        "{out}"
    );
}
