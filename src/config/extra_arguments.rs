//! Terragrunt's `extra_arguments` blocks of the `terraform` block: the variable values
//! they give a unit's runs of the commands they name (`-var`, `-var-file`,
//! `required_var_files`, `optional_var_files`, and `TF_VAR_*` in `env_vars`), in
//! Terragrunt's order, before the command line's own. Arguments that only tune a run
//! (`-lock-timeout`, `-parallelism`, ...) are warnings; anything else, and environment
//! variables other than `TF_VAR_*` (they could change the identity a run uses), is
//! refused, since leaving it out would deploy something else.

use std::path::Path;

use forge_lang::{Block, Diagnostic, Diagnostics, Location, Scope, Severity};
use forge_provider::Value;

use crate::attribute_values::string_list;

/// A variable value an `extra_arguments` block gives, as `-var` or `-var-file` would.
/// Its own type (not `tfvars::VariableArg`, which the engine converts it to): tfvars
/// reads units, and units read these settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtraVariable {
    /// `-var NAME=VALUE`: the value's text, read as a `-var` value is.
    Value { name: String, text: String },
    /// A variable file.
    File(std::path::PathBuf),
}

/// One `extra_arguments` block, evaluated.
#[derive(Clone, Debug)]
pub struct ExtraArguments {
    pub name: String,
    /// The Terraform commands it applies to (`plan`, `apply`, `destroy`, `import`, ...).
    pub commands: Vec<String>,
    /// Variable values in the order Terragrunt passes them: the arguments, then the
    /// required files, then the optional files that exist.
    pub variables: Vec<ExtraVariable>,
    pub location: Location,
}

/// Arguments that change how a run goes, not what it deploys: passed over with a warning.
const TUNING_ARGUMENTS: &[&str] = &[
    "-lock-timeout",
    "-parallelism",
    "-input",
    "-compact-warnings",
    "-no-color",
    "-lock",
];

/// Reads the `extra_arguments` blocks of a `terraform` block. Relative file paths are the
/// unit folder's.
pub(crate) fn read(
    terraform: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<ExtraArguments>, Diagnostics> {
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    for block in terraform.body.blocks_of("extra_arguments") {
        match read_block(block, scope, unit_dir, warnings) {
            Ok(extra) => out.push(extra),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn read_block(
    block: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<ExtraArguments, Diagnostics> {
    let name = block.labels.first().cloned().unwrap_or_default();
    let strings = |attr_name: &str| -> Result<Option<(Vec<String>, Location)>, Diagnostics> {
        let Some(attr) = block.body.attribute(attr_name) else {
            return Ok(None);
        };
        let list = string_list(
            attr,
            scope,
            &format!("extra_arguments `{name}`: `{attr_name}` must be a list of strings"),
        )?;
        Ok(Some((list, attr.expr.location())))
    };
    let Some((commands, _)) = strings("commands")? else {
        return Err(
            Diagnostic::error(format!("extra_arguments `{name}` needs `commands`"))
                .at(block.location.clone())
                .hint(
                    "commands = [\"plan\", \"apply\"] (or get_terraform_commands_that_need_vars())",
                )
                .into(),
        );
    };
    let mut variables = Vec::new();
    if let Some((arguments, at)) = strings("arguments")? {
        variables.extend(arguments_variables(
            &name, &arguments, &at, unit_dir, warnings,
        )?);
    }
    if let Some((files, at)) = strings("required_var_files")? {
        for file in files {
            let path = unit_dir.join(&file);
            if !path.is_file() {
                return Err(Diagnostic::error(format!(
                    "extra_arguments `{name}`: the required variable file {file:?} does not exist"
                ))
                .at(at)
                .detail(format!("resolved to {}", path.display()))
                .hint("create it, or list it in optional_var_files")
                .into());
            }
            variables.push(ExtraVariable::File(path));
        }
    }
    if let Some((files, _)) = strings("optional_var_files")? {
        variables.extend(
            files
                .iter()
                .map(|f| unit_dir.join(f))
                .filter(|p| p.is_file())
                .map(ExtraVariable::File),
        );
    }
    if let Some(attr) = block.body.attribute("env_vars") {
        let value = forge_lang::eval(&attr.expr, scope)?;
        let Some(map) = value.unmarked().as_map() else {
            return Err(Diagnostic::error(format!(
                "extra_arguments `{name}`: `env_vars` must be a map of strings, not {}",
                value.kind_name()
            ))
            .at(attr.expr.location())
            .into());
        };
        for (key, v) in map {
            let (Some(var), Some(text)) = (key.strip_prefix("TF_VAR_"), v.unmarked().as_str())
            else {
                return Err(Diagnostic::error(format!(
                    "extra_arguments `{name}`: env_vars {key}: forge sets only TF_VAR_* variables for a unit's runs, and running without this one could change what is deployed or as whom"
                ))
                .at(attr.expr.location())
                .hint("export it before running forge, or set the value in the unit's inputs")
                .into());
            };
            variables.push(ExtraVariable::Value {
                name: var.to_string(),
                text: text.to_string(),
            });
        }
    }
    Ok(ExtraArguments {
        name,
        commands,
        variables,
        location: block.location.clone(),
    })
}

/// `-var NAME=VALUE` / `-var=NAME=VALUE` and `-var-file PATH` / `-var-file=PATH`.
fn arguments_variables(
    name: &str,
    arguments: &[String],
    at: &Location,
    unit_dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<ExtraVariable>, Diagnostics> {
    let mut out = Vec::new();
    let mut items = arguments.iter();
    while let Some(arg) = items.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, rest)) if flag.starts_with('-') => (flag, Some(rest.to_string())),
            _ => (arg.as_str(), None),
        };
        let flag_name = format!("-{}", flag.trim_start_matches('-'));
        let mut operand = || {
            inline
                .clone()
                .or_else(|| items.next().cloned())
                .ok_or_else(|| {
                    Diagnostics::from(
                        Diagnostic::error(format!(
                            "extra_arguments `{name}`: {flag_name} has no value"
                        ))
                        .at(at.clone()),
                    )
                })
        };
        match flag_name.as_str() {
            "-var" => {
                let text = operand()?;
                match text.split_once('=') {
                    Some((var, value)) if !var.trim().is_empty() => {
                        out.push(ExtraVariable::Value {
                            name: var.trim().to_string(),
                            text: value.to_string(),
                        })
                    }
                    _ => {
                        return Err(Diagnostic::error(format!(
                            "extra_arguments `{name}`: -var {text:?} is not a variable name and a value separated by an equals sign"
                        ))
                        .at(at.clone())
                        .into());
                    }
                }
            }
            "-var-file" => out.push(ExtraVariable::File(unit_dir.join(operand()?))),
            tuning if TUNING_ARGUMENTS.contains(&tuning) => {
                let mut d = Diagnostic::error(format!(
                    "extra_arguments `{name}`: {arg} is not passed by forge"
                ))
                .at(at.clone())
                .hint("give forge the flag on its command line if the run needs it");
                d.severity = Severity::Warning;
                warnings.push(d);
            }
            _ => {
                return Err(Diagnostic::error(format!(
                    "extra_arguments `{name}`: forge does not pass {arg:?} to its runs, and leaving it out could change what is deployed"
                ))
                .at(at.clone())
                .hint("extra_arguments may hold -var, -var-file (and -lock-timeout, -parallelism, -input, which forge passes over); give anything else on forge's command line")
                .into());
            }
        }
    }
    Ok(out)
}

/// Terragrunt's lists of the commands that take a kind of argument, for `commands`.
pub(crate) fn terraform_commands(function: &str) -> Option<Value> {
    let names: &[&str] = match function {
        "get_terraform_commands_that_need_vars" => &[
            "apply", "console", "destroy", "import", "plan", "push", "refresh",
        ],
        "get_terraform_commands_that_need_locking" => &[
            "apply", "destroy", "import", "init", "plan", "refresh", "taint", "untaint",
        ],
        "get_terraform_commands_that_need_input" => &["apply", "import", "init", "plan", "refresh"],
        "get_terraform_commands_that_need_parallelism" => &["apply", "plan", "destroy"],
        _ => return None,
    };
    Some(Value::List(
        names.iter().map(|n| Value::string(*n)).collect(),
    ))
}
