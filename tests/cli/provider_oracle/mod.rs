//! The real Terraform (1.11.4, on PATH) with the real hashicorp/aws provider 5.100.0 (a
//! filesystem mirror on the machine image, see /work/shared/notes/terraform-as-oracle.md)
//! as the reference for forge's AWS resource types, on the shared emulators.
//!
//! The API, for an oracle test of one or more resource types:
//!
//! ```ignore
//! let Some(oracle) = provider_oracle::oracle() else { return }; // skips, saying why
//! let f = Fixture::new(oracle, "sqs");          // a folder pair and a unique `@NAME@`
//! f.write_config(MAIN_TF);                      // the same main.tf for both tools
//! f.terraform_apply();                          // Terraform makes the objects
//! f.give_terraform_state_to_forge();            // the migration path
//! f.assert_forge_plans_no_changes("after terraform apply");
//! f.forge_ok(&["apply", "env/u", "--refresh-only", "--auto-approve"]);
//! assert_states_match(&f.terraform_state(), &f.forge_state(), &Masks::none());
//! ```
//!
//! Each fixture is a temporary folder with `tf/` (Terraform's working folder: the
//! configuration, `provider.tf` for the emulators, the lock file of the one shared
//! `terraform init`, its local state) and `env/u/` (a forge unit with the same `main.tf`
//! and its local state in `.forge/terraform.tfstate`). `@NAME@` in a configuration is
//! replaced by the fixture's unique name, so concurrent and repeated runs never collide on
//! the shared emulators. A fixture whose test fails destroys, at best effort, what both
//! tools made.
//!
//! `state_diff` compares the states the two tools wrote, attribute by attribute; every
//! difference must be listed, with its reason, in `state_diff::KNOWN` and README's "Known
//! incompatibilities" (a test checks the two lists agree). `schemas` compares each forge
//! resource type's schema with the provider's (`terraform providers schema -json`).

pub mod schemas;
pub mod state_diff;

mod default_tags;
mod ec2;
mod iam;
mod production;
mod s3;
mod secretsmanager;
mod sqs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value as J;

pub use state_diff::{Masks, assert_states_match};

use super::Run;

/// The provider version the mirror holds and every fixture pins.
pub const PROVIDER_VERSION: &str = "5.100.0";

/// Where the machine image keeps the provider mirror; `FORGE_TF_PROVIDER_MIRROR` overrides.
const DEFAULT_MIRROR: &str = "/opt/tf-plugins";

/// The terraform binary, the CLI configuration naming the mirror, and the lock file of the
/// one `terraform init` every fixture shares.
pub struct Oracle {
    /// The file `TF_CLI_CONFIG_FILE` names for every terraform run.
    pub cli_config: PathBuf,
    /// The folder initialised once (its `.terraform.lock.hcl` is copied next to every
    /// fixture before that fixture's own init, so parallel inits never resolve again).
    pub init_dir: PathBuf,
    /// The emulator endpoint every service is reached at.
    pub endpoint: String,
}

static ORACLE: OnceLock<Option<Oracle>> = OnceLock::new();

/// The oracle, set up once per test process; `None` (after printing why on stderr) when
/// the provider mirror or terraform is absent, so the suite skips on a machine without
/// them. With the mirror present, a missing emulator is a failure, not a skip.
pub fn oracle() -> Option<&'static Oracle> {
    ORACLE.get_or_init(set_up).as_ref()
}

fn set_up() -> Option<Oracle> {
    let mirror = std::env::var_os("FORGE_TF_PROVIDER_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MIRROR));
    let provider_dir = mirror.join(format!(
        "registry.terraform.io/hashicorp/aws/{PROVIDER_VERSION}"
    ));
    if !provider_dir.is_dir() {
        eprintln!(
            "provider oracle skipped: no hashicorp/aws {PROVIDER_VERSION} filesystem mirror at {} \
             (set FORGE_TF_PROVIDER_MIRROR to the folder above registry.terraform.io)",
            mirror.display()
        );
        return None;
    }
    if Command::new("terraform").arg("version").output().is_err() {
        eprintln!("provider oracle skipped: no `terraform` on PATH (the machine image has 1.11.4)");
        return None;
    }
    super::stacks::require_emulators();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("checked by require_emulators");
    let root = tempfile::Builder::new()
        .prefix("forge-provider-oracle-")
        .tempdir()
        .expect("tempdir")
        .keep();
    let cli_config = root.join("terraform.tfrc");
    std::fs::write(&cli_config, cli_config_text(&mirror)).expect("write CLI configuration");
    let init_dir = root.join("init");
    std::fs::create_dir_all(&init_dir).expect("mkdir");
    std::fs::write(init_dir.join("versions.tf"), VERSIONS_TF).expect("write versions.tf");
    let oracle = Oracle {
        cli_config,
        init_dir,
        endpoint,
    };
    let init = oracle.terraform(&oracle.init_dir, &["init", "-input=false", "-no-color"]);
    assert_eq!(
        init.code,
        0,
        "terraform init against the mirror failed:\n{}",
        init.all()
    );
    Some(oracle)
}

/// The CLI configuration: the provider comes from the mirror only, nothing is downloaded.
fn cli_config_text(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
        mirror.display()
    )
}

const VERSIONS_TF: &str = "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"5.100.0\"\n    }\n  }\n}\n";

impl Oracle {
    /// Runs terraform in `dir` with the oracle's CLI configuration; never panics on failure.
    pub fn terraform(&self, dir: &Path, args: &[&str]) -> Run {
        let out = Command::new("terraform")
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .output()
            .expect("run terraform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The provider block Terraform needs for the emulators (the settings
    /// terraform-as-oracle.md lists); forge reads the standard AWS variables instead.
    pub fn provider_tf(&self) -> String {
        let e = &self.endpoint;
        format!(
            "provider \"aws\" {{\n  region                      = \"us-east-1\"\n  s3_use_path_style           = true\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n  endpoints {{\n    s3             = \"{e}\"\n    sqs            = \"{e}\"\n    iam            = \"{e}\"\n    secretsmanager = \"{e}\"\n    ec2            = \"{e}\"\n    sts            = \"{e}\"\n  }}\n}}\n"
        )
    }
}

/// A pair of working folders, Terraform's and a forge unit's, for one configuration.
pub struct Fixture {
    pub oracle: &'static Oracle,
    dir: tempfile::TempDir,
    name: String,
}

/// Which tool's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Terraform,
    Forge,
}

impl Fixture {
    /// A new fixture; `label` (short, lowercase) starts its unique name.
    pub fn new(oracle: &'static Oracle, label: &str) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("oracle-")
            .tempdir()
            .expect("tempdir");
        let name = format!(
            "{label}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let f = Fixture { oracle, dir, name };
        std::fs::create_dir_all(f.tf_dir()).expect("mkdir tf");
        std::fs::create_dir_all(f.unit_dir().join(".forge")).expect("mkdir unit");
        std::fs::write(f.unit_dir().join("terragrunt.hcl"), "inputs = {}\n").expect("write");
        std::fs::write(f.tf_dir().join("provider.tf"), oracle.provider_tf()).expect("write");
        std::fs::write(f.tf_dir().join("versions.tf"), VERSIONS_TF).expect("write");
        std::fs::copy(
            oracle.init_dir.join(".terraform.lock.hcl"),
            f.tf_dir().join(".terraform.lock.hcl"),
        )
        .expect("copy the shared lock file");
        f.terraform_ok(&["init", "-input=false", "-no-color"]);
        f
    }

    /// The unique name `@NAME@` stands for in this fixture's configurations.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tf_dir(&self) -> PathBuf {
        self.dir.path().join("tf")
    }

    pub fn unit_dir(&self) -> PathBuf {
        self.dir.path().join("env/u")
    }

    /// The forge unit's local state file.
    pub fn forge_state_path(&self) -> PathBuf {
        self.unit_dir().join(".forge/terraform.tfstate")
    }

    pub fn terraform_state_path(&self) -> PathBuf {
        self.tf_dir().join("terraform.tfstate")
    }

    /// Writes `main_tf` (with `@NAME@` replaced) as both tools' `main.tf`.
    ///
    /// A configuration with its own `provider "aws"` block (`default_tags`) is given to
    /// both tools as written; Terraform's emulator settings then go into an override file
    /// that Terraform merges into that block (as the production round does), and forge
    /// reads the emulators from the standard AWS variables as always.
    pub fn write_config(&self, main_tf: &str) {
        let text = main_tf.replace("@NAME@", &self.name);
        std::fs::write(self.tf_dir().join("main.tf"), &text).expect("write tf/main.tf");
        std::fs::write(self.unit_dir().join("main.tf"), &text).expect("write env/u/main.tf");
        let (settings, other) = if text.contains("provider \"aws\"") {
            ("emulator_override.tf", "provider.tf")
        } else {
            ("provider.tf", "emulator_override.tf")
        };
        std::fs::write(self.tf_dir().join(settings), self.oracle.provider_tf())
            .expect("write Terraform's emulator settings");
        let _ = std::fs::remove_file(self.tf_dir().join(other));
    }

    pub fn terraform(&self, args: &[&str]) -> Run {
        self.oracle.terraform(&self.tf_dir(), args)
    }

    /// Runs terraform and fails the test with its output unless it exits 0.
    pub fn terraform_ok(&self, args: &[&str]) -> String {
        let run = self.terraform(args);
        assert_eq!(
            run.code,
            0,
            "terraform {args:?} in {} failed:\n{}",
            self.tf_dir().display(),
            run.all()
        );
        run.stdout
    }

    /// Runs forge in the fixture's root (`env/u` is the unit) against the emulators.
    pub fn forge(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FORGE_FAKE_CLOUD")
            .env("NO_COLOR", "1")
            .output()
            .expect("run forge");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs forge and fails the test with its output unless it exits 0.
    pub fn forge_ok(&self, args: &[&str]) -> String {
        let run = self.forge(args);
        assert_eq!(run.code, 0, "forge {args:?} failed:\n{}", run.all());
        run.stdout
    }

    pub fn terraform_apply(&self) {
        self.terraform_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    }

    pub fn forge_apply(&self) {
        self.forge_ok(&["apply", "env/u", "--auto-approve"]);
    }

    /// `forge apply --refresh-only`: forge's state takes what forge reads.
    pub fn forge_refresh(&self) {
        self.forge_ok(&["apply", "env/u", "--refresh-only", "--auto-approve"]);
    }

    /// `terraform apply -refresh-only`: Terraform's state takes what the provider reads.
    pub fn terraform_refresh(&self) {
        self.terraform_ok(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
    }

    pub fn terraform_state(&self) -> J {
        read_json(&self.terraform_state_path())
    }

    pub fn forge_state(&self) -> J {
        read_json(&self.forge_state_path())
    }

    /// Terraform's state becomes the forge unit's (what a migration does).
    pub fn give_terraform_state_to_forge(&self) {
        std::fs::copy(self.terraform_state_path(), self.forge_state_path())
            .expect("copy Terraform's state into the unit");
        let _ = std::fs::remove_file(self.unit_dir().join(".forge/journal.tfstate"));
    }

    /// forge's state becomes Terraform's.
    pub fn give_forge_state_to_terraform(&self) {
        std::fs::copy(self.forge_state_path(), self.terraform_state_path())
            .expect("copy forge's state into Terraform's folder");
        let _ = std::fs::remove_file(self.tf_dir().join("terraform.tfstate.backup"));
    }

    /// `forge plan` over the unit's state proposes nothing and sees no drift: its plan
    /// JSON has only no-op changes and an empty `resource_drift`, and `--detailed-exitcode`
    /// exits 0.
    pub fn assert_forge_plans_no_changes(&self, when: &str) {
        let run = self.forge(&["plan", "env/u", "--detailed-exitcode"]);
        assert_eq!(
            run.code,
            0,
            "{when}: forge plan is not \"No changes\" (exit {}):\n{}",
            run.code,
            run.all()
        );
        let run = self.forge(&["plan", "env/u", "--json-plan"]);
        assert_eq!(run.code, 0, "{when}: forge plan --json:\n{}", run.all());
        let doc: J = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{when}: forge plan --json is not JSON ({e})"));
        let problems = plan_problems(&doc);
        assert!(
            problems.is_empty(),
            "{when}: forge's plan over the state is not clean:\n{}\n\nforge plan --json:\n{}",
            problems.join("\n"),
            run.stdout
        );
    }

    /// `terraform plan -detailed-exitcode` over Terraform's state exits 0, and its JSON
    /// plan has no `resource_drift` ("changed outside of Terraform") and only no-ops.
    pub fn assert_terraform_plans_no_changes(&self, when: &str) {
        self.assert_terraform_plans_no_changes_but(&[], when);
    }

    /// As `assert_terraform_plans_no_changes`, but an update of a listed `(type,
    /// attribute)` from null is accepted: what Terraform plans after its own import, for
    /// the arguments its importer leaves null (each listed in README "Known
    /// incompatibilities").
    pub fn assert_terraform_plans_no_changes_but(
        &self,
        importer_nulls: &[(&str, &str)],
        when: &str,
    ) {
        let run = self.terraform(&[
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            "-out",
            "oracle.plan",
        ]);
        let doc: J = serde_json::from_str(&self.terraform_ok(&["show", "-json", "oracle.plan"]))
            .expect("terraform show -json is JSON");
        let problems = plan_problems_but(&doc, importer_nulls);
        let accepted_updates = plan_problems(&doc).len() - problems.len();
        assert!(
            (run.code == 0 || (run.code == 2 && accepted_updates > 0)) && problems.is_empty(),
            "{when}: terraform plan is not clean (exit {}):\n{}\n{}",
            run.code,
            problems.join("\n"),
            run.all()
        );
    }

    /// Destroys with the given tool and checks it leaves no managed object in its state.
    pub fn destroy_with(&self, tool: Tool) {
        match tool {
            Tool::Terraform => {
                self.terraform_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
                assert_eq!(managed_instances(&self.terraform_state()), 0);
            }
            Tool::Forge => {
                self.forge_ok(&["destroy", "env/u", "--auto-approve"]);
                assert_eq!(managed_instances(&self.forge_state()), 0);
            }
        }
    }
}

impl Drop for Fixture {
    /// A failed test must not leave objects in the shared emulators: both tools destroy
    /// what their state still records, at best effort (the failure is already reported).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if self.terraform_state_path().exists() {
            let run = self.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
            if run.code != 0 {
                eprintln!(
                    "cleanup: terraform destroy in {} failed; objects named {}* may remain",
                    self.tf_dir().display(),
                    self.name
                );
            }
        }
        if self.forge_state_path().exists() {
            let run = self.forge(&["destroy", "env/u", "--auto-approve"]);
            if run.code != 0 {
                eprintln!(
                    "cleanup: forge destroy failed; objects named {}* may remain",
                    self.name
                );
            }
        }
    }
}

/// The whole round for one configuration (`before`) and its update (`after`, every
/// updatable argument changed), in two fixtures at once: Terraform first in one, forge
/// first in the other. Then the states each tool wrote on creating the objects are
/// compared, with the fixture names and generated values masked.
pub fn both_ways(oracle: &'static Oracle, label: &str, before: &str, after: &str) {
    let (tf, fg) = (Fixture::new(oracle, label), Fixture::new(oracle, label));
    let (tf_created, forge_created) = std::thread::scope(|s| {
        let a = s.spawn(|| terraform_first(&tf, before, after));
        let b = s.spawn(|| forge_first(&fg, before, after));
        (a.join(), b.join())
    });
    let (tf_created, forge_created) = match (tf_created, forge_created) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => std::panic::resume_unwind(e),
    };
    assert_states_match(
        &tf_created,
        &forge_created,
        &Masks::separate_objects(tf.name(), fg.name()),
    );
}

/// Terraform applies; forge plans its state clean; forge updates every argument and
/// Terraform plans forge's state clean; Terraform updates back and forge plans clean;
/// forge destroys what Terraform made.
fn terraform_first(f: &Fixture, before: &str, after: &str) -> J {
    f.write_config(before);
    f.terraform_apply();
    // A refresh first: what a later resource did to an earlier one (a queue policy on its
    // queue) is in the state then, as it is in the state of every later forge run.
    f.terraform_refresh();
    let created = f.terraform_state();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge over Terraform's new state");
    f.forge_refresh();
    assert_states_match(&created, &f.forge_state(), &Masks::none());

    f.write_config(after);
    f.forge_apply();
    f.assert_forge_plans_no_changes("forge after its own update");
    // As after creating: an update of one resource can change what another one reads
    // (a role's `inline_policy` after its `aws_iam_role_policy` changed); the provider
    // records that at its next refresh, and so does forge.
    f.forge_refresh();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform over forge's updated state");

    f.write_config(before);
    f.terraform_apply();
    f.terraform_refresh();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge after Terraform's update");
    f.destroy_with(Tool::Forge);
    created
}

/// forge applies; Terraform plans its state clean and its refresh writes the same state;
/// Terraform updates every argument and forge plans clean; Terraform destroys.
fn forge_first(f: &Fixture, before: &str, after: &str) -> J {
    f.write_config(before);
    f.forge_apply();
    f.forge_refresh();
    let created = f.forge_state();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform over forge's new state");
    f.terraform_refresh();
    assert_states_match(&f.terraform_state(), &created, &Masks::none());

    f.write_config(after);
    f.terraform_apply();
    f.terraform_refresh();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge after Terraform's update");
    f.write_config(before);
    f.forge_apply();
    f.forge_refresh();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform after forge's update");
    f.destroy_with(Tool::Terraform);
    created
}

/// The import rounds for one configuration, in two fixtures at once: objects forge made,
/// imported by `terraform import` into an empty Terraform state, which forge then plans
/// clean; objects Terraform made, imported by `forge import` into an empty forge state,
/// which Terraform then plans clean. Every managed instance is imported by the id the
/// provider's importer takes (`import_id`).
pub fn import_both_ways(oracle: &'static Oracle, label: &str, config: &str) {
    import_both_ways_but(oracle, label, config, &[]);
}

/// As `import_both_ways`, for types whose provider importer leaves some arguments null
/// (`importer_nulls`, `(type, attribute)`): Terraform's own plan after its own import
/// then sets them, and only that update is accepted there.
pub fn import_both_ways_but(
    oracle: &'static Oracle,
    label: &str,
    config: &str,
    importer_nulls: &[(&str, &str)],
) {
    let (tf, fg) = (Fixture::new(oracle, label), Fixture::new(oracle, label));
    let results = std::thread::scope(|s| {
        let a = s.spawn(|| terraform_imports_what_forge_made(&tf, config, importer_nulls));
        let b = s.spawn(|| forge_imports_what_terraform_made(&fg, config));
        [a.join(), b.join()]
    });
    for r in results {
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
    }
}

fn terraform_imports_what_forge_made(f: &Fixture, config: &str, importer_nulls: &[(&str, &str)]) {
    f.write_config(config);
    f.forge_apply();
    let made = managed_ids(&f.forge_state());
    assert!(!made.is_empty(), "forge made nothing to import");
    for (address, id) in &made {
        f.terraform_ok(&["import", "-input=false", "-no-color", address, id]);
    }
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge over what terraform import read");
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes_but(importer_nulls, "Terraform after its own import");
    f.destroy_with(Tool::Forge);
}

fn forge_imports_what_terraform_made(f: &Fixture, config: &str) {
    f.write_config(config);
    f.terraform_apply();
    let made = managed_ids(&f.terraform_state());
    assert!(!made.is_empty(), "Terraform made nothing to import");
    for (address, id) in &made {
        f.forge_ok(&["import", "env/u", address, id]);
    }
    f.assert_forge_plans_no_changes("forge after its own import");
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform over what forge import read");
    f.destroy_with(Tool::Terraform);
}

/// Each managed instance of a state (root module, no count/for_each keys in the
/// fixtures) with the id the provider imports it by (`import_id`).
fn managed_ids(state: &J) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in state["resources"].as_array().into_iter().flatten() {
        if r["mode"] != "managed" {
            continue;
        }
        for i in r["instances"].as_array().into_iter().flatten() {
            let address = format!(
                "{}.{}",
                r["type"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            );
            let id = import_id(r["type"].as_str().unwrap_or_default(), &i["attributes"]);
            out.push((address, id));
        }
    }
    out
}

/// The id the provider's importer takes for an instance: its `id`, but for the types
/// whose import id is made of other attributes (the provider's documented formats).
fn import_id(resource_type: &str, attributes: &J) -> String {
    let text = |name: &str| attributes[name].as_str().unwrap_or_default().to_string();
    match resource_type {
        "aws_iam_role_policy_attachment" => format!("{}/{}", text("role"), text("policy_arn")),
        "aws_iam_user_policy_attachment" => format!("{}/{}", text("user"), text("policy_arn")),
        "aws_iam_group_policy_attachment" => format!("{}/{}", text("group"), text("policy_arn")),
        // ec2rt (#19): the association by its subnet (or gateway) and table.
        "aws_route_table_association" => {
            let target = Some(text("subnet_id"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| text("gateway_id"));
            format!("{target}/{}", text("route_table_id"))
        }
        // s3obj (#19): the object's id is its key; import takes `bucket/key`.
        "aws_s3_object" => format!("{}/{}", text("bucket"), text("key")),
        // ec2lt (#19): the attachment by its three names.
        "aws_volume_attachment" => format!(
            "{}:{}:{}",
            text("device_name"),
            text("volume_id"),
            text("instance_id")
        ),
        _ => text("id"),
    }
}

/// What keeps a plan JSON document from saying "No changes": changes other than no-op,
/// and any drift.
pub fn plan_problems(doc: &J) -> Vec<String> {
    plan_problems_but(doc, &[])
}

/// `plan_problems` without the updates that only set listed `(type, attribute)`s that
/// were null before.
fn plan_problems_but(doc: &J, importer_nulls: &[(&str, &str)]) -> Vec<String> {
    let only_importer_nulls = |c: &J| {
        let (before, after) = (&c["change"]["before"], &c["change"]["after"]);
        let resource_type = c["type"].as_str().unwrap_or_default();
        c["change"]["actions"] == serde_json::json!(["update"])
            && after.as_object().is_some_and(|after| {
                after.iter().all(|(name, value)| {
                    &before[name] == value
                        || (before[name].is_null()
                            && importer_nulls.contains(&(resource_type, name.as_str())))
                })
            })
    };
    let mut out = Vec::new();
    for c in doc["resource_changes"].as_array().into_iter().flatten() {
        let actions = &c["change"]["actions"];
        if actions != &serde_json::json!(["no-op"])
            && actions != &serde_json::json!(["read"])
            && !only_importer_nulls(c)
        {
            out.push(format!(
                "change {} {actions}: before {} after {}",
                c["address"], c["change"]["before"], c["change"]["after"]
            ));
        }
    }
    for d in doc["resource_drift"].as_array().into_iter().flatten() {
        out.push(format!(
            "drift {}: before {} after {}",
            d["address"], d["change"]["before"], d["change"]["after"]
        ));
    }
    out
}

/// The number of managed resource instances a state records.
pub fn managed_instances(state: &J) -> usize {
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed")
        .map(|r| r["instances"].as_array().map_or(0, Vec::len))
        .sum()
}

fn read_json(path: &Path) -> J {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
