//! Terragrunt's hooks and `errors` block through the `forge` binary on the emulator:
//! hooks run for the commands they name, in the unit's folder, in order, with their
//! output shown prefixed with the unit; a failing before_hook keeps its unit from running
//! (nothing deployed), after hooks run on an error only with `run_on_error`, error hooks
//! when `on_errors` matches. A retry rule runs a unit again until its error passes (the
//! queue it waits for made meanwhile by another unit), an ignore rule counts the unit done
//! with its message and writes its signals, and a retry rule gives up after its attempts.

use std::path::Path;

use super::stacks::{
    forge_on_emulators as forge, queue_exists, require_emulators, write_files as write,
};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn queue_module(name: &str) -> String {
    format!("resource \"aws_sqs_queue\" \"q\" {{\n  name = \"{name}\"\n}}\n")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A hook that appends a line to `hooks.log` in the folder it runs in.
fn logging_hook(kind: &str, name: &str, commands: &str, line: &str, extra: &str) -> String {
    format!(
        "  {kind} \"{name}\" {{\n    commands = {commands}\n    execute  = [\"sh\", \"-c\", \"echo {line} >> hooks.log\"]\n{extra}  }}\n"
    )
}

#[test]
fn cli_hooks_run_for_the_commands_they_name_in_the_units_folder_with_their_output_shown() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let queue = format!("forge-hooked-{}", uuid::Uuid::new_v4().simple());
    let unit = format!(
        r#"terraform {{
  before_hook "mark" {{
    commands = ["plan", "apply"]
    execute  = ["sh", "-c", "echo before $TG_CTX_COMMAND $TG_CTX_HOOK_NAME >> hooks.log; echo said before"]
  }}
  before_hook "quiet" {{
    commands        = ["apply"]
    execute         = ["sh", "-c", "echo hidden stdout; echo shown stderr >&2"]
    suppress_stdout = true
  }}
  before_hook "off" {{
    if       = false
    commands = ["apply"]
    execute  = ["sh", "-c", "echo off >> hooks.log"]
  }}
  before_hook "elsewhere" {{
    commands    = ["apply"]
    working_dir = "sub"
    execute     = ["sh", "-c", "pwd > where.txt"]
  }}
{}{}}}
"#,
        logging_hook(
            "after_hook",
            "done",
            "[\"apply\"]",
            "after $TG_CTX_COMMAND",
            ""
        ),
        logging_hook("after_hook", "gone", "[\"destroy\"]", "destroyed", ""),
    );
    write(
        &root,
        &[
            ("env/app/terragrunt.hcl", unit),
            ("env/app/main.tf", queue_module(&queue)),
            ("env/app/sub/.keep", String::new()),
        ],
    );
    let log = root.join("env/app/hooks.log");
    let rt = runtime();

    let (code, text) = forge(&root, &["plan", "env"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(read(&log), "before plan mark\n", "{text}");
    assert!(
        text.contains("app | before_hook mark: said before"),
        "{text}"
    );

    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        read(&log),
        "before plan mark\nbefore apply mark\nafter apply\n",
        "{text}"
    );
    assert!(
        text.contains("app | before_hook quiet: shown stderr"),
        "{text}"
    );
    assert!(!text.contains("quiet: hidden stdout"), "{text}");
    assert_eq!(
        read(&root.join("env/app/sub/where.txt")).trim(),
        root.join("env/app/sub").display().to_string()
    );
    rt.block_on(async { assert!(queue_exists(&queue).await, "{text}") });

    let (code, text) = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(read(&log).ends_with("after apply\ndestroyed\n"), "{text}");
    rt.block_on(async { assert!(!queue_exists(&queue).await, "{text}") });
}

#[test]
fn cli_a_failing_before_hook_stops_its_unit_and_after_and_error_hooks_run_as_terragrunt_runs_them()
{
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (blocked, other) = (format!("forge-blocked-{id}"), format!("forge-free-{id}"));
    let unit = format!(
        r#"terraform {{
  before_hook "gate" {{
    commands = ["apply"]
    execute  = ["sh", "-c", "echo gate closed >&2; exit 3"]
  }}
{}{}{}{}{}}}
"#,
        logging_hook("before_hook", "later", "[\"apply\"]", "later", ""),
        logging_hook(
            "after_hook",
            "always",
            "[\"apply\"]",
            "always",
            "    run_on_error = true\n"
        ),
        logging_hook("after_hook", "only_ok", "[\"apply\"]", "only_ok", ""),
        logging_hook(
            "error_hook",
            "on_gate",
            "[\"apply\"]",
            "error hook",
            "    on_errors = [\".*exited with.*\"]\n"
        ),
        logging_hook(
            "error_hook",
            "elsewhere",
            "[\"apply\"]",
            "never",
            "    on_errors = [\"no error says this\"]\n"
        ),
    );
    write(
        &root,
        &[
            ("env/blocked/terragrunt.hcl", unit),
            ("env/blocked/main.tf", queue_module(&blocked)),
            ("env/free/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/free/main.tf", queue_module(&other)),
        ],
    );
    let rt = runtime();

    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(1), "{text}");
    let file = root.join("env/blocked/terragrunt.hcl");
    assert!(
        text.contains("unit blocked: before_hook \"gate\" failed: `sh -c echo gate closed >&2; exit 3` exited with exit status: 3")
            && text.contains(&format!("before_hook at {}:2:3", file.display())),
        "{text}"
    );
    assert!(
        text.contains("blocked | before_hook gate: gate closed"),
        "{text}"
    );
    assert_eq!(
        read(&root.join("env/blocked/hooks.log")),
        "always\nerror hook\n",
        "{text}"
    );
    rt.block_on(async {
        assert!(
            !queue_exists(&blocked).await,
            "the blocked unit was applied: {text}"
        );
        assert!(
            queue_exists(&other).await,
            "the other unit was not applied: {text}"
        );
    });

    let (code, text) = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn cli_the_errors_block_retries_ignores_and_gives_up_as_its_rules_say() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (peer, waiting, absent) = (
        format!("forge-peer-{id}"),
        format!("forge-waiting-{id}"),
        format!("forge-absent-{id}"),
    );
    let reads = |name: &str| {
        format!(
            "data \"aws_sqs_queue\" \"peer\" {{\n  name = \"{name}\"\n}}\n\noutput \"url\" {{\n  value = data.aws_sqs_queue.peer.url\n}}\n"
        )
    };
    write(
        &root,
        &[
            // `peer` makes its queue after a pause; `waiting` reads it, failing until it
            // exists, and retries.
            (
                "env/peer/terragrunt.hcl",
                "terraform {\n  before_hook \"pause\" {\n    commands = [\"apply\"]\n    execute  = [\"sleep\", \"3\"]\n  }\n}\n".into(),
            ),
            ("env/peer/main.tf", queue_module(&peer)),
            (
                "env/waiting/terragrunt.hcl",
                "errors {\n  retry \"peer_missing\" {\n    retryable_errors   = [\".*no SQS queue is named.*\"]\n    max_attempts       = 8\n    sleep_interval_sec = 2\n  }\n}\n".into(),
            ),
            (
                "env/waiting/main.tf",
                format!("{}\n{}", reads(&peer), queue_module(&waiting)),
            ),
            // An error an ignore rule takes: the unit counts as done, its after hook runs
            // and its error hook does not.
            (
                "env/ignored/terragrunt.hcl",
                format!(
                    "errors {{\n  ignore \"absent_ok\" {{\n    ignorable_errors = [\"!.*QueueDeletedRecently.*\", \".*no SQS queue is named.*\"]\n    message          = \"the absent queue is fine\"\n    signals          = {{ alert = false, team = \"infra\" }}\n  }}\n}}\n\nterraform {{\n{}{}}}\n",
                    logging_hook("after_hook", "after", "[\"apply\"]", "after", ""),
                    logging_hook("error_hook", "on_any", "[\"apply\"]", "error hook", "    on_errors = [\".*\"]\n"),
                ),
            ),
            ("env/ignored/main.tf", reads(&absent)),
            // A retry rule that matches every attempt gives up after its attempts.
            (
                "env/gives_up/terragrunt.hcl",
                format!(
                    "errors {{\n  retry \"absent\" {{\n    retryable_errors   = [\".*no SQS queue is named.*\"]\n    max_attempts       = 2\n    sleep_interval_sec = 0\n  }}\n}}\n\nterraform {{\n{}}}\n",
                    logging_hook("error_hook", "on_missing", "[\"apply\"]", "error hook $TG_CTX_HOOK_NAME", "    on_errors = [\".*no SQS queue is named.*\"]\n"),
                ),
            ),
            ("env/gives_up/main.tf", reads(&absent)),
        ],
    );
    let rt = runtime();

    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("note: waiting: attempt 1 of 8 failed with an error retry rule \"peer_missing\" matches; trying again in 2s"),
        "{text}"
    );
    rt.block_on(async {
        assert!(
            queue_exists(&waiting).await,
            "the retried unit was not applied: {text}"
        );
    });

    let signals = root.join("env/ignored/error-signals.json");
    assert!(
        text.contains(&format!(
            "note: ignored: error ignored (ignore rule \"absent_ok\"): the absent queue is fine; signals written to {}",
            signals.display()
        )),
        "{text}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&read(&signals)).expect("error-signals.json is JSON");
    assert_eq!(
        written,
        serde_json::json!({"alert": false, "team": "infra"})
    );
    assert_eq!(
        read(&root.join("env/ignored/hooks.log")),
        "after\n",
        "{text}"
    );

    assert!(
        text.contains("note: gives_up: attempt 1 of 2 failed with an error retry rule \"absent\" matches; trying again in 0s")
            && text.contains("unit gives_up: still failing after 2 attempts (retry rule \"absent\")"),
        "{text}"
    );
    assert_eq!(
        read(&root.join("env/gives_up/hooks.log")),
        "error hook on_missing\n",
        "{text}"
    );

    // The reader first, then what it reads.
    for unit in ["waiting", "peer"] {
        let (code, text) = forge(
            &root,
            &["destroy", "env", "--auto-approve", "--include-unit", unit],
        );
        assert_eq!(code, Some(0), "{unit}: {text}");
    }
}
