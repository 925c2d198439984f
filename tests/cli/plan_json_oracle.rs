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

use serde_json::{Value as J, json};

use super::World;
use super::oracle::terraform;

/// Top-level keys Terraform writes that forge does not (listed in README.md).
const KNOWN_ABSENT: &[&str] = &["relevant_attributes"];

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

/// The same, with more files (child modules, state files) next to both `main.tf`s. In
/// every text `@ROOT@` stands for the test's folder (an absolute path both sides read).
fn both_plans_with(
    files: &[(&str, &str)],
    before: Option<&str>,
    after: &str,
    how: Before,
) -> (J, J, World) {
    let w = World::new(&[("env/u/terragrunt.hcl", "inputs = {}\n")]);
    let root = w.path("").display().to_string();
    let root = root.trim_end_matches('/').to_string();
    let fill = |t: &str| t.replace("@ROOT@", &root);
    let (before, after) = (before.map(fill), fill(after));
    let (before, after) = (before.as_deref(), after.as_str());
    w.write(&[
        (
            "tf/main.tf",
            &before.map(str::to_string).unwrap_or_default(),
        ),
        (
            "env/u/main.tf",
            &before.map(str::to_string).unwrap_or_default(),
        ),
    ]);
    for (path, text) in files {
        let text = fill(text);
        w.write(&[
            (&format!("tf/{path}"), &text),
            (&format!("env/u/{path}"), &text),
        ]);
    }
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    if before.is_some() {
        terraform(
            &tf,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        );
        match how {
            Before::TerraformState => {
                std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
                std::fs::copy(
                    tf.join("terraform.tfstate"),
                    w.path("env/u/.forge/terraform.tfstate"),
                )
                .expect("copy state");
            }
            Before::ForgeApply => {
                let run = w.forge(&["apply", "env/u", "--auto-approve"]);
                assert_eq!(
                    run.code,
                    0,
                    "forge apply of the before-configuration: {}",
                    run.all()
                );
            }
        }
    }
    w.write(&[("tf/main.tf", after), ("env/u/main.tf", after)]);
    if !files.is_empty() {
        // Module calls the "before" configuration did not have must be installed first.
        terraform(&tf, &["init", "-input=false", "-no-color"]);
    }
    terraform(&tf, &["plan", "-out", "p", "-input=false", "-no-color"]);
    let tf_json: J = serde_json::from_str(&terraform(&tf, &["show", "-json", "p"]))
        .expect("terraform show -json");
    let run = w.forge(&["plan", "env/u", "--json-plan"]);
    assert_eq!(run.code, 0, "forge plan --json: {}", run.all());
    let forge_json: J = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("forge plan --json is not JSON ({e}):\n{}", run.stdout));
    (tf_json, forge_json, w)
}

/// Every uuid-shaped string replaced (ids forge and Terraform generate differ).
fn mask_ids(v: &J) -> J {
    let uuid = regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .expect("regex");
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
        (J::Array(xs), J::Array(ms)) => J::Array(
            xs.iter()
                .enumerate()
                .map(|(i, x)| redact(x, ms.get(i).unwrap_or(&J::Bool(false))))
                .collect(),
        ),
        (J::Object(m), J::Object(ms)) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), redact(x, ms.get(k).unwrap_or(&J::Bool(false)))))
                .collect(),
        ),
        (other, _) => other.clone(),
    }
}

fn keys(v: &J) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// `after_sensitive` without the empty `{}` / `[]` Terraform writes for an attribute of a
/// collection type that is unknown: forge's unknowns carry no type (README, known
/// incompatibilities), so it cannot tell an unknown object from an unknown string.
fn without_typed_unknowns(sensitive: &J, unknown: &J) -> J {
    let (J::Object(m), J::Object(u)) = (sensitive, unknown) else {
        return sensitive.clone();
    };
    let empty = |v: &J| {
        v.as_object().is_some_and(|o| o.is_empty()) || v.as_array().is_some_and(|a| a.is_empty())
    };
    J::Object(
        m.iter()
            .filter(|(k, v)| !(u.get(*k) == Some(&J::Bool(true)) && empty(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `terraform_data`'s `output` is a copy of `input`; forge marks it sensitive when `input`
/// is, Terraform does not (README, known incompatibilities). The same marks on both sides.
fn output_as_sensitive_as_input(c: &J) -> J {
    let mut c = c.clone();
    if c["type"] != "terraform_data" {
        return c;
    }
    for side in ["before", "after"] {
        let has_output = c["change"][side]
            .get("output")
            .is_some_and(|o| !o.is_null());
        let mask = &mut c["change"][format!("{side}_sensitive")];
        if has_output
            && mask.get("input") == Some(&J::Bool(true))
            && let Some(m) = mask.as_object_mut()
        {
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
    let tf_keys: BTreeSet<String> = keys(tf)
        .into_iter()
        .filter(|k| !KNOWN_ABSENT.contains(&k.as_str()))
        .collect();
    let forge_keys = keys(forge);
    if tf_keys != forge_keys {
        diffs.push(format!(
            "top-level keys: terraform {tf_keys:?} (less {KNOWN_ABSENT:?}), forge {forge_keys:?}"
        ));
    }
    for list in ["resource_changes", "resource_drift"] {
        let by_addr = |doc: &J| -> Vec<(String, J)> {
            doc[list]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["address"].as_str().unwrap_or("?").to_string(),
                        comparable_change(c),
                    )
                })
                .collect()
        };
        let (t, f) = (by_addr(tf), by_addr(forge));
        let t_addrs: Vec<&String> = t.iter().map(|(a, _)| a).collect();
        let f_addrs: Vec<&String> = f.iter().map(|(a, _)| a).collect();
        if t_addrs != f_addrs {
            diffs.push(format!(
                "{list} addresses: terraform {t_addrs:?}, forge {f_addrs:?}"
            ));
            continue;
        }
        for ((addr, tc), (_, fc)) in t.iter().zip(&f) {
            for field in [
                "module_address",
                "mode",
                "type",
                "name",
                "index",
                "provider_name",
                "action_reason",
            ] {
                if tc[field] != fc[field] {
                    diffs.push(format!(
                        "{list} {addr} {field}: terraform {}, forge {}",
                        tc[field], fc[field]
                    ));
                }
            }
            if keys(&tc["change"]) != keys(&fc["change"]) {
                diffs.push(format!(
                    "{list} {addr} change keys: terraform {:?}, forge {:?}",
                    keys(&tc["change"]),
                    keys(&fc["change"])
                ));
            }
            for field in [
                "actions",
                "before",
                "after",
                "after_unknown",
                "before_sensitive",
                "after_sensitive",
                "replace_paths",
            ] {
                if tc["change"].get(field) != fc["change"].get(field) {
                    diffs.push(format!(
                        "{list} {addr} change.{field}: terraform {}, forge {}",
                        tc["change"][field], fc["change"][field]
                    ));
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
        diffs.push(format!(
            "planned_values modules: terraform {:?}, forge {:?}",
            placement(tf),
            placement(forge)
        ));
    }
    diffs.extend(variables_differences(tf, forge));
    diffs.extend(configuration_differences(tf, forge));
    diffs.extend(prior_state_differences(tf, forge));
    if tf.get("checks") != forge.get("checks") {
        diffs.push(format!(
            "checks: terraform {}, forge {}",
            tf.get("checks").unwrap_or(&J::Null),
            forge.get("checks").unwrap_or(&J::Null)
        ));
    }
    for key in ["applyable", "complete", "errored", "format_version"] {
        if tf[key] != forge[key] {
            diffs.push(format!(
                "{key}: terraform {}, forge {}",
                tf[key], forge[key]
            ));
        }
    }
    diffs
}

/// The root variables Terraform declares sensitive (from its own `configuration`).
fn sensitive_variables(tf: &J) -> BTreeSet<String> {
    let vars = &tf["configuration"]["root_module"]["variables"];
    vars.as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v["sensitive"] == true)
        .map(|(k, _)| k.clone())
        .collect()
}

/// `variables`: equal once a sensitive variable's value is null on Terraform's side too
/// (Terraform writes it in clear; README, known incompatibilities).
fn variables_differences(tf: &J, forge: &J) -> Vec<String> {
    let mut t = tf.get("variables").cloned();
    let secret = sensitive_variables(tf);
    if let Some(J::Object(m)) = &mut t {
        for (name, v) in m.iter_mut() {
            if secret.contains(name) {
                v["value"] = J::Null;
            }
        }
    }
    let f = forge.get("variables").cloned();
    if t != f {
        return vec![format!(
            "variables: terraform {}, forge {}",
            t.unwrap_or_default(),
            f.unwrap_or_default()
        )];
    }
    Vec::new()
}

/// Terraform's `configuration` with what forge never writes in clear made as forge writes
/// it: a sensitive variable's default null, a sensitive output's constant left out.
fn configuration_redacted(module: &J) -> J {
    let mut m = module.clone();
    if let Some(vars) = m.get_mut("variables").and_then(J::as_object_mut) {
        for v in vars.values_mut() {
            if v["sensitive"] == true && v.get("default").is_some() {
                v["default"] = J::Null;
            }
        }
    }
    if let Some(outs) = m.get_mut("outputs").and_then(J::as_object_mut) {
        for o in outs.values_mut() {
            if o["sensitive"] == true
                && let Some(e) = o.get_mut("expression").and_then(J::as_object_mut)
            {
                e.remove("constant_value");
            }
        }
    }
    if let Some(calls) = m.get_mut("module_calls").and_then(J::as_object_mut) {
        for c in calls.values_mut() {
            let child = configuration_redacted(&c["module"]);
            c["module"] = child;
        }
    }
    m
}

/// `configuration`: every resource, module call, output and variable with its expressions
/// (constants and references) and the provider configurations must agree.
fn configuration_differences(tf: &J, forge: &J) -> Vec<String> {
    let (Some(t), Some(f)) = (tf.get("configuration"), forge.get("configuration")) else {
        return vec![format!(
            "configuration: terraform has it: {}, forge has it: {}",
            tf.get("configuration").is_some(),
            forge.get("configuration").is_some()
        )];
    };
    let mut diffs = Vec::new();
    if t["provider_config"] != f["provider_config"] {
        diffs.push(format!(
            "configuration.provider_config: terraform {}, forge {}",
            t["provider_config"], f["provider_config"]
        ));
    }
    let (t_root, f_root) = (
        configuration_redacted(&t["root_module"]),
        f["root_module"].clone(),
    );
    if t_root != f_root {
        diffs.push(format!(
            "configuration.root_module differs:\n--- terraform\n{}\n--- forge\n{}",
            serde_json::to_string_pretty(&t_root).unwrap_or_default(),
            serde_json::to_string_pretty(&f_root).unwrap_or_default()
        ));
    }
    diffs
}

/// A prior-state resource with Terraform's sensitive values nulled (and terraform_data's
/// `output` as sensitive as its `input`, as forge marks it), ids masked.
fn comparable_state_resource(r: &J) -> J {
    let mut mask = r["sensitive_values"].clone();
    if r["type"] == "terraform_data"
        && mask.get("input") == Some(&J::Bool(true))
        && !r["values"]["output"].is_null()
        && let Some(m) = mask.as_object_mut()
    {
        m.insert("output".into(), J::Bool(true));
    }
    let mut r = r.clone();
    r["values"] = redact(&r["values"], &mask);
    r["sensitive_values"] = mask;
    mask_ids(&r)
}

/// `prior_state`: present on both sides or neither; the same format version, outputs and
/// resources (by address, in every module). `terraform_version` is forge's own (README).
fn prior_state_differences(tf: &J, forge: &J) -> Vec<String> {
    let (t, f) = (tf.get("prior_state"), forge.get("prior_state"));
    let (Some(t), Some(f)) = (t, f) else {
        if t.is_some() != f.is_some() {
            return vec![format!(
                "prior_state: terraform has it: {}, forge has it: {}",
                t.is_some(),
                f.is_some()
            )];
        }
        return Vec::new();
    };
    let mut diffs = Vec::new();
    if t["format_version"] != f["format_version"] {
        diffs.push(format!(
            "prior_state.format_version: terraform {}, forge {}",
            t["format_version"], f["format_version"]
        ));
    }
    let outputs = |s: &J| -> J {
        let mut o = s["values"]["outputs"].clone();
        if let Some(m) = o.as_object_mut() {
            for v in m.values_mut() {
                if v["sensitive"] == true
                    && let Some(x) = v.as_object_mut()
                {
                    x.remove("value");
                }
            }
        }
        mask_ids(&o)
    };
    if outputs(t) != outputs(f) {
        diffs.push(format!(
            "prior_state outputs: terraform {}, forge {}",
            outputs(t),
            outputs(f)
        ));
    }
    let resources = |s: &J| -> std::collections::BTreeMap<(String, String), J> {
        let mut out = std::collections::BTreeMap::new();
        fn walk(m: &J, out: &mut std::collections::BTreeMap<(String, String), J>) {
            let at = m["address"].as_str().unwrap_or("").to_string();
            for r in m["resources"].as_array().into_iter().flatten() {
                out.insert(
                    (at.clone(), r["address"].as_str().unwrap_or("?").to_string()),
                    comparable_state_resource(r),
                );
            }
            for c in m["child_modules"].as_array().into_iter().flatten() {
                walk(c, out);
            }
        }
        walk(&s["values"]["root_module"], &mut out);
        out
    };
    let (tr, fr) = (resources(t), resources(f));
    if tr.keys().collect::<Vec<_>>() != fr.keys().collect::<Vec<_>>() {
        diffs.push(format!(
            "prior_state resources: terraform {:?}, forge {:?}",
            tr.keys().collect::<Vec<_>>(),
            fr.keys().collect::<Vec<_>>()
        ));
    }
    for (k, r) in &tr {
        if let Some(fr) = fr.get(k)
            && r != fr
        {
            diffs.push(format!(
                "prior_state resource {}: terraform {r}, forge {fr}",
                k.1
            ));
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
    let hows: &[Before] = if before.is_some() {
        &[Before::TerraformState, Before::ForgeApply]
    } else {
        &[Before::TerraformState]
    };
    for &how in hows {
        let (tf, forge, _w) = both_plans_with(files, before, after, how);
        let diffs = differences(&tf, &forge);
        let label = if how == Before::TerraformState {
            "forge on Terraform's state"
        } else {
            "forge on its own state"
        };
        assert!(
            diffs.is_empty(),
            "{label}: plan JSON differs from terraform show -json:\n  {}\n--- terraform show -json\n{}\n--- forge plan --json\n{}",
            diffs.join("\n  "),
            serde_json::to_string_pretty(&tf).unwrap_or_default(),
            serde_json::to_string_pretty(&forge).unwrap_or_default()
        );
        // The comparison itself must be able to fail: the plans agree on the actions.
        assert_eq!(
            tf["resource_changes"].as_array().map(|a| a
                .iter()
                .map(|c| c["change"]["actions"].clone())
                .collect::<Vec<_>>()),
            forge["resource_changes"].as_array().map(|a| a
                .iter()
                .map(|c| c["change"]["actions"].clone())
                .collect::<Vec<_>>())
        );
    }
}

fn data(name: &str, body: &str) -> String {
    format!("resource \"terraform_data\" \"{name}\" {{\n{body}}}\n\n")
}

const OUTPUT: &str = "output \"o\" {\n  value = terraform_data.x.output\n}\n";

#[test]
fn plan_json_create_from_empty_matches_terraform() {
    let after = data(
        "x",
        "  input = {\n    a = 1\n    b = [\"x\", \"y\"]\n    c = \"s\"\n  }\n  triggers_replace = [\"a\"]\n",
    ) + &data("empty", "")
        + OUTPUT;
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
    let before = data(
        "x",
        &format!("  input = 1\n  triggers_replace = 1\n{lifecycle}"),
    ) + OUTPUT;
    let after = data(
        "x",
        &format!("  input = 1\n  triggers_replace = 2\n{lifecycle}"),
    ) + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_destroy_of_removed_resource_matches_terraform() {
    let before =
        data("x", "  input = \"keep\"\n") + &data("gone", "  input = [\"a\", \"b\"]\n") + OUTPUT;
    let after = data("x", "  input = \"keep\"\n") + OUTPUT;
    check(Some(&before), &after);
}

#[test]
fn plan_json_no_op_on_terraform_state_matches_terraform() {
    let config = data(
        "x",
        "  input = {\n    k = \"v\"\n  }\n  triggers_replace = [\"a\", 1]\n",
    ) + OUTPUT;
    check(Some(&config), &config);
    // Migration without recreation: forge plans no change at all on Terraform's state.
    let (tf, forge, w) = both_plans(Some(&config), &config, Before::TerraformState);
    assert_eq!(forge["applyable"], false, "{forge}");
    assert_eq!(tf["applyable"], false, "{tf}");
    let exit = w.forge(&["plan", "env/u", "--detailed-exitcode"]);
    assert_eq!(
        exit.code,
        0,
        "forge wants to change what Terraform made:\n{}",
        exit.all()
    );
}

#[test]
fn plan_json_output_changes_match_terraform() {
    let before = data("x", "  input = \"a\"\n")
        + "output \"changed\" {\n  value = \"one\"\n}\n\noutput \"removed\" {\n  value = [1, 2]\n}\n";
    let after = data("x", "  input = \"a\"\n")
        + "output \"changed\" {\n  value = \"two\"\n}\n\noutput \"added\" {\n  value = { k = true }\n}\n\noutput \"later\" {\n  value = terraform_data.x.id\n}\n";
    check(Some(&before), &after);
}

#[test]
fn plan_json_sensitive_values_match_terraform_but_stay_hidden() {
    let before = data("x", "  input = sensitive(\"old-secret-value\")\n")
        + "output \"pw\" {\n  value     = \"first-secret-value\"\n  sensitive = true\n}\n";
    let after = data("x", "  input = sensitive(\"new-secret-value\")\n")
        + "output \"pw\" {\n  value     = \"second-secret-value\"\n  sensitive = true\n}\n\noutput \"out\" {\n  value     = terraform_data.x.output\n  sensitive = true\n}\n";
    check(Some(&before), &after);
    let (tf, forge, _w) = both_plans(Some(&before), &after, Before::TerraformState);
    let text = forge.to_string();
    for secret in [
        "old-secret-value",
        "new-secret-value",
        "first-secret-value",
        "second-secret-value",
    ] {
        assert!(
            !text.contains(secret),
            "forge's plan JSON shows {secret}: {text}"
        );
    }
    // Terraform does write them: the redaction above is what makes the documents agree.
    assert!(tf.to_string().contains("second-secret-value"), "{tf}");
}

#[test]
fn plan_json_child_module_addresses_match_terraform() {
    let child = "variable \"name\" {\n  type = string\n}\n\nresource \"terraform_data\" \"x\" {\n  input = var.name\n}\n\nmodule \"inner\" {\n  source = \"./inner\"\n  value  = terraform_data.x.output\n}\n\noutput \"o\" {\n  value = module.inner.o\n}\n";
    let inner = "variable \"value\" {\n  type = string\n}\n\nresource \"terraform_data\" \"y\" {\n  input = var.value\n}\n\noutput \"o\" {\n  value = terraform_data.y.output\n}\n";
    let files = [("child/main.tf", child), ("child/inner/main.tf", inner)];
    let call = |keys: &str| {
        format!(
            "module \"c\" {{\n  source   = \"./child\"\n  for_each = toset([{keys}])\n  name     = each.key\n}}\n\noutput \"o\" {{\n  value = {{ for k, m in module.c : k => m.o }}\n}}\n"
        )
    };
    // Created from nothing; then one instance updated (through the inner module), one removed, one added.
    check_with(
        &files,
        None,
        &(data("x", "  input = \"root\"\n") + &call("\"a\", \"b\"")),
    );
    check_with(
        &files,
        Some(&(data("x", "  input = \"root\"\n") + &call("\"a\", \"b\""))),
        &(data("x", "  input = \"root\"\n") + &call("\"a\", \"c\"")),
    );
}

#[test]
fn plan_json_variables_and_configuration_match_terraform() {
    // Variables from defaults and from terraform.tfvars (values already of their type: forge
    // shows values converted, Terraform as given), a sensitive one, descriptions, a null
    // default; resources with count/for_each, function calls, templates, heredocs,
    // depends_on; module calls with count and for_each; outputs with description and
    // depends_on.
    let main = r#"variable "name" {
  type        = string
  description = "the name"
  default     = "dflt"
}

variable "secret" {
  type      = string
  sensitive = true
  default   = "default-secret-value"
}

variable "n" {
  type    = number
  default = "5"
}

variable "list" {
  type = list(string)
}

variable "nothing" {
  type    = string
  default = null
}

locals {
  m = { k = "v" }
}

resource "terraform_data" "a" {
  input = { a = var.name, b = local.m["k"], c = [1, 2], t = "${var.n}-x" }
  triggers_replace = [terraform_data.c[0].id, upper("x"), terraform.workspace]
}

resource "terraform_data" "s" {
  input = var.secret
}

resource "terraform_data" "b" {
  for_each = local.m
  input    = "${each.key}=${each.value}"
  depends_on = [terraform_data.a]
}

resource "terraform_data" "c" {
  count = length(var.list)
  input = [count.index, var.list[count.index], [for s in var.list : upper(s)], null, true ? 1.5 : -2]
}

resource "terraform_data" "d" {
  for_each = toset(["one"])
  input    = <<-EOT
    hello
  EOT
}

module "m" {
  source = "./m"
  count  = 1
  v      = terraform_data.a.output
}

module "e" {
  source     = "./m"
  for_each   = { x = 1 }
  v          = each.value
  depends_on = [terraform_data.d]
}

output "o" {
  value       = module.m[0].o
  description = "from the module"
  depends_on  = [terraform_data.b]
}

output "all" {
  value = module.e
}

output "literal" {
  value = [1, "two"]
}
"#;
    let child = "variable \"v\" {\n  description = \"\"\n}\n\nresource \"terraform_data\" \"in\" {\n  input = var.v\n}\n\noutput \"o\" {\n  value = terraform_data.in.output\n}\n";
    let tfvars = "list = [\"p\", \"q\"]\nsecret = \"tfvars-secret-value\"\n";
    let files = [("m/main.tf", child), ("terraform.tfvars", tfvars)];
    check_with(&files, None, main);
    // On a state: prior_state (with depends_on through the module's variable) and the
    // configuration of an update.
    let changed = main.replace("default     = \"dflt\"", "default     = \"other\"");
    check_with(&files, Some(main), &changed);
    let (tf, forge, _w) = both_plans_with(&files, Some(main), &changed, Before::TerraformState);
    let text = forge.to_string();
    for secret in ["default-secret-value", "tfvars-secret-value"] {
        assert!(
            !text.contains(secret),
            "forge's plan JSON shows {secret}: {text}"
        );
        assert!(
            tf.to_string().contains(secret),
            "Terraform no longer writes {secret}; the redaction is obsolete: {tf}"
        );
    }
    assert_eq!(
        forge["variables"]["secret"],
        json!({"value": null}),
        "{}",
        forge["variables"]
    );
    assert_eq!(
        forge["variables"]["list"],
        json!({"value": ["p", "q"]}),
        "{}",
        forge["variables"]
    );
    assert_eq!(
        forge["configuration"]["root_module"]["variables"]["secret"],
        json!({"default": null, "sensitive": true})
    );
}

/// Several units in one document: variable names prefixed with the unit, each unit's
/// configuration under `configuration.units`, a dependency's planned output unknown (null);
/// a unit planned alone takes its dependency's outputs from that unit's state.
#[test]
fn plan_json_environment_variables_and_configuration_per_unit() {
    let a_main = "variable \"prefix\" {\n  type = string\n}\n\nvariable \"password\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"terraform_data\" \"x\" {\n  input = \"${var.prefix}-x\"\n}\n\noutput \"name\" {\n  value = terraform_data.x.output\n}\n";
    let b_main = "variable \"upstream\" {\n  type = string\n}\n\nresource \"terraform_data\" \"y\" {\n  input = var.upstream\n}\n";
    let w = World::new(&[
        (
            "env/a/terragrunt.hcl",
            "inputs = {\n  prefix   = \"pre\"\n  password = \"env-secret-value\"\n}\n",
        ),
        ("env/a/main.tf", a_main),
        (
            "env/b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  upstream = dependency.a.outputs.name\n}\n",
        ),
        ("env/b/main.tf", b_main),
    ]);
    let run = w.forge(&["plan", "env", "--json-plan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("env-secret-value"), "{}", run.stdout);
    let doc: J = serde_json::from_str(&run.stdout).expect("plan JSON");
    assert_eq!(
        doc["variables"],
        json!({"a.password": {"value": null}, "a.prefix": {"value": "pre"}, "b.upstream": {"value": null}}),
        "{}",
        doc["variables"]
    );
    assert_eq!(
        doc["configuration"]["units"]["a"]["root_module"]["resources"][0]["expressions"]["input"],
        json!({"references": ["var.prefix"]})
    );
    assert_eq!(
        doc["configuration"]["units"]["b"]["root_module"]["variables"],
        json!({"upstream": {}})
    );
    assert_eq!(
        doc["configuration"]["units"]["b"]["provider_config"]["terraform"]["full_name"],
        "terraform.io/builtin/terraform"
    );

    let apply = w.forge(&["apply", "env/a", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let run = w.forge(&["plan", "env/b", "--json-plan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let doc: J = serde_json::from_str(&run.stdout).expect("plan JSON");
    assert_eq!(
        doc["variables"],
        json!({"upstream": {"value": "pre-x"}}),
        "{}",
        doc["variables"]
    );
}

/// Another configuration's state, read by `terraform_remote_state` from the local backend
/// (written next to both configurations; both read the copy in `tf/`).
const OTHER_STATE: (&str, &str) = (
    "other/terraform.tfstate",
    r#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"8a6c4bd4-5f0c-4b7e-9d43-3c1c7d1f0a11","outputs":{"name":{"value":"alpha","type":"string"},"ports":{"value":[80,443],"type":["list","number"]}},"resources":[],"check_results":null}"#,
);

fn remote_state(name: &str, file: &str) -> String {
    format!(
        "data \"terraform_remote_state\" \"{name}\" {{\n  backend = \"local\"\n  config = {{\n    path = \"@ROOT@/tf/{file}\"\n  }}\n}}\n\n"
    )
}

#[test]
fn plan_json_data_sources_read_while_planning_match_terraform() {
    let config = remote_state("o", "other/terraform.tfstate")
        + &data(
            "x",
            "  input = data.terraform_remote_state.o.outputs.name\n",
        )
        + "output \"ports\" {\n  value = data.terraform_remote_state.o.outputs.ports\n}\n";
    // Read while planning: the prior state holds it, planned_values and resource_changes do not.
    check_with(&[OTHER_STATE], None, &config);
    check_with(&[OTHER_STATE], Some(&config), &config);
    let (tf, forge, _w) = both_plans_with(&[OTHER_STATE], None, &config, Before::TerraformState);
    let prior = |doc: &J| {
        doc["prior_state"]["values"]["root_module"]["resources"][0]["values"]["outputs"].clone()
    };
    assert_eq!(
        prior(&forge),
        json!({"name": "alpha", "ports": [80, 443]}),
        "{forge}"
    );
    assert_eq!(prior(&tf), prior(&forge));
}

/// Check blocks (passing, failing, not known yet, with a scoped data source that reads and
/// one that fails), a resource's pre- and postconditions over count, a data source's
/// postcondition and an output's precondition: plan JSON's `checks`, the check data
/// sources' "read" changes and prior state.
const CHECKS: &str = r#"check "passes" {
  assert {
    condition     = terraform_data.x[0].input == "v0"
    error_message = "x[0] is not v0"
  }
}

check "fails" {
  assert {
    condition     = length(terraform_data.x) == 3
    error_message = "expected 3 instances, got ${length(terraform_data.x)}"
  }
}

check "later" {
  assert {
    condition     = terraform_data.x[1].output == "v1"
    error_message = "x[1] has no output"
  }
}

check "scoped" {
  data "terraform_remote_state" "s" {
    backend = "local"
    config = {
      path = "@ROOT@/tf/other/terraform.tfstate"
    }
  }
  assert {
    condition     = data.terraform_remote_state.s.outputs.name == "beta"
    error_message = "the other state is named ${data.terraform_remote_state.s.outputs.name}"
  }
}

check "missing" {
  data "terraform_remote_state" "m" {
    backend = "local"
    config = {
      path = "@ROOT@/nowhere/terraform.tfstate"
    }
  }
  assert {
    condition     = data.terraform_remote_state.m.outputs != null
    error_message = "no outputs"
  }
}

resource "terraform_data" "x" {
  count = 2
  input = "v${count.index}"
  lifecycle {
    precondition {
      condition     = count.index < 2
      error_message = "too many"
    }
    postcondition {
      condition     = self.output == self.input
      error_message = "output differs"
    }
  }
}

data "terraform_remote_state" "o" {
  backend = "local"
  config = {
    path = "@ROOT@/tf/other/terraform.tfstate"
  }
  lifecycle {
    postcondition {
      condition     = self.outputs.name != ""
      error_message = "no name"
    }
  }
}

output "n" {
  value = data.terraform_remote_state.o.outputs.name
  precondition {
    condition     = length(data.terraform_remote_state.o.outputs.ports) == 2
    error_message = "two ports expected"
  }
}
"#;

#[test]
fn plan_json_checks_and_conditions_match_terraform() {
    check_with(&[OTHER_STATE], None, CHECKS);
    check_with(&[OTHER_STATE], Some(CHECKS), CHECKS);
    let (_tf, forge, _w) = both_plans_with(&[OTHER_STATE], None, CHECKS, Before::TerraformState);
    let status: Vec<(String, String)> = forge["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["address"]["to_display"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                c["status"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let expected = [
        ("check.fails", "fail"),
        ("check.later", "unknown"),
        ("check.missing", "fail"),
        ("check.passes", "pass"),
        ("check.scoped", "fail"),
        ("data.terraform_remote_state.o", "pass"),
        ("output.n", "pass"),
        ("terraform_data.x", "unknown"),
    ];
    assert_eq!(
        status,
        expected.map(|(a, b)| (a.to_string(), b.to_string())),
        "{forge}"
    );
}

/// The warnings of a plan's or an apply's text: each from its "Warning:" line to the next
/// warning, to Terraform's closing rule or to the apply's summary, blank lines at the ends
/// trimmed.
fn warnings(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.starts_with("Warning: ") {
            if let Some(w) = current.take() {
                out.push(w.join("\n").trim().to_string());
            }
            current = Some(vec![line]);
        } else if line.starts_with('─')
            || line.starts_with("Saved the plan")
            || line.starts_with("Apply complete!")
        {
            if let Some(w) = current.take() {
                out.push(w.join("\n").trim().to_string());
            }
        } else if let Some(w) = &mut current {
            w.push(line);
        }
    }
    if let Some(w) = current {
        out.push(w.join("\n").trim().to_string());
    }
    out
}

#[test]
fn plan_text_check_warnings_match_terraform() {
    // The "known after apply" check is left out: Terraform describes its unknown value by
    // type ("is a string"), which forge's untyped unknowns cannot (README).
    let config = CHECKS.replace(
        "terraform_data.x[1].output == \"v1\"",
        "terraform_data.x[1].input == \"v2\"",
    );
    let w = World::new(&[
        ("tf/other/terraform.tfstate", OTHER_STATE.1),
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
    ]);
    let root = w.path("").display().to_string();
    let config = config.replace("@ROOT@", root.trim_end_matches('/'));
    w.write(&[("tf/main.tf", &config), ("env/u/main.tf", &config)]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    let tf_text = terraform(&tf, &["plan", "-input=false", "-no-color"]);
    let run = w.forge(&["plan", "env/u"]);
    assert_eq!(run.code, 0, "forge plan: {}", run.all());
    let (t, f) = (warnings(&tf_text), warnings(&run.stdout));
    assert_eq!(t.len(), 4, "terraform's warnings: {t:#?}\n{tf_text}");
    assert_eq!(
        f, t,
        "forge's warnings differ from terraform's\n--- forge\n{}\n--- terraform\n{tf_text}",
        run.stdout
    );
}

#[test]
fn apply_text_check_warnings_match_terraform() {
    // Applied, x[1].output is known and the "later" check passes; the others still fail.
    let w = World::new(&[
        ("tf/other/terraform.tfstate", OTHER_STATE.1),
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
    ]);
    let root = w.path("").display().to_string();
    let config = CHECKS.replace("@ROOT@", root.trim_end_matches('/'));
    w.write(&[("tf/main.tf", &config), ("env/u/main.tf", &config)]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    let tf_text = terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    let run = w.forge(&["apply", "env/u", "--auto-approve"]);
    assert_eq!(run.code, 0, "forge apply: {}", run.all());
    let (t, f) = (warnings(&tf_text), warnings(&run.stdout));
    assert_eq!(t.len(), 3, "terraform's warnings: {t:#?}\n{tf_text}");
    assert_eq!(
        f, t,
        "forge's warnings differ from terraform's\n--- forge\n{}\n--- terraform\n{tf_text}",
        run.stdout
    );
}
