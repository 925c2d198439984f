//! Terragrunt's `skip` and `prevent_destroy` through the `forge` binary on the emulator:
//! a skipped unit makes nothing and is named in a notice; an environment destroy keeps the
//! unit with prevent_destroy (its queue is still there, looked up with the SDK), destroys
//! the others and says which it kept. A unit's role settings that cannot be acted on are
//! errors at their line (the role itself, end to end: `provider_identity.rs`).

use std::process::Command;

use super::stacks::{
    forge_on_emulators as forge, queue_exists, require_emulators, write_files as write,
};

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

/// Terragrunt's `exclude` block: a unit whose `if` holds sits out the commands its
/// `actions` name (with `exclude_dependencies`, the units it depends on too), with a
/// notice naming the block; other commands run it as usual.
#[test]
fn cli_an_exclude_block_leaves_its_unit_and_dependencies_out_of_the_actions_it_names() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (db, app, other) = (
        format!("forge-ex-db-{id}"),
        format!("forge-ex-app-{id}"),
        format!("forge-ex-other-{id}"),
    );
    let app_unit = |condition: &str| {
        format!(
            "dependency \"db\" {{\n  config_path  = \"../db\"\n  skip_outputs = true\n}}\n\nexclude {{\n  if                   = {condition}\n  actions              = [\"apply\"]\n  exclude_dependencies = true\n}}\n\ninputs = {{}}\n"
        )
    };
    write(
        &root,
        &[
            ("env/db/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/db/main.tf", queue_module(&db)),
            ("env/app/terragrunt.hcl", app_unit("true")),
            ("env/app/main.tf", queue_module(&app)),
            ("env/other/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/other/main.tf", queue_module(&other)),
        ],
    );
    let app_file = root.join("env/app/terragrunt.hcl");

    // A plan is not among the actions: every unit is planned.
    let (code, text) = forge(&root, &["plan", "env"]);
    assert_eq!(code, Some(0), "{text}");
    for q in [&db, &app, &other] {
        assert!(text.contains(q.as_str()), "{q} not planned:\n{text}");
    }

    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "left out of this apply: its exclude block names it ({}:6:1)",
            app_file.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "left out of this apply: unit app depends on it and excludes its dependencies (exclude_dependencies = true, {}:6:1)",
            app_file.display()
        )),
        "{text}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        assert!(queue_exists(&other).await, "the other unit was not applied");
        assert!(!queue_exists(&app).await, "the excluded unit was applied");
        assert!(
            !queue_exists(&db).await,
            "the excluded unit's dependency was applied"
        );
    });

    // `if` false: the block asks for nothing.
    write(&root, &[("env/app/terragrunt.hcl", app_unit("false"))]);
    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("left out"), "{text}");
    rt.block_on(async {
        assert!(queue_exists(&app).await && queue_exists(&db).await);
    });

    // A destroy is not among the actions either: everything goes.
    write(&root, &[("env/app/terragrunt.hcl", app_unit("true"))]);
    let (code, text) = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    rt.block_on(async {
        for q in [&db, &app, &other] {
            assert!(!queue_exists(q).await, "{q} was not destroyed");
        }
    });
}

/// Terragrunt settings forge does not act on are never dropped silently: those that do
/// not change what is deployed (a hook for a command forge has no step for) are warnings
/// at their line in validate and plan, and
/// `extra_arguments` that forge cannot pass is refused at its line.
#[test]
fn cli_settings_not_acted_on_are_warnings_and_extra_arguments_forge_cannot_pass_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let unit_file = root.join("env/app/terragrunt.hcl");
    let unit = r#"feature "canary" {
  default = false
}

errors {
  retry "net" {
    retryable_errors   = [".*timeout.*"]
    max_attempts       = 3
    sleep_interval_sec = 1
  }
}

terraform {
  before_hook "lint" {
    commands = ["init"]
    execute  = ["tflint"]
  }
}

inputs = {}
"#;
    write(
        &root,
        &[
            ("env/app/terragrunt.hcl", unit.to_string()),
            ("env/app/main.tf", "output \"x\" {\n  value = 1\n}\n".into()),
        ],
    );
    for args in [&["validate", "env"][..], &["plan", "env"]] {
        let (code, text) = forge(&root, args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
        let what = "before_hook `lint` never runs for init: forge runs hooks for plan, apply, destroy, import only";
        assert!(
            text.contains(what) && text.contains(&format!("{}:15:5", unit_file.display())),
            "{args:?}: {what} at 15:5:\n{text}"
        );
    }

    // extra_arguments that could change what is deployed and that forge cannot pass
    // are refused at their line.
    for (extra, message) in [
        (
            "arguments = [\"-target=aws_sqs_queue.q\"]",
            "forge does not pass \"-target=aws_sqs_queue.q\" to its runs",
        ),
        (
            "env_vars = { AWS_PROFILE = \"prod\" }",
            "env_vars AWS_PROFILE: forge sets only TF_VAR_* variables",
        ),
    ] {
        let refused = unit.replace(
            "  before_hook",
            &format!("  extra_arguments \"x\" {{\n    commands = [\"plan\"]\n    {extra}\n  }}\n  before_hook"),
        );
        write(&root, &[("env/app/terragrunt.hcl", refused)]);
        let (code, text) = forge(&root, &["plan", "env"]);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains(message) && text.contains(&format!("{}:16:", unit_file.display())),
            "{message}: {text}"
        );
    }
}

/// `extra_arguments` gives the unit's runs of the commands it names their variable
/// values, in Terragrunt's order: arguments (`-var-file`, `-var`), required files,
/// optional files that exist, `TF_VAR_*` env_vars; the command line's `-var` wins.
#[test]
fn cli_extra_arguments_give_the_commands_they_name_their_variable_values() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let unit_file = root.join("env/app/terragrunt.hcl");
    let names = ["a", "b", "c", "d", "e", "f"];
    let main_tf = names
        .iter()
        .map(|n| format!("variable \"{n}\" {{\n  type    = string\n  default = \"unset\"\n}}\n"))
        .collect::<String>()
        + "output \"all\" {\n  value = join(\",\", [var.a, var.b, var.c, var.d, var.e, var.f])\n}\n";
    write(
        &root,
        &[
            (
                "env/app/terragrunt.hcl",
                r#"terraform {
  extra_arguments "vars" {
    commands           = get_terraform_commands_that_need_vars()
    arguments          = ["-var-file=common.tfvars", "-var", "b=arg", "-lock-timeout=20m"]
    required_var_files = ["${get_terragrunt_dir()}/required.tfvars"]
    optional_var_files = ["missing.tfvars", "optional.tfvars"]
    env_vars           = { TF_VAR_d = "env" }
  }
  extra_arguments "apply_only" {
    commands  = ["apply"]
    arguments = ["-var=e=applied"]
  }
}

inputs = {
  a = "inputs"
  b = "inputs"
  e = "inputs"
}
"#
                .into(),
            ),
            ("env/app/main.tf", main_tf),
            (
                "env/app/common.tfvars",
                "a = \"common\"\nb = \"common\"\n".into(),
            ),
            ("env/app/required.tfvars", "c = \"required\"\n".into()),
            ("env/app/optional.tfvars", "f = \"optional\"\n".into()),
        ],
    );

    let (code, text) = forge(&root, &["plan", "env"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("all = \"common,arg,required,env,inputs,optional\""),
        "{text}"
    );
    assert!(
        text.contains("-lock-timeout=20m is not passed by forge")
            && text.contains(&format!("{}:4:", unit_file.display())),
        "{text}"
    );
    let (code, text) = forge(&root, &["plan", "env", "-var", "a=cli"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("all = \"cli,arg,required,env,inputs,optional\""),
        "{text}"
    );

    // The apply-only block counts for apply, not for plan.
    let (code, text) = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("all = \"common,arg,required,env,applied,optional\""),
        "{text}"
    );

    // A required file that is missing is an error at its line.
    std::fs::remove_file(root.join("env/app/required.tfvars")).expect("rm");
    let (code, text) = forge(&root, &["plan", "env"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the required variable file")
            && text.contains(&format!("{}:5:", unit_file.display())),
        "{text}"
    );
}

/// Terragrunt's feature flags: `feature.<name>.value` is the block's default, or the
/// value `TG_FEATURE` or `--feature` gives (the flag wins), read as the default's type.
#[test]
fn cli_feature_flags_take_their_default_or_the_value_given() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &[
            (
                "env/app/terragrunt.hcl",
                r#"feature "size" {
  default = 2
}
feature "canary" {
  default = false
}

locals {
  label = feature.canary.value ? "canary" : "stable"
}

inputs = {
  summary = "${local.label}-${feature.size.value}"
}
"#
                .into(),
            ),
            (
                "env/app/main.tf",
                "variable \"summary\" {\n  type = string\n}\noutput \"summary\" {\n  value = var.summary\n}\n"
                    .into(),
            ),
        ],
    );
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
        cmd.args(args).current_dir(&root).env("NO_COLOR", "1");
        match env {
            Some(v) => cmd.env("TG_FEATURE", v),
            None => cmd.env_remove("TG_FEATURE"),
        };
        let out = cmd.output().expect("run forge");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["plan", "env"], None);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("summary = \"stable-2\""), "{text}");

    let (code, text) = run(&["plan", "env"], Some("canary=true,size=3"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("summary = \"canary-3\""), "{text}");

    let (code, text) = run(&["plan", "env", "--feature", "size=5"], Some("size=3"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("summary = \"stable-5\""), "{text}");

    // A value that is not of the default's type is an error at the default.
    let (code, text) = run(&["plan", "env", "--feature", "canary=maybe"], None);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "feature `canary`: the value \"maybe\" given on the command line is not a bool"
        ) && text.contains(&format!(
            "{}:5:13",
            root.join("env/app/terragrunt.hcl").display()
        )),
        "{text}"
    );
}

/// Terragrunt's command-line role variables outrank `iam_role`; forge does not read them,
/// so a run with one set is refused before anything is read, naming the variable.
#[test]
fn cli_terragrunts_role_variables_are_refused_not_ignored() {
    let w = super::World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = \"a\"\n}\n",
        ),
    ]);
    for name in ["TG_IAM_ASSUME_ROLE", "TERRAGRUNT_IAM_ROLE"] {
        let run = w.forge_with(
            &["plan", "env"],
            "",
            &[(name, "arn:aws:iam::444444444444:role/deployer")],
        );
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr.contains(&format!("{name} is set")) && run.stderr.contains("iam_role"),
            "{}",
            run.stderr
        );
        assert!(!w.path("env/u/.forge/terraform.tfstate").exists());
    }
    let run = w.forge(&["plan", "env"]);
    assert_eq!(run.code, 0, "{}", run.all());
}
