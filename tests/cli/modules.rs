//! Child modules end to end: the state format's `module` field checked both ways against
//! the real Terraform (offline, built-in `terraform_data`), and a unit whose child module
//! creates an SQS queue in LocalStack.

use std::path::Path;
use std::process::Command;

use super::World;
use super::stacks::{require_emulators, sdk_config, unique_id};

fn terraform(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .unwrap_or_else(|e| panic!("terraform is needed as the oracle for this test and was not found on PATH ({e}); it is on the project's machine image (v1.11.4)"));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn terraform_ok(dir: &Path, args: &[&str]) -> String {
    let (code, out) = terraform(dir, args);
    assert_eq!(code, 0, "terraform {args:?} in {}: {out}", dir.display());
    out
}

/// A root calling `./child` twice (count) and once more, each child calling `./inner`.
const ROOT: &str = r#"resource "terraform_data" "root" {
  input = "r"
}

module "child" {
  source   = "./child"
  count    = 2
  name     = "c${count.index}"
  upstream = terraform_data.root.output
}

module "single" {
  source   = "./child"
  name     = "s"
  upstream = "x"
}

resource "terraform_data" "after" {
  input = module.single.nested
}

output "names" {
  value = module.child[*].name
}

output "nested" {
  value = module.single.nested
}
"#;

const CHILD: &str = r#"variable "name" {
  type = string
}

variable "upstream" {
  type = string
}

resource "terraform_data" "x" {
  input = "${var.name}-${var.upstream}"
}

module "inner" {
  source = "./inner"
  value  = terraform_data.x.output
}

output "name" {
  value = terraform_data.x.output
}

output "nested" {
  value = module.inner.value
}
"#;

const INNER: &str = r#"variable "value" {
  type = string
}

resource "terraform_data" "y" {
  input = "inner-${var.value}"
}

output "value" {
  value = terraform_data.y.output
}
"#;

/// In `terraform state list`'s order: shorter module paths first.
const ADDRESSES: &str = "terraform_data.after\nterraform_data.root\nmodule.child[0].terraform_data.x\nmodule.child[1].terraform_data.x\nmodule.single.terraform_data.x\nmodule.child[0].module.inner.terraform_data.y\nmodule.child[1].module.inner.terraform_data.y\nmodule.single.module.inner.terraform_data.y\n";

fn module_files(dir: &str) -> Vec<(String, &'static str)> {
    vec![
        (format!("{dir}/main.tf"), ROOT),
        (format!("{dir}/child/main.tf"), CHILD),
        (format!("{dir}/child/inner/main.tf"), INNER),
    ]
}

fn world() -> World {
    let mut files: Vec<(String, &str)> = vec![
        ("env/u/terragrunt.hcl".into(), "inputs = {}\n"),
        ("env/f/terragrunt.hcl".into(), "inputs = {}\n"),
    ];
    for dir in ["tf", "env/u", "env/f", "tf2"] {
        files.extend(module_files(dir));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    World::new(&refs)
}

/// Each resource entry of a state file: (module, type.name) -> (instance count, the
/// dependencies of the first instance).
fn entries(state: &serde_json::Value) -> Vec<(String, String, usize, Vec<String>)> {
    let mut out: Vec<(String, String, usize, Vec<String>)> = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            let mut deps: Vec<String> = r["instances"][0]["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect();
            deps.sort();
            (
                r["module"].as_str().unwrap_or("").to_string(),
                format!(
                    "{}.{}",
                    r["type"].as_str().unwrap_or("?"),
                    r["name"].as_str().unwrap_or("?")
                ),
                r["instances"].as_array().map_or(0, Vec::len),
                deps,
            )
        })
        .collect();
    out.sort();
    out
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("state json")
}

/// Terraform's state with child-module resources is forge's, and forge's is Terraform's:
/// the same `module` fields, addresses and dependencies, and no change planned either way.
#[test]
fn cli_child_module_state_round_trips_with_terraform() {
    let w = world();
    let tf = w.path("tf");
    terraform_ok(&tf, &["init", "-input=false", "-no-color"]);
    terraform_ok(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );

    // Terraform -> forge.
    std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
    std::fs::copy(
        tf.join("terraform.tfstate"),
        w.path("env/u/.forge/terraform.tfstate"),
    )
    .expect("copy state");
    let list = w.forge(&["state", "list", "env/u"]);
    assert_eq!(list.code, 0, "{}", list.all());
    assert_eq!(list.stdout, ADDRESSES, "{}", list.all());
    let plan = w.forge(&["plan", "env/u", "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "forge wants to change what Terraform made:\n{}",
        plan.all()
    );
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let output = w.forge(&["output", "env/u"]);
    assert!(
        output.stdout.contains("nested = \"inner-s-x\""),
        "{}",
        output.all()
    );

    // forge -> Terraform.
    let apply = w.forge(&["apply", "env/f", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(
        apply
            .stdout
            .contains("module.child[1].module.inner.terraform_data.y"),
        "{}",
        apply.stdout
    );
    let forge_state = read_json(&w.path("env/f/.forge/terraform.tfstate"));
    let tf_state = read_json(&tf.join("terraform.tfstate"));
    assert_eq!(
        entries(&forge_state),
        entries(&tf_state),
        "forge writes the resources, module fields and dependencies Terraform writes"
    );
    let tf2 = w.path("tf2");
    std::fs::copy(
        w.path("env/f/.forge/terraform.tfstate"),
        tf2.join("terraform.tfstate"),
    )
    .expect("copy state");
    terraform_ok(&tf2, &["init", "-input=false", "-no-color"]);
    let listed = terraform_ok(&tf2, &["state", "list"]);
    assert_eq!(
        listed, ADDRESSES,
        "terraform lists forge's state as forge does"
    );
    let (code, out) = terraform(
        &tf2,
        &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
    );
    assert_eq!(code, 0, "terraform wants to change what forge made:\n{out}");
}

/// A unit whose child module makes an SQS queue in LocalStack plans no change afterwards.
#[test]
fn cli_child_module_creates_a_queue_and_replans_no_op() {
    require_emulators();
    let id = unique_id();
    let name = format!("forge-module-{id}");
    let w = World::new(&[
        (
            "env/q/terragrunt.hcl",
            &format!("inputs = {{\n  name = \"{name}\"\n}}\n"),
        ),
        (
            "env/q/main.tf",
            "variable \"name\" {\n  type = string\n}\n\nmodule \"queue\" {\n  source  = \"./queue\"\n  name    = var.name\n  timeout = 45\n}\n\noutput \"url\" {\n  value = module.queue.url\n}\n",
        ),
        (
            "env/q/queue/main.tf",
            "variable \"name\" {\n  type = string\n}\n\nvariable \"timeout\" {\n  type    = number\n  default = 30\n}\n\nresource \"aws_sqs_queue\" \"q\" {\n  name                       = var.name\n  visibility_timeout_seconds = var.timeout\n}\n\noutput \"url\" {\n  value = aws_sqs_queue.q.url\n}\n",
        ),
    ]);
    let forge = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(w.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run forge");
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, out) = forge(&["apply", "env/q", "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("# module.queue.aws_sqs_queue.q will be created"),
        "{out}"
    );
    let cleanup = || {
        let (code, out) = forge(&["destroy", "env/q", "--auto-approve"]);
        assert_eq!(code, 0, "destroy: {out}");
    };
    let attrs = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
            let url = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map(|r| r.queue_url.unwrap_or_default());
            match url {
                Ok(url) => sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                    .send()
                    .await
                    .ok()
                    .and_then(|a| a.attributes)
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                            .cloned()
                    }),
                Err(_) => None,
            }
        });
    let (plan_code, plan) = forge(&["plan", "env/q", "--detailed-exitcode"]);
    let (_, list) = forge(&["state", "list", "env/q"]);
    cleanup();
    assert_eq!(
        attrs.as_deref(),
        Some("45"),
        "the queue exists with the module's input"
    );
    assert_eq!(plan_code, 0, "a second plan must be a no-op:\n{plan}");
    assert!(list.contains("module.queue.aws_sqs_queue.q"), "{list}");
    let (_, gone) = forge(&["state", "list", "env/q"]);
    assert!(!gone.contains("aws_sqs_queue"), "{gone}");
}
