//! Values printed exactly as `terraform console` prints them: the form users know from
//! Terraform, and what the differential test compares against real Terraform.

use std::fmt::Write as _;

use forge_provider::Value;

pub use crate::number::number_text;
use crate::types::{TypeConstraint, type_name, type_of, unify};

/// Renders a value as `terraform console` does: quoted strings (multi-line ones as a
/// heredoc), `tolist([...])`, `toset([...])`, `tomap({...})`, multi-line tuples and objects
/// with two-space indents, `null`, `(known after apply)` and `(sensitive value)`.
pub fn render_console(v: &Value) -> String {
    let mut out = String::new();
    render(v, 0, None, &mut out);
    out
}

/// `elem_hint` is the element type of the enclosing collection, for typed nulls
/// (`tolist(["a", null])` prints `tostring(null)` for the null).
fn render(v: &Value, indent: usize, elem_hint: Option<&TypeConstraint>, out: &mut String) {
    match v {
        Value::Null => match elem_hint.and_then(typed_null) {
            Some(t) => out.push_str(&t),
            None => out.push_str("null"),
        },
        Value::Unknown => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(*n)),
        Value::String(s) => render_string(s, indent, out),
        Value::Tuple(xs) => render_seq(xs, indent, None, out),
        Value::List(xs) => {
            out.push_str("tolist(");
            render_seq(xs, indent, Some(&element_type(xs)), out);
            out.push(')');
        }
        Value::Set(xs) => {
            out.push_str("toset(");
            render_seq(xs, indent, Some(&element_type(xs)), out);
            out.push(')');
        }
        Value::Object(m) => render_map(m, indent, None, out),
        Value::Map(m) => {
            out.push_str("tomap(");
            let vals: Vec<Value> = m.values().cloned().collect();
            render_map(m, indent, Some(&element_type(&vals)), out);
            out.push(')');
        }
    }
}

fn element_type(xs: &[Value]) -> TypeConstraint {
    let types: Vec<TypeConstraint> = xs.iter().map(type_of).collect();
    unify(&types).unwrap_or(TypeConstraint::Any)
}

fn typed_null(t: &TypeConstraint) -> Option<String> {
    match t {
        TypeConstraint::Any => None,
        TypeConstraint::String => Some("tostring(null)".into()),
        TypeConstraint::Number => Some("tonumber(null)".into()),
        TypeConstraint::Bool => Some("tobool(null)".into()),
        TypeConstraint::List(_) => Some("tolist(null)".into()),
        TypeConstraint::Set(_) => Some("toset(null)".into()),
        TypeConstraint::Map(_) => Some("tomap(null)".into()),
        other => Some(format!("null /* {} */", type_name(other))),
    }
}

fn render_string(s: &str, indent: usize, out: &mut String) {
    if s.contains('\n') {
        render_heredoc(s, indent, out);
    } else {
        quote(s, out);
    }
}

/// A multi-line string as a heredoc: `<<EOT` at the top level, `<<-EOT` with every line
/// indented when nested. The delimiter grows (`EOT_`) until no line of the text equals it.
fn render_heredoc(s: &str, indent: usize, out: &mut String) {
    let mut delim = String::from("EOT");
    while s.split('\n').any(|l| l == delim) {
        delim.push('_');
    }
    if indent == 0 {
        let _ = write!(out, "<<{delim}\n{s}\n{delim}");
        return;
    }
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "<<-{delim}");
    for line in s.split('\n') {
        let _ = writeln!(out, "{pad}{line}");
    }
    let _ = write!(out, "{pad}{delim}");
}

/// A quoted string with Go's escapes, as Terraform prints it.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !is_printable(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's notion of a printable character, approximately: not a control, format or
/// non-ASCII space character.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xAD | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0xFEFF)
}

fn render_seq(xs: &[Value], indent: usize, hint: Option<&TypeConstraint>, out: &mut String) {
    if xs.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push_str("[\n");
    let pad = " ".repeat(indent + 2);
    for x in xs {
        out.push_str(&pad);
        render(x, indent + 2, hint, out);
        out.push_str(",\n");
    }
    out.push_str(&" ".repeat(indent));
    out.push(']');
}

fn render_map(
    m: &std::collections::BTreeMap<String, Value>,
    indent: usize,
    hint: Option<&TypeConstraint>,
    out: &mut String,
) {
    if m.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    let pad = " ".repeat(indent + 2);
    for (k, v) in m {
        out.push_str(&pad);
        render_string(k, indent + 2, out);
        out.push_str(" = ");
        render(v, indent + 2, hint, out);
        out.push('\n');
    }
    out.push_str(&" ".repeat(indent));
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_terraform() {
        assert_eq!(number_text(1e20), "100000000000000000000");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(-1.5), "-1.5");
        assert_eq!(number_text(0.000_125), "0.000125");
        assert_eq!(number_text(123.456), "123.456");
    }

    #[test]
    fn collections_print_with_their_conversion_function() {
        let v = Value::List(vec![Value::string("a"), Value::Null]);
        assert_eq!(
            render_console(&v),
            "tolist([\n  \"a\",\n  tostring(null),\n])"
        );
        let m = Value::object([("a", Value::Tuple(vec![Value::Number(1.0)]))]);
        assert_eq!(render_console(&m), "{\n  \"a\" = [\n    1,\n  ]\n}");
        assert_eq!(render_console(&Value::Map(Default::default())), "tomap({})");
    }
}
