//! Terragrunt's `before_hook`, `after_hook` and `error_hook` blocks of the `terraform`
//! block, evaluated: which commands each runs for, what it runs and where. Which hooks
//! run when, and what a failing one does, is Terragrunt's rule, kept here as pure
//! functions ([`Hook::runs_before_or_after`], [`Hook::runs_on_error`]); forge-engine
//! calls them around a unit's command and the binary runs the processes.

use std::path::{Path, PathBuf};

use forge_lang::{Block, Diagnostic, Diagnostics, Location, Scope, Severity};
use forge_provider::Value;

use crate::attribute_values::string_list;

/// The three kinds of hook, in the order a unit's command meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    Before,
    After,
    Error,
}

impl HookKind {
    /// The block's name, as written.
    pub fn block_name(self) -> &'static str {
        match self {
            HookKind::Before => "before_hook",
            HookKind::After => "after_hook",
            HookKind::Error => "error_hook",
        }
    }
}

/// One hook whose `if` holds.
#[derive(Clone, Debug)]
pub struct Hook {
    pub kind: HookKind,
    pub name: String,
    /// The Terraform commands it runs for (`plan`, `apply`, `destroy`, `import`).
    pub commands: Vec<String>,
    /// The program and its arguments; empty runs nothing (Terragrunt's way of turning a
    /// hook off with a condition: `execute = local.x ? [...] : []`).
    pub execute: Vec<String>,
    /// Where it runs: the unit's folder, or `working_dir` resolved against it.
    pub working_dir: PathBuf,
    /// Before and after hooks: run even when an earlier hook or the command failed.
    pub run_on_error: bool,
    /// The program's standard output is not shown (its standard error still is).
    pub suppress_stdout: bool,
    /// Error hooks: the patterns one of which the failure's text must match.
    pub on_errors: Vec<regex::Regex>,
    pub location: Location,
}

/// The commands forge runs a unit's hooks for: the ones whose run is a unit's turn.
pub const HOOK_COMMANDS: &[&str] = &["plan", "apply", "destroy", "import"];

impl Hook {
    /// Whether this before or after hook runs for `command`, given whether something
    /// (an earlier hook, or the command) has failed already.
    pub fn runs_before_or_after(&self, command: &str, failed_so_far: bool) -> bool {
        self.kind != HookKind::Error
            && self.commands.iter().any(|c| c == command)
            && (!failed_so_far || self.run_on_error)
    }

    /// Whether this error hook runs for `command` after a failure described by `errors`.
    pub fn runs_on_error(&self, command: &str, errors: &str) -> bool {
        self.kind == HookKind::Error
            && self.commands.iter().any(|c| c == command)
            && self.on_errors.iter().any(|p| p.is_match(errors))
    }
}

/// Reads the hooks of a `terraform` block into `hooks`: a hook of the same kind and name
/// as an earlier file's replaces it in place, as Terragrunt merges an include; a new one
/// goes last. Hooks whose `if` is false are left out. A hook naming only commands forge
/// runs no hooks for is a warning.
pub(crate) fn read(
    terraform: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
    hooks: &mut Vec<Hook>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for block in &terraform.body.blocks {
        let kind = match block.ident.as_str() {
            "before_hook" => HookKind::Before,
            "after_hook" => HookKind::After,
            "error_hook" => HookKind::Error,
            _ => continue,
        };
        match read_hook(kind, block, scope, unit_dir, warnings) {
            Ok(Some(hook)) => {
                match hooks
                    .iter_mut()
                    .find(|h| h.kind == hook.kind && h.name == hook.name)
                {
                    Some(earlier) => *earlier = hook,
                    None => hooks.push(hook),
                }
            }
            // `if = false`: a same-named hook of an earlier file is switched off too.
            Ok(None) => {
                let name = block.labels.first().cloned().unwrap_or_default();
                hooks.retain(|h| !(h.kind == kind && h.name == name));
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

fn read_hook(
    kind: HookKind,
    block: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Option<Hook>, Diagnostics> {
    let what = kind.block_name();
    let name = block.labels.first().cloned().unwrap_or_default();
    let required = |attr: &str, example: &str| {
        block.body.attribute(attr).ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error(format!("{what} `{name}` needs `{attr}`"))
                    .at(block.location.clone())
                    .hint(example.to_string()),
            )
        })
    };
    if let Some(condition) = block.body.attribute("if")
        && !flag(condition, scope)?
    {
        return Ok(None);
    }
    let commands_attr = required("commands", "commands = [\"plan\", \"apply\"]")?;
    let commands = string_list(
        commands_attr,
        scope,
        &format!("{what} `{name}`: `commands` must be a list of command names"),
    )?;
    let execute_attr = required("execute", "execute = [\"./check.sh\", \"--strict\"]")?;
    let execute = string_list(
        execute_attr,
        scope,
        &format!(
            "{what} `{name}`: `execute` must be a list of strings (the program, then its arguments)"
        ),
    )?;
    let working_dir = match block.body.attribute("working_dir") {
        None => unit_dir.to_path_buf(),
        Some(attr) => match forge_lang::eval(&attr.expr, scope)?.unmarked() {
            Value::Null => unit_dir.to_path_buf(),
            Value::String(dir) => unit_dir.join(dir),
            other => {
                return Err(Diagnostic::error(format!(
                    "{what} `{name}`: `working_dir` must be a string, not {}",
                    other.kind_name()
                ))
                .at(attr.expr.location())
                .into());
            }
        },
    };
    let optional_flag = |attr: &str| -> Result<bool, Diagnostics> {
        match block.body.attribute(attr) {
            Some(a) => flag(a, scope),
            None => Ok(false),
        }
    };
    let run_on_error = optional_flag("run_on_error")?;
    let suppress_stdout = optional_flag("suppress_stdout")?;
    let on_errors = match (kind, block.body.attribute("on_errors")) {
        (HookKind::Error, None) => {
            return Err(
                Diagnostic::error(format!("{what} `{name}` needs `on_errors`"))
                    .at(block.location.clone())
                    .hint("on_errors = [\".*\"] runs it on any error")
                    .into(),
            );
        }
        (HookKind::Error, Some(attr)) => {
            let patterns = string_list(
                attr,
                scope,
                &format!("{what} `{name}`: `on_errors` must be a list of regular expressions"),
            )?;
            patterns
                .iter()
                .map(|p| {
                    regex::Regex::new(p).map_err(|e| {
                        Diagnostics::from(
                            Diagnostic::error(format!(
                                "{what} `{name}`: {p:?} is not a regular expression: {e}"
                            ))
                            .at(attr.expr.location()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        (_, Some(attr)) => {
            return Err(Diagnostic::error(format!(
                "`on_errors` belongs to an error_hook, not a {what}"
            ))
            .at(attr.location.clone())
            .hint("make it an error_hook, or remove on_errors")
            .into());
        }
        (_, None) => Vec::new(),
    };
    if kind == HookKind::Error
        && let Some(attr) = block.body.attribute("run_on_error")
    {
        warnings.push(warning(
            format!("{what} `{name}`: `run_on_error` has no effect on an error hook, which runs only on errors"),
            &attr.location,
            "remove it",
        ));
    }
    let never: Vec<&str> = commands
        .iter()
        .map(String::as_str)
        .filter(|c| !HOOK_COMMANDS.contains(c))
        .collect();
    if !never.is_empty() {
        warnings.push(warning(
            format!(
                "{what} `{name}` never runs for {}: forge runs hooks for {} only (it has no init step and reads its configuration itself)",
                never.join(", "),
                HOOK_COMMANDS.join(", ")
            ),
            &commands_attr.location,
            "run that step yourself, or name the commands forge runs",
        ));
    }
    Ok(Some(Hook {
        kind,
        name,
        commands,
        execute,
        working_dir,
        run_on_error,
        suppress_stdout,
        on_errors,
        location: block.location.clone(),
    }))
}

fn flag(attr: &forge_lang::Attribute, scope: &Scope<'_>) -> Result<bool, Diagnostics> {
    match forge_lang::eval(&attr.expr, scope)?.unmarked() {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        other => Err(Diagnostic::error(format!(
            "`{}` must be true or false, not {}",
            attr.name,
            other.kind_name()
        ))
        .at(attr.expr.location())
        .into()),
    }
}

fn warning(summary: String, at: &Location, hint: &str) -> Diagnostic {
    let mut d = Diagnostic::error(summary).at(at.clone()).hint(hint);
    d.severity = Severity::Warning;
    d
}
