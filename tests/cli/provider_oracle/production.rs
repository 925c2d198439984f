//! `stacks/production` adopted from a Terraform-applied copy, the migration README's
//! "Migrating from Terraform and Terragrunt" describes.
//!
//! A copy of the environment (unique project and environment names) is applied by the real
//! Terraform with the real provider, unit by unit in dependency order, each unit's root
//! made as Terragrunt makes it (Terragrunt is not on this machine): the module's files, the
//! root file's `generate "provider"` text as `provider.tf`, its `remote_state` as
//! `backend.tf` (so Terraform's state lands at the key forge reads), and the unit's inputs
//! as `terraform.tfvars.json`, taken from forge's own plan of the unit, whose dependency
//! outputs come from the states Terraform wrote upstream. Only what the emulators need is
//! added, beside the generated files: `emulator_override.tf` (endpoints) and a partial
//! backend configuration. Each unit is refreshed after its apply, as the S3 settings
//! resources are recorded on the bucket only at the next refresh (Terraform's own next
//! plan would report them as drift otherwise).
//!
//! The secret-manager unit is given its JWT signing key (`FAST_API_JWT_SIGNING_KEY`, as
//! a team would): its module generates one with `random_password` otherwise, and the
//! hashicorp/random provider is not on this machine, so Terraform's copy of that module
//! leaves out the `random_password` (which makes nothing when a key is given).
//!
//! Then `forge plan` of the environment must say "No changes" for every unit (exit 0 with
//! `--detailed-exitcode`, no drift in its JSON), forge's refresh writes every unit's state,
//! Terraform plans each unit clean on what forge wrote, and forge destroys it all.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value as J;

use super::super::Run;
use super::super::stacks::{Stacks, sdk_config, unique_id};
use super::{Oracle, VERSIONS_TF, oracle, plan_problems};

/// The signing key both tools give the secret-manager unit.
const JWT_SIGNING_KEY: &str = "oracle-jwt-signing-key-not-a-secret-0123456789";

/// The units in dependency order: each wave depends only on earlier ones (checked against
/// the units' `dependency` blocks by `waves_follow_the_dependency_blocks`).
const WAVES: &[&[&str]] = &[
    &["roles", "policies", "sqs-notifications", "secret-manager"],
    &["s3-storage"],
    &["iam"],
    &["ec2-fast-api-jwt", "ec2-self-hosted"],
];

#[test]
fn waves_follow_the_dependency_blocks() {
    let production = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/production");
    let mut seen: Vec<&str> = Vec::new();
    for wave in WAVES {
        for unit in *wave {
            for upstream in dependencies(&production.join(unit)) {
                assert!(
                    seen.contains(&upstream.as_str()),
                    "{unit} depends on {upstream}, which no earlier wave applies"
                );
            }
        }
        seen.extend(wave.iter());
    }
    let mut units: Vec<String> = std::fs::read_dir(&production)
        .expect("stacks/production")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("terragrunt.hcl").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    units.sort();
    let mut listed: Vec<String> = seen.iter().map(|u| u.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, units,
        "WAVES must list every unit of stacks/production"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_adopted_from_a_terraform_applied_copy() {
    let Some(oracle) = oracle() else { return };
    let stacks = Stacks::new();
    let env = format!("mig{}", &unique_id()[..8]);
    stacks.add_production_copy(&env);
    let migration = Migration {
        oracle,
        root: stacks.dir.path().to_path_buf(),
        state_bucket: stacks.state_bucket.clone(),
        env: env.clone(),
    };
    let started = Instant::now();

    for wave in WAVES {
        std::thread::scope(|s| {
            let runs: Vec<_> = wave
                .iter()
                .map(|unit| s.spawn(|| migration.terraform_applies(unit)))
                .collect();
            for run in runs {
                if let Err(e) = run.join() {
                    std::panic::resume_unwind(e);
                }
            }
        });
    }
    let applied = started.elapsed();

    // The adoption: forge over the states Terraform wrote, where Terragrunt left them.
    let plan = migration.forge(&["plan", &env, "--detailed-exitcode"]);
    eprintln!(
        "forge plan {env} over Terraform's states (exit {}):\n{}",
        plan.code,
        plan.all()
    );
    assert_eq!(
        plan.code,
        0,
        "forge plan of the Terraform-applied environment is not \"No changes\":\n{}",
        plan.all()
    );
    for unit in WAVES.iter().flat_map(|w| w.iter()) {
        assert!(
            plan.stdout.contains(unit),
            "forge's plan does not mention the unit {unit}:\n{}",
            plan.stdout
        );
    }
    let json = migration.forge(&["plan", &env, "--json-plan"]);
    assert_eq!(json.code, 0, "forge plan --json-plan:\n{}", json.all());
    let doc: J = serde_json::from_str(&json.stdout).expect("forge plan --json-plan is JSON");
    let problems = plan_problems(&doc);
    assert!(
        problems.is_empty(),
        "forge's plan of the adopted environment is not clean:\n{}",
        problems.join("\n")
    );
    let managed = doc["prior_state"]["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed")
        .count();
    assert_eq!(
        managed, 23,
        "the adopted environment's prior state should hold its 23 resources"
    );

    // forge writes every unit's state; Terraform plans each one clean on it.
    let refresh = migration.forge(&["apply", &env, "--refresh-only", "--auto-approve"]);
    assert_eq!(refresh.code, 0, "forge refresh:\n{}", refresh.all());
    std::thread::scope(|s| {
        let runs: Vec<_> = WAVES
            .iter()
            .flat_map(|w| w.iter())
            .map(|unit| s.spawn(|| migration.assert_terraform_plans_clean(unit)))
            .collect();
        for run in runs {
            if let Err(e) = run.join() {
                std::panic::resume_unwind(e);
            }
        }
    });

    let destroy = migration.forge(&["destroy", &env, "--auto-approve"]);
    assert_eq!(destroy.code, 0, "forge destroy:\n{}", destroy.all());
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 0 added, 0 changed, 23 destroyed."),
        "{}",
        destroy.all()
    );
    stacks.forget(&sdk_config().await, &env).await;
    eprintln!(
        "production migration round: Terraform applied the 8 units in {:.0?}, whole round {:.0?}",
        applied,
        started.elapsed()
    );
}

/// One environment copy being applied by Terraform and adopted by forge.
struct Migration {
    oracle: &'static Oracle,
    /// The folder holding the `stacks/` copy (forge runs there) and `terraform/`.
    root: PathBuf,
    /// The state bucket the root file's `remote_state` names.
    state_bucket: String,
    env: String,
}

impl Migration {
    /// Runs forge in the stacks copy's root, stdout and stderr apart.
    fn forge(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env_remove("FORGE_FAKE_CLOUD")
            // The secret-manager unit reads it (see the module comment).
            .env("FAST_API_JWT_SIGNING_KEY", JWT_SIGNING_KEY)
            .output()
            .expect("run forge");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn terraform_ok(&self, dir: &Path, args: &[&str]) -> String {
        let mut run = self.oracle.terraform(dir, args);
        // Terraform does not recognise its own lock: when the emulator answers its PutItem
        // late (a loaded machine), the SDK's retry finds the item the first attempt wrote
        // and Terraform stops on a lock it holds itself (forge recognises its own; see
        // tests/cli/lost_answers.rs). This folder's runs are this test's alone, so such a
        // lock is released and the command run again, at most twice.
        for _ in 0..2 {
            let text = run.all();
            let held_by_itself = text.contains("Error acquiring the state lock")
                && text
                    .lines()
                    .any(|l| l.trim().starts_with("Path:") && l.contains(&self.lock_path_prefix()));
            let Some(id) = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("ID:"))
                .map(str::trim)
                .filter(|_| held_by_itself && run.code != 0)
            else {
                break;
            };
            let id = id.to_string();
            self.oracle.terraform(dir, &["force-unlock", "-force", &id]);
            run = self.oracle.terraform(dir, args);
        }
        assert_eq!(
            run.code,
            0,
            "terraform {args:?} in {} failed:\n{}",
            dir.display(),
            run.all()
        );
        run.stdout
    }

    /// The start of the lock paths of this environment's units (`<table>/<env>/`).
    fn lock_path_prefix(&self) -> String {
        format!("/{}/", self.env)
    }

    fn unit_dir(&self, unit: &str) -> PathBuf {
        self.root.join("stacks").join(&self.env).join(unit)
    }

    /// Terraform's working folder for a unit (Terragrunt's cache folder, in effect).
    fn terraform_dir(&self, unit: &str) -> PathBuf {
        self.root.join("terraform").join(unit)
    }

    /// Generates the unit's Terraform root, then `terraform init`, `apply` and a refresh.
    fn terraform_applies(&self, unit: &str) {
        let inputs = self.inputs_from_forge(unit);
        let dir = self.terraform_dir(unit);
        let module = module_of(&self.unit_dir(unit));
        super::super::stacks::copy_dir(&self.root.join("stacks/modules").join(&module), &dir);
        if module == "secret-manager" {
            without_generated_key(&dir.join("main.tf"));
        }
        std::fs::write(dir.join("versions.tf"), VERSIONS_TF).expect("write versions.tf");
        std::fs::copy(
            self.oracle.init_dir.join(".terraform.lock.hcl"),
            dir.join(".terraform.lock.hcl"),
        )
        .expect("copy the shared lock file");
        std::fs::write(dir.join("provider.tf"), self.generated_provider()).expect("provider.tf");
        std::fs::write(dir.join("backend.tf"), self.generated_backend(unit)).expect("backend.tf");
        std::fs::write(dir.join("terraform.tfvars.json"), inputs).expect("tfvars");
        // What only the emulators need, beside the generated files.
        std::fs::write(dir.join("emulator_override.tf"), self.oracle.provider_tf())
            .expect("emulator_override.tf");
        std::fs::write(
            dir.join("emulator.s3.tfbackend"),
            emulator_backend(self.oracle),
        )
        .expect("emulator.s3.tfbackend");
        self.terraform_ok(
            &dir,
            &[
                "init",
                "-input=false",
                "-no-color",
                "-backend-config=emulator.s3.tfbackend",
            ],
        );
        self.terraform_ok(
            &dir,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        );
        self.terraform_ok(
            &dir,
            &[
                "apply",
                "-refresh-only",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ],
        );
    }

    /// The unit's variable values as forge's plan of the unit sets them (inputs, with the
    /// dependencies' outputs read from the states Terraform wrote, and defaults), as a
    /// `terraform.tfvars.json`. A sensitive value is not in forge's plan JSON: left out,
    /// the module's default applies (the test sets none).
    fn inputs_from_forge(&self, unit: &str) -> String {
        let target = format!("{}/{unit}", self.env);
        // The first plan of a unit may find no state bucket or lock table yet.
        let run = self.forge(&["plan", &target, "--json-plan", "--backend-bootstrap"]);
        assert_eq!(
            run.code,
            0,
            "forge plan {target} --json-plan:\n{}",
            run.all()
        );
        let doc: J = serde_json::from_str(&run.stdout).expect("forge plan --json-plan is JSON");
        let mut values = serde_json::Map::new();
        for (name, v) in doc["variables"].as_object().into_iter().flatten() {
            if !v["value"].is_null() {
                values.insert(name.clone(), v["value"].clone());
            }
        }
        assert!(
            values.contains_key("environment"),
            "forge's plan of {target} gave no variables: {}",
            doc["variables"]
        );
        if values.contains_key("jwt_expiration_minutes") {
            // Sensitive, so not in the plan JSON: the key both tools are given.
            values.insert("jwt_signing_key".into(), J::from(JWT_SIGNING_KEY));
        }
        let text = serde_json::to_string_pretty(&J::Object(values)).expect("JSON");
        assert!(
            !text.contains("mock"),
            "{target}: forge used a dependency's mock_outputs, not the outputs Terraform wrote:\n{text}"
        );
        text
    }

    /// The root file's `generate "provider"` contents, its locals replaced by the
    /// environment's values (what Terragrunt writes as `provider.tf`).
    fn generated_provider(&self) -> String {
        let root = std::fs::read_to_string(self.root.join("stacks/terragrunt.hcl"))
            .expect("root terragrunt.hcl");
        let start = root
            .find("<<-PROVIDER\n")
            .expect("the root file's generate \"provider\" heredoc")
            + "<<-PROVIDER\n".len();
        let end = start
            + root[start..]
                .find("\n  PROVIDER")
                .expect("the end of the provider heredoc");
        let env_hcl =
            std::fs::read_to_string(self.root.join("stacks").join(&self.env).join("env.hcl"))
                .expect("env.hcl");
        let mut text = String::new();
        for line in root[start..end].lines() {
            text.push_str(line.strip_prefix("    ").unwrap_or(line));
            text.push('\n');
        }
        for local in ["environment", "aws_region", "project_name"] {
            text = text.replace(&format!("${{local.{local}}}"), &env_local(&env_hcl, local));
        }
        assert!(!text.contains("${"), "an interpolation left in:\n{text}");
        text
    }

    /// The root file's `remote_state`, as the `backend.tf` Terragrunt generates: the same
    /// bucket, key and lock table forge uses for the unit.
    fn generated_backend(&self, unit: &str) -> String {
        let root = std::fs::read_to_string(self.root.join("stacks/terragrunt.hcl"))
            .expect("root terragrunt.hcl");
        let table = regex::Regex::new(r#"dynamodb_table\s*=\s*"([^"]+)""#)
            .expect("regex")
            .captures(&root)
            .map(|c| c[1].to_string())
            .expect("the root file names its lock table");
        assert!(
            root.contains("key            = \"${path_relative_to_include()}/terraform.tfstate\""),
            "the root file's state key changed; update the test's backend.tf"
        );
        format!(
            "terraform {{\n  backend \"s3\" {{\n    bucket         = \"{}\"\n    key            = \"{}/{unit}/terraform.tfstate\"\n    region         = \"us-east-1\"\n    encrypt        = true\n    dynamodb_table = \"{table}\"\n  }}\n}}\n",
            self.state_bucket, self.env
        )
    }

    /// `terraform plan -detailed-exitcode` of the unit, on the state forge wrote: exit 0,
    /// only no-ops and no `resource_drift` in its JSON plan.
    fn assert_terraform_plans_clean(&self, unit: &str) {
        let dir = self.terraform_dir(unit);
        let run = self.oracle.terraform(
            &dir,
            &[
                "plan",
                "-detailed-exitcode",
                "-input=false",
                "-no-color",
                "-out",
                "oracle.plan",
            ],
        );
        let doc: J =
            serde_json::from_str(&self.terraform_ok(&dir, &["show", "-json", "oracle.plan"]))
                .expect("terraform show -json is JSON");
        let problems = plan_problems(&doc);
        assert!(
            run.code == 0 && problems.is_empty(),
            "{unit}: terraform plan on forge's state is not clean (exit {}):\n{}\n{}",
            run.code,
            problems.join("\n"),
            run.all()
        );
    }
}

/// The partial backend configuration that points Terraform's S3 backend at the emulators.
fn emulator_backend(oracle: &Oracle) -> String {
    let dynamodb =
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| oracle.endpoint.clone());
    format!(
        "use_path_style              = true\nskip_credentials_validation = true\nskip_requesting_account_id  = true\nskip_metadata_api_check     = true\nendpoints = {{\n  s3       = \"{}\"\n  dynamodb = \"{dynamodb}\"\n}}\n",
        oracle.endpoint
    )
}

/// Terraform's copy of the secret-manager module without its `random_password` (the
/// hashicorp/random provider is not on this machine): the key is always given, which is
/// when the module makes no password anyway.
fn without_generated_key(main_tf: &Path) {
    let text = std::fs::read_to_string(main_tf).expect("secret-manager main.tf");
    let start = text
        .find("resource \"random_password\" \"jwt\" {")
        .expect("the module's random_password block");
    let end = start + text[start..].find("\n}\n").expect("its end") + 3;
    let expression =
        "var.jwt_signing_key != \"\" ? var.jwt_signing_key : one(random_password.jwt[*].result)";
    assert!(
        text.contains(expression),
        "the module's key expression changed; update the test"
    );
    let text =
        format!("{}{}", &text[..start], &text[end..]).replace(expression, "var.jwt_signing_key");
    assert!(!text.contains("random_password"), "{text}");
    std::fs::write(main_tf, text).expect("write main.tf");
}

/// The module a unit's `terraform { source = "../../modules//<name>" }` names.
fn module_of(unit_dir: &Path) -> String {
    let text = std::fs::read_to_string(unit_dir.join("terragrunt.hcl")).expect("terragrunt.hcl");
    regex::Regex::new(r#"source\s*=\s*"\.\./\.\./modules//([^"]+)""#)
        .expect("regex")
        .captures(&text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("{}: no modules// source", unit_dir.display()))
}

/// The units a unit's `dependency` blocks name (`config_path = "../<unit>"`).
fn dependencies(unit_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(unit_dir.join("terragrunt.hcl")).expect("terragrunt.hcl");
    regex::Regex::new(r#"config_path\s*=\s*"\.\./([^"]+)""#)
        .expect("regex")
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect()
}

/// A string local of env.hcl.
fn env_local(env_hcl: &str, name: &str) -> String {
    regex::Regex::new(&format!(r#"(?m)^\s*{name}\s*=\s*"([^"]*)""#))
        .expect("regex")
        .captures(env_hcl)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("env.hcl has no {name} local:\n{env_hcl}"))
}
