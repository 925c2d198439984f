//! The reference environment, stacks/production: it loads, validates clean, has the
//! seed's units and dependency edges, and a copy with only env.hcl edited is a second,
//! independent environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use forge_config::{Environment, LoadContext, validate_environment};
use forge_provider::Value;

const UNITS: &[&str] = &[
    "ec2-fast-api-jwt",
    "ec2-self-hosted",
    "iam",
    "policies",
    "roles",
    "s3-storage",
    "secret-manager",
    "sqs-notifications",
];

fn stacks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stacks")
}

fn load(dir: &Path) -> Environment {
    Environment::load(dir, &LoadContext::default())
        .unwrap_or_else(|d| panic!("{} does not load:\n{d}", dir.display()))
}

/// unit name -> names of the units it depends on (through dependency blocks).
fn edges(env: &Environment) -> BTreeMap<String, BTreeSet<String>> {
    env.units
        .iter()
        .map(|u| {
            let deps = u
                .dependencies
                .iter()
                .map(|d| {
                    env.units
                        .iter()
                        .find(|x| x.dir == d.config_path)
                        .map(|x| x.name.clone())
                        .unwrap_or_else(|| format!("outside: {}", d.config_path.display()))
                })
                .collect();
            (u.name.clone(), deps)
        })
        .collect()
}

fn expected_edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut e: BTreeMap<String, BTreeSet<String>> = UNITS
        .iter()
        .map(|u| (u.to_string(), BTreeSet::new()))
        .collect();
    let mut add = |from: &str, to: &[&str]| {
        e.insert(from.to_string(), to.iter().map(|s| s.to_string()).collect());
    };
    add("s3-storage", &["sqs-notifications"]);
    add("iam", &["s3-storage"]);
    add("ec2-fast-api-jwt", &["s3-storage", "iam", "secret-manager"]);
    add("ec2-self-hosted", &["s3-storage", "iam"]);
    e
}

fn key_of(env: &Environment, unit: &str) -> String {
    let rs = env
        .unit(unit)
        .and_then(|u| u.remote_state.as_ref())
        .unwrap_or_else(|| panic!("{unit} has no remote_state"));
    rs.config
        .str_attr("key")
        .unwrap_or_else(|| panic!("{unit}: no key in {:?}", rs.config))
        .to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn production_loads_with_the_eight_units_and_the_seed_edges() {
    let env = load(&stacks_dir().join("production"));
    assert_eq!(env.name, "production");
    let names: Vec<&str> = env.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, UNITS);
    assert_eq!(edges(&env), expected_edges());
    for unit in &env.units {
        assert!(unit.extra_dependencies.is_empty(), "{}", unit.name);
        assert_eq!(
            unit.path_relative_to_include,
            format!("production/{}", unit.name)
        );
        assert!(
            unit.module
                .dir
                .ends_with(format!("stacks/modules/{}", unit.name)),
            "{}: {}",
            unit.name,
            unit.module.dir.display()
        );
    }
}

#[test]
fn production_validates_without_any_diagnostic() {
    let env = load(&stacks_dir().join("production"));
    let diags = validate_environment(&env);
    assert!(
        diags.is_empty(),
        "stacks/production has diagnostics:\n{diags}"
    );
}

#[test]
fn production_state_keys_and_backend_follow_the_root() {
    let env = load(&stacks_dir().join("production"));
    for unit in UNITS {
        assert_eq!(
            key_of(&env, unit),
            format!("production/{unit}/terraform.tfstate")
        );
        let rs = env
            .unit(unit)
            .and_then(|u| u.remote_state.as_ref())
            .expect("remote_state");
        assert_eq!(rs.backend, "s3");
        assert_eq!(
            rs.config.str_attr("bucket"),
            Some("tf-state-locks-fast-api-jwt")
        );
        assert_eq!(
            rs.config.str_attr("dynamodb_table"),
            Some("tf-table-locks-fast-api-jwt")
        );
        assert_eq!(rs.config.str_attr("region"), Some("us-east-1"));
        assert_eq!(rs.config.get("encrypt"), Some(&Value::Bool(true)));
        assert!(
            rs.config.get("endpoint").is_none() && rs.config.get("endpoints").is_none(),
            "no hard-coded endpoints"
        );
    }
}

#[test]
fn production_units_get_the_generated_aws_provider_with_default_tags() {
    let env = load(&stacks_dir().join("production"));
    for unit in &env.units {
        let [provider] = unit.generated_providers.as_slice() else {
            panic!(
                "{}: expected one generated provider, got {}",
                unit.name,
                unit.generated_providers.len()
            )
        };
        assert_eq!(provider.name, "aws");
        assert_eq!(provider.alias, None);
        let body = forge_lang::eval::eval_body(&provider.body, &forge_lang::Scope::new(&unit.dir))
            .expect("provider body evaluates");
        assert_eq!(body.str_attr("region"), Some("us-east-1"));
        let tags = body
            .get("default_tags")
            .and_then(Value::as_seq)
            .and_then(|blocks| blocks.first())
            .and_then(|b| b.get("tags"))
            .unwrap_or_else(|| panic!("{}: no default_tags in {body:?}", unit.name));
        assert_eq!(tags.str_attr("Project"), Some("fast-api-jwt"));
        assert_eq!(tags.str_attr("Environment"), Some("production"));
        assert_eq!(tags.str_attr("ManagedBy"), Some("forge"));
        assert!(
            body.get("endpoints").is_none(),
            "{}: the provider must not hard-code endpoints",
            unit.name
        );
    }
}

#[test]
fn production_inputs_merge_root_and_unit_and_carry_unknown_dependency_outputs() {
    let env = load(&stacks_dir().join("production"));
    let iam = env.unit("iam").expect("iam unit");
    // The dependency is not applied: its outputs are unknown and must flow through.
    let inputs = iam
        .eval_inputs(&BTreeMap::from([("s3".to_string(), Value::Unknown)]))
        .expect("inputs");
    assert_eq!(inputs.get("storage_files_csv"), Some(&Value::Unknown));
    assert_eq!(
        inputs.get("environment"),
        Some(&Value::string("production"))
    );
    assert_eq!(
        inputs.get("project_name"),
        Some(&Value::string("fast-api-jwt"))
    );
    assert_eq!(inputs.get("aws_region"), Some(&Value::string("us-east-1")));

    let csv = "arn:aws:s3:::b,arn:aws:s3:::b/*";
    let outputs = Value::object([("storage_files_csv", Value::string(csv))]);
    let inputs = iam
        .eval_inputs(&BTreeMap::from([("s3".to_string(), outputs)]))
        .expect("inputs");
    assert_eq!(inputs.get("storage_files_csv"), Some(&Value::string(csv)));

    // Partly known outputs: the known ones are used, the unknown ones stay unknown.
    let api = env.unit("ec2-fast-api-jwt").expect("api unit");
    let deps = BTreeMap::from([
        (
            "s3".to_string(),
            Value::object([("bucket_name", Value::string("files"))]),
        ),
        (
            "iam".to_string(),
            Value::object([("instance_profile_name", Value::Unknown)]),
        ),
        ("secrets".to_string(), Value::Unknown),
    ]);
    let inputs = api.eval_inputs(&deps).expect("inputs");
    assert_eq!(inputs.get("bucket_name"), Some(&Value::string("files")));
    assert_eq!(inputs.get("instance_profile_name"), Some(&Value::Unknown));
    assert_eq!(inputs.get("secret_arn"), Some(&Value::Unknown));
    assert_eq!(
        inputs.get("instance_type"),
        Some(&Value::string("t3.micro"))
    );
}

#[test]
fn a_dependency_without_outputs_is_explained() {
    let env = load(&stacks_dir().join("production"));
    let api = env.unit("ec2-fast-api-jwt").expect("api unit");
    let deps = BTreeMap::from([
        ("s3".to_string(), Value::Unknown),
        ("iam".to_string(), Value::Unknown),
        ("secrets".to_string(), Value::Object(BTreeMap::new())),
    ]);
    let text = api
        .eval_inputs(&deps)
        .expect_err("no secret_arn")
        .to_string();
    assert!(text.contains("ec2-fast-api-jwt/terragrunt.hcl:"), "{text}");
    assert!(
        text.contains("the unit secret-manager has no outputs"),
        "{text}"
    );
    assert!(text.contains("hint: apply secret-manager first"), "{text}");
}

#[test]
fn a_copy_with_only_env_hcl_edited_is_a_staging_environment() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let stacks = tmp.path().join("stacks");
    std::fs::create_dir_all(&stacks).expect("mkdir");
    std::fs::copy(
        stacks_dir().join("terragrunt.hcl"),
        stacks.join("terragrunt.hcl"),
    )
    .expect("copy root");
    copy_dir(&stacks_dir().join("modules"), &stacks.join("modules"));
    copy_dir(&stacks_dir().join("production"), &stacks.join("staging"));
    let env_hcl = stacks.join("staging/env.hcl");
    let text = std::fs::read_to_string(&env_hcl).expect("env.hcl");
    assert!(text.contains("\"production\""));
    std::fs::write(&env_hcl, text.replace("\"production\"", "\"staging\"")).expect("write env.hcl");

    let env = load(&stacks.join("staging"));
    assert_eq!(env.name, "staging");
    assert_eq!(env.units.len(), 8);
    assert_eq!(edges(&env), expected_edges());
    assert!(
        validate_environment(&env).is_empty(),
        "{}",
        validate_environment(&env)
    );
    for unit in UNITS {
        assert_eq!(
            key_of(&env, unit),
            format!("staging/{unit}/terraform.tfstate")
        );
        let inputs = env
            .unit(unit)
            .expect("unit")
            .eval_inputs(&BTreeMap::new())
            .expect("inputs");
        assert_eq!(
            inputs.get("environment"),
            Some(&Value::string("staging")),
            "{unit}"
        );
    }
    // Every module builds its names from local.name_prefix, which now says staging.
    for unit in &env.units {
        let inputs = unit.eval_inputs(&BTreeMap::new()).expect("inputs");
        let prefix = unit
            .module
            .locals
            .iter()
            .find(|l| l.name == "name_prefix")
            .unwrap_or_else(|| panic!("{}: no name_prefix", unit.name));
        let scope =
            forge_lang::Scope::new(&unit.module.dir).with_root("var", Value::Object(inputs));
        assert_eq!(
            forge_lang::eval(&prefix.expr, &scope).expect("name_prefix"),
            Value::string("fast-api-jwt-staging"),
            "{}",
            unit.name
        );
    }
    let provider = &env.unit("roles").expect("roles").generated_providers[0];
    let body = forge_lang::eval::eval_body(&provider.body, &forge_lang::Scope::new(tmp.path()))
        .expect("provider");
    let tags = body
        .get("default_tags")
        .and_then(Value::as_seq)
        .and_then(|b| b.first())
        .and_then(|b| b.get("tags"))
        .cloned();
    assert_eq!(
        tags.as_ref().and_then(|t| t.str_attr("Environment")),
        Some("staging")
    );
}

#[test]
fn a_single_unit_folder_loads_as_an_environment_of_one() {
    let env = load(&stacks_dir().join("production/s3-storage"));
    let names: Vec<&str> = env.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["s3-storage"]);
    assert_eq!(env.name, "production");
    assert_eq!(
        key_of(&env, "s3-storage"),
        "production/s3-storage/terraform.tfstate"
    );
}

#[test]
fn resource_names_carry_project_and_environment() {
    // Every name-like argument is built from the prefix, so copies do not collide.
    let env = load(&stacks_dir().join("production"));
    for unit in &env.units {
        for rb in &unit.module.resources {
            for arg in ["name", "bucket"] {
                if let Some(attr) = rb.body.attribute(arg) {
                    let text = attr.expr.source_text();
                    if text.contains("aws_s3_bucket.") {
                        continue;
                    }
                    assert!(
                        text.contains("local.name_prefix"),
                        "{} {}: {arg} = {text} does not use local.name_prefix",
                        unit.name,
                        rb.address()
                    );
                }
            }
        }
    }
}

/// The scope a module's expressions see before anything is applied: variables from the
/// unit's inputs (dependencies unknown) or defaults, locals, and every resource and data
/// source unknown.
fn module_scope(unit: &forge_config::Unit) -> forge_lang::Scope<'static> {
    let module = &unit.module;
    let inputs = unit.eval_inputs(&BTreeMap::new()).expect("inputs");
    let mut vars = BTreeMap::new();
    for v in &module.variables {
        let value = match inputs.get(&v.name) {
            Some(given) => {
                v.ty.convert(given.clone())
                    .unwrap_or_else(|e| panic!("{}: var.{}: {e}", unit.name, v.name))
            }
            None => v
                .default
                .clone()
                .unwrap_or_else(|| panic!("{}: var.{} has no value", unit.name, v.name)),
        };
        vars.insert(
            v.name.clone(),
            if v.sensitive {
                value.sensitive()
            } else {
                value
            },
        );
    }
    let dir = Value::string(module.dir.to_string_lossy());
    let mut scope = forge_lang::Scope::new(&module.dir)
        .with_root("var", Value::Object(vars))
        .with_root(
            "path",
            Value::object([("module", dir.clone()), ("root", dir.clone()), ("cwd", dir)]),
        );
    let mut data: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for d in &module.data {
        data.entry(d.type_name.clone())
            .or_default()
            .insert(d.name.clone(), Value::Unknown);
    }
    scope.roots.insert(
        "data".into(),
        Value::Object(
            data.into_iter()
                .map(|(k, v)| (k, Value::Object(v)))
                .collect(),
        ),
    );
    for r in &module.resources {
        let entry = scope
            .roots
            .entry(r.type_name.clone())
            .or_insert_with(|| Value::Object(BTreeMap::new()));
        if let Value::Object(m) = entry {
            m.insert(r.name.clone(), Value::Unknown);
        }
    }
    // Locals in dependency order: retry until all evaluate.
    let mut locals = BTreeMap::new();
    for _ in 0..module.locals.len() {
        for l in &module.locals {
            scope
                .roots
                .insert("local".into(), Value::Object(locals.clone()));
            if let Ok(v) = forge_lang::eval(&l.expr, &scope) {
                locals.insert(l.name.clone(), v);
            }
        }
    }
    for l in &module.locals {
        scope
            .roots
            .insert("local".into(), Value::Object(locals.clone()));
        forge_lang::eval(&l.expr, &scope)
            .unwrap_or_else(|d| panic!("{}: local.{}:\n{d}", unit.name, l.name));
    }
    scope
}

#[test]
fn every_production_module_evaluates_before_anything_is_applied() {
    let env = load(&stacks_dir().join("production"));
    for unit in &env.units {
        let scope = module_scope(unit);
        for rb in unit.module.resources.iter().chain(&unit.module.data) {
            let mut s = scope.clone();
            if rb.for_each.is_some() {
                s.roots.insert(
                    "each".into(),
                    Value::object([("key", Value::Unknown), ("value", Value::Unknown)]),
                );
            }
            if rb.count.is_some() {
                s.roots
                    .insert("count".into(), Value::object([("index", Value::Unknown)]));
            }
            forge_lang::eval::eval_body(&rb.body, &s)
                .unwrap_or_else(|d| panic!("{} {}:\n{d}", unit.name, rb.address()));
        }
        for o in &unit.module.outputs {
            forge_lang::eval(&o.expr, &scope)
                .unwrap_or_else(|d| panic!("{} output {}:\n{d}", unit.name, o.name));
        }
        for v in &unit.module.variables {
            for check in &v.validations {
                let ok = forge_lang::eval(&check.condition, &scope)
                    .unwrap_or_else(|d| panic!("{} var.{} validation:\n{d}", unit.name, v.name));
                assert_ne!(
                    ok.unmarked(),
                    &Value::Bool(false),
                    "{}: var.{} fails its validation",
                    unit.name,
                    v.name
                );
            }
        }
    }
}

#[test]
fn the_jwt_secret_string_is_sensitive() {
    let env = load(&stacks_dir().join("production"));
    let unit = env.unit("secret-manager").expect("secret-manager");
    let scope = module_scope(unit);
    let version = unit
        .module
        .resources
        .iter()
        .find(|r| r.type_name == "aws_secretsmanager_secret_version")
        .expect("secret version");
    let body = forge_lang::eval::eval_body(&version.body, &scope).expect("body");
    let secret = body.get("secret_string").expect("secret_string");
    assert!(
        secret.is_sensitive(),
        "secret_string must be sensitive, got {secret:?}"
    );
}

#[test]
fn the_api_user_data_names_the_bucket_and_secret() {
    let env = load(&stacks_dir().join("production"));
    let unit = env.unit("ec2-fast-api-jwt").expect("api unit");
    let deps = BTreeMap::from([
        (
            "s3".to_string(),
            Value::object([("bucket_name", Value::string("files-bucket"))]),
        ),
        (
            "iam".to_string(),
            Value::object([("instance_profile_name", Value::string("profile"))]),
        ),
        (
            "secrets".to_string(),
            Value::object([(
                "secret_arn",
                Value::string("arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt"),
            )]),
        ),
    ]);
    let inputs = unit.eval_inputs(&deps).expect("inputs");
    let mut vars = BTreeMap::new();
    for v in &unit.module.variables {
        let value = inputs
            .get(&v.name)
            .cloned()
            .or_else(|| v.default.clone())
            .expect("value");
        vars.insert(v.name.clone(), v.ty.convert(value).expect("converts"));
    }
    let dir = Value::string(unit.module.dir.to_string_lossy());
    let mut scope = forge_lang::Scope::new(&unit.module.dir)
        .with_root("var", Value::Object(vars))
        .with_root("path", Value::object([("module", dir)]))
        .with_root(
            "local",
            Value::object([
                ("tags", Value::Object(BTreeMap::new())),
                ("name_prefix", Value::string("p")),
            ]),
        )
        .with_root("data", Value::Unknown);
    scope
        .roots
        .insert("aws_security_group".into(), Value::Unknown);
    let instance = unit
        .module
        .resources
        .iter()
        .find(|r| r.type_name == "aws_instance")
        .expect("instance");
    let body = forge_lang::eval::eval_body(&instance.body, &scope).expect("instance body");
    let user_data = body.str_attr("user_data").expect("user_data is known");
    assert!(user_data.starts_with("#!/bin/bash\n"), "{user_data}");
    assert!(
        user_data.contains("STORAGE_BUCKET=files-bucket"),
        "{user_data}"
    );
    assert!(
        user_data
            .contains("JWT_SECRET_ARN=arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt"),
        "{user_data}"
    );
    assert!(user_data.contains("--port 8000"), "{user_data}");
    assert!(
        user_data.contains("jwt.encode(claims, SETTINGS[\"signing_key\"]"),
        "the service itself is written: {user_data}"
    );
    assert_eq!(body.str_attr("instance_type"), Some("t3.micro"));
    assert_eq!(body.str_attr("iam_instance_profile"), Some("profile"));
}

#[test]
fn loading_the_stacks_folder_skips_the_root_file_and_names_units_by_path() {
    let env = load(&stacks_dir());
    assert_eq!(env.name, "stacks");
    let names: Vec<String> = env.units.iter().map(|u| u.name.clone()).collect();
    let expected: Vec<String> = UNITS.iter().map(|u| format!("production/{u}")).collect();
    assert_eq!(
        names, expected,
        "the root terragrunt.hcl is configuration, not a unit"
    );
    assert_eq!(
        key_of(&env, "production/iam"),
        "production/iam/terraform.tfstate"
    );
}

#[test]
fn a_folder_without_units_or_a_missing_folder_says_what_to_pass() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = Environment::load(tmp.path(), &LoadContext::default())
        .expect_err("no units")
        .to_string();
    assert!(empty.contains("no units found in"), "{empty}");
    assert!(
        empty.contains("hint: a unit is a folder holding a terragrunt.hcl"),
        "{empty}"
    );
    let missing = Environment::load(&tmp.path().join("nope"), &LoadContext::default())
        .expect_err("missing")
        .to_string();
    assert!(
        missing.contains("cannot open the environment folder"),
        "{missing}"
    );
}
