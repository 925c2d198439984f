//! Type expressions: the `type` argument of a `variable` block
//! (`list(object({ a = string, b = optional(number, 1) }))`) read into a
//! [`TypeConstraint`]. Apart from the constraints themselves because an `optional`
//! attribute's default is an expression to evaluate.

// Diagnostics are large, but they are built only on the error path and carry what the
// user needs; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::syntax::Expr;
use crate::types::{ObjectAttr, TypeConstraint, convert};

impl TypeConstraint {
    /// Parses a type expression (`list(object({ a = string, b = optional(number, 1) }))`).
    pub fn parse(expr: &Expr) -> Result<TypeConstraint, Diagnostics> {
        parse_type(&expr.inner, expr).map_err(Diagnostics::from)
    }
}

fn type_error(expr: &Expr, at: &Expression, what: &str) -> Diagnostic {
    use hcl_edit::Span;
    Diagnostic::error(format!("invalid type constraint: {what}"))
        .at(crate::syntax::location_of(&expr.file, at.span()))
        .hint("use string, number, bool, any, list(T), set(T), map(T), tuple([T, ...]) or object({ name = T, other = optional(T, default) })")
}

fn parse_type(e: &Expression, src: &Expr) -> Result<TypeConstraint, Diagnostic> {
    match e {
        Expression::Parenthesis(p) => parse_type(p.inner(), src),
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok(TypeConstraint::String),
            "number" => Ok(TypeConstraint::Number),
            "bool" => Ok(TypeConstraint::Bool),
            "any" => Ok(TypeConstraint::Any),
            "list" | "set" | "map" | "tuple" | "object" => Err(type_error(
                src,
                e,
                &format!(
                    "`{}` needs its element type, as in `{}(string)`",
                    v.as_str(),
                    v.as_str()
                ),
            )),
            other => Err(type_error(src, e, &format!("`{other}` is not a type"))),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            let one = |args: &[&Expression]| -> Result<TypeConstraint, Diagnostic> {
                match args {
                    [a] => parse_type(a, src),
                    _ => Err(type_error(
                        src,
                        e,
                        &format!("`{name}(...)` takes exactly one type"),
                    )),
                }
            };
            match name {
                "list" => Ok(TypeConstraint::List(Box::new(one(&args)?))),
                "set" => Ok(TypeConstraint::Set(Box::new(one(&args)?))),
                "map" => Ok(TypeConstraint::Map(Box::new(one(&args)?))),
                "tuple" => match args.as_slice() {
                    [Expression::Array(items)] => Ok(TypeConstraint::Tuple(
                        items
                            .iter()
                            .map(|i| parse_type(i, src))
                            .collect::<Result<_, _>>()?,
                    )),
                    _ => Err(type_error(
                        src,
                        e,
                        "`tuple(...)` takes a list of types, as in `tuple([string, number])`",
                    )),
                },
                "object" => match args.as_slice() {
                    [Expression::Object(obj)] => {
                        let mut attrs = BTreeMap::new();
                        for (key, value) in obj.iter() {
                            let key_name = match key {
                                ObjectKey::Ident(i) => i.as_str().to_string(),
                                ObjectKey::Expression(k) => match k {
                                    Expression::String(s) => s.as_str().to_string(),
                                    Expression::Variable(v) => v.as_str().to_string(),
                                    _ => {
                                        return Err(type_error(
                                            src,
                                            k,
                                            "attribute names must be plain names",
                                        ));
                                    }
                                },
                            };
                            attrs.insert(key_name, parse_object_attr(value.expr(), src)?);
                        }
                        Ok(TypeConstraint::Object(attrs))
                    }
                    _ => Err(type_error(
                        src,
                        e,
                        "`object(...)` takes an object of types, as in `object({ name = string })`",
                    )),
                },
                "optional" => Err(type_error(
                    src,
                    e,
                    "`optional(...)` is only allowed for an attribute of `object({...})`",
                )),
                other => Err(type_error(src, e, &format!("`{other}(...)` is not a type"))),
            }
        }
        Expression::Traversal(t)
            if t.operators
                .iter()
                .all(|o| matches!(o.value(), TraversalOperator::GetAttr(_))) =>
        {
            Err(type_error(src, e, "a reference is not a type"))
        }
        _ => Err(type_error(
            src,
            e,
            "expected a type such as `string` or `list(string)`",
        )),
    }
}

fn parse_object_attr(e: &Expression, src: &Expr) -> Result<ObjectAttr, Diagnostic> {
    if let Expression::FuncCall(call) = e
        && call.name.name.as_str() == "optional"
    {
        {
            let args: Vec<&Expression> = call.args.iter().collect();
            return match args.as_slice() {
                [t] => Ok(ObjectAttr {
                    ty: parse_type(t, src)?,
                    optional: true,
                    default: None,
                }),
                [t, d] => {
                    let ty = parse_type(t, src)?;
                    let scope = crate::eval::Scope::new(".");
                    let dexpr = Expr {
                        inner: (*d).clone(),
                        file: src.file.clone(),
                    };
                    let raw = crate::eval::eval(&dexpr, &scope).map_err(|ds| {
                        ds.0.into_iter()
                            .next()
                            .unwrap_or_else(|| type_error(src, d, "invalid default"))
                    })?;
                    let default = convert(&ty, raw).map_err(|m| {
                        type_error(src, d, &format!("the default does not fit the type: {m}"))
                    })?;
                    Ok(ObjectAttr {
                        ty,
                        optional: true,
                        default: Some(default),
                    })
                }
                _ => Err(type_error(
                    src,
                    e,
                    "`optional(...)` takes a type and an optional default",
                )),
            };
        }
    }
    Ok(ObjectAttr {
        ty: parse_type(e, src)?,
        optional: false,
        default: None,
    })
}
