//! Type constraints of `variable` blocks and Terraform's conversion rules: inferring the
//! type of a value, unifying types (what `tolist([1, "a"])` or a conditional needs),
//! converting, and `==` by type and value. Reading a type expression is `type_expr`.

use std::collections::BTreeMap;

use forge_provider::Value;

use crate::number::number_text;

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
    /// Converts a value to this type as Terraform does (`"1"` to number 1, tuple to list,
    /// object to map, optional attributes filled with defaults or null). Unknown and
    /// sensitive marks are kept. The error says what was expected and what was found.
    pub fn convert(&self, value: Value) -> Result<Value, String> {
        convert(self, value)
    }
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
            Value::Number(n) => Ok(Value::String(number_text(n))),
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

/// Terraform's `==`: same type and same value; a tuple never equals a list, an object
/// never equals a map, null equals only null.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.unmarked(), b.unmarked()) {
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len() && x.iter().all(|p| y.iter().any(|q| values_equal(p, q)))
        }
        (Value::Object(x), Value::Object(y)) | (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (x, y) => x == y,
    }
}
