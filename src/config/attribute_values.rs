//! Evaluating an attribute of a Terragrunt settings block as a value of one plain shape,
//! with the error every such setting gives when the value has another shape.

use forge_lang::{Attribute, Diagnostic, Diagnostics, Scope};

/// The attribute's value as a list (or tuple, or set) of strings. Anything else is an
/// error at the attribute: `{what}, not <kind>` (e.g. "`actions` must be a list of
/// command names, not string").
pub(crate) fn string_list(
    attr: &Attribute,
    scope: &Scope<'_>,
    what: &str,
) -> Result<Vec<String>, Diagnostics> {
    let value = forge_lang::eval(&attr.expr, scope)?;
    value
        .unmarked()
        .as_seq()
        .and_then(|items| {
            items
                .iter()
                .map(|v| v.unmarked().as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        })
        .ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error(format!("{what}, not {}", value.kind_name()))
                    .at(attr.expr.location()),
            )
        })
}
