//! Type constraints (first cut: to be filled in).
use forge_provider::Value;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::syntax::Expr;
use crate::types::TypeConstraint;

pub(crate) fn parse(expr: &Expr) -> Result<TypeConstraint, Diagnostics> {
    Err(Diagnostic::error("type constraints are not implemented yet").at(expr.location()).into())
}
pub(crate) fn convert(_ty: &TypeConstraint, value: Value) -> Result<Value, String> { Ok(value) }
