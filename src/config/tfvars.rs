//! Values of a unit's root-module variables from outside the configuration, as Terraform
//! run by Terragrunt sees them.
//!
//! Terragrunt passes `inputs` as `TF_VAR_<name>` environment variables but never overrides
//! a `TF_VAR_` the user already set, and Terraform then reads variable files on top. So,
//! from lowest to highest precedence:
//!
//! 1. the variable's `default`;
//! 2. the unit's `inputs`;
//! 3. `TF_VAR_<name>` from forge's own environment;
//! 4. `terraform.tfvars`, then `terraform.tfvars.json`;
//! 5. `*.auto.tfvars` and `*.auto.tfvars.json` together, in lexical order of file name;
//! 6. `-var` and `-var-file` on the command line, in the order given (a later one wins).
//!
//! Files are looked up in the module's folder and in the unit's folder (Terragrunt copies
//! the unit folder's files over the module in its working copy, so the unit's file of a
//! name wins). A `TF_VAR_` value is the string itself for a variable of a primitive type
//! or without a type; for a complex type it is parsed as an HCL expression, as Terraform
//! does. Names no variable declares are ignored, as Terraform ignores them in `TF_VAR_`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forge_lang::{Diagnostic, Diagnostics, Location, Scope, SourceFile, TypeConstraint};
use forge_provider::Value;

use crate::module::Variable;
use crate::unit::Unit;

/// One `-var NAME=VALUE` or `-var-file FILE` of the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum VariableArg {
    /// The value's text, read as a `TF_VAR_` value is (a string for a primitive type, an
    /// HCL expression for a complex one).
    Value { name: String, text: String },
    /// A `.tfvars` or `.tfvars.json` file, relative to the folder forge runs in.
    File(PathBuf),
}

impl VariableArg {
    /// Parses `-var`'s `NAME=VALUE` as Terraform does: split at the first `=`.
    pub fn assignment(arg: &str) -> Result<VariableArg, String> {
        match arg.split_once('=') {
            Some((name, text)) if !name.trim().is_empty() => Ok(VariableArg::Value {
                name: name.trim().to_string(),
                text: text.to_string(),
            }),
            _ => Err(format!(
                "-var {arg:?} is not a variable name and a value separated by an equals sign; write -var 'name=value'"
            )),
        }
    }

    /// The name a `-var` sets (`None` for a file).
    pub fn name(&self) -> Option<&str> {
        match self {
            VariableArg::Value { name, .. } => Some(name),
            VariableArg::File(_) => None,
        }
    }
}

/// `inputs` with the values of `TF_VAR_*` (looked up with `env`), the variable files and
/// the command line's `-var`/`-var-file` (`args`) laid over them, for the variables the
/// unit's module declares. A name the module does not declare is left out: in an
/// environment a `-var` is meant for the units that declare it (the CLI refuses one that
/// no unit declares).
pub fn variable_values(
    unit: &Unit,
    inputs: BTreeMap<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    args: &[VariableArg],
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut values = inputs;
    let mut diags = Diagnostics::new();
    let variables = &unit.module.variables;
    for var in variables {
        let name = format!("TF_VAR_{}", var.name);
        if let Some(raw) = env(&name) {
            match text_value(var, &format!("the environment variable {name}"), raw) {
                Ok(v) => {
                    values.insert(var.name.clone(), v);
                }
                Err(d) => diags.push(*d),
            }
        }
    }
    let files = variable_files(&[&unit.module.dir, &unit.dir])
        .into_iter()
        .map(VariableArg::File);
    for arg in files.chain(args.iter().cloned()) {
        let path = match arg {
            VariableArg::File(path) => path,
            VariableArg::Value { name, text } => {
                if let Some(var) = variables.iter().find(|v| v.name == name) {
                    match text_value(var, &format!("-var {name}=..."), text) {
                        Ok(v) => {
                            values.insert(name, v);
                        }
                        Err(d) => diags.push(*d),
                    }
                }
                continue;
            }
        };
        if !path.is_file() {
            diags.push(
                Diagnostic::error(format!(
                    "cannot read the variable file {}: no such file",
                    path.display()
                ))
                .hint("-var-file paths are relative to the folder forge runs in"),
            );
            continue;
        }
        let read = if path.to_string_lossy().ends_with(".json") {
            json_file(&path)
        } else {
            hcl_file(&path)
        };
        match read {
            Ok(entries) => {
                for (key, value, location) in entries {
                    let Some(var) = variables.iter().find(|v| v.name == key) else {
                        continue;
                    };
                    match checked(var, value, || format!("{location}")) {
                        Ok(v) => {
                            values.insert(key, v);
                        }
                        Err(d) => diags.push(d.at(location)),
                    }
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(values)
    } else {
        Err(diags)
    }
}

/// The variable files Terraform would load, in the order it loads them.
fn variable_files(dirs: &[&Path]) -> Vec<PathBuf> {
    // File name -> path: a later folder's file of the same name replaces the earlier one.
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let wanted = name == "terraform.tfvars"
                || name == "terraform.tfvars.json"
                || name.ends_with(".auto.tfvars")
                || name.ends_with(".auto.tfvars.json");
            if wanted && path.is_file() {
                by_name.insert(name, path);
            }
        }
    }
    let mut out = Vec::new();
    for fixed in ["terraform.tfvars", "terraform.tfvars.json"] {
        if let Some(p) = by_name.remove(fixed) {
            out.push(p);
        }
    }
    // What is left are the auto files, already in lexical order of name.
    out.extend(by_name.into_values());
    out
}

fn is_primitive(ty: &TypeConstraint) -> bool {
    matches!(
        ty,
        TypeConstraint::String
            | TypeConstraint::Number
            | TypeConstraint::Bool
            | TypeConstraint::Any
    )
}

/// A value given as text (`TF_VAR_x`, `-var x=...`), described by `source` in messages.
fn text_value(var: &Variable, source: &str, raw: String) -> Result<Value, Box<Diagnostic>> {
    // forge does not tell `type = any` from no type; both take the text as a string (what
    // Terraform does without a type).
    let value = if is_primitive(&var.ty) {
        Value::String(raw)
    } else {
        let path = PathBuf::from(format!("<value for var.{}>", var.name));
        let parsed = forge_lang::parse_expr_str(&path, raw).and_then(|e| {
            if e.references().is_empty() {
                forge_lang::eval(&e, &Scope::new("."))
            } else {
                Err(Diagnostic::error("variables are not allowed here").into())
            }
        });
        match parsed {
            Ok(v) => v,
            Err(d) => {
                // The parser's message quotes the text; a sensitive value must not be shown.
                let why = if var.sensitive {
                    "it is not a valid expression".to_string()
                } else {
                    d.to_string().lines().next().unwrap_or("").to_string()
                };
                return Err(Box::new(Diagnostic::error(format!(
                    "{source} cannot be read as a value of variable `{}`: {why}",
                    var.name
                ))
                .at(var.location.clone())
                .hint(format!(
                    "for a variable of a complex type, {source} must hold an HCL expression such as [\"a\", \"b\"] or {{ key = \"value\" }}"
                ))));
            }
        }
    };
    checked(var, value, || source.to_string()).map_err(|d| Box::new(d.at(var.location.clone())))
}

/// The value converted to the variable's type (so a type error names where the value came
/// from, not only the declaration); a sensitive variable's value is converted marked so the
/// message cannot quote it.
fn checked(
    var: &Variable,
    value: Value,
    source: impl Fn() -> String,
) -> Result<Value, Box<Diagnostic>> {
    let marked = if var.sensitive && !value.is_null() {
        value.clone().sensitive()
    } else {
        value.clone()
    };
    match var.ty.convert(marked) {
        Ok(_) => Ok(value),
        Err(m) => Err(Box::new(
            Diagnostic::error(format!(
                "invalid value for variable `{}` from {}: {m}",
                var.name,
                source()
            ))
            .hint(format!(
                "variable `{}` is declared at {}",
                var.name, var.location
            )),
        )),
    }
}

type Entries = Vec<(String, Value, Location)>;

/// A `.tfvars` file: attributes only, values without references.
fn hcl_file(path: &Path) -> Result<Entries, Diagnostics> {
    let body = forge_lang::parse_file(path)?;
    let mut diags = Diagnostics::new();
    for block in &body.blocks {
        diags.push(
            Diagnostic::error(format!(
                "a variable file holds only `name = value` assignments, not a `{}` block",
                block.ident
            ))
            .at(block.location.clone())
            .hint("move the block into a .tf file, or write the variable's value as an attribute"),
        );
    }
    let mut out = Vec::new();
    let scope = Scope::new(path.parent().unwrap_or(Path::new(".")));
    for attr in &body.attributes {
        if let Some(r) = attr.expr.references().first() {
            diags.push(
                Diagnostic::error(format!(
                    "the value of `{}` refers to `{}`: variable files cannot use references",
                    attr.name, r.root
                ))
                .at(attr.location.clone())
                .hint("write the value itself (a literal, list or object)"),
            );
            continue;
        }
        match forge_lang::eval(&attr.expr, &scope) {
            Ok(v) => out.push((attr.name.clone(), v, attr.location.clone())),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// A `.tfvars.json` file: one JSON object, property name -> value (strings literal).
fn json_file(path: &Path) -> Result<Entries, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })?;
    let source = SourceFile::new(path, text);
    let json: serde_json::Value = serde_json::from_str(&source.text).map_err(|e| {
        let at = line_col_offset(&source.text, e.line(), e.column());
        Diagnostics::from(
            Diagnostic::error(format!("{} is not valid JSON: {e}", path.display()))
                .at(source.location(at..at + 1))
                .hint("fix the JSON syntax (a variable file is one object of variable names to values)"),
        )
    })?;
    let serde_json::Value::Object(map) = json else {
        return Err(Diagnostic::error(format!(
            "{} must hold a JSON object of variable names to values",
            path.display()
        ))
        .at(source.location(0..1))
        .hint("write {\"name\": value, ...}")
        .into());
    };
    let keys = top_level_keys(&source.text);
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let at = keys.get(&k).copied().unwrap_or(0);
            (
                k.clone(),
                Value::from_json(&v),
                source.location(at..at + k.len() + 2),
            )
        })
        .collect())
}

/// Byte offset of serde_json's 1-based line and column.
fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + col.saturating_sub(1)).min(text.len())
}

/// Byte offsets of the property names of the outermost object (for locations).
fn top_level_keys(text: &str) -> BTreeMap<String, usize> {
    let b = text.as_bytes();
    let mut out = BTreeMap::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                let rest = text.get(end + 1..).unwrap_or("").trim_start();
                if depth == 1
                    && rest.starts_with(':')
                    && let Ok(key) =
                        serde_json::from_str::<String>(&text[start..=end.min(b.len() - 1)])
                {
                    out.entry(key).or_insert(start);
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}
