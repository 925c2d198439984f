//! Collection and number-aggregate functions.

use std::collections::BTreeMap;

use forge_provider::Value;

use super::{Args, FnError, FnResult, describe, limits, list_of, set_of};
use crate::types::TypeConstraint;
use crate::types::values_equal;
use crate::types::{convert, type_of, unify};

pub(super) fn length(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    match a.not_null(0)? {
        Value::Unknown => Ok(Value::Unknown),
        Value::String(s) => Ok(Value::Number(super::strings::graphemes(s).len() as f64)),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => Ok(Value::Number(xs.len() as f64)),
        Value::Object(m) | Value::Map(m) => Ok(Value::Number(m.len() as f64)),
        other => Err(FnError::new(format!("cannot take the length of {}", describe(other))).arg(0)),
    }
}

pub(super) fn concat(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    if a.v.iter().any(Value::is_unknown) {
        return Ok(Value::Unknown);
    }
    let all_lists = a.v.iter().all(|v| matches!(v, Value::List(_)));
    let mut out = Vec::new();
    for i in 0..a.v.len() {
        if let Value::Set(_) = a.v[i] {
            return Err(FnError::new(format!(
                "argument {} is a set; all arguments must be lists or tuples",
                i + 1
            ))
            .arg(i)
            .hint("convert it with tolist(...)"));
        }
        out.extend(a.seq(i)?);
    }
    if all_lists {
        return list_of(out);
    }
    Ok(Value::Tuple(out))
}

pub(super) fn merge(a: Args) -> FnResult {
    if a.v.iter().any(Value::is_unknown) {
        return Ok(Value::Unknown);
    }
    // Maps whose elements share one type merge into a map; anything else into an object.
    let elem_types: Vec<TypeConstraint> =
        a.v.iter()
            .filter_map(|v| match type_of(v) {
                TypeConstraint::Map(e) if *e != TypeConstraint::Any => Some(*e),
                _ => None,
            })
            .collect();
    let all_maps = !a.v.is_empty()
        && a.v.iter().all(|v| matches!(v, Value::Map(_) | Value::Null))
        && elem_types.windows(2).all(|w| w[0] == w[1]);
    let mut out = BTreeMap::new();
    for (i, v) in a.v.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(m) | Value::Map(m) => out.extend(m.clone()),
            other => {
                return Err(FnError::new(format!(
                    "arguments must be maps or objects, but argument {} is {}",
                    i + 1,
                    describe(other)
                ))
                .arg(i));
            }
        }
    }
    if all_maps {
        return convert(
            &TypeConstraint::Map(Box::new(TypeConstraint::Any)),
            Value::Object(out),
        )
        .map_err(FnError::new);
    }
    Ok(Value::Object(out))
}

pub(super) fn lookup(a: Args) -> FnResult {
    let a = a.arity(2, 3)?;
    let m = a.map(0)?;
    let key = a.string(1)?;
    match m.get(&key) {
        Some(v) => Ok(v.clone()),
        None => match a.v.get(2) {
            Some(d) if matches!(a.v[0], Value::Map(_)) => {
                let types: Vec<TypeConstraint> = m.values().map(type_of).collect();
                let ty = unify(&types).unwrap_or(TypeConstraint::Any);
                convert(&ty, d.clone()).map_err(|e| {
                    FnError::new(format!("the default does not fit the map: {e}")).arg(2)
                })
            }
            Some(d) => Ok(d.clone()),
            None => Err(
                FnError::new(format!("the map has no element with key \"{key}\""))
                    .arg(1)
                    .hint("give a default as the third argument"),
            ),
        },
    }
}

pub(super) fn element(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let xs = match a.not_null(0)? {
        Value::Set(_) => {
            return Err(FnError::new("cannot use element on a set")
                .arg(0)
                .hint("convert it with tolist(...)"));
        }
        _ => a.seq(0)?,
    };
    let i = a.int(1)?;
    if xs.is_empty() {
        return Err(FnError::new("cannot use element function with an empty list").arg(0));
    }
    if i < 0 {
        return Err(FnError::new("cannot use element function with a negative index").arg(1));
    }
    Ok(xs[(i as usize) % xs.len()].clone())
}

pub(super) fn contains(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let xs = a.seq(0)?;
    let needle = a.get(1)?;
    Ok(Value::Bool(xs.iter().any(|x| values_equal(x, needle))))
}

pub(super) fn index(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let xs = a.seq(0)?;
    let needle = a.get(1)?;
    xs.iter()
        .position(|x| values_equal(x, needle))
        .map(|i| Value::Number(i as f64))
        .ok_or_else(|| FnError::new("item not found").arg(1))
}

pub(super) fn keys(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    match a.not_null(0)? {
        Value::Object(m) => Ok(Value::Tuple(
            m.keys().map(|k| Value::String(k.clone())).collect(),
        )),
        Value::Map(m) => Ok(Value::List(
            m.keys().map(|k| Value::String(k.clone())).collect(),
        )),
        other => {
            Err(FnError::new(format!("must be a map or object, not {}", describe(other))).arg(0))
        }
    }
}

pub(super) fn values(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    match a.not_null(0)? {
        Value::Object(m) => Ok(Value::Tuple(m.values().cloned().collect())),
        Value::Map(m) => Ok(Value::List(m.values().cloned().collect())),
        other => {
            Err(FnError::new(format!("must be a map or object, not {}", describe(other))).arg(0))
        }
    }
}

pub(super) fn zipmap(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let keys = a.string_list(0)?;
    let vals = a.seq(1)?;
    if keys.len() != vals.len() {
        return Err(FnError::new(format!(
            "{} keys but {} values: the lists must have the same length",
            keys.len(),
            vals.len()
        )));
    }
    let m: BTreeMap<String, Value> = keys.into_iter().zip(vals).collect();
    match a.v[1] {
        Value::Tuple(_) => Ok(Value::Object(m)),
        _ => Ok(Value::Map(m)),
    }
}

pub(super) fn flatten(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.seq(0)?;
    let mut out = Vec::new();
    if !flatten_into(xs, &mut out) {
        return Ok(Value::Unknown);
    }
    Ok(Value::Tuple(out))
}

/// Returns false when an unknown nested list makes the result unknown.
fn flatten_into(xs: Vec<Value>, out: &mut Vec<Value>) -> bool {
    for x in xs {
        match x {
            Value::Tuple(inner) | Value::List(inner) | Value::Set(inner) => {
                if !flatten_into(inner, out) {
                    return false;
                }
            }
            Value::Unknown => return false,
            other => out.push(other),
        }
    }
    true
}

pub(super) fn distinct(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.list(0)?;
    // Arguments reach functions unmarked, so exact equality is Terraform's equality here;
    // a hash set keeps `distinct` of 100,000 items linear.
    let mut seen = std::collections::HashSet::new();
    let out: Vec<Value> = xs
        .into_iter()
        .filter(|x| seen.insert(x.equality_key()))
        .collect();
    Ok(Value::List(out))
}

pub(super) fn compact(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.seq(0)?;
    let mut out = Vec::new();
    for x in xs {
        match x {
            Value::Null => {}
            Value::Unknown => return Ok(Value::Unknown),
            Value::String(s) if s.is_empty() => {}
            other => match convert(&TypeConstraint::String, other) {
                Ok(s) => out.push(s),
                Err(m) => return Err(FnError::new(m).arg(0)),
            },
        }
    }
    Ok(Value::List(out))
}

pub(super) fn coalesce(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    let types: Vec<TypeConstraint> = a.v.iter().map(type_of).collect();
    let ty = unify(&types).ok_or_else(|| {
        FnError::new("all arguments must have the same type")
            .hint("convert them, e.g. with tostring(...)")
    })?;
    for v in &a.v {
        match v {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            other => return convert(&ty, other.clone()).map_err(FnError::new),
        }
    }
    Err(FnError::new("no non-null, non-empty-string arguments")
        .hint("add a last argument that is never empty"))
}

pub(super) fn coalescelist(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    for (i, v) in a.v.iter().enumerate() {
        match v {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) if !xs.is_empty() => {
                return Ok(v.clone());
            }
            Value::Tuple(_) | Value::List(_) | Value::Set(_) | Value::Null => {}
            other => {
                return Err(FnError::new(format!(
                    "arguments must be lists, but argument {} is {}",
                    i + 1,
                    describe(other)
                ))
                .arg(i));
            }
        }
    }
    Err(FnError::new("no non-null arguments"))
}

pub(super) fn range(a: Args) -> FnResult {
    let a = a.arity(1, 3)?;
    let (start, end, step) = match a.v.len() {
        1 => {
            let e = a.number(0)?;
            (0.0, e, if e < 0.0 { -1.0 } else { 1.0 })
        }
        2 => {
            let (s, e) = (a.number(0)?, a.number(1)?);
            (s, e, if e < s { -1.0 } else { 1.0 })
        }
        _ => (a.number(0)?, a.number(1)?, a.number(2)?),
    };
    if step == 0.0 {
        return Err(FnError::new("step must not be zero").arg(2));
    }
    if (step > 0.0 && start > end) || (step < 0.0 && start < end) {
        let dir = if step > 0.0 { "positive" } else { "negative" };
        return Err(FnError::new(format!(
            "a {dir} step needs start {} end",
            if step > 0.0 { "<=" } else { ">=" }
        ))
        .hint(format!("the step is {dir}")));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(Value::Number(x));
        if out.len() > 1024 {
            return Err(
                FnError::new("more than 1024 numbers in the range").hint("use a larger step")
            );
        }
        x += step;
    }
    Ok(Value::List(out))
}

pub(super) fn one(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.seq(0)?;
    match xs.len() {
        0 => Ok(Value::Null),
        1 => Ok(xs.into_iter().next().unwrap_or(Value::Null)),
        n => Err(FnError::new(format!(
            "must be a list, set or tuple of zero or one elements, but it has {n}"
        ))
        .arg(0)),
    }
}

pub(super) fn sort(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let mut xs = a.string_list(0)?;
    xs.sort();
    Ok(Value::List(xs.into_iter().map(Value::String).collect()))
}

pub(super) fn reverse(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let mut xs = a.seq(0)?;
    xs.reverse();
    match a.v[0] {
        Value::Tuple(_) => Ok(Value::Tuple(xs)),
        _ => Ok(Value::List(xs)),
    }
}

pub(super) fn slice(a: Args) -> FnResult {
    let a = a.arity(3, 3)?;
    let xs = a.seq(0)?;
    let start = a.int(1)?;
    let end = a.int(2)?;
    if start < 0 || end < start || end as usize > xs.len() {
        return Err(FnError::new(format!(
            "the range [{start}, {end}) is outside the list of {} elements",
            xs.len()
        )));
    }
    let part = xs[start as usize..end as usize].to_vec();
    match a.v[0] {
        Value::Tuple(_) => Ok(Value::Tuple(part)),
        _ => Ok(Value::List(part)),
    }
}

pub(super) enum SetOp {
    Union,
    Intersection,
    Subtract,
}

pub(super) fn set_op(a: Args, op: SetOp) -> FnResult {
    let a = match op {
        SetOp::Subtract => a.arity(2, 2)?,
        _ => a.arity(1, usize::MAX)?,
    };
    let sets: Vec<Vec<Value>> = (0..a.v.len()).map(|i| a.seq(i)).collect::<Result<_, _>>()?;
    // Each set's members by their equality key (arguments arrive unmarked, so exact
    // equality is Terraform's here): linear, not quadratic, in the sets' sizes.
    let keys = |xs: &[Value]| -> std::collections::HashSet<String> {
        xs.iter().map(Value::equality_key).collect()
    };
    let result: Vec<Value> = match op {
        SetOp::Union => sets.concat(),
        SetOp::Intersection => {
            let others: Vec<_> = sets[1..].iter().map(|s| keys(s)).collect();
            sets[0]
                .iter()
                .filter(|x| {
                    let key = x.equality_key();
                    others.iter().all(|s| s.contains(&key))
                })
                .cloned()
                .collect()
        }
        SetOp::Subtract => {
            let removed = keys(&sets[1]);
            sets[0]
                .iter()
                .filter(|x| !removed.contains(&x.equality_key()))
                .cloned()
                .collect()
        }
    };
    set_of(result)
}

pub(super) fn setproduct(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    let sets: Vec<Vec<Value>> = (0..a.v.len()).map(|i| a.seq(i)).collect::<Result<_, _>>()?;
    // The product's size is known before it is built: five lists of 100 would be 10^10 rows.
    let rows_count = sets
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.len()))
        .unwrap_or(usize::MAX);
    limits::check_elements(rows_count, "the product")?;
    let mut rows: Vec<Vec<Value>> = vec![vec![]];
    for s in &sets {
        rows = rows
            .into_iter()
            .flat_map(|r| s.iter().map(move |x| [r.clone(), vec![x.clone()]].concat()))
            .collect();
    }
    let rows: Vec<Value> = rows.into_iter().map(Value::Tuple).collect();
    list_of(rows)
}

pub(super) fn all_any(a: Args, all: bool) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.seq(0)?;
    let mut result = all;
    for (i, x) in xs.into_iter().enumerate() {
        let b = match x {
            Value::Null => false,
            x => match convert(&TypeConstraint::Bool, x) {
                Ok(Value::Bool(b)) => b,
                _ => return Err(FnError::new(format!("element {i} is not a bool")).arg(0)),
            },
        };
        if all {
            result &= b;
        } else {
            result |= b;
        }
    }
    Ok(Value::Bool(result))
}

pub(super) fn chunklist(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let xs = a.list(0)?;
    let size = a.int(1)?;
    if size < 0 {
        return Err(FnError::new("the chunk size must not be negative").arg(1));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(xs)]));
    }
    Ok(Value::List(
        xs.chunks(size as usize)
            .map(|c| Value::List(c.to_vec()))
            .collect(),
    ))
}

pub(super) fn transpose(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let m = a.map(0)?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in m {
        let xs = v
            .as_seq()
            .ok_or_else(|| FnError::new("values must be lists of strings").arg(0))?;
        for x in xs {
            let s = x
                .as_str()
                .ok_or_else(|| FnError::new("values must be lists of strings").arg(0))?;
            out.entry(s.to_string())
                .or_default()
                .push(Value::String(k.clone()));
        }
    }
    Ok(Value::Map(
        out.into_iter().map(|(k, v)| (k, Value::List(v))).collect(),
    ))
}

pub(super) fn matchkeys(a: Args) -> FnResult {
    let a = a.arity(3, 3)?;
    let vals = a.seq(0)?;
    let keys = a.seq(1)?;
    let search = a.seq(2)?;
    if vals.len() != keys.len() {
        return Err(FnError::new(
            "the values and keys lists must have the same length",
        ));
    }
    let out: Vec<Value> = vals
        .into_iter()
        .zip(keys)
        .filter(|(_, k)| search.iter().any(|s| values_equal(s, k)))
        .map(|(v, _)| v)
        .collect();
    list_of(out)
}

pub(super) fn min_max(a: Args, max: bool) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    let mut best: Option<f64> = None;
    for i in 0..a.v.len() {
        let n = a.number(i)?;
        best = Some(match best {
            None => n,
            Some(b) if max => b.max(n),
            Some(b) => b.min(n),
        });
    }
    Ok(Value::Number(best.unwrap_or(0.0)))
}

pub(super) fn sum(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let xs = a.seq(0)?;
    if xs.is_empty() {
        return Err(FnError::new("cannot sum an empty list").arg(0));
    }
    let mut total = 0.0;
    for x in xs {
        match convert(&TypeConstraint::Number, x) {
            Ok(Value::Number(n)) => total += n,
            _ => return Err(FnError::new("every element must be a number").arg(0)),
        }
    }
    Ok(Value::Number(total))
}
