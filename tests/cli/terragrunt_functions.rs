//! Terragrunt's `get_aws_account_id()` family and `run_cmd` through the `forge` binary: the
//! account comes from STS on the emulator (LocalStack answers 000000000000), asked once per
//! run and only when a configuration uses the functions; an unreachable STS is an error at
//! the call's file:line:col; run_cmd's output is shown on stderr unless quiet.

use std::path::Path;
use std::process::{Command, Output};

use super::stacks::require_emulators;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn forge(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("FORGE_API_STATS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run forge")
}

const MODULE: &str = "variable \"account\" {}\nvariable \"rev\" {\n  default = null\n}\noutput \"account\" {\n  value = var.account\n}\noutput \"rev\" {\n  value = var.rev\n}\n";

#[test]
fn cli_plan_shows_the_emulator_account_from_get_aws_account_id_asking_sts_once() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let marker = format!("run-cmd-{}", uuid::Uuid::new_v4().simple());
    let quiet = format!("quiet-{}", uuid::Uuid::new_v4().simple());
    write(
        root,
        &[
            (
                "env/terragrunt.hcl",
                "locals {\n  account = get_aws_account_id()\n}\ninputs = {\n  account = local.account\n}\n",
            ),
            (
                "env/a/terragrunt.hcl",
                &format!(
                    "include \"root\" {{\n  path = find_in_parent_folders()\n}}\ninputs = {{\n  rev    = run_cmd(\"echo\", \"{marker}\")\n  hidden = run_cmd(\"--terragrunt-quiet\", \"echo\", \"{quiet}\")\n}}\n"
                ),
            ),
            (
                "env/a/main.tf",
                &format!("{MODULE}variable \"hidden\" {{}}\n"),
            ),
            (
                "env/b/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\ninputs = {\n  account = get_aws_account_id()\n}\n",
            ),
            ("env/b/main.tf", MODULE),
            (
                "plain/terragrunt.hcl",
                "inputs = {\n  account = \"none\"\n}\n",
            ),
            (
                "plain/a/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\n",
            ),
            ("plain/a/main.tf", MODULE),
        ],
    );

    let out = forge(root, &["plan", "env", "--api-stats"], &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.matches("+ account = \"000000000000\"").count(),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("+ rev = \"{marker}\"")),
        "{stdout}"
    );
    // Two units, the root's locals and an input call it: STS is asked once.
    assert!(
        stderr.contains("API calls: 1 ") && stderr.contains("1  sts:GetCallerIdentity"),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l == marker),
        "run_cmd's output is shown on stderr: {stderr}"
    );
    assert!(
        !stdout.contains(&quiet) && !stderr.contains(&quiet),
        "--terragrunt-quiet output shown:\n{stdout}{stderr}"
    );

    let out = forge(root, &["plan", "plain", "--api-stats"], &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("+ account = \"none\""), "{stdout}");
    assert!(
        stderr.contains("API calls: 0 ") && !stderr.contains("sts:GetCallerIdentity"),
        "a configuration without the functions asks nothing: {stderr}"
    );
}

#[test]
fn cli_unreachable_sts_is_an_error_at_the_call() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &[
            (
                "env/app/terragrunt.hcl",
                "inputs = {\n  account = \"acct-${get_aws_account_id()}\"\n}\n",
            ),
            ("env/app/main.tf", MODULE),
        ],
    );
    // A port nothing listens on, with credentials set so the chain never leaves the machine.
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let out = forge(&root, &["plan", "env"], &env);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error: get_aws_account_id: STS GetCallerIdentity failed: DispatchFailure: could not reach the AWS endpoint"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(
        text.contains(&format!(
            "--> {}:2:21",
            root.join("env/app/terragrunt.hcl").display()
        )),
        "{text}"
    );
    assert!(text.contains("hint: check the AWS credentials"), "{text}");

    // forge validate promises no network: the functions are unknown there, not an error.
    let out = forge(&root, &["validate", "env"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
