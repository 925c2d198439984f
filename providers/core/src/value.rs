//! Values as the engine and the providers see them: Terraform's value model with the two
//! marks that matter for planning, *unknown* (known only after apply) and *sensitive*.
//!
//! Collections keep Terraform's distinction between the structural types written as
//! literals (tuple `[..]`, object `{..}`) and the collection types produced by conversion
//! (`list`, `set`, `map`), because functions and `terraform console` treat them
//! differently. Providers mostly need `Value::get`, `as_str` and the JSON conversions.

use std::collections::BTreeMap;
use std::fmt;

/// A value. `Unknown` and `Sensitive` are marks, not types: an unknown stands for a value
/// that exists after apply; a sensitive value behaves like its inner value but must never
/// be printed (Debug too shows only that it is there: `Sensitive(..)`).
#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    /// Known only after apply. Carries no type: operations on it yield unknown.
    Unknown,
    Bool(bool),
    Number(f64),
    String(String),
    /// A tuple: what a `[..]` literal makes. Elements may differ in type.
    Tuple(Vec<Value>),
    /// A list: every element of one type.
    List(Vec<Value>),
    /// A set: unique elements, kept in Terraform's set order (see `Value::sort_set`).
    Set(Vec<Value>),
    /// An object: what a `{..}` literal and a resource instance make. Attribute order is
    /// lexical, as in Terraform.
    Object(BTreeMap<String, Value>),
    /// A map: every element of one type.
    Map(BTreeMap<String, Value>),
    /// A sensitive value. Never nested directly inside another `Sensitive`.
    Sensitive(Box<Value>),
}

/// As derived, except that a sensitive value's contents never show: types that hold
/// values (states, plans, settings) print them with `{:?}` in logs and panics.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Unknown => f.write_str("Unknown"),
            Value::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            Value::Number(n) => f.debug_tuple("Number").field(n).finish(),
            Value::String(s) => f.debug_tuple("String").field(s).finish(),
            Value::Tuple(v) => f.debug_tuple("Tuple").field(v).finish(),
            Value::List(v) => f.debug_tuple("List").field(v).finish(),
            Value::Set(v) => f.debug_tuple("Set").field(v).finish(),
            Value::Object(m) => f.debug_tuple("Object").field(m).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Sensitive(_) => f.write_str("Sensitive(..)"),
        }
    }
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A set of the given elements: duplicates removed, in Terraform's set order.
    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        // One hash look-up per element: `toset` of 100,000 strings must not be quadratic.
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<Value> = Vec::new();
        for x in items {
            if seen.insert(x.equality_key()) {
                unique.push(x);
            }
        }
        Value::Set(Value::sort_set(unique))
    }

    /// A text that two values share exactly when they are equal (`==`): every variant,
    /// mark, key and element is spelled out, so it can stand for the value in a hash set.
    pub fn equality_key(&self) -> String {
        let mut key = String::new();
        equality_key(self, &mut key);
        key
    }

    /// Terraform's order for set elements: strings by bytes, numbers ascending, false
    /// before true; anything else by a canonical serialization of the element (what
    /// Terraform's value library compares). Elements with unknown parts keep their order.
    pub fn sort_set(mut items: Vec<Value>) -> Vec<Value> {
        if items.iter().all(|v| matches!(v, Value::String(_))) {
            items.sort_by(|a, b| a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")));
        } else if items.iter().all(|v| matches!(v, Value::Number(_))) {
            items.sort_by(|a, b| {
                a.as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&b.as_f64().unwrap_or(0.0))
            });
        } else if items.iter().all(|v| matches!(v, Value::Bool(_))) {
            items.sort_by_key(|v| v.as_bool());
        } else if items.iter().all(Value::is_wholly_known) {
            items.sort_by_cached_key(|v| {
                let mut key = String::new();
                set_order_key(v, &mut key);
                key
            });
        }
        items
    }

    /// Marks a value sensitive (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmarked(), Value::Null)
    }

    /// True when this value itself (not something nested) is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self.unmarked(), Value::Unknown)
    }

    /// True when this value and everything nested in it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(v) => v.is_wholly_known(),
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
                xs.iter().all(Value::is_wholly_known)
            }
            Value::Object(m) | Value::Map(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True when this value or anything nested in it is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
                xs.iter().any(Value::contains_sensitive)
            }
            Value::Object(m) | Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// The value without its top-level sensitive mark.
    pub fn unmarked(&self) -> &Value {
        match self {
            Value::Sensitive(v) => v,
            v => v,
        }
    }

    /// The value with every sensitive mark removed, at any depth.
    pub fn deep_unmarked(&self) -> Value {
        match self {
            Value::Sensitive(v) => v.deep_unmarked(),
            Value::Tuple(xs) => Value::Tuple(xs.iter().map(Value::deep_unmarked).collect()),
            Value::List(xs) => Value::List(xs.iter().map(Value::deep_unmarked).collect()),
            Value::Set(xs) => Value::Set(xs.iter().map(Value::deep_unmarked).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.deep_unmarked()))
                    .collect(),
            ),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.deep_unmarked()))
                    .collect(),
            ),
            v => v.clone(),
        }
    }

    /// Paths (attribute names and indexes) of every sensitive value inside this one.
    pub fn sensitive_paths(&self) -> Vec<Vec<PathStep>> {
        let mut out = Vec::new();
        collect_sensitive(self, &mut Vec::new(), &mut out);
        out
    }

    /// Marks the value at each path sensitive (paths that do not exist are ignored).
    pub fn mark_paths(mut self, paths: &[Vec<PathStep>]) -> Value {
        for path in paths {
            mark_at(&mut self, path);
        }
        self
    }

    /// An attribute of an object or an element of a map (through a sensitive mark).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.unmarked() {
            Value::Object(m) | Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// An attribute that is present and not null.
    pub fn get_non_null(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|v| !v.is_null())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.unmarked() {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64)
    }

    /// Elements of a tuple, list or set.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self.unmarked() {
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => Some(xs),
            _ => None,
        }
    }

    /// Attributes of an object or elements of a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmarked() {
            Value::Object(m) | Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A string attribute of an object, if present, known and a string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Object(_) => "object",
            Value::Map(_) => "map",
            Value::Sensitive(v) => v.kind_name(),
        }
    }

    /// Equality by meaning, for diffs: marks are ignored, tuple/list/set and object/map
    /// with the same elements compare equal, and sets compare regardless of order.
    pub fn same_as(&self, other: &Value) -> bool {
        match (self.unmarked(), other.unmarked()) {
            (Value::Number(a), Value::Number(b)) => a == b,
            // A set stored in state comes back as a JSON array (a tuple): when either side
            // is a set, the order means nothing.
            (Value::Set(a), Value::Set(b) | Value::Tuple(b) | Value::List(b))
            | (Value::Tuple(a) | Value::List(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.same_as(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.same_as(y)))
            }
            (Value::Tuple(a) | Value::List(a), Value::Tuple(b) | Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Value::Object(a) | Value::Map(a), Value::Object(b) | Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.same_as(w)))
            }
            (a, b) => a == b,
        }
    }

    /// Converts to JSON. Unknown values become `null` and sensitive marks are dropped, so
    /// callers that must not lose them check `is_wholly_known` / `sensitive_paths` first.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => J::String(s.clone()),
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
                J::Array(xs.iter().map(Value::to_json).collect())
            }
            Value::Object(m) | Value::Map(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Sensitive(v) => v.to_json(),
        }
    }

    /// Converts from JSON: arrays become tuples and objects become objects, as
    /// `jsondecode` does.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => Value::String(s.clone()),
            J::Array(xs) => Value::Tuple(xs.iter().map(Value::from_json).collect()),
            J::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// The canonical text set elements without a natural order are sorted by: objects as
/// `<v;v;>` (attributes in name order), tuples likewise, lists and sets as `[v;]`, maps as
/// `{"k":v;}`, strings quoted, `T`/`F`, `~` for null.
fn equality_key(v: &Value, out: &mut String) {
    use std::fmt::Write as _;
    let text = |s: &str, out: &mut String| {
        // Length-prefixed, so no content can imitate a separator.
        let _ = write!(out, "{}:{s}", s.len());
    };
    let seq = |tag: char, xs: &[Value], out: &mut String| {
        let _ = write!(out, "{tag}{}(", xs.len());
        for x in xs {
            equality_key(x, out);
        }
        out.push(')');
    };
    let map = |tag: char, m: &BTreeMap<String, Value>, out: &mut String| {
        let _ = write!(out, "{tag}{}(", m.len());
        for (k, x) in m {
            text(k, out);
            equality_key(x, out);
        }
        out.push(')');
    };
    match v {
        Value::Null => out.push('~'),
        Value::Unknown => out.push('?'),
        Value::Bool(b) => out.push(if *b { 'T' } else { 'F' }),
        // 0.0 and -0.0 are equal numbers: one key for both.
        Value::Number(n) => {
            let n = if *n == 0.0 { 0.0 } else { *n };
            let _ = write!(out, "n{:x};", n.to_bits());
        }
        Value::String(s) => {
            out.push('s');
            text(s, out);
        }
        Value::Tuple(xs) => seq('t', xs, out),
        Value::List(xs) => seq('l', xs, out),
        Value::Set(xs) => seq('e', xs, out),
        Value::Object(m) => map('o', m, out),
        Value::Map(m) => map('m', m, out),
        Value::Sensitive(inner) => {
            out.push('!');
            equality_key(inner, out);
        }
    }
}

fn set_order_key(v: &Value, out: &mut String) {
    let seq = |open: char, xs: &mut dyn Iterator<Item = &Value>, close: char, out: &mut String| {
        out.push(open);
        for x in xs {
            set_order_key(x, out);
            out.push(';');
        }
        out.push(close);
    };
    match v {
        Value::Unknown => out.push('?'),
        Value::Null => out.push('~'),
        Value::Sensitive(inner) => set_order_key(inner, out),
        Value::Number(n) => out.push_str(&number_to_json(*n).to_string()),
        Value::Bool(b) => out.push(if *b { 'T' } else { 'F' }),
        Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Value::Map(m) => {
            out.push('{');
            for (k, x) in m {
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                set_order_key(x, out);
                out.push(';');
            }
            out.push('}');
        }
        Value::List(xs) | Value::Set(xs) => seq('[', &mut xs.iter(), ']', out),
        Value::Object(m) => seq('<', &mut m.values(), '>', out),
        Value::Tuple(xs) => seq('<', &mut xs.iter(), '>', out),
    }
}

/// Integral numbers print without a fraction, as Terraform writes them.
pub fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::Number((n as i64).into())
    } else {
        serde_json::Number::from_f64(n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// One step of a path into a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    Attr(String),
    Index(usize),
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathStep::Attr(a) => write!(f, ".{a}"),
            PathStep::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn collect_sensitive(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Sensitive(_) => out.push(path.clone()),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
            for (i, x) in xs.iter().enumerate() {
                path.push(PathStep::Index(i));
                collect_sensitive(x, path, out);
                path.pop();
            }
        }
        Value::Object(m) | Value::Map(m) => {
            for (k, x) in m {
                path.push(PathStep::Attr(k.clone()));
                collect_sensitive(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn mark_at(v: &mut Value, path: &[PathStep]) {
    match path.split_first() {
        None => {
            let inner = std::mem::replace(v, Value::Null);
            *v = inner.sensitive();
        }
        Some((step, rest)) => {
            let target = match (v, step) {
                (Value::Object(m) | Value::Map(m), PathStep::Attr(k)) => m.get_mut(k),
                (Value::Tuple(xs) | Value::List(xs) | Value::Set(xs), PathStep::Index(i)) => {
                    xs.get_mut(*i)
                }
                (Value::Sensitive(_), _) => None, // already covered by an outer mark
                _ => None,
            };
            if let Some(t) = target {
                mark_at(t, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_paths_round_trip() {
        let v = Value::object([
            ("name", Value::string("a")),
            ("secret", Value::string("s").sensitive()),
            (
                "list",
                Value::List(vec![Value::Null, Value::Bool(true).sensitive()]),
            ),
        ]);
        let paths = v.sensitive_paths();
        assert_eq!(paths.len(), 2);
        let plain = v.deep_unmarked();
        assert!(!plain.contains_sensitive());
        assert_eq!(plain.mark_paths(&paths), v);
    }

    #[test]
    fn same_as_ignores_marks_and_set_order() {
        let a = Value::Set(vec![Value::string("x"), Value::string("y")]);
        let b = Value::Set(vec![Value::string("y"), Value::string("x").sensitive()]);
        assert!(a.same_as(&b));
        assert!(!a.same_as(&Value::Set(vec![Value::string("x")])));
        // A set read back from state as a tuple, in another order.
        let stored = Value::Tuple(vec![Value::string("y"), Value::string("x")]);
        assert!(a.same_as(&stored) && stored.same_as(&a));
        let dup = Value::Tuple(vec![Value::string("x"), Value::string("x")]);
        assert!(!a.same_as(&dup) && !dup.same_as(&a));
        // Tuples keep their order.
        let t = Value::Tuple(vec![Value::string("x"), Value::string("y")]);
        assert!(!t.same_as(&stored));
    }

    #[test]
    fn sets_keep_terraform_order() {
        let s = Value::set([Value::string("b"), Value::string("a"), Value::string("b")]);
        assert_eq!(s, Value::Set(vec![Value::string("a"), Value::string("b")]));
        let objs = Value::set([
            Value::object([("a", Value::Number(2.0))]),
            Value::object([("a", Value::Number(1.0))]),
        ]);
        assert_eq!(
            objs.as_seq().and_then(|xs| xs[0].get("a")),
            Some(&Value::Number(1.0))
        );
    }

    #[test]
    fn json_numbers_are_integral_when_whole() {
        assert_eq!(Value::Number(3.0).to_json().to_string(), "3");
        assert_eq!(Value::Number(0.5).to_json().to_string(), "0.5");
        assert!(!Value::Unknown.is_wholly_known());
    }

    #[test]
    fn debug_shows_that_a_value_is_sensitive_never_what_it_is() {
        let v = Value::Object(std::collections::BTreeMap::from([
            ("name".to_string(), Value::string("visible")),
            ("secret".to_string(), Value::string("hunter2").sensitive()),
        ]));
        let text = format!("{v:?}");
        assert!(
            text.contains("visible") && text.contains("Sensitive(..)"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
