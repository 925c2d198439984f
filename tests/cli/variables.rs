//! Variable values from TF_VAR_* and variable files, through the `forge` binary (the fake
//! provider, offline): the precedence over `inputs`, and that a sensitive value taken from
//! the environment never reaches the plan's text or JSON.

use std::process::Command;

use super::World;

const MAIN_TF: &str = r#"
variable "name" {
  type    = string
  default = "from-default"
}

variable "password" {
  type      = string
  sensitive = true
  default   = "default-password"
}

resource "fake_thing" "t" {
  name  = var.name
  value = var.password
}
"#;

/// `forge plan` (text, or JSON) in the world with the given environment variables.
fn plan(w: &World, json: bool, env: &[(&str, &str)]) -> String {
    let mut args = vec!["plan", "env/u"];
    if json {
        args.push("--json-plan");
    }
    forge(w, &args, env)
}

fn forge(w: &World, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
    cmd.args(args)
        .current_dir(w.dir.path())
        .env("FORGE_FAKE_CLOUD", w.dir.path().join("fake-cloud.json"))
        .env("NO_COLOR", "1")
        .env("AWS_REGION", "us-east-1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run forge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "forge {args:?} failed:\n{text}");
    text
}

#[test]
fn cli_variable_sources_follow_terragrunt_and_terraform_precedence() {
    let w = World::new(&[
        (
            "env/u/terragrunt.hcl",
            "inputs = {\n  name = \"from-inputs\"\n}\n",
        ),
        ("env/u/main.tf", MAIN_TF),
    ]);
    assert!(plan(&w, false, &[]).contains("\"from-inputs\""));
    // The user's TF_VAR_ wins over inputs: Terragrunt does not override it.
    let text = plan(&w, false, &[("TF_VAR_name", "from-env")]);
    assert!(
        text.contains("\"from-env\"") && !text.contains("from-inputs"),
        "{text}"
    );
    w.write(&[("env/u/terraform.tfvars", "name = \"from-tfvars\"\n")]);
    let text = plan(&w, false, &[("TF_VAR_name", "from-env")]);
    assert!(text.contains("\"from-tfvars\""), "{text}");
    w.write(&[(
        "env/u/late.auto.tfvars.json",
        "{\"name\": \"from-auto-json\"}",
    )]);
    let text = plan(&w, false, &[("TF_VAR_name", "from-env")]);
    assert!(text.contains("\"from-auto-json\""), "{text}");
}

#[test]
fn cli_a_sensitive_value_from_tf_var_stays_out_of_the_plan() {
    let secret = "tfvar-secret-8c1d2e";
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", MAIN_TF),
    ]);
    let env = [("TF_VAR_password", secret)];
    let text = plan(&w, false, &env);
    assert!(!text.contains(secret), "the secret is in the plan:\n{text}");
    assert!(text.contains("(sensitive value)"), "{text}");
    let json = plan(&w, true, &env);
    assert!(
        !json.contains(secret),
        "the secret is in the plan JSON:\n{json}"
    );
    // The value is used all the same: the object the fake provider stores holds it.
    let applied = forge(&w, &["apply", "env/u", "--auto-approve"], &env);
    assert!(
        !applied.contains(secret),
        "the secret is in the apply output:\n{applied}"
    );
    let cloud = std::fs::read_to_string(w.path("fake-cloud.json")).expect("fake cloud file");
    assert!(
        cloud.contains(secret),
        "the TF_VAR_ value did not reach the provider: {cloud}"
    );
}
