//! `yamlencode` in the style Terraform writes YAML: keys and strings double-quoted,
//! multi-line strings as literal blocks, block collections in compact form.

use std::collections::BTreeMap;

use forge_provider::Value;

use super::{Args, FnResult};
use crate::number::number_text;

pub(super) fn yamlencode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    Ok(Value::String(document(a.get(0)?)))
}

fn document(v: &Value) -> String {
    let mut out = String::new();
    match v.unmarked() {
        Value::Object(m) | Value::Map(m) if !m.is_empty() => write_map(m, 0, &mut out),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) if !xs.is_empty() => {
            write_seq(xs, 0, &mut out)
        }
        Value::String(s) => match block_scalar(s, 0) {
            Some(block) => out.push_str(&block),
            None => {
                out.push_str(&quoted(s));
                out.push('\n');
            }
        },
        Value::Object(_) | Value::Map(_) | Value::Tuple(_) | Value::List(_) | Value::Set(_) => {
            out.push_str(&inline(v));
            out.push('\n');
        }
        other => {
            // A plain scalar document ends with an explicit end marker.
            out.push_str(&inline(other));
            out.push_str("\n...\n");
        }
    }
    out
}

/// A value that fits on the line after `key:` or `- `: scalars and empty collections.
fn inline(v: &Value) -> String {
    match v.unmarked() {
        Value::Null | Value::Unknown => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(*n),
        Value::String(s) => quoted(s),
        Value::Object(_) | Value::Map(_) => "{}".into(),
        _ => "[]".into(),
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A multi-line string as a literal block (`|`, or `|-` without a final newline), with
/// its lines indented under `indent`; `None` when the string cannot be written that way.
fn block_scalar(s: &str, indent: usize) -> Option<String> {
    let body = s.strip_suffix('\n').unwrap_or(s);
    let representable = s.contains('\n')
        && !s.starts_with([' ', '\t'])
        && !body.ends_with('\n')
        && !s.contains(['\r', '\t'])
        && !s.chars().any(|c| (c as u32) < 0x20 && c != '\n')
        && body.split('\n').all(|l| !l.ends_with(' '));
    if !representable {
        return None;
    }
    let pad = " ".repeat(indent + 2);
    let mut out = String::from(if s.ends_with('\n') { "|\n" } else { "|-\n" });
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
        }
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

fn is_block(v: &Value) -> bool {
    match v.unmarked() {
        Value::Object(m) | Value::Map(m) => !m.is_empty(),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => !xs.is_empty(),
        _ => false,
    }
}

fn write_map(m: &BTreeMap<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        out.push_str(&pad);
        out.push_str(&quoted(k));
        out.push(':');
        write_after_key(v, indent, out);
    }
}

fn write_after_key(v: &Value, indent: usize, out: &mut String) {
    match v.unmarked() {
        Value::Object(m) | Value::Map(m) if is_block(v) => {
            out.push('\n');
            write_map(m, indent + 2, out);
        }
        // A sequence under a key is not indented further.
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) if is_block(v) => {
            out.push('\n');
            write_seq(xs, indent, out);
        }
        Value::String(s) if block_scalar(s, indent).is_some() => {
            out.push(' ');
            out.push_str(&block_scalar(s, indent).unwrap_or_default());
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_seq(xs: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for x in xs {
        match x.unmarked() {
            // A collection in a sequence starts on the dash's line.
            Value::Object(m) | Value::Map(m) if is_block(x) => {
                let mut nested = String::new();
                write_map(m, indent + 2, &mut nested);
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&nested[indent + 2..]);
            }
            Value::Tuple(inner) | Value::List(inner) | Value::Set(inner) if is_block(x) => {
                let mut nested = String::new();
                write_seq(inner, indent + 2, &mut nested);
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&nested[indent + 2..]);
            }
            Value::String(s) if block_scalar(s, indent).is_some() => {
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&block_scalar(s, indent).unwrap_or_default());
            }
            other => {
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}
