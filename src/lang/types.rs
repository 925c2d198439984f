//! Type constraints of `variable` blocks and Terraform's conversion rules.
//!
//! IMPLEMENTATION OWNER: the lang helper; keep the signatures.

use std::collections::BTreeMap;

use forge_provider::Value;

use crate::diagnostic::Diagnostics;
use crate::syntax::Expr;

#[derive(Clone, Debug, PartialEq)]
pub enum TypeConstraint {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Tuple(Vec<TypeConstraint>),
    /// Attributes with their type, whether they are `optional(...)`, and the optional default.
    Object(BTreeMap<String, ObjectAttr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    pub ty: TypeConstraint,
    pub optional: bool,
    pub default: Option<Value>,
}

impl TypeConstraint {
    /// Parses a type expression (`list(object({ a = string, b = optional(number, 1) }))`).
    pub fn parse(expr: &Expr) -> Result<TypeConstraint, Diagnostics> {
        crate::types_impl::parse(expr)
    }

    /// Converts a value to this type as Terraform does (`"1"` to number 1, tuple to list,
    /// object to map, optional attributes filled with defaults or null). Unknown and
    /// sensitive marks are kept. The error says what was expected and what was found.
    pub fn convert(&self, value: Value) -> Result<Value, String> {
        crate::types_impl::convert(self, value)
    }
}
