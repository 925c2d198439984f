//! Terragrunt's `skip` and `prevent_destroy` through the `forge` binary on the emulator:
//! a skipped unit makes nothing and is named in a notice; an environment destroy keeps the
//! unit with prevent_destroy (its queue is still there, looked up with the SDK), destroys
//! the others and says which it kept. A unit's role settings that cannot be acted on are
//! errors at their line (the role itself, end to end: `provider_identity.rs`).

use std::path::Path;
use std::process::Command;

use super::stacks::require_emulators;

fn forge(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
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

fn write(root: &Path, files: &[(&str, String)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

async fn queue_exists(name: &str) -> bool {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&conf)
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .is_ok()
}

fn queue_module(name: &str) -> String {
    format!("resource \"aws_sqs_queue\" \"q\" {{\n  name = \"{name}\"\n}}\n")
}

#[test]
fn cli_skip_leaves_a_unit_out_and_prevent_destroy_keeps_one_in_a_destroy() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (kept, skipped, other) = (
        format!("forge-kept-{id}"),
        format!("forge-skipped-{id}"),
        format!("forge-other-{id}"),
    );
    write(
        &root,
        &[
            ("env/kept/terragrunt.hcl", "prevent_destroy = true\n".into()),
            ("env/kept/main.tf", queue_module(&kept)),
            ("env/skipped/terragrunt.hcl", "skip = true\n".into()),
            ("env/skipped/main.tf", queue_module(&skipped)),
            ("env/other/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/other/main.tf", queue_module(&other)),
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    let skip_file = root.join("env/skipped/terragrunt.hcl");
    assert!(
        text.contains(&format!(
            "note: skipped: left out of this run: skip = true ({}:1:1)",
            skip_file.display()
        )),
        "{text}"
    );
    rt.block_on(async {
        assert!(queue_exists(&kept).await);
        assert!(queue_exists(&other).await);
        assert!(
            !queue_exists(&skipped).await,
            "the skipped unit made its queue"
        );
    });

    let (code, text) = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("note: kept: kept, not destroyed: prevent_destroy = true"),
        "{text}"
    );
    rt.block_on(async {
        assert!(
            queue_exists(&kept).await,
            "prevent_destroy did not keep the queue"
        );
        assert!(
            !queue_exists(&other).await,
            "the other unit was not destroyed"
        );
    });

    // Clean up: without the setting the unit is destroyed as any other.
    write(
        &root,
        &[("env/kept/terragrunt.hcl", "inputs = {}\n".into())],
    );
    let (code, text) = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    rt.block_on(async {
        assert!(!queue_exists(&kept).await);
    });
}

#[test]
fn cli_a_units_role_settings_that_cannot_be_acted_on_are_errors_at_their_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let unit_file = root.join("env/app/terragrunt.hcl");
    let cases = [
        (
            "iam_role = \"deployer\"\n",
            "`iam_role` must be a role ARN, not \"deployer\"",
            "2:12",
        ),
        (
            "iam_assume_role_session_name = \"ci\"\n",
            "`iam_assume_role_session_name` is set but no `iam_role` names the role it is for",
            "2:1",
        ),
        (
            "iam_role = \"arn:aws:iam::111111111111:role/deployer\"\niam_assume_role_duration = 60\n",
            "`iam_assume_role_duration` must be a whole number of seconds from 900 to 43200, not 60",
            "3:28",
        ),
    ];
    for (settings, message, at) in cases {
        write(
            &root,
            &[
                (
                    "env/app/terragrunt.hcl",
                    format!("inputs = {{}}\n{settings}"),
                ),
                ("env/app/main.tf", "output \"x\" {\n  value = 1\n}\n".into()),
            ],
        );
        let (code, text) = forge(&root, &["plan", "env"]);
        assert_eq!(code, Some(1), "{settings}: {text}");
        assert!(
            text.contains(message) && text.contains(&format!("{}:{at}", unit_file.display())),
            "{settings}: {text}"
        );
    }
}
