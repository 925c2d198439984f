//! Expression evaluation (first cut: to be filled in).
use forge_provider::Value;
use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::eval::Scope;
use crate::syntax::{Body, Expr, Reference};
use hcl_edit::Span;

pub(crate) fn eval(expr: &Expr, _scope: &Scope<'_>) -> Result<Value, Diagnostics> {
    Err(Diagnostic::error("expression evaluation is not implemented yet").at(expr_location(expr)).into())
}
pub(crate) fn eval_body(_body: &Body, _scope: &Scope<'_>) -> Result<Value, Diagnostics> {
    Err(Diagnostic::error("body evaluation is not implemented yet").into())
}
pub(crate) fn references(_expr: &Expr) -> Vec<Reference> { Vec::new() }
pub(crate) fn expr_location(expr: &Expr) -> Location {
    crate::syntax_impl::location_of(&expr.file, expr.inner.span())
}
pub(crate) fn as_traversal(_expr: &Expr) -> Option<Reference> { None }
pub(crate) fn as_list(_expr: &Expr) -> Option<Vec<Expr>> { None }
pub(crate) fn source_text(expr: &Expr) -> String {
    expr.inner.span().and_then(|s| expr.file.text.get(s).map(str::to_string)).unwrap_or_default()
}
