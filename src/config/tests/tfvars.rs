//! Variable values from outside the configuration (`forge_config::tfvars`): each source on
//! its own, then the precedence Terragrunt + Terraform give them, and the errors.

use std::collections::BTreeMap;

use forge_config::{Environment, LoadContext};
use forge_lang::render_console;

const MAIN_TF: &str = r#"
variable "name" {
  type    = string
  default = "from-default"
}
variable "count_of" {
  type    = number
  default = 1
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "flag" {
  default = "untyped"
}
variable "token" {
  type      = string
  sensitive = true
  default   = "x"
}
"#;

/// A unit `env/app` whose module is `modules/m` (so both folders can hold variable files),
/// with the given inputs and extra files (path relative to the repository root).
fn unit_values(
    inputs: &str,
    files: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<BTreeMap<String, String>, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("modules/m/main.tf", MAIN_TF);
    write(
        "env/app/terragrunt.hcl",
        &format!("terraform {{\n  source = \"../../modules/m\"\n}}\n\ninputs = {{\n{inputs}\n}}\n"),
    );
    for (rel, text) in files {
        write(rel, text);
    }
    let loaded =
        Environment::load(&root.join("env"), &LoadContext::default()).map_err(|d| d.to_string())?;
    let unit = loaded.unit("app").expect("unit app");
    let inputs = unit
        .eval_inputs(&BTreeMap::new())
        .map_err(|d| d.to_string())?;
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let values = forge_config::tfvars::variable_values(unit, inputs, &|k| env.get(k).cloned(), &[])
        .map_err(|d| d.to_string())?;
    Ok(values
        .into_iter()
        .map(|(k, v)| (k, render_console(&v)))
        .collect())
}

fn get(values: &BTreeMap<String, String>, k: &str) -> String {
    values
        .get(k)
        .cloned()
        .unwrap_or_else(|| format!("<{k} not set>"))
}

#[test]
fn nothing_set_leaves_the_defaults_to_the_engine() {
    let v = unit_values("", &[], &[]).expect("values");
    assert!(v.is_empty(), "no source gives a value: {v:?}");
}

#[test]
fn inputs_alone() {
    let v = unit_values("name = \"from-inputs\"", &[], &[]).expect("values");
    assert_eq!(get(&v, "name"), "\"from-inputs\"");
}

#[test]
fn tf_var_primitive_types_are_taken_as_strings() {
    let v = unit_values(
        "",
        &[],
        &[
            ("TF_VAR_name", "[\"not\", \"parsed\"]"),
            ("TF_VAR_count_of", "42"),
            ("TF_VAR_flag", "{ a = 1 }"),
        ],
    )
    .expect("values");
    assert_eq!(get(&v, "name"), r#""[\"not\", \"parsed\"]""#);
    // Still a string here; the engine converts it to the variable's type ("42" -> 42).
    assert_eq!(get(&v, "count_of"), "\"42\"");
    assert_eq!(get(&v, "flag"), "\"{ a = 1 }\"");
}

#[test]
fn tf_var_complex_types_are_parsed_as_hcl() {
    let v = unit_values(
        "",
        &[],
        &[(
            "TF_VAR_tags",
            "{ team = \"core\", \"cost-center\" = \"42\" }",
        )],
    )
    .expect("values");
    assert_eq!(
        get(&v, "tags"),
        "{\n  \"cost-center\" = \"42\"\n  \"team\" = \"core\"\n}"
    );
}

#[test]
fn tf_var_for_an_undeclared_variable_is_ignored() {
    let v = unit_values("", &[], &[("TF_VAR_nosuch", "1")]).expect("values");
    assert!(!v.contains_key("nosuch"));
}

#[test]
fn terraform_tfvars_and_json_and_auto_files() {
    let v = unit_values(
        "",
        &[
            (
                "modules/m/terraform.tfvars",
                "name = \"from-tfvars\"\ncount_of = 2\n",
            ),
            (
                "modules/m/terraform.tfvars.json",
                "{\"count_of\": 3, \"tags\": {\"a\": \"b\"}}",
            ),
            ("modules/m/b.auto.tfvars", "flag = \"from-b-auto\"\n"),
            (
                "modules/m/a.auto.tfvars.json",
                "{\"flag\": \"from-a-auto-json\", \"name\": \"from-a-auto\"}",
            ),
        ],
        &[],
    )
    .expect("values");
    // terraform.tfvars.json after terraform.tfvars; auto files after both, a.* before b.*.
    assert_eq!(get(&v, "count_of"), "3");
    assert_eq!(get(&v, "tags"), "{\n  \"a\" = \"b\"\n}");
    assert_eq!(get(&v, "name"), "\"from-a-auto\"");
    assert_eq!(get(&v, "flag"), "\"from-b-auto\"");
}

#[test]
fn the_units_file_replaces_the_modules_file_of_the_same_name() {
    let v = unit_values(
        "",
        &[
            (
                "modules/m/terraform.tfvars",
                "name = \"module-file\"\ncount_of = 5\n",
            ),
            ("env/app/terraform.tfvars", "name = \"unit-file\"\n"),
        ],
        &[],
    )
    .expect("values");
    assert_eq!(get(&v, "name"), "\"unit-file\"");
    assert!(
        !v.contains_key("count_of"),
        "the module's terraform.tfvars is replaced whole"
    );
}

#[test]
fn precedence_default_inputs_env_tfvars_auto() {
    let inputs =
        "name = \"inputs\"\ncount_of = 10\ntags = { from = \"inputs\" }\nflag = \"inputs\"";
    let env = [
        ("TF_VAR_name", "env"),
        ("TF_VAR_count_of", "20"),
        ("TF_VAR_tags", "{ from = \"env\" }"),
    ];
    let files = [
        (
            "modules/m/terraform.tfvars",
            "name = \"tfvars\"\ncount_of = 30\n",
        ),
        ("modules/m/x.auto.tfvars", "name = \"auto\"\n"),
    ];
    let v = unit_values(inputs, &files, &env).expect("values");
    assert_eq!(get(&v, "flag"), "\"inputs\"", "inputs over the default");
    assert_eq!(
        get(&v, "tags"),
        "{\n  \"from\" = \"env\"\n}",
        "the user's TF_VAR_ over inputs (Terragrunt keeps it)"
    );
    assert_eq!(get(&v, "count_of"), "30", "terraform.tfvars over TF_VAR_");
    assert_eq!(
        get(&v, "name"),
        "\"auto\"",
        "*.auto.tfvars over terraform.tfvars"
    );
}

#[test]
fn errors_in_variable_files_name_file_line_and_column() {
    let err = unit_values(
        "",
        &[(
            "modules/m/terraform.tfvars",
            "name = \"ok\"\ncount_of = = 2\n",
        )],
        &[],
    )
    .expect_err("syntax");
    assert!(err.contains("terraform.tfvars:2:"), "{err}");

    let err = unit_values(
        "",
        &[("modules/m/z.auto.tfvars", "name = var.other\n")],
        &[],
    )
    .expect_err("reference");
    assert!(
        err.contains("z.auto.tfvars:1:1") && err.contains("cannot use references"),
        "{err}"
    );

    let err = unit_values(
        "",
        &[("modules/m/z.auto.tfvars", "\n\ncount_of = \"many\"\n")],
        &[],
    )
    .expect_err("type");
    assert!(
        err.contains("z.auto.tfvars:3:1") && err.contains("count_of"),
        "{err}"
    );

    let err = unit_values(
        "",
        &[("modules/m/z.auto.tfvars", "variable \"name\" {}\n")],
        &[],
    )
    .expect_err("block");
    assert!(
        err.contains("z.auto.tfvars:1:1") && err.contains("not a `variable` block"),
        "{err}"
    );

    let err = unit_values(
        "",
        &[(
            "modules/m/terraform.tfvars.json",
            "{\n  \"name\": \"a\",\n  \"count_of\": ,\n}",
        )],
        &[],
    )
    .expect_err("json");
    assert!(err.contains("terraform.tfvars.json:3:"), "{err}");

    let err = unit_values(
        "",
        &[(
            "modules/m/terraform.tfvars.json",
            "{\n  \"name\": \"a\",\n  \"count_of\": \"many\"\n}",
        )],
        &[],
    )
    .expect_err("json type");
    assert!(err.contains("terraform.tfvars.json:3:3"), "{err}");
}

#[test]
fn errors_in_tf_var_values_name_the_variable_and_hide_sensitive_text() {
    let err = unit_values("", &[], &[("TF_VAR_tags", "{ a = ")]).expect_err("parse");
    assert!(
        err.contains("TF_VAR_tags") && err.contains("main.tf:"),
        "{err}"
    );

    let err = unit_values("", &[], &[("TF_VAR_count_of", "lots")]);
    // A primitive value is a string until the engine converts it: "lots" fails there, with
    // the variable's location; here it is caught already, naming the environment variable.
    let err = err.expect_err("number");
    assert!(err.contains("TF_VAR_count_of"), "{err}");
}

#[test]
fn a_sensitive_value_from_tf_var_is_not_quoted_in_errors() {
    let secret = "s3cr3t-value-7f3a";
    let dir_files: [(&str, &str); 1] = [(
        "modules/m/extra.tf",
        "variable \"secret_list\" {\n  type      = list(number)\n  sensitive = true\n}\n",
    )];
    let err = unit_values(
        "",
        &dir_files,
        &[("TF_VAR_secret_list", &format!("[\"{secret}\"]"))],
    )
    .expect_err("type");
    assert!(err.contains("secret_list"), "{err}");
    assert!(!err.contains(secret), "the sensitive value leaked: {err}");
    let err = unit_values(
        "",
        &dir_files,
        &[("TF_VAR_secret_list", &format!("[{secret}"))],
    )
    .expect_err("parse");
    assert!(!err.contains(secret), "the sensitive value leaked: {err}");
}

#[test]
fn validate_counts_a_variable_file_as_giving_a_required_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("env/app/terragrunt.hcl", "inputs = {}\n");
    write(
        "env/app/main.tf",
        "variable \"needed\" {\n  type = string\n}\n",
    );
    let env = Environment::load(&root.join("env"), &LoadContext::default()).expect("loads");
    let before = forge_config::validate_environment(&env).to_string();
    assert!(before.contains("required variable `needed`"), "{before}");
    write("env/app/terraform.tfvars", "needed = \"here\"\n");
    let env = Environment::load(&root.join("env"), &LoadContext::default()).expect("loads");
    let after = forge_config::validate_environment(&env).to_string();
    assert!(!after.contains("needed"), "{after}");
    write("env/app/terraform.tfvars", "needed = [\n");
    let env = Environment::load(&root.join("env"), &LoadContext::default()).expect("loads");
    let broken = forge_config::validate_environment(&env).to_string();
    assert!(
        broken.contains("terraform.tfvars:"),
        "a broken variable file is reported by validate: {broken}"
    );
}
