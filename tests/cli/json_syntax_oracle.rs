//! A module written in Terraform's JSON syntax (`main.tf.json`) against the real
//! `terraform` on PATH (built-in `terraform_data`, no provider download): the plan forge
//! makes of it must agree with Terraform's `show -json` (actions, planned values, unknowns,
//! outputs), forge must plan the JSON module exactly as its native-syntax twin, and every
//! local must print as `terraform console` prints it. Also: nested blocks of AWS resources
//! read through the providers' schemas by the binary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value as J, json};

use super::World;

const MODULE_JSON: &str = r#"{
  "//": "generated: forge's reading of the JSON syntax against terraform's",
  "terraform": {"required_version": ">= 1.5"},
  "variable": {
    "env": {"type": "string", "default": "prod", "description": "where ${env} runs"},
    "ports": {"type": "list(number)", "default": [80, 443]},
    "tags": {"type": "map(string)", "default": {"team": "core", "cost": "${literal}"}},
    "settings": {"type": "object({ size = number, name = optional(string, \"anon\") })", "default": {"size": 2}}
  },
  "locals": {
    "name": "app-${var.env}",
    "n": 3,
    "half": 0.5,
    "big": 1e3,
    "on": true,
    "nothing": null,
    "list": [1, "two", "${local.n}"],
    "object": {"a": "${local.name}", "b-c": ["${local.on}"], "${var.env}-key": "dynamic key"},
    "upper": "${upper(local.name)}",
    "ports": "${[for p in var.ports : p + 1]}",
    "joined": "%{ for p in var.ports }${p};%{ endfor }",
    "cond": "%{ if local.on }on%{ else }off%{ endif }",
    "stripped": "a %{~ if local.on ~} b %{~ endif ~} c",
    "strip_lines": "a \n  %{~ if local.on ~}  \n b%{ endif }|x\n  ${~ local.n ~}  \nz",
    "escaped": "$${not} %%{ nor } ${local.n}",
    "quoted": "say \"${local.name}\"\nnext\ttab \\ backslash \/ slash",
    "nested": "${upper(\"in ${var.env}\")}",
    "tags": "${merge(var.tags, {env = var.env})}",
    "settings": "${var.settings}",
    "unicode": "é ☃ \u00e9 \ud83d\ude00"
  },
  "resource": {
    "terraform_data": {
      "a": {
        "input": {"name": "${local.name}", "ports": "${local.ports}", "tags": "${local.tags}"},
        "lifecycle": {"ignore_changes": ["triggers_replace"], "create_before_destroy": true}
      },
      "b": {"count": 2, "input": "${local.name}-${count.index}", "depends_on": ["terraform_data.a"]},
      "c": [{"for_each": "${toset([\"x\", \"y\"])}", "input": "${each.key}:${terraform_data.a.id}", "triggers_replace": ["${local.n}"]}]
    }
  },
  "output": {
    "name": {"value": "${local.name}", "description": "the ${name}"},
    "object": {"value": "${local.object}"},
    "b_inputs": {"value": "${terraform_data.b[*].input}"},
    "c_input": {"value": "${terraform_data.c[\"x\"].input}", "depends_on": ["terraform_data.b"]},
    "a_id": {"value": "${terraform_data.a.id}"},
    "text": {"value": "${local.joined} ${local.escaped} ${local.cond}"}
  }
}
"#;

/// The same module in native syntax.
const MODULE_HCL: &str = r#"
terraform {
  required_version = ">= 1.5"
}
variable "env" {
  type        = string
  default     = "prod"
  description = "where $${env} runs"
}
variable "ports" {
  type    = list(number)
  default = [80, 443]
}
variable "tags" {
  type    = map(string)
  default = { team = "core", cost = "$${literal}" }
}
variable "settings" {
  type    = object({ size = number, name = optional(string, "anon") })
  default = { size = 2 }
}
locals {
  name     = "app-${var.env}"
  n        = 3
  half     = 0.5
  big      = 1e3
  on       = true
  nothing  = null
  list     = [1, "two", local.n]
  object   = { a = local.name, "b-c" = [local.on], "${var.env}-key" = "dynamic key" }
  upper    = upper(local.name)
  ports    = [for p in var.ports : p + 1]
  joined   = "%{for p in var.ports}${p};%{endfor}"
  cond     = "%{if local.on}on%{else}off%{endif}"
  stripped = "a %{~if local.on~} b %{~endif~} c"
  # In template text (a JSON string, a heredoc) a strip marker trims only up to the line
  # break before it; this is the value Terraform gives the JSON local.
  strip_lines = "a \n b|x\n3z"
  escaped  = "$${not} %%{ nor } ${local.n}"
  quoted   = "say \"${local.name}\"\nnext\ttab \\ backslash / slash"
  nested   = upper("in ${var.env}")
  tags     = merge(var.tags, { env = var.env })
  settings = var.settings
  unicode  = "é ☃ é 😀"
}
resource "terraform_data" "a" {
  input = { name = local.name, ports = local.ports, tags = local.tags }
  lifecycle {
    ignore_changes        = [triggers_replace]
    create_before_destroy = true
  }
}
resource "terraform_data" "b" {
  count      = 2
  input      = "${local.name}-${count.index}"
  depends_on = [terraform_data.a]
}
resource "terraform_data" "c" {
  for_each         = toset(["x", "y"])
  input            = "${each.key}:${terraform_data.a.id}"
  triggers_replace = [local.n]
}
output "name" {
  value       = local.name
  description = "the $${name}"
}
output "object" {
  value = local.object
}
output "b_inputs" {
  value = terraform_data.b[*].input
}
output "c_input" {
  value      = terraform_data.c["x"].input
  depends_on = [terraform_data.b]
}
output "a_id" {
  value = terraform_data.a.id
}
output "text" {
  value = "${local.joined} ${local.escaped} ${local.cond}"
}
"#;

fn terraform(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("terraform is needed as the oracle for this test and was not found on PATH ({e}); it is on the project's machine image (v1.11.4), see /work/shared/notes/terraform-as-oracle.md")
        });
    if let (Some(text), Some(mut s)) = (stdin, child.stdin.take()) {
        s.write_all(text.as_bytes()).expect("write to terraform");
    }
    let out = child.wait_with_output().expect("wait for terraform");
    assert!(
        out.status.success(),
        "terraform {args:?} in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What must agree of a plan: each resource change's actions, planned values and unknowns;
/// each output's planned value and unknown flag.
fn comparable(doc: &J) -> J {
    let changes: BTreeMap<String, J> = doc["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let ch = &c["change"];
            (c["address"].as_str().unwrap_or("?").to_string(), json!({"actions": ch["actions"], "after": ch["after"], "after_unknown": ch["after_unknown"]}))
        })
        .collect();
    let outputs: BTreeMap<String, J> = doc["output_changes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, o)| (k.clone(), json!({"actions": o["actions"], "after": o["after"], "after_unknown": o["after_unknown"]})))
        .collect();
    json!({"resource_changes": changes, "output_changes": outputs})
}

fn forge_plan(w: &World, unit: &str) -> J {
    let run = w.forge(&["plan", unit, "--json-plan"]);
    assert_eq!(run.code, 0, "forge plan {unit} --json: {}", run.all());
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("forge plan --json is not JSON ({e}):\n{}", run.stdout))
}

#[test]
fn a_tf_json_module_plans_as_terraform_plans_it_and_as_its_native_twin() {
    let w = World::new(&[
        ("tf/main.tf.json", MODULE_JSON),
        ("env/json/terragrunt.hcl", "inputs = {}\n"),
        ("env/json/main.tf.json", MODULE_JSON),
        ("env/hcl/terragrunt.hcl", "inputs = {}\n"),
        ("env/hcl/main.tf", MODULE_HCL),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"], None);
    terraform(
        &tf,
        &["plan", "-out", "p", "-input=false", "-no-color"],
        None,
    );
    let tf_plan = comparable(
        &serde_json::from_str(&terraform(&tf, &["show", "-json", "p"], None))
            .expect("terraform show -json"),
    );
    let json_plan = comparable(&forge_plan(&w, "env/json"));
    let hcl_plan = comparable(&forge_plan(&w, "env/hcl"));

    let addresses: Vec<&String> = tf_plan["resource_changes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        addresses,
        [
            "terraform_data.a",
            "terraform_data.b[0]",
            "terraform_data.b[1]",
            "terraform_data.c[\"x\"]",
            "terraform_data.c[\"y\"]"
        ],
        "terraform's plan of the JSON module"
    );
    assert_eq!(
        tf_plan["output_changes"]["text"]["after"],
        json!("80;443; ${not} %{ nor } 3 on"),
        "terraform read the templates: {tf_plan:#}"
    );
    assert_eq!(
        serde_json::to_string_pretty(&json_plan).expect("json"),
        serde_json::to_string_pretty(&tf_plan).expect("json"),
        "forge's plan of main.tf.json differs from terraform's"
    );
    assert_eq!(
        json_plan, hcl_plan,
        "forge plans the JSON module and its native twin differently"
    );
}

/// The locals' values, as forge evaluates them from the loaded JSON module (variables at
/// their defaults, locals in rounds since they use each other).
fn forge_locals(dir: &Path) -> BTreeMap<String, String> {
    let module = forge_config::Module::load(dir, &forge_config::LoadContext::default())
        .unwrap_or_else(|d| panic!("the JSON module does not load:\n{d}"));
    let vars: BTreeMap<String, forge_provider::Value> = module
        .variables
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                v.default.clone().unwrap_or(forge_provider::Value::Null),
            )
        })
        .collect();
    let mut locals: BTreeMap<String, forge_provider::Value> = BTreeMap::new();
    for _ in 0..=module.locals.len() {
        let scope = forge_lang::Scope::new(dir)
            .with_root("var", forge_provider::Value::Object(vars.clone()))
            .with_root("local", forge_provider::Value::Object(locals.clone()));
        for l in &module.locals {
            if let Ok(v) = forge_lang::eval(&l.expr, &scope) {
                locals.insert(l.name.clone(), v);
            }
        }
    }
    assert_eq!(
        locals.len(),
        module.locals.len(),
        "every local evaluates in forge"
    );
    locals
        .into_iter()
        .map(|(k, v)| (k, forge_lang::render_console(&v)))
        .collect()
}

#[test]
fn tf_json_locals_print_as_terraform_console_prints_them() {
    let w = World::new(&[("tf/main.tf.json", MODULE_JSON)]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"], None);
    let forge = forge_locals(&tf);
    assert!(forge.len() >= 20, "{forge:?}");
    let mut diffs = Vec::new();
    for (name, value) in &forge {
        let answer = terraform(
            &tf,
            &["console", "-no-color"],
            Some(&format!("local.{name}\n")),
        );
        if answer.trim_end() != value.trim_end() {
            diffs.push(format!(
                "local.{name}: terraform\n{}\nforge\n{value}",
                answer.trim_end()
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "locals that print differently:\n{}",
        diffs.join("\n\n")
    );
}

/// Nested blocks in a `.tf.json` resource are known from the provider's schema, which the
/// binary looks up (`src/cli/schema_host.rs`): without it `rule` would be read as an
/// argument and refused. Errors point into the JSON.
#[test]
fn tf_json_nested_blocks_come_from_the_providers_schemas() {
    let module = r#"{
  "provider": {"aws": {"region": "us-east-1", "default_tags": {"tags": {"Owner": "me"}}}},
  "resource": {
    "aws_s3_bucket": {"b": {"bucket": "json-nested", "tags": {"Name": "x"}}},
    "aws_s3_bucket_server_side_encryption_configuration": {"e": {
      "bucket": "${aws_s3_bucket.b.id}",
      "rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    }}
  }
}
"#;
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf.json", module),
    ]);
    let run = w.forge(&["validate", "env/u"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(
            "Success! The configuration is valid (1 unit(s), 2 resource and data blocks)"
        ),
        "{}",
        run.all()
    );
    let broken = module.replace(
        r#""sse_algorithm": "AES256"}}"#,
        r#""sse_algorithm": "AES256"}}, "bogus": {"x": 1}"#,
    );
    w.write(&[("env/u/main.tf.json", &broken)]);
    let run = w.forge(&["validate", "env/u"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "aws_s3_bucket_server_side_encryption_configuration.e has no argument named `bogus`"
        ),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains("env/u/main.tf.json:7:90"),
        "{}",
        run.all()
    );
}
