//! forge's `plan --json` against `terraform show -json` of the same plan, made by the real
//! Terraform on the machine image (see /work/shared/notes/terraform-as-oracle.md) with its
//! built-in `terraform_data` resource, which needs no provider download.
//!
//! Each scenario applies a "before" configuration with Terraform, then plans an "after"
//! configuration twice: with Terraform, and with forge on a unit whose state is Terraform's
//! (copied in: this is also the migration path) or, in a second run, on a unit forge applied
//! itself (generated ids then differ and are masked). The documents must agree on the
//! top-level keys and on every resource and output change, except for the differences
//! README.md lists under "Known incompatibilities with Terraform" (`KNOWN_ABSENT` and the
//! sensitive values forge never writes).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value as J};

use super::World;

/// Top-level keys Terraform writes that forge does not (listed in README.md).
const KNOWN_ABSENT: &[&str] = &["configuration", "relevant_attributes"];

fn terraform(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("terraform is needed as the oracle for this test and was not found on PATH ({e}); it is on the project's machine image (v1.11.4), see /work/shared/notes/terraform-as-oracle.md")
        });
    assert!(out.status.success(), "terraform {args:?} in {}: {}{}", dir.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How the forge unit reaches the "before" state.
#[derive(Clone, Copy, PartialEq)]
enum Before {
    /// Terraform's state file copied into the unit.
    TerraformState,
    /// forge applies the "before" configuration itself.
    ForgeApply,
}

/// Terraform's plan JSON and forge's, for the same change.
fn both_plans(before: Option<&str>, after: &str, how: Before) -> (J, J, World) {
    both_plans_with(&[], before, after, how)
}

/// The same, with more files (child modules) next to both `main.tf`s.
fn both_plans_with(files: &[(&str, &str)], before: Option<&str>, after: &str, how: Before) -> (J, J, World) {
    let w = World::new(&[("tf/main.tf", before.unwrap_or("")), ("env/u/terragrunt.hcl", "inputs = {}\n"), ("env/u/main.tf", before.unwrap_or(""))]);
    for (path, text) in files {
        w.write(&[(&format!("tf/{path}"), text), (&format!("env/u/{path}"), text)]);
    }
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    if before.is_some() {
        terraform(&tf, &["apply", "-auto-approve", "-input=false", "-no-color"]);
        match how {
            Before::TerraformState => {
                std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
                std::fs::copy(tf.join("terraform.tfstate"), w.path("env/u/.forge/terraform.tfstate")).expect("copy state");
            }
            Before::ForgeApply => {
                let run = w.forge(&["apply", "env/u", "--auto-approve"]);
                assert_eq!(run.code, 0, "forge apply of the before-configuration: {}", run.all());
            }
        }
    }
    w.write(&[("tf/main.tf", after), ("env/u/main.tf", after)]);
    if !files.is_empty() {
        // Module calls the "before" configuration did not have must be installed first.
        terraform(&tf, &["init", "-input=false", "-no-color"]);
    }
    terraform(&tf, &["plan", "-out", "p", "-input=false", "-no-color"]);
    let tf_json: J = serde_json::from_str(&terraform(&tf, &["show", "-json", "p"])).expect("terraform show -json");
    let run = w.forge(&["plan", "env/u", "--json"]);
    assert_eq!(run.code, 0, "forge plan --json: {}", run.all());
    let forge_json: J = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("forge plan --json is not JSON ({e}):\n{}", run.stdout));
    (tf_json, forge_json, w)
}

/// Every uuid-shaped string replaced (ids forge and Terraform generate differ).
fn mask_ids(v: &J) -> J {
    let uuid = regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").expect("regex");
    match v {
        J::String(s) if uuid.is_match(s) => json!("<UUID>"),
        J::Array(xs) => J::Array(xs.iter().map(mask_ids).collect()),
        J::Object(m) => J::Object(m.iter().map(|(k, x)| (k.clone(), mask_ids(x))).collect()),
        other => other.clone(),
    }
}

/// The value with every part its sensitivity mask flags replaced by null: Terraform writes
/// sensitive values in clear in plan JSON, forge never does (README, known incompatibilities).
fn redact(v: &J, mask: &J) -> J {
    match (v, mask) {
        (_, J::Bool(true)) => J::Null,
        (J::Array(xs), J::Array(ms)) => J::Array(xs.iter().enumerate().map(|(i, x)| redact(x, ms.get(i).unwrap_or(&J::Bool(false)))).collect()),
        (J::Object(m), J::Object(ms)) => J::Object(m.iter().map(|(k, x)| (k.clone(), redact(x, ms.get(k).unwrap_or(&J::Bool(false))))).collect()),
        (other, _) => other.clone(),
    }
}

fn keys(v: &J) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// `after_sensitive` without the empty `{}` / `[]` Terraform writes for an attribute of a
/// collection type that is unknown: forge's unknowns carry no type (README, known
/// incompatibilities), so it cannot tell an unknown object from an unknown string.
fn without_typed_unknowns(sensitive: &J, unknown: &J) -> J {
    let (J::Object(m), J::Object(u)) = (sensitive, unknown) else { return sensitive.clone() };
    let empty = |v: &J| v.as_object().is_some_and(|o| o.is_empty()) || v.as_array().is_some_and(|a| a.is_empty());
    J::Object(m.iter().filter(|(k, v)| !(u.get(*k) == Some(&J::Bool(true)) && empty(v))).map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// `terraform_data`'s `output` is a copy of `input`; forge marks it sensitive when `input`
/// is, Terraform does not (README, known incompatibilities). The same marks on both sides.
fn output_as_sensitive_as_input(c: &J) -> J {
    let mut c = c.clone();
    if c["type"] != "terraform_data" {
        return c;
    }
    for side in ["before", "after"] {
        let has_output = c["change"][side].get("output").is_some_and(|o| !o.is_null());
        let mask = &mut c["change"][format!("{side}_sensitive")];
        if has_output && mask.get("input") == Some(&J::Bool(true))
            && let Some(m) = mask.as_object_mut() {
                m.insert("output".into(), J::Bool(true));
            }
    }
    c
}

/// The parts of a resource change that must agree, with Terraform's sensitive values nulled.
fn comparable_change(c: &J) -> J {
    let c = &output_as_sensitive_as_input(c);
    let ch = &c["change"];
    let mut change = serde_json::Map::new();
    for (k, v) in ch.as_object().into_iter().flatten() {
        let v = match k.as_str() {
            "before" => redact(v, &ch["before_sensitive"]),
            "after" => redact(v, &ch["after_sensitive"]),
            "after_sensitive" => without_typed_unknowns(v, &ch["after_unknown"]),
            _ => v.clone(),
        };
        change.insert(k.clone(), v);
    }
    mask_ids(&json!({
        "address": c["address"], "module_address": c.get("module_address"), "mode": c["mode"], "type": c["type"], "name": c["name"], "index": c.get("index"),
        "provider_name": c["provider_name"], "action_reason": c.get("action_reason"), "change": change,
    }))
}

fn comparable_outputs(doc: &J) -> J {
    let mut out = serde_json::Map::new();
    for (name, o) in doc["output_changes"].as_object().into_iter().flatten() {
        let mut o = o.clone();
        if let Some(m) = o.as_object_mut() {
            for side in ["before", "after"] {
                let flag = &m[&format!("{side}_sensitive")].clone();
                if let Some(v) = m.get_mut(side) {
                    *v = redact(v, flag);
                }
            }
        }
        out.insert(name.clone(), mask_ids(&o));
    }
    J::Object(out)
}

/// The differences that are not documented, one line each.
fn differences(tf: &J, forge: &J) -> Vec<String> {
    let mut diffs = Vec::new();
    let tf_keys: BTreeSet<String> = keys(tf).into_iter().filter(|k| !KNOWN_ABSENT.contains(&k.as_str())).collect();
    let forge_keys = keys(forge);
    if tf_keys != forge_keys {
        diffs.push(format!("top-level keys: terraform {tf_keys:?} (less {KNOWN_ABSENT:?}), forge {forge_keys:?}"));
    }
    for list in ["resource_changes", "resource_drift"] {
        let by_addr = |doc: &J| -> Vec<(String, J)> {
            doc[list].as_array().into_iter().flatten().map(|c| (c["address"].as_str().unwrap_or("?").to_string(), comparable_change(c))).collect()
        };
        let (t, f) = (by_addr(tf), by_addr(forge));
        let t_addrs: Vec<&String> = t.iter().map(|(a, _)| a).collect();
        let f_addrs: Vec<&String> = f.iter().map(|(a, _)| a).collect();
        if t_addrs != f_addrs {
            diffs.push(format!("{list} addresses: terraform {t_addrs:?}, forge {f_addrs:?}"));
            continue;
        }
        for ((addr, tc), (_, fc)) in t.iter().zip(&f) {
            for field in ["module_address", "mode", "type", "name", "index", "provider_name", "action_reason"] {
                if tc[field] != fc[field] {
                    diffs.push(format!("{list} {addr} {field}: terraform {}, forge {}", tc[field], fc[field]));
                }
            }
            if keys(&tc["change"]) != keys(&fc["change"]) {
                diffs.push(format!("{list} {addr} change keys: terraform {:?}, forge {:?}", keys(&tc["change"]), keys(&fc["change"])));
            }
            for field in ["actions", "before", "after", "after_unknown", "before_sensitive", "after_sensitive", "replace_paths"] {
                if tc["change"].get(field) != fc["change"].get(field) {
                    diffs.push(format!("{list} {addr} change.{field}: terraform {}, forge {}", tc["change"][field], fc["change"][field]));
                }
            }
        }
    }
    let (t, f) = (comparable_outputs(tf), comparable_outputs(forge));
    if t != f {
        diffs.push(format!("output_changes: terraform {t}, forge {f}"));
    }
    // Where planned_values puts each resource: root_module, or a child module entry by address.
    let placement = |doc: &J| {
        let mut out = BTreeSet::new();
        fn walk(m: &J, out: &mut BTreeSet<(String, String)>) {
            let at = m["address"].as_str().unwrap_or("").to_string();
            for r in m["resources"].as_array().into_iter().flatten() {
                out.insert((at.clone(), r["address"].as_str().unwrap_or("?").to_string()));
            }
            for c in m["child_modules"].as_array().into_iter().flatten() {
                walk(c, out);
            }
        }
        walk(&doc["planned_values"]["root_module"], &mut out);
        out
    };
    if placement(tf) != placement(forge) {
        diffs.push(format!("planned_values modules: terraform {:?}, forge {:?}", placement(tf), placement(forge)));
    }
    for key in ["applyable", "complete", "errored", "format_version"] {
        if tf[key] != forge[key] {
            diffs.push(format!("{key}: terraform {}, forge {}", tf[key], forge[key]));
        }
    }
    diffs
}

/// Plans `after` from `before` both ways (Terraform's state, then forge's own) and fails
/// with both documents on any undocumented difference.
fn check(before: Option<&str>, after: &str) {
    check_with(&[], before, after);
}

fn check_with(files: &[(&str, &str)], before: Option<&str>, after: &str) {
    let hows: &[Before] = if before.is_some() { &[Before::TerraformState, Before::ForgeApply] } else { &[Before::TerraformState] };
    for &how in hows {
        let (tf, forge, _w) = both_plans_with(files, before, after, how);
        let diffs = differences(&tf, &forge);
        let label = if how == Before::TerraformState { "forge on Terraform's state" } else { "forge on its own state" };
        assert!(
            diffs.is_empty(),
            "{label}: plan JSON differs from terraform show -json:\n  {}\n--- terraform show -json\n{}\n--- forge plan --json\n{}",
            diffs.join("\n  "),
            serde_json::to_string_pretty(&tf).unwrap_or_default(),
            serde_json::to_string_pretty(&forge).unwrap_or_default()
        );
        // The comparison itself must be able to fail: the plans agree on the actions.
        assert_eq!(
            tf["resource_changes"].as_array().map(|a| a.iter().map(|c| c["change"]["actions"].clone()).collect::<Vec<_>>()),
            forge["resource_changes"].as_array().map(|a| a.iter().map(|c| c["change"]["actions"].clone()).collect::<Vec<_>>())
        );
    }
}

fn data(name: &str, body: &str) -> String {
    format!("resource \"terraform_data\" \"{name}\" {{\n{body}}}\n\n")
}

const OUTPUT: &str = "output \"o\" {\n  value = terraform_data.x.output\n}\n";

#[test]
fn plan_json_create_from_empty_matches_terraform() {
    let after = data("x", "  input = {\n    a = 1\n    b = [\"x\", \"y\"]\n    c = \"s\"\n  }\n  triggers_replace = [\"a\"]\n") + &data("empty", "") + OUTPUT;
    check(None, &after);
}

#[test]
fn plan_json_update_in_place_matches_terraform() {
    let before = data("x", "  input = \"hello\"\n") + OUTPUT;
    let after = data("x", "  input = \"world\"\n") + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_replace_matches_terraform() {
    let before = data("x", "  input = \"same\"\n  triggers_replace = [\"a\"]\n") + OUTPUT;
    let after = data("x", "  input = \"same\"\n  triggers_replace = [\"b\"]\n") + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_create_before_destroy_replace_matches_terraform() {
    let lifecycle = "  lifecycle {\n    create_before_destroy = true\n  }\n";
    let before = data("x", &format!("  input = 1\n  triggers_replace = 1\n{lifecycle}")) + OUTPUT;
    let after = data("x", &format!("  input = 1\n  triggers_replace = 2\n{lifecycle}")) + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_destroy_of_removed_resource_matches_terraform() {
    let before = data("x", "  input = \"keep\"\n") + &data("gone", "  input = [\"a\", \"b\"]\n") + OUTPUT;
    let after = data("x", "  input = \"keep\"\n") + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_no_op_on_terraform_state_matches_terraform() {
    let config = data("x", "  input = {\n    k = \"v\"\n  }\n  triggers_replace = [\"a\", 1]\n") + OUTPUT;
    check(Some(&config), &config);
    // Migration without recreation: forge plans no change at all on Terraform's state.
    let (tf, forge, w) = both_plans(Some(&config), &config, Before::TerraformState);
    assert_eq!(forge["applyable"], false, "{forge}");
    assert_eq!(tf["applyable"], false, "{tf}");
    let exit = w.forge(&["plan", "env/u", "--detailed-exitcode"]);
    assert_eq!(exit.code, 0, "forge wants to change what Terraform made:\n{}", exit.all());
}

#[test]
fn plan_json_output_changes_match_terraform() {
    let before = data("x", "  input = \"a\"\n") + "output \"changed\" {\n  value = \"one\"\n}\n\noutput \"removed\" {\n  value = [1, 2]\n}\n";
    let after = data("x", "  input = \"a\"\n") + "output \"changed\" {\n  value = \"two\"\n}\n\noutput \"added\" {\n  value = { k = true }\n}\n\noutput \"later\" {\n  value = terraform_data.x.id\n}\n";
    check(Some(&before), &after);
}

#[test]
fn plan_json_sensitive_values_match_terraform_but_stay_hidden() {
    let before = data("x", "  input = sensitive(\"old-secret-value\")\n") + "output \"pw\" {\n  value     = \"first-secret-value\"\n  sensitive = true\n}\n";
    let after = data("x", "  input = sensitive(\"new-secret-value\")\n") + "output \"pw\" {\n  value     = \"second-secret-value\"\n  sensitive = true\n}\n\noutput \"out\" {\n  value     = terraform_data.x.output\n  sensitive = true\n}\n";
    check(Some(&before), &after);
    let (tf, forge, _w) = both_plans(Some(&before), &after, Before::TerraformState);
    let text = forge.to_string();
    for secret in ["old-secret-value", "new-secret-value", "first-secret-value", "second-secret-value"] {
        assert!(!text.contains(secret), "forge's plan JSON shows {secret}: {text}");
    }
    // Terraform does write them: the redaction above is what makes the documents agree.
    assert!(tf.to_string().contains("second-secret-value"), "{tf}");
}

#[test]
fn plan_json_child_module_addresses_match_terraform() {
    let child = "variable \"name\" {\n  type = string\n}\n\nresource \"terraform_data\" \"x\" {\n  input = var.name\n}\n\nmodule \"inner\" {\n  source = \"./inner\"\n  value  = terraform_data.x.output\n}\n\noutput \"o\" {\n  value = module.inner.o\n}\n";
    let inner = "variable \"value\" {\n  type = string\n}\n\nresource \"terraform_data\" \"y\" {\n  input = var.value\n}\n\noutput \"o\" {\n  value = terraform_data.y.output\n}\n";
    let files = [("child/main.tf", child), ("child/inner/main.tf", inner)];
    let call = |keys: &str| format!("module \"c\" {{\n  source   = \"./child\"\n  for_each = toset([{keys}])\n  name     = each.key\n}}\n\noutput \"o\" {{\n  value = {{ for k, m in module.c : k => m.o }}\n}}\n");
    // Created from nothing; then one instance updated (through the inner module), one removed, one added.
    check_with(&files, None, &(data("x", "  input = \"root\"\n") + &call("\"a\", \"b\"")));
    check_with(&files, Some(&(data("x", "  input = \"root\"\n") + &call("\"a\", \"b\""))), &(data("x", "  input = \"root\"\n") + &call("\"a\", \"c\"")));
}
