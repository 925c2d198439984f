//! Type constraints: parsing `variable` type expressions, inferring the type of a value,
//! unifying types (what `tolist([1, "a"])` or a conditional needs) and Terraform's
//! conversion rules.

// Diagnostics are large, but they are built only on the error path and carry what the
// user needs; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use forge_provider::Value;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::syntax::Expr;
use crate::types::{ObjectAttr, TypeConstraint};

// ---------------------------------------------------------------------------------------
// Parsing

pub(crate) fn parse(expr: &Expr) -> Result<TypeConstraint, Diagnostics> {
    parse_type(&expr.inner, expr).map_err(Diagnostics::from)
}

fn type_error(expr: &Expr, at: &Expression, what: &str) -> Diagnostic {
    use hcl_edit::Span;
    Diagnostic::error(format!("invalid type constraint: {what}"))
        .at(crate::syntax_impl::location_of(&expr.file, at.span()))
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
                    let raw = crate::eval_impl::eval(&dexpr, &scope).map_err(|ds| {
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

// ---------------------------------------------------------------------------------------
// Type names (for messages and the console)

pub(crate) fn type_name(t: &TypeConstraint) -> String {
    match t {
        TypeConstraint::Any => "any".into(),
        TypeConstraint::String => "string".into(),
        TypeConstraint::Number => "number".into(),
        TypeConstraint::Bool => "bool".into(),
        TypeConstraint::List(e) => format!("list({})", type_name(e)),
        TypeConstraint::Set(e) => format!("set({})", type_name(e)),
        TypeConstraint::Map(e) => format!("map({})", type_name(e)),
        TypeConstraint::Tuple(es) => format!(
            "tuple([{}])",
            es.iter().map(type_name).collect::<Vec<_>>().join(", ")
        ),
        TypeConstraint::Object(attrs) => format!(
            "object({{{}}})",
            attrs
                .iter()
                .map(|(k, a)| format!("{k}={}", type_name(&a.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Inference and unification

/// The type of a value; null and unknown have no type (`Any`).
pub(crate) fn type_of(v: &Value) -> TypeConstraint {
    match v {
        Value::Null | Value::Unknown => TypeConstraint::Any,
        Value::Bool(_) => TypeConstraint::Bool,
        Value::Number(_) => TypeConstraint::Number,
        Value::String(_) => TypeConstraint::String,
        Value::Sensitive(v) => type_of(v),
        Value::Tuple(xs) => TypeConstraint::Tuple(xs.iter().map(type_of).collect()),
        Value::List(xs) => TypeConstraint::List(Box::new(element_type(xs))),
        Value::Set(xs) => TypeConstraint::Set(Box::new(element_type(xs))),
        Value::Map(m) => TypeConstraint::Map(Box::new(element_type(m.values()))),
        Value::Object(m) => TypeConstraint::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        ObjectAttr {
                            ty: type_of(v),
                            optional: false,
                            default: None,
                        },
                    )
                })
                .collect(),
        ),
    }
}

fn element_type<'a>(xs: impl IntoIterator<Item = &'a Value>) -> TypeConstraint {
    let types: Vec<TypeConstraint> = xs.into_iter().map(type_of).collect();
    unify(&types).unwrap_or(TypeConstraint::Any)
}

/// The one type every given type converts to, as Terraform picks it for list elements and
/// conditional results; `None` when there is none.
pub(crate) fn unify(types: &[TypeConstraint]) -> Option<TypeConstraint> {
    let known: Vec<&TypeConstraint> = types
        .iter()
        .filter(|t| !matches!(t, TypeConstraint::Any))
        .collect();
    let Some(first) = known.first() else {
        return Some(TypeConstraint::Any);
    };
    if known.iter().all(|t| t == first) {
        return Some((*first).clone());
    }
    let all_primitive = known.iter().all(|t| {
        matches!(
            t,
            TypeConstraint::String | TypeConstraint::Number | TypeConstraint::Bool
        )
    });
    if all_primitive {
        // Mixed primitives meet at string, except number and bool which never convert.
        let has_string = known.iter().any(|t| matches!(t, TypeConstraint::String));
        return has_string.then_some(TypeConstraint::String);
    }
    let collection_elems =
        |pick: fn(&TypeConstraint) -> Option<Vec<TypeConstraint>>| -> Option<Vec<TypeConstraint>> {
            let mut out = Vec::new();
            for t in &known {
                out.extend(pick(t)?);
            }
            Some(out)
        };
    // Objects and maps meet at a map when their attribute types unify, or at an object when
    // they all have the same attribute names.
    if known.iter().all(|t| matches!(t, TypeConstraint::Object(_))) {
        let names: Vec<Vec<&String>> = known
            .iter()
            .map(|t| {
                if let TypeConstraint::Object(a) = t {
                    a.keys().collect()
                } else {
                    vec![]
                }
            })
            .collect();
        if names.iter().all(|n| *n == names[0]) {
            let mut attrs = BTreeMap::new();
            for name in names[0].iter() {
                let ts: Vec<TypeConstraint> = known
                    .iter()
                    .filter_map(|t| {
                        if let TypeConstraint::Object(a) = t {
                            a.get(*name).map(|x| x.ty.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                attrs.insert(
                    (*name).clone(),
                    ObjectAttr {
                        ty: unify(&ts)?,
                        optional: false,
                        default: None,
                    },
                );
            }
            return Some(TypeConstraint::Object(attrs));
        }
    }
    if known
        .iter()
        .all(|t| matches!(t, TypeConstraint::Object(_) | TypeConstraint::Map(_)))
    {
        let elems = collection_elems(|t| match t {
            TypeConstraint::Object(a) => Some(a.values().map(|x| x.ty.clone()).collect()),
            TypeConstraint::Map(e) => Some(vec![(**e).clone()]),
            _ => None,
        })?;
        return Some(TypeConstraint::Map(Box::new(unify(&elems)?)));
    }
    if known.iter().all(|t| matches!(t, TypeConstraint::Tuple(_))) {
        let lens: Vec<usize> = known
            .iter()
            .map(|t| {
                if let TypeConstraint::Tuple(e) = t {
                    e.len()
                } else {
                    0
                }
            })
            .collect();
        if lens.iter().all(|l| *l == lens[0]) {
            let mut elems = Vec::new();
            for i in 0..lens[0] {
                let ts: Vec<TypeConstraint> = known
                    .iter()
                    .filter_map(|t| {
                        if let TypeConstraint::Tuple(e) = t {
                            e.get(i).cloned()
                        } else {
                            None
                        }
                    })
                    .collect();
                elems.push(unify(&ts)?);
            }
            return Some(TypeConstraint::Tuple(elems));
        }
    }
    if known
        .iter()
        .all(|t| matches!(t, TypeConstraint::Tuple(_) | TypeConstraint::List(_)))
    {
        let elems = collection_elems(|t| match t {
            TypeConstraint::Tuple(e) => Some(e.clone()),
            TypeConstraint::List(e) => Some(vec![(**e).clone()]),
            _ => None,
        })?;
        return Some(TypeConstraint::List(Box::new(unify(&elems)?)));
    }
    if known.iter().all(|t| matches!(t, TypeConstraint::Set(_))) {
        let elems = collection_elems(|t| {
            if let TypeConstraint::Set(e) = t {
                Some(vec![(**e).clone()])
            } else {
                None
            }
        })?;
        return Some(TypeConstraint::Set(Box::new(unify(&elems)?)));
    }
    None
}

// ---------------------------------------------------------------------------------------
// Conversion

pub(crate) fn convert(ty: &TypeConstraint, value: Value) -> Result<Value, String> {
    convert_at(ty, value, "")
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

fn convert_at(ty: &TypeConstraint, value: Value, path: &str) -> Result<Value, String> {
    match value {
        Value::Unknown => return Ok(Value::Unknown),
        Value::Null => return Ok(Value::Null),
        // A failed conversion of a secret must not quote it: the message would reach the
        // terminal. Say which type was wanted and that the value is withheld.
        Value::Sensitive(inner) => {
            return convert_at(ty, *inner, path).map(Value::sensitive).map_err(|_| {
                format!(
                    "{} required{}, but the given sensitive value does not convert (value not shown)",
                    type_name(ty),
                    at(path)
                )
            });
        }
        _ => {}
    }
    match ty {
        TypeConstraint::Any => Ok(value),
        TypeConstraint::String => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(crate::console::number_text(n))),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(format!(
                "string required{}, but have {}",
                at(path),
                describe(&other)
            )),
        },
        TypeConstraint::Number => match value {
            Value::Number(_) => Ok(value),
            Value::String(s) => parse_number(&s).map(Value::Number).ok_or_else(|| {
                format!("a number is required{}; \"{s}\" is not a number", at(path))
            }),
            other => Err(format!(
                "number required{}, but have {}",
                at(path),
                describe(&other)
            )),
        },
        TypeConstraint::Bool => match value {
            Value::Bool(_) => Ok(value),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            Value::String(s) => Err(format!(
                "a bool is required{}; \"{s}\" is not true or false",
                at(path)
            )),
            other => Err(format!(
                "bool required{}, but have {}",
                at(path),
                describe(&other)
            )),
        },
        TypeConstraint::List(elem) | TypeConstraint::Set(elem) => {
            let items = match value {
                Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => xs,
                other => {
                    return Err(format!(
                        "{} required{}, but have {}",
                        kind_word(ty),
                        at(path),
                        describe(&other)
                    ));
                }
            };
            let elem = concrete_element(elem, &items).ok_or_else(|| {
                format!(
                    "all elements of a {}{} must have the same type",
                    kind_word(ty),
                    at(path)
                )
            })?;
            let converted = items
                .into_iter()
                .enumerate()
                .map(|(i, x)| convert_at(&elem, x, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(match ty {
                TypeConstraint::Set(_) => make_set(converted),
                _ => Value::List(converted),
            })
        }
        TypeConstraint::Map(elem) => {
            let m = match value {
                Value::Object(m) | Value::Map(m) => m,
                other => {
                    return Err(format!(
                        "map required{}, but have {}",
                        at(path),
                        describe(&other)
                    ));
                }
            };
            let vals: Vec<Value> = m.values().cloned().collect();
            let elem = concrete_element(elem, &vals).ok_or_else(|| {
                format!("all values of a map{} must have the same type", at(path))
            })?;
            let converted = m
                .into_iter()
                .map(|(k, v)| {
                    let p = format!("{path}[\"{k}\"]");
                    convert_at(&elem, v, &p).map(|v| (k, v))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            Ok(Value::Map(converted))
        }
        TypeConstraint::Tuple(elems) => {
            let items = match value {
                Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => xs,
                other => {
                    return Err(format!(
                        "tuple required{}, but have {}",
                        at(path),
                        describe(&other)
                    ));
                }
            };
            if items.len() != elems.len() {
                return Err(format!(
                    "tuple required{} with {} elements, but have {}",
                    at(path),
                    elems.len(),
                    items.len()
                ));
            }
            let converted = items
                .into_iter()
                .zip(elems)
                .enumerate()
                .map(|(i, (x, t))| convert_at(t, x, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Tuple(converted))
        }
        TypeConstraint::Object(attrs) => {
            let mut m = match value {
                Value::Object(m) | Value::Map(m) => m,
                other => {
                    return Err(format!(
                        "object required{}, but have {}",
                        at(path),
                        describe(&other)
                    ));
                }
            };
            let mut out = BTreeMap::new();
            for (name, attr) in attrs {
                let p = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                match m.remove(name) {
                    Some(v) if v.is_null() && attr.optional => {
                        out.insert(name.clone(), attr.default.clone().unwrap_or(Value::Null));
                    }
                    Some(v) => {
                        out.insert(name.clone(), convert_at(&attr.ty, v, &p)?);
                    }
                    None if attr.optional => {
                        out.insert(name.clone(), attr.default.clone().unwrap_or(Value::Null));
                    }
                    None => return Err(format!("attribute \"{name}\" is required{}", at(path))),
                }
            }
            Ok(Value::Object(out))
        }
    }
}

/// The element type for a collection conversion: the declared one, or (for `any`) the
/// type all elements unify to.
fn concrete_element(declared: &TypeConstraint, items: &[Value]) -> Option<TypeConstraint> {
    if *declared != TypeConstraint::Any {
        return Some(declared.clone());
    }
    let types: Vec<TypeConstraint> = items.iter().map(type_of).collect();
    unify(&types)
}

fn kind_word(ty: &TypeConstraint) -> &'static str {
    match ty {
        TypeConstraint::Set(_) => "set",
        _ => "list",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Tuple(_) => "a tuple".into(),
        Value::Object(_) => "an object".into(),
        Value::List(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
        Value::Set(_) => "a set".into(),
        other => format!("a {}", other.kind_name()),
    }
}

/// Parses a number the way Terraform converts strings: decimal, optional sign, fraction
/// and exponent; no surrounding space, no hex.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let body = s
        .strip_prefix('-')
        .or_else(|| s.strip_prefix('+'))
        .unwrap_or(s);
    let valid = !body.is_empty()
        && body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !valid {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A set of values: duplicates removed, in Terraform's order (see `Value::sort_set`).
pub(crate) fn make_set(items: Vec<Value>) -> Value {
    Value::set(items)
}
