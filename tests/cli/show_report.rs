//! `show` (state and saved plans, text and -json, against the real `terraform show`),
//! `validate -json` and `--report-file`, through the forge binary.

use std::process::Command;

use serde_json::{Value as J, json};

use super::World;
use super::oracle::{TERRAFORM_DATA_CHAIN, terraform};

const CONFIG: &str = TERRAFORM_DATA_CHAIN;

/// Generated ids masked.
fn masked(mut doc: J) -> J {
    fn walk(v: &mut J) {
        match v {
            J::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "id" && x.is_string() {
                        *x = json!("ID");
                    } else {
                        walk(x);
                    }
                }
            }
            J::Array(xs) => xs.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut doc);
    doc
}

#[test]
fn show_prints_state_and_saved_plans_as_terraform_show() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", CONFIG),
        ("tf/main.tf", CONFIG),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);

    // No state yet: Terraform's empty document and words.
    let run = w.forge(&["show", "env/u", "-json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let empty: J = serde_json::from_str(&run.stdout).expect("JSON");
    let tf_empty: J = serde_json::from_str(&terraform(&tf, &["show", "-json"])).expect("JSON");
    assert_eq!(empty, tf_empty);
    assert_eq!(w.forge(&["show", "env/u"]).stdout, "No state.\n");

    terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    let run = w.forge(&["apply", "env/u", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());

    // The state document: equal to Terraform's but for the ids, the version and the
    // sensitive output's value, which forge never prints.
    let run = w.forge(&["show", "-json", "env/u"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let mut forge_doc = masked(serde_json::from_str(&run.stdout).expect("JSON"));
    let mut tf_doc =
        masked(serde_json::from_str(&terraform(&tf, &["show", "-json"])).expect("JSON"));
    assert!(!run.stdout.contains("secret-x"), "{}", run.stdout);
    let secret = tf_doc["values"]["outputs"]["s"]
        .as_object_mut()
        .and_then(|o| o.remove("value"));
    assert_eq!(
        secret,
        Some(json!("secret-x")),
        "terraform writes it: {tf_doc}"
    );
    for doc in [&mut forge_doc, &mut tf_doc] {
        doc["terraform_version"] = json!("V");
    }
    assert_eq!(forge_doc, tf_doc);

    // The text, as `terraform show` prints it.
    let id = regex::Regex::new(r#"id( +)= "[^"]+""#).expect("regex");
    let text = |t: &str| id.replace_all(t, r#"id$1= "ID""#).into_owned();
    let run = w.forge(&["show", "env/u", "-no-color"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        text(&run.stdout),
        text(&terraform(&tf, &["show", "-no-color"]))
    );

    // A saved plan: its document is Terraform's for the same change, and what
    // plan -json-plan prints.
    terraform(&tf, &["plan", "-out", "p", "-input=false", "-var", "n=y"]);
    let tf_plan: J = serde_json::from_str(&terraform(&tf, &["show", "-json", "p"])).expect("JSON");
    let run = w.forge(&["plan", "env/u", "-out", "p", "-var", "n=y"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = w.forge(&["show", "-json", "p"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout.lines().count(), 1, "one document, one line");
    let forge_plan: J = serde_json::from_str(&run.stdout).expect("JSON");
    let actions = |doc: &J| -> Vec<(String, J)> {
        doc["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["address"].as_str().unwrap_or("").to_string(),
                    c["change"]["actions"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(actions(&forge_plan), actions(&tf_plan), "{forge_plan}");
    assert_eq!(forge_plan["format_version"], tf_plan["format_version"]);
    for key in [
        "planned_values",
        "prior_state",
        "configuration",
        "output_changes",
        "variables",
    ] {
        assert!(forge_plan.get(key).is_some(), "{key} in {forge_plan}");
    }
    let direct = w.forge(&["plan", "env/u", "-json-plan", "-var", "n=y"]);
    let mut direct: J = serde_json::from_str(&direct.stdout).expect("JSON");
    let mut forge_plan = forge_plan;
    for doc in [&mut direct, &mut forge_plan] {
        doc["timestamp"] = json!("T");
    }
    assert_eq!(masked(direct), masked(forge_plan));
    let run = w.forge(&["show", "p", "-no-color"]);
    assert!(
        run.stdout.contains("# terraform_data.b must be replaced")
            && run
                .stdout
                .contains("Plan: 1 to add, 1 to change, 1 to destroy."),
        "{}",
        run.stdout
    );

    // Terraform's own plan file is not forge's: said so, with what to do.
    let run = w.forge(&["show", "-json", "tf/p"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("is not a forge plan file") && run.stderr.contains("forge plan"),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_json_is_terraforms_document_with_ranges() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n",
        ),
    ]);
    let run = w.forge(&["validate", "env/u", "-json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let doc: J = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        doc,
        json!({"format_version": "1.0", "valid": true, "error_count": 0, "warning_count": 0, "diagnostics": []})
    );
    w.write(&[(
        "env/u/main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = 1\n  bogus = 2\n}\n",
    )]);
    let run = w.forge(&["validate", "env/u", "-json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let doc: J = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["valid"], false, "{doc}");
    assert_eq!(doc["error_count"], 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["severity"], "error", "{doc}");
    assert!(
        d["range"]["filename"]
            .as_str()
            .is_some_and(|f| f.ends_with("main.tf")),
        "{doc}"
    );
    assert_eq!(d["range"]["start"]["line"], 3, "{doc}");
    assert_eq!(d["range"]["start"]["column"], 3, "{doc}");
    // Line 3 starts after 32 + 12 bytes; column 3 is 2 bytes in (offsets from 0).
    assert_eq!(d["range"]["start"]["byte"], 46, "{doc}");
}

#[test]
fn report_file_lists_each_units_result_counts_and_time() {
    let unit = |deps: &[&str]| {
        let mut t = String::new();
        for d in deps {
            t.push_str(&format!(
                "dependency \"{d}\" {{\n  config_path = \"../{d}\"\n}}\n"
            ));
        }
        t + "inputs = {}\n"
    };
    let ok = "resource \"terraform_data\" \"r\" {\n  input = \"v\"\n}\noutput \"v\" {\n  value = terraform_data.r.output\n}\n";
    let broken = "resource \"terraform_data\" \"r\" {\n  input = var.nope\n}\noutput \"v\" {\n  value = 1\n}\n";
    let (a, b, c) = (unit(&[]), unit(&[]), unit(&["b"]));
    let w = World::new(&[
        ("env/a/terragrunt.hcl", &a),
        ("env/a/main.tf", ok),
        ("env/b/terragrunt.hcl", &b),
        ("env/b/main.tf", broken),
        ("env/c/terragrunt.hcl", &c),
        ("env/c/main.tf", ok),
    ]);
    let run = w.forge(&["plan", "env", "--report-file", "report.json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report: J = serde_json::from_str(
        &std::fs::read_to_string(w.path("report.json")).expect("the report is written"),
    )
    .expect("JSON");
    let by_name = |n: &str| {
        report
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == n))
            .cloned()
            .unwrap_or_else(|| panic!("no {n} in {report}"))
    };
    assert_eq!(by_name("a")["result"], "succeeded", "{report}");
    assert_eq!(by_name("a")["add"], 1, "{report}");
    assert!(
        by_name("a")["started"]
            .as_str()
            .is_some_and(|s| s.len() > 20),
        "{report}"
    );
    assert_eq!(by_name("b")["result"], "failed", "{report}");
    assert!(
        by_name("b")["cause"]
            .as_str()
            .is_some_and(|c| c.contains("nope")),
        "{report}"
    );
    assert_eq!(by_name("c")["result"], "early exit", "{report}");
    assert_eq!(by_name("c")["cause"], "b", "{report}");

    let run = w.forge(&["apply", "env/a", "-auto-approve", "--report-file", "r.md"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let md = std::fs::read_to_string(w.path("r.md")).expect("markdown report");
    assert!(md.contains("| a | succeeded | 1 | 0 | 0 | 0 |"), "{md}");
    let run = w.forge(&[
        "destroy",
        "env/a",
        "-auto-approve",
        "--report-file",
        "r.txt",
        "--report-format",
        "csv",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let csv = std::fs::read_to_string(w.path("r.txt")).expect("csv report");
    assert!(
        csv.starts_with("Name,Started,Ended,Result,Reason,Cause,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("a,") && l.contains(",succeeded,,,0,0,1,0,")),
        "{csv}"
    );
}

#[test]
fn console_evaluates_stdin_in_a_units_scope_as_terraform_console() {
    let config = format!(
        "{CONFIG}\nlocals {{\n  doubled = \"${{var.n}}${{var.n}}\"\n  ids     = [terraform_data.a.id, terraform_data.b.id]\n}}\n"
    );
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = { n = \"z\" }\n"),
        ("env/u/main.tf", &config),
        ("tf/main.tf", &config),
        ("tf/terraform.tfvars", "n = \"z\"\n"),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    let run = w.forge(&["apply", "env/u", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let input = "var.n\nlocal.doubled\nterraform_data.b.triggers_replace\nlength(local.ids)\nupper(terraform_data.a.output)\n{ a = 1, b = [true] }\n";
    let run = w.forge_with_input(&["console", "env/u"], input);
    assert_eq!(run.code, 0, "{}", run.all());
    let expected = terraform_console(&tf, input);
    assert_eq!(run.stdout, expected);
    assert!(run.stdout.contains("\"zz\""), "{}", run.stdout);

    // An error names what is wrong and the other lines still answer.
    let run = w.forge_with_input(&["console", "env/u"], "var.nope\nvar.n\n");
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.stdout, "\"z\"\n");
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

/// `module.<name>` in the console: the outputs of each call's instances (count, for_each,
/// nested calls, sensitive outputs hidden), evaluated from state as Terraform's console
/// does, compared with `terraform console` on the same configuration and state.
#[test]
fn console_shows_module_outputs_as_terraform_console() {
    let root = r#"variable "n" {
  type = string
}
module "one" {
  source = "./mod"
  name   = var.n
}
module "many" {
  source = "./mod"
  count  = 2
  name   = "c${count.index}"
}
module "keyed" {
  source   = "./mod"
  for_each = toset(["x", "y"])
  name     = each.key
  suffix   = "-k"
}
locals {
  from_module = "${module.one.upper_name}!"
}
"#;
    let child = r#"variable "name" {
  type = string
}
variable "suffix" {
  type    = string
  default = "-s"
}
resource "terraform_data" "r" {
  input = "${var.name}${var.suffix}"
}
locals {
  upper = upper(var.name)
}
module "inner" {
  source = "./inner"
  v      = terraform_data.r.output
}
output "upper_name" {
  value = local.upper
}
output "stored" {
  value = terraform_data.r.output
}
output "secret" {
  value     = "${var.name}-hidden"
  sensitive = true
}
output "inner" {
  value = module.inner.twice
}
"#;
    let inner = "variable \"v\" {\n  type = string\n}\noutput \"twice\" {\n  value = \"${var.v}${var.v}\"\n}\n";
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = { n = \"z\" }\n"),
        ("env/u/main.tf", root),
        ("env/u/mod/main.tf", child),
        ("env/u/mod/inner/main.tf", inner),
        ("tf/main.tf", root),
        ("tf/mod/main.tf", child),
        ("tf/mod/inner/main.tf", inner),
        ("tf/terraform.tfvars", "n = \"z\"\n"),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    let run = w.forge(&["apply", "env/u", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let input = "module.one\nmodule.many[1].stored\nmodule.keyed[\"y\"].upper_name\nmodule.keyed\nlocal.from_module\nmodule.one.inner\nmodule.one.secret\nlength(module.many)\n";
    let run = w.forge_with_input(&["console", "env/u"], input);
    assert_eq!(run.code, 0, "{}", run.all());
    // Terraform's console prints a child module's sensitive output in clear; forge keeps
    // it hidden, as every sensitive value (the one deliberate difference).
    let expected = regex::Regex::new(r#""[a-z]-hidden""#)
        .expect("regex")
        .replace_all(&terraform_console(&tf, input), "(sensitive value)")
        .into_owned();
    assert!(expected.contains("(sensitive value)"), "{expected}");
    assert_eq!(run.stdout, expected);
    assert!(run.stdout.contains("\"c1-s\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"z-sz-s\""), "{}", run.stdout);
    assert!(!run.stdout.contains("z-hidden"), "{}", run.stdout);
}

/// What `terraform console` in `dir` prints for each line of `input`. Terraform prints
/// only the last result when stdin is not a terminal: it is asked one expression at a time.
fn terraform_console(dir: &std::path::Path, input: &str) -> String {
    input
        .lines()
        .map(|expr| {
            let out = Command::new("terraform")
                .args(["console"])
                .current_dir(dir)
                .env("TF_CLI_CONFIG_FILE", "")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().expect("stdin").write_all(expr.as_bytes())?;
                    c.wait_with_output()
                })
                .expect("terraform console");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}
