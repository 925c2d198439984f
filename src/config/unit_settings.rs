//! Terragrunt's unit-level settings that decide whether a unit runs, whether it may be
//! destroyed and as whom: `skip`, `prevent_destroy`, and the `iam_*` role settings.
//! Like Terragrunt, the last file that sets one wins (the unit's own over the root's).

use forge_lang::{Attribute, Diagnostic, Diagnostics, Location, Scope};
use forge_provider::Value;

/// The settings of one unit. A flag that is set carries where it was set, for notices.
#[derive(Clone, Debug, Default)]
pub struct UnitSettings {
    /// `skip = true`: the unit is left out of every run.
    pub skip: Option<Location>,
    /// `prevent_destroy = true`: the unit is never destroyed.
    pub prevent_destroy: Option<Location>,
}

/// The Terragrunt attributes about the identity a unit runs as. forge does not assume
/// these roles yet; running as the shell's identity instead would deploy as someone
/// else, so they are refused.
const ROLE_ATTRIBUTES: &[&str] = &[
    "iam_role",
    "iam_assume_role_session_name",
    "iam_assume_role_duration",
    "iam_web_identity_token",
];

/// Reads the settings from the unit's files, root first and the unit's own last.
pub(crate) fn read<'a, 'b: 'a>(
    files: impl IntoIterator<Item = (&'a forge_lang::Body, &'a Scope<'b>)>,
) -> Result<UnitSettings, Diagnostics> {
    let mut settings = UnitSettings::default();
    let mut diags = Diagnostics::new();
    for (body, scope) in files {
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
            } else if ROLE_ATTRIBUTES.contains(&name) {
                // `iam_role = ""` (a common way to switch it off) asks for nothing.
                match forge_lang::eval(&attr.expr, scope) {
                    Ok(v) if v.is_null() || v.as_str() == Some("") => {}
                    Ok(_) => diags.push(
                        Diagnostic::error(format!(
                            "`{name}`: forge does not assume a unit's IAM role yet, and running as the shell's credentials instead would deploy as someone else"
                        ))
                        .at(attr.location.clone())
                        .hint("remove it and run forge with the role's credentials (AWS_PROFILE naming a profile with role_arn), or set assume_role in the provider \"aws\" block and in remote_state's config"),
                    ),
                    Err(d) => diags.extend(d),
                }
            }
        }
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
