//! Data-driven tests. Each case is one `.txtar` file: sections `-- path --` holding the
//! files of a small repository, expanded into a temporary folder. The environment loaded
//! is the folder `env` when there is one, else the repository itself.
//!
//! - `tests/broken/<case>.txtar`: a broken configuration; the diagnostics that loading
//!   and validating it give are compared with `<case>.expected`.
//! - `tests/eval/<case>.txtar`: a working configuration; a rendering of every unit
//!   (dependencies, remote_state, generated providers, evaluated inputs) is compared with
//!   `<case>.expected`. An optional `outputs.json` section gives dependencies' outputs:
//!   `{"<unit>": {"<dependency>": {...}}}` (the string "(unknown)" stands for unknown).
//!
//! Run with UPDATE_SNAPSHOTS=1 to (re)write the `.expected` files, then review the diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use forge_config::{Environment, LoadContext, validate_environment};
use forge_lang::render_console;
use forge_provider::Value;

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txtar"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no cases in {}", dir.display());
    out
}

/// Writes the sections of a txtar file below `root`; returns the `outputs.json` text.
fn expand(case: &Path, root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(case).expect("read case");
    let mut outputs = None;
    let mut current: Option<(String, String)> = None;
    let mut flush = |section: Option<(String, String)>| {
        if let Some((name, body)) = section {
            if name == "outputs.json" {
                outputs = Some(body);
                return;
            }
            let path = root.join(&name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, body).expect("write");
        }
    };
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(name) = trimmed
            .strip_prefix("-- ")
            .and_then(|r| r.strip_suffix(" --"))
        {
            flush(current.take());
            current = Some((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    flush(current);
    outputs
}

fn env_dir(root: &Path) -> PathBuf {
    if root.join("env").is_dir() {
        root.join("env")
    } else {
        root.to_path_buf()
    }
}

/// Compares with the snapshot next to the case, or writes it under UPDATE_SNAPSHOTS=1.
fn check_snapshot(case: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected_path = case.with_extension("expected");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&expected_path, actual).expect("write snapshot");
        return;
    }
    match std::fs::read_to_string(&expected_path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}: output differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
            case.display(),
            expected_path.display()
        )),
        Err(_) => failures.push(format!(
            "{}: no snapshot; run with UPDATE_SNAPSHOTS=1\n--- actual\n{actual}",
            case.display()
        )),
    }
}

fn temp_root() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical").join("repo");
    std::fs::create_dir_all(&root).expect("mkdir");
    (tmp, root)
}

fn relative(text: &str, root: &Path) -> String {
    text.replace(&root.display().to_string(), "$ROOT")
}

#[test]
fn broken_configurations_give_their_diagnostics() {
    let mut failures = Vec::new();
    for case in cases("broken") {
        let (_tmp, root) = temp_root();
        expand(&case, &root);
        let diags = match Environment::load(&env_dir(&root), &LoadContext::default()) {
            Ok(env) => validate_environment(&env),
            Err(d) => d,
        };
        if diags.is_empty() {
            failures.push(format!(
                "{}: expected diagnostics, got none",
                case.display()
            ));
            continue;
        }
        for d in diags.iter() {
            // Cases about secrets use values starting with "hunter2": no message may quote them.
            let message = format!("{} {:?} {:?}", d.summary, d.detail, d.hint);
            if message.contains("hunter2") {
                failures.push(format!(
                    "{}: a diagnostic shows a sensitive value:\n{d}",
                    case.display()
                ));
            }
            if d.location.is_none() {
                failures.push(format!(
                    "{}: a diagnostic without a location:\n{d}",
                    case.display()
                ));
            }
        }
        check_snapshot(&case, &relative(&diags.to_string(), &root), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn outputs_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::String(s) if s == "(unknown)" => Value::Unknown,
        serde_json::Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), outputs_value(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

fn render_env(env: &Environment, outputs: &serde_json::Value, root: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "environment {} ({} units)", env.name, env.units.len());
    for unit in &env.units {
        let _ = writeln!(out, "\nunit {}", unit.name);
        let _ = writeln!(
            out,
            "  path_relative_to_include = {}",
            unit.path_relative_to_include
        );
        let _ = writeln!(
            out,
            "  module = {}",
            relative(&unit.module.dir.display().to_string(), root)
        );
        for d in &unit.dependencies {
            let mock = d
                .mock_outputs
                .as_ref()
                .map(render_console)
                .unwrap_or_else(|| "none".into());
            let _ = writeln!(
                out,
                "  dependency {} -> {} (skip_outputs = {}, mocks = {mock})",
                d.name,
                relative(&d.config_path.display().to_string(), root),
                d.skip_outputs
            );
        }
        for p in &unit.extra_dependencies {
            let _ = writeln!(out, "  after {}", relative(&p.display().to_string(), root));
        }
        if let Some(rs) = &unit.remote_state {
            let _ = writeln!(
                out,
                "  remote_state {} = {}",
                rs.backend,
                render_console(&rs.config).replace('\n', "\n  ")
            );
        }
        for p in &unit.generated_providers {
            let body = forge_lang::eval::eval_body(&p.body, &forge_lang::Scope::new(&unit.dir))
                .map(|v| render_console(&v))
                .unwrap_or_else(|d| d.to_string());
            let _ = writeln!(
                out,
                "  provider {}{} = {}",
                p.name,
                p.alias
                    .as_ref()
                    .map(|a| format!(".{a}"))
                    .unwrap_or_default(),
                body.replace('\n', "\n  ")
            );
        }
        let deps: BTreeMap<String, Value> = outputs
            .get(&unit.name)
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), outputs_value(v)))
                    .collect()
            })
            .unwrap_or_default();
        match unit.eval_inputs(&deps) {
            Ok(inputs) => {
                for (k, v) in inputs {
                    let _ = writeln!(
                        out,
                        "  input {k} = {}",
                        render_console(&v).replace('\n', "\n  ")
                    );
                }
            }
            Err(d) => {
                let _ = writeln!(out, "  inputs failed:\n{}", relative(&d.to_string(), root));
            }
        }
        render_module(&mut out, &unit.module);
        let diags = forge_config::validate_module(&unit.module);
        if !diags.is_empty() {
            let _ = writeln!(
                out,
                "  module diagnostics:\n{}",
                relative(&diags.to_string(), root)
            );
        }
    }
    let diags = validate_environment(env);
    let _ = writeln!(
        out,
        "\nvalidate: {}",
        if diags.is_empty() {
            "clean".to_string()
        } else {
            relative(&diags.to_string(), root)
        }
    );
    out
}

fn reference_text(r: &forge_lang::Reference) -> String {
    let mut text = r.root.clone();
    for step in &r.steps {
        match step {
            forge_lang::RefStep::Attr(a) => text.push_str(&format!(".{a}")),
            forge_lang::RefStep::Index(Some(v)) => {
                text.push_str(&format!("[{}]", render_console(v)))
            }
            forge_lang::RefStep::Index(None) => text.push_str("[*]"),
        }
    }
    text
}

/// Variables, locals, resources and outputs as the engine sees them.
fn render_module(out: &mut String, module: &forge_config::Module) {
    for p in &module.requirements.required_providers {
        let _ = writeln!(
            out,
            "  required provider {} = {} {}",
            p.local_name,
            p.normalized_source(),
            p.version
                .as_ref()
                .map(|v| format!("\"{v}\""))
                .unwrap_or_else(|| "(any version)".into())
        );
    }
    for v in &module.variables {
        let default = v
            .default
            .as_ref()
            .map(render_console)
            .unwrap_or_else(|| "(required)".into());
        let _ = writeln!(
            out,
            "  variable {} : {:?} = {default} (sensitive = {}, nullable = {}, validations = {})",
            v.name,
            v.ty,
            v.sensitive,
            v.nullable,
            v.validations.len()
        );
    }
    for l in &module.locals {
        let _ = writeln!(out, "  local {} = {}", l.name, l.expr.source_text());
    }
    for rb in module.resources.iter().chain(&module.data) {
        let mut meta = Vec::new();
        if let Some(c) = &rb.count {
            meta.push(format!("count = {}", c.source_text()));
        }
        if let Some(f) = &rb.for_each {
            meta.push(format!("for_each = {}", f.source_text()));
        }
        if let Some(a) = &rb.provider_alias {
            meta.push(format!("provider = aws.{a}"));
        }
        if rb.lifecycle != forge_config::Lifecycle::default() {
            meta.push(format!("{:?}", rb.lifecycle));
        }
        if !rb.depends_on.is_empty() {
            meta.push(format!(
                "depends_on = [{}]",
                rb.depends_on
                    .iter()
                    .map(reference_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let body: Vec<&str> = rb
            .body
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .chain(rb.body.blocks.iter().map(|b| b.ident.as_str()))
            .collect();
        let refs: Vec<String> = rb.references().iter().map(reference_text).collect();
        let _ = writeln!(
            out,
            "  {} [{}] body: {} refs: {}",
            rb.address(),
            meta.join("; "),
            body.join(", "),
            refs.join(", ")
        );
    }
    for o in &module.outputs {
        let _ = writeln!(
            out,
            "  output {} = {} (sensitive = {})",
            o.name,
            o.expr.source_text(),
            o.sensitive
        );
    }
    for p in &module.providers {
        let attrs: Vec<String> = p
            .body
            .attributes
            .iter()
            .map(|a| format!("{} = {}", a.name, a.expr.source_text()))
            .collect();
        let _ = writeln!(
            out,
            "  module provider {}{} {{ {} }}",
            p.name,
            p.alias
                .as_ref()
                .map(|a| format!(".{a}"))
                .unwrap_or_default(),
            attrs.join("; ")
        );
    }
}

#[test]
fn working_configurations_evaluate_to_their_snapshots() {
    let mut failures = Vec::new();
    for case in cases("eval") {
        let (_tmp, root) = temp_root();
        let outputs = expand(&case, &root)
            .map(|t| serde_json::from_str(&t).expect("outputs.json"))
            .unwrap_or(serde_json::Value::Null);
        let actual = match Environment::load(&env_dir(&root), &LoadContext::default()) {
            Ok(env) => render_env(&env, &outputs, &root),
            Err(d) => format!("load failed:\n{}", relative(&d.to_string(), &root)),
        };
        check_snapshot(&case, &actual, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
