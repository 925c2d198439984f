//! Terragrunt's unit-level settings that decide whether a unit runs, whether it may be
//! destroyed and as whom: `skip`, `prevent_destroy`, the `exclude` block, and the `iam_*`
//! role settings; and what runs around a unit's command and what a failure does: hooks
//! (`unit_hooks`) and error rules (`error_rules`).
//! Like Terragrunt, the last file that sets one wins (the unit's own over the root's).

use std::path::Path;
use std::time::Duration;

use forge_lang::{Attribute, Diagnostic, Diagnostics, Location, Scope};
use forge_provider::{UnitRole, UnitRoleToken, Value};

use crate::attribute_values::string_list;
use crate::error_rules::ErrorRules;
use crate::extra_arguments::{ExtraArguments, ExtraVariable};
use crate::unit_hooks::Hook;

/// The settings of one unit. A flag that is set carries where it was set, for notices.
#[derive(Clone, Debug, Default)]
pub struct UnitSettings {
    /// `skip = true`: the unit is left out of every run.
    pub skip: Option<Location>,
    /// `prevent_destroy = true`: the unit is never destroyed.
    pub prevent_destroy: Option<Location>,
    /// `iam_role` (with its session name, duration and web identity token): the role the
    /// unit's providers and state backend assume first, and where `iam_role` was set.
    pub role: Option<(UnitRole, Location)>,
    /// An `exclude` block whose `if` holds: the commands the unit sits out.
    pub exclude: Option<Exclusion>,
    /// Terragrunt settings forge reads without acting on them and that do not change
    /// what is deployed (hooks naming commands forge runs no hooks for): warnings at
    /// their place, shown by validate, plan and apply.
    pub warnings: Vec<Diagnostic>,
    /// The `terraform` block's before, after and error hooks, in the order they run.
    pub hooks: Vec<Hook>,
    /// The `errors` block's retry and ignore rules, and the older `retry*` attributes.
    pub errors: ErrorRules,
    /// The `terraform` block's `extra_arguments`, by name (a later file's block of the
    /// same name replaces the earlier one, as Terragrunt merges an include).
    pub extra_arguments: Vec<ExtraArguments>,
}

/// Terragrunt's `exclude { if = ..., actions = [...], exclude_dependencies = ... }`,
/// kept only when its `if` is true.
#[derive(Clone, Debug)]
pub struct Exclusion {
    /// Terraform command names, `all`, or `all_except_output`.
    pub actions: Vec<String>,
    /// The units this one depends on sit the run out too.
    pub exclude_dependencies: bool,
    pub location: Location,
}

impl Exclusion {
    /// Whether the unit sits out a run of `command` (`plan`, `apply`, `destroy`, ...).
    pub fn covers(&self, command: &str) -> bool {
        self.actions.iter().any(|a| {
            a == command || a == "all" || (a == "all_except_output" && command != "output")
        })
    }
}

impl UnitSettings {
    /// The role the unit runs as, if any.
    pub fn role(&self) -> Option<&UnitRole> {
        self.role.as_ref().map(|(role, _)| role)
    }

    /// The variable values `extra_arguments` gives a run of `command`, in Terragrunt's
    /// order (the command line's own come after them and win).
    pub fn extra_variables(&self, command: &str) -> Vec<ExtraVariable> {
        self.extra_arguments
            .iter()
            .filter(|e| e.commands.iter().any(|c| c == command))
            .flat_map(|e| e.variables.iter().cloned())
            .collect()
    }
}

/// The role settings as written, each with its attribute for messages; the last file
/// that sets one wins.
#[derive(Default)]
struct RoleAttributes<'a> {
    role_arn: Option<(String, &'a Attribute)>,
    session_name: Option<(String, &'a Attribute)>,
    duration: Option<(Value, &'a Attribute)>,
    token: Option<(String, &'a Attribute)>,
}

/// Reads the settings from the unit's files, root first and the unit's own last.
/// `unit_dir` resolves a relative `iam_web_identity_token` file path.
pub(crate) fn read<'a, 'b: 'a>(
    files: impl IntoIterator<Item = (&'a forge_lang::Body, &'a Scope<'b>)>,
    unit_dir: &Path,
) -> Result<UnitSettings, Diagnostics> {
    let mut settings = UnitSettings::default();
    let mut diags = Diagnostics::new();
    let mut role = RoleAttributes::default();
    let mut legacy_retry = crate::error_rules::LegacyRetry::default();
    for (body, scope) in files {
        diags.extend(crate::requirements::read_terragrunt_tool_settings(
            body,
            scope,
            &mut settings.warnings,
        ));
        if let Err(d) =
            crate::error_rules::read(body, scope, &mut settings.errors, &mut legacy_retry)
        {
            diags.extend(d);
        }
        for terraform in body.blocks_of("terraform") {
            if let Err(d) = crate::unit_hooks::read(
                terraform,
                scope,
                unit_dir,
                &mut settings.hooks,
                &mut settings.warnings,
            ) {
                diags.extend(d);
            }
            match crate::extra_arguments::read(terraform, scope, unit_dir, &mut settings.warnings) {
                Ok(blocks) => {
                    for extra in blocks {
                        settings.extra_arguments.retain(|e| e.name != extra.name);
                        settings.extra_arguments.push(extra);
                    }
                }
                Err(d) => diags.extend(d),
            }
        }
        for block in body.blocks_of("exclude") {
            match exclusion(block, scope) {
                Ok(e) => settings.exclude = e,
                Err(d) => diags.extend(d),
            }
        }
        for attr in &body.attributes {
            let name = attr.name.as_str();
            if name == "skip" || name == "prevent_destroy" {
                match flag(attr, scope) {
                    Ok(on) => {
                        let slot = if name == "skip" {
                            &mut settings.skip
                        } else {
                            &mut settings.prevent_destroy
                        };
                        *slot = on.then(|| attr.location.clone());
                    }
                    Err(d) => diags.extend(d),
                }
            } else if name == "iam_assume_role_duration" {
                match forge_lang::eval(&attr.expr, scope) {
                    Ok(v) => role.duration = Some((v, attr)),
                    Err(d) => diags.extend(d),
                }
            } else if let Some(slot) = match name {
                "iam_role" => Some(&mut role.role_arn),
                "iam_assume_role_session_name" => Some(&mut role.session_name),
                "iam_web_identity_token" => Some(&mut role.token),
                _ => None,
            } {
                match forge_lang::eval(&attr.expr, scope) {
                    Ok(v) => match v.unmarked() {
                        Value::Null => *slot = None,
                        Value::String(text) => *slot = Some((text.clone(), attr)),
                        other => diags.push(
                            Diagnostic::error(format!(
                                "`{name}` must be a string, not {}",
                                other.kind_name()
                            ))
                            .at(attr.expr.location()),
                        ),
                    },
                    Err(d) => diags.extend(d),
                }
            }
        }
    }
    crate::error_rules::finish(&mut settings.errors, legacy_retry);
    match unit_role(role, unit_dir) {
        Ok(r) => settings.role = r,
        Err(d) => diags.extend(d),
    }
    if diags.is_empty() {
        Ok(settings)
    } else {
        Err(diags)
    }
}

fn flag(attr: &Attribute, scope: &Scope<'_>) -> Result<bool, Diagnostics> {
    let v = forge_lang::eval(&attr.expr, scope)?;
    match v.unmarked() {
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

/// The unit's role from its settings. `iam_role = ""` (a common way to switch it off)
/// asks for nothing; the other settings without a role are an error, since they would
/// otherwise do nothing.
fn unit_role(
    role: RoleAttributes<'_>,
    unit_dir: &Path,
) -> Result<Option<(UnitRole, Location)>, Diagnostics> {
    let Some((arn, arn_attr)) = role.role_arn.filter(|(arn, _)| !arn.is_empty()) else {
        let lone = [&role.session_name, &role.token]
            .into_iter()
            .flatten()
            .map(|(_, a)| *a)
            .chain(role.duration.as_ref().map(|(_, a)| *a))
            .next();
        return match lone {
            Some(attr) => Err(Diagnostic::error(format!(
                "`{}` is set but no `iam_role` names the role it is for",
                attr.name
            ))
            .at(attr.location.clone())
            .hint("set iam_role = \"arn:aws:iam::<account>:role/<name>\", or remove this setting")
            .into()),
            None => Ok(None),
        };
    };
    if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
        return Err(
            Diagnostic::error(format!("`iam_role` must be a role ARN, not {arn:?}"))
                .at(arn_attr.expr.location())
                .hint("write the whole ARN: arn:aws:iam::<account>:role/<name>")
                .into(),
        );
    }
    let duration = match role.duration {
        None => None,
        Some((value, attr)) => Some(duration_seconds(&value, attr)?),
    };
    // Terragrunt takes the token itself or the path of a file that holds it.
    let web_identity_token = role.token.filter(|(t, _)| !t.is_empty()).map(|(text, _)| {
        let path = unit_dir.join(&text);
        if !text.contains('\n') && path.is_file() {
            UnitRoleToken::File(path)
        } else {
            UnitRoleToken::Inline(text)
        }
    });
    Ok(Some((
        UnitRole {
            role_arn: arn,
            session_name: role
                .session_name
                .map(|(name, _)| name)
                .filter(|n| !n.is_empty()),
            duration,
            web_identity_token,
        },
        arn_attr.location.clone(),
    )))
}

/// `iam_assume_role_duration`: whole seconds, as Terragrunt takes it (STS allows 900 up
/// to the role's maximum, at most 43200).
fn duration_seconds(value: &Value, attr: &Attribute) -> Result<Duration, Diagnostics> {
    let seconds = match value.unmarked() {
        Value::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= 1e9 => Some(*n as u64),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if (900..=43_200).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(Diagnostic::error(format!(
            "`iam_assume_role_duration` must be a whole number of seconds from 900 to 43200, not {}",
            match value.unmarked() {
                Value::Number(n) => n.to_string(),
                Value::String(s) => format!("{s:?}"),
                other => other.kind_name().to_string(),
            }
        ))
        .at(attr.expr.location())
        .into()),
    }
}

/// One `exclude` block: `None` when its `if` is false. `if` and `actions` are required,
/// as in Terragrunt.
fn exclusion(
    block: &forge_lang::Block,
    scope: &Scope<'_>,
) -> Result<Option<Exclusion>, Diagnostics> {
    let required = |name: &str| {
        block.body.attribute(name).ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error(format!("the exclude block needs `{name}`"))
                    .at(block.location.clone())
                    .hint("exclude { if = true, actions = [\"apply\", \"destroy\"] } (actions: Terraform commands, \"all\" or \"all_except_output\")"),
            )
        })
    };
    let condition = required("if")?;
    let actions_attr = required("actions")?;
    if !flag(condition, scope)? {
        return Ok(None);
    }
    let actions = string_list(
        actions_attr,
        scope,
        "`actions` must be a list of command names",
    )?;
    let exclude_dependencies = match block.body.attribute("exclude_dependencies") {
        Some(attr) => flag(attr, scope)?,
        None => false,
    };
    // `no_run` keeps a unit from running even on its own; forge always runs a unit as
    // part of its environment, so an exclusion already does that. Read for its type.
    if let Some(attr) = block.body.attribute("no_run") {
        flag(attr, scope)?;
    }
    Ok(Some(Exclusion {
        actions,
        exclude_dependencies,
        location: block.location.clone(),
    }))
}
