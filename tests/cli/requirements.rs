//! What a configuration asks of the tool, end to end through the binary: a module's
//! `required_providers` checked against the built-in providers, its `backend` block
//! acted on, and a `generate` block's whole file read into the module.

use super::World;

/// `forge validate` and `forge plan` on one module's `required_providers`: another source
/// under a built-in name, another major version, and a built-in provider under another
/// local name are errors at their line; a pinned release of the same major version and a
/// provider forge does not have are warnings; what the built-ins meet passes.
#[test]
fn required_providers_are_checked_against_the_built_in_providers() {
    let main = r#"terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.4.3"
    }
    null = {
      source  = "mycorp/null"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 1.0"
    }
    rnd = {
      source = "hashicorp/random"
    }
    kubernetes = {
      source = "hashicorp/kubernetes"
    }
  }
}

resource "terraform_data" "a" {
  input = "a"
}
"#;
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", main),
    ]);
    let run = w.forge(&["validate", "env"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let out = run.all();
    for expected in [
        "required_providers: `null` is mycorp/null, but forge's built-in `null` provider is hashicorp/null",
        "required_providers: hashicorp/time \"~> 1.0\" does not allow 0.13.1",
        "required_providers: `rnd` is hashicorp/random, which forge has built in under the name `random`",
        "required_providers: hashicorp/random \"3.4.3\" does not allow 3.7.2",
        "required_providers: forge has no provider hashicorp/kubernetes",
        "main.tf:11:5",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("hashicorp/aws \"~> 5.0\""), "{out}");

    // Without the errors, a plan runs and shows the warnings at their lines.
    let fixed = main
        .replace("source  = \"mycorp/null\"", "source  = \"hashicorp/null\"")
        .replace("version = \"~> 1.0\"", "version = \"~> 0.13\"")
        .replace("rnd = {\n      source = \"hashicorp/random\"\n    }\n", "");
    w.write(&[("env/u/main.tf", &fixed)]);
    let run = w.forge(&["plan", "env"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let out = run.all();
    assert!(
        out.contains(
            "warning: required_providers: hashicorp/random \"3.4.3\" does not allow 3.7.2"
        ) && out
            .contains("warning: required_providers: forge has no provider hashicorp/kubernetes"),
        "{out}"
    );
}

/// A module's `backend "local"` block says where the state is when the unit has no
/// remote_state, and a generated file's resources and terraform block join the module.
#[test]
fn a_modules_backend_block_and_a_generated_files_resources_are_acted_on() {
    let unit = r#"generate "extra" {
  path     = "extra.tf"
  contents = <<-EOT
    terraform {
      required_version = ">= 1.5"
    }
    resource "terraform_data" "generated" {
      input = "from generate"
    }
  EOT
}
"#;
    let main = r#"terraform {
  backend "local" {
    path = "state/custom.tfstate"
  }
}

resource "terraform_data" "own" {
  input = "own"
}
"#;
    let w = World::new(&[("env/u/terragrunt.hcl", unit), ("env/u/main.tf", main)]);
    let run = w.forge(&["apply", "env", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let state = std::fs::read_to_string(w.path("env/u/state/custom.tfstate")).unwrap_or_else(|e| {
        panic!(
            "the backend block's path holds the state ({e}):\n{}",
            run.all()
        )
    });
    assert!(
        state.contains("\"generated\"") && state.contains("\"own\""),
        "{state}"
    );
    assert!(!w.path("env/u/.forge/terraform.tfstate").exists());
    let run = w.forge(&["plan", "env", "-detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.all());
}
