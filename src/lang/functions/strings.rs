//! String functions.

use forge_provider::Value;

use super::{Args, FnError, FnResult, limits, list_of};
use crate::number::number_text;
use crate::types::TypeConstraint;
use crate::types::convert;

/// The string split into characters as a user sees them (extended grapheme clusters,
/// approximately): combining marks, variation selectors, emoji modifiers and zero-width
/// joiner sequences stay with the character they modify.
pub(crate) fn graphemes(s: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut prev_zwj = false;
    for (i, c) in s.char_indices() {
        if i > 0 && !is_extender(c) && !prev_zwj {
            out.push(&s[start..i]);
            start = i;
        }
        prev_zwj = c == '\u{200D}';
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn is_extender(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0xFE00..=0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// Go's per-character case mapping: a character whose mapping would need several
/// characters (such as `ß`) stays as it is.
pub(super) fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mapped: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if mapped.len() == 1 { mapped[0] } else { c }
        })
        .collect()
}

pub(super) fn join(a: Args) -> FnResult {
    let a = a.arity(2, usize::MAX)?;
    let sep = a.string(0)?;
    let mut parts = Vec::new();
    for i in 1..a.v.len() {
        parts.extend(a.string_list(i)?);
    }
    Ok(Value::String(parts.join(&sep)))
}

pub(super) fn split(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let sep = a.string(0)?;
    let s = a.string(1)?;
    let parts: Vec<Value> = if s.is_empty() {
        vec![Value::String(String::new())]
    } else if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect()
    };
    Ok(Value::List(parts))
}

pub(super) fn replace(a: Args) -> FnResult {
    let a = a.arity(3, 3)?;
    let s = a.string(0)?;
    let pattern = a.string(1)?;
    let with = a.string(2)?;
    if pattern.len() > 1 && pattern.starts_with('/') && pattern.ends_with('/') {
        let re = compile(&pattern[1..pattern.len() - 1], 1)?;
        // Terraform uses Go's `$1` / `${name}` replacement syntax, as the regex crate does.
        return Ok(Value::String(
            re.replace_all(&s, with.as_str()).into_owned(),
        ));
    }
    if pattern.is_empty() {
        // Go's strings.Replace with an empty pattern inserts between every character.
        let mut out = String::from(with.as_str());
        for c in s.chars() {
            out.push(c);
            out.push_str(&with);
        }
        return Ok(Value::String(out));
    }
    Ok(Value::String(s.replace(&pattern, &with)))
}

fn compile(pattern: &str, arg: usize) -> Result<regex::Regex, FnError> {
    regex::Regex::new(pattern).map_err(|e| {
        FnError::new(format!(
            "invalid regular expression: {}",
            e.to_string().lines().last().unwrap_or("syntax error")
        ))
        .arg(arg)
        .hint("Terraform uses RE2 syntax; escape special characters with \\\\")
    })
}

pub(super) fn title(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_';
    }
    Ok(Value::String(out))
}

pub(super) fn trim(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let s = a.string(0)?;
    let cut = a.string(1)?;
    Ok(Value::String(
        s.trim_matches(|c| cut.contains(c)).to_string(),
    ))
}

pub(super) fn chomp(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    Ok(Value::String(s.trim_end_matches(['\n', '\r']).to_string()))
}

pub(super) fn indent(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let n = a.int(0)?;
    let s = a.string(1)?;
    let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    // Checked before anything is allocated: `indent(1e300, ...)` must be an error.
    let breaks = s.matches('\n').count();
    let len = n
        .checked_mul(breaks)
        .and_then(|pads| pads.checked_add(s.len()))
        .unwrap_or(usize::MAX);
    if breaks > 0 {
        limits::check_string_len(len, "the indented string").map_err(|e| e.arg(0))?;
    }
    if breaks == 0 {
        return Ok(Value::String(s));
    }
    let pad = " ".repeat(n);
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

pub(super) fn substr(a: Args) -> FnResult {
    let a = a.arity(3, 3)?;
    let text = a.string(0)?;
    let s: Vec<&str> = graphemes(&text);
    let mut offset = a.int(1)?;
    let length = a.int(2)?;
    let len = s.len() as i64;
    if offset < 0 {
        offset += len;
    }
    if offset < 0 {
        return Err(FnError::new("offset is out of range for the string").arg(1));
    }
    if offset >= len {
        return Ok(Value::String(String::new()));
    }
    let end = if length < 0 {
        len
    } else {
        (offset + length).min(len)
    };
    Ok(Value::String(
        s[offset as usize..end.max(offset) as usize].concat(),
    ))
}

pub(super) fn parseint(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let s = a.string(0)?;
    let base = a.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(FnError::new(format!(
            "base must be a whole number between 2 and 62 inclusive, not {base}"
        ))
        .arg(1));
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let mut n: f64 = 0.0;
    if digits.is_empty() {
        return Err(FnError::new(format!("cannot parse \"{s}\" as a base {base} integer")).arg(0));
    }
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => -1,
        };
        if d < 0 || d >= base {
            return Err(
                FnError::new(format!("cannot parse \"{s}\" as a base {base} integer")).arg(0),
            );
        }
        n = n * base as f64 + d as f64;
    }
    Ok(Value::Number(if neg { -n } else { n }))
}

pub(super) fn regex_fn(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let re = compile(&a.string(0)?, 0)?;
    let s = a.string(1)?;
    let caps = re.captures(&s).ok_or_else(|| {
        FnError::new("the pattern did not match any part of the string")
            .arg(1)
            .hint("use regexall(...) or can(regex(...)) when a match is optional")
    })?;
    Ok(captures_value(&re, &caps))
}

pub(super) fn regexall(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let re = compile(&a.string(0)?, 0)?;
    let s = a.string(1)?;
    let all: Vec<Value> = re
        .captures_iter(&s)
        .map(|c| captures_value(&re, &c))
        .collect();
    list_of(all)
}

/// What one match gives: the whole match without groups, a list of the groups, or an
/// object of the named groups.
fn captures_value(re: &regex::Regex, caps: &regex::Captures<'_>) -> Value {
    let group = |m: Option<regex::Match<'_>>| {
        m.map(|m| Value::String(m.as_str().to_string()))
            .unwrap_or(Value::Null)
    };
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.is_empty() {
        return group(caps.get(0));
    }
    if names.iter().any(Option::is_some) {
        return Value::Object(
            names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (n.to_string(), group(caps.get(i + 1)))))
                .collect(),
        );
    }
    Value::Tuple((1..=names.len()).map(|i| group(caps.get(i))).collect())
}

pub(super) fn format_fn(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    // Terraform gives an unknown result when a value to format is null.
    if a.v[1..].iter().any(Value::is_null) {
        return Ok(Value::Unknown);
    }
    let spec = a.string(0)?;
    Ok(Value::String(
        format_values(&spec, &a.v[1..]).map_err(|e| e.arg(0))?,
    ))
}

pub(super) fn formatlist(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    let spec = a.string(0)?;
    let mut len: Option<usize> = None;
    for (i, v) in a.v.iter().enumerate().skip(1) {
        if let Some(xs) = v.as_seq() {
            match len {
                Some(l) if l != xs.len() => {
                    return Err(FnError::new(format!(
                        "argument {} has {} elements but an earlier list has {l}",
                        i + 1,
                        xs.len()
                    ))
                    .arg(i));
                }
                _ => len = Some(xs.len()),
            }
        }
    }
    let Some(n) = len else {
        return list_of(vec![Value::String(format_values(&spec, &a.v[1..])?)]);
    };
    let mut out = Vec::new();
    for row in 0..n {
        let vals: Vec<Value> = a.v[1..]
            .iter()
            .map(|v| match v.as_seq() {
                Some(xs) => xs[row].clone(),
                None => v.clone(),
            })
            .collect();
        out.push(Value::String(format_values(&spec, &vals)?));
    }
    Ok(Value::List(out))
}

/// Go-style `fmt` verbs as Terraform's `format` supports them: `%s %d %f %e %g %t %q %v %x
/// %X %o %b %%`, with flags (`-`, `0`, `+`, space), width, precision and `%[n]` indexes.
pub(crate) fn format_values(spec: &str, vals: &[Value]) -> Result<String, FnError> {
    let mut out = String::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut next = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        let mut left = false;
        let mut zero = false;
        let mut plus = false;
        let mut space = false;
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'[') {
            let close = chars[i..].iter().position(|c| *c == ']').map(|p| p + i);
            let Some(close) = close else {
                return Err(FnError::new("unclosed `[` in the format string"));
            };
            let n: String = chars[i + 1..close].iter().collect();
            let n: usize = n
                .parse()
                .map_err(|_| FnError::new("invalid argument index in the format string"))?;
            if n == 0 {
                return Err(FnError::new(
                    "argument indexes in the format string count from 1",
                ));
            }
            next = n - 1;
            i = close + 1;
        }
        let mut width = String::new();
        while let Some(d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            width.push(*d);
            i += 1;
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
                p.push(*d);
                i += 1;
            }
            let parsed: usize = if p.is_empty() {
                0
            } else {
                p.parse().unwrap_or(usize::MAX)
            };
            if parsed > limits::MAX_FORMAT_WIDTH {
                return Err(FnError::new(format!(
                    "the precision in the format string is too large (more than {})",
                    limits::MAX_FORMAT_WIDTH
                )));
            }
            precision = Some(parsed);
        }
        let Some(&verb) = chars.get(i) else {
            return Err(FnError::new(
                "the format string ends in the middle of a verb",
            ));
        };
        i += 1;
        let Some(val) = vals.get(next) else {
            return Err(FnError::new(format!(
                "not enough arguments for the format string: %{verb} needs argument {}",
                next + 1
            )));
        };
        next += 1;
        let mut text = format_verb(verb, val, precision, plus, space)?;
        let width: usize = if width.is_empty() {
            0
        } else {
            width.parse().unwrap_or(usize::MAX)
        };
        if width > limits::MAX_FORMAT_WIDTH {
            return Err(FnError::new(format!(
                "the width in the format string is too large (more than {})",
                limits::MAX_FORMAT_WIDTH
            )));
        }
        let len = text.chars().count();
        if len < width {
            let pad = width - len;
            if left {
                text.push_str(&" ".repeat(pad));
            } else if zero && matches!(verb, 'd' | 'f' | 'e' | 'g' | 'x' | 'X' | 'o' | 'b') {
                let (sign, digits) = if text.starts_with(['-', '+']) {
                    text.split_at(1)
                } else {
                    ("", text.as_str())
                };
                text = format!("{sign}{}{digits}", "0".repeat(pad));
            } else {
                text = format!("{}{text}", " ".repeat(pad));
            }
        }
        out.push_str(&text);
    }
    if next < vals.len() && !spec.contains("%[") {
        return Err(FnError::new(format!(
            "too many arguments: the format string uses {next} of {}",
            vals.len()
        )));
    }
    Ok(out)
}

fn format_verb(
    verb: char,
    val: &Value,
    precision: Option<usize>,
    plus: bool,
    space: bool,
) -> Result<String, FnError> {
    let num = |v: &Value| -> Result<f64, FnError> {
        match convert(&TypeConstraint::Number, v.clone()) {
            Ok(Value::Number(n)) => Ok(n),
            _ => Err(FnError::new(format!(
                "%{verb} needs a number, not {}",
                super::describe(v)
            ))),
        }
    };
    let signed = |s: String, n: f64| -> String {
        if n >= 0.0 && plus {
            format!("+{s}")
        } else if n >= 0.0 && space {
            format!(" {s}")
        } else {
            s
        }
    };
    if val.is_null() && verb != 'v' {
        return Err(FnError::new(format!(
            "null value cannot be formatted with %{verb}"
        )));
    }
    Ok(match verb {
        's' => match convert(&TypeConstraint::String, val.clone()) {
            Ok(Value::String(s)) => match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            },
            _ => {
                return Err(FnError::new(format!(
                    "%s needs a string, not {}",
                    super::describe(val)
                )));
            }
        },
        'q' => match convert(&TypeConstraint::String, val.clone()) {
            Ok(Value::String(s)) => serde_json::to_string(&s).unwrap_or_default(),
            _ => {
                return Err(FnError::new(format!(
                    "%q needs a string, not {}",
                    super::describe(val)
                )));
            }
        },
        't' => match convert(&TypeConstraint::Bool, val.clone()) {
            Ok(Value::Bool(b)) => b.to_string(),
            _ => {
                return Err(FnError::new(format!(
                    "%t needs a bool, not {}",
                    super::describe(val)
                )));
            }
        },
        'd' => {
            let n = num(val)?;
            if n.fract() != 0.0 {
                return Err(FnError::new(format!(
                    "%d needs a whole number, not {}",
                    number_text(n)
                )));
            }
            signed(format!("{n:.0}"), n)
        }
        'f' | 'F' => {
            let n = num(val)?;
            signed(format!("{n:.*}", precision.unwrap_or(6)), n)
        }
        'e' => {
            let n = num(val)?;
            signed(go_exp(n, precision.unwrap_or(6)), n)
        }
        'g' => {
            let n = num(val)?;
            signed(number_text(n), n)
        }
        'x' | 'X' | 'o' | 'b' => {
            let n = num(val)?;
            if n.fract() != 0.0 {
                return Err(FnError::new(format!("%{verb} needs a whole number")));
            }
            let i = n as i64;
            let (neg, u) = (i < 0, i.unsigned_abs());
            let digits = match verb {
                'x' => format!("{u:x}"),
                'X' => format!("{u:X}"),
                'o' => format!("{u:o}"),
                _ => format!("{u:b}"),
            };
            if neg { format!("-{digits}") } else { digits }
        }
        'v' => match val {
            Value::String(s) => s.clone(),
            Value::Null => "null".into(),
            Value::Number(n) => number_text(*n),
            Value::Bool(b) => b.to_string(),
            other => other.to_json().to_string(),
        },
        other => {
            return Err(FnError::new(format!("unsupported format verb %{other}"))
                .hint("use %s, %d, %f, %q, %t or %v"));
        }
    })
}

/// Go's `%e`: mantissa with `precision` decimals and an exponent of at least two digits.
fn go_exp(n: f64, precision: usize) -> String {
    let s = format!("{n:.precision$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("{m}e{sign}{:02}", e.abs())
}
