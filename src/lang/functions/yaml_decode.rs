//! `yamldecode` with the rules of Terraform 1.11 (go-cty-yaml 1.1): one document;
//! mappings become objects, sequences tuples; plain scalars are typed by go-cty-yaml's
//! resolver (YAML 1.1 booleans such as `yes`/`on`/`y`, 1.2 core-schema integers and
//! floats, timestamps as RFC 3339 strings), quoted scalars stay strings; anchors, aliases
//! and `<<` merge keys are expanded. yaml-rust2 only tokenizes: every typing decision is
//! made here, so it follows Terraform rather than the parser's own schema.

use std::collections::{BTreeMap, HashMap};

use forge_provider::Value;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::limits::MAX_YAML_NODES;
use super::{Args, FnError, FnResult};
use crate::number::number_text;

pub(super) fn yamldecode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let src = a.string(0)?;
    decode(&src).map_err(|e| {
        FnError::new(e)
            .arg(0)
            .hint("the argument must hold exactly one valid YAML document")
    })
}

/// The whole text as one value, or the error Terraform would give (with the position).
pub(crate) fn decode(src: &str) -> Result<Value, String> {
    // go-yaml reads an empty input as a single newline; the outcome is the same
    // ("missing start of document"), kept for the same positions.
    let text = if src.is_empty() { "\n" } else { src };
    check_version_directive(text)?;
    let mut d = Decoder {
        text,
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        pending: HashMap::new(),
        nodes: 0,
    };
    let (ev, mark) = d.next()?;
    if !matches!(ev, Event::StreamStart) {
        return Err(at(mark, "missing stream start token"));
    }
    let (ev, mark) = d.next()?;
    if !matches!(ev, Event::DocumentStart) {
        return Err(at(mark, "missing start of document"));
    }
    let (ev, mark) = d.next()?;
    let value = d.node(ev, mark)?;
    let (ev, mark) = d.next()?;
    match ev {
        Event::DocumentEnd => {}
        Event::DocumentStart => return Err(at(mark, "only a single document is allowed")),
        _ => return Err(at(mark, "unexpected extra content after value")),
    }
    let (ev, mark) = d.next()?;
    match ev {
        Event::StreamEnd => Ok(value),
        Event::DocumentStart => Err(at(mark, "only a single document is allowed")),
        _ => Err(at(mark, "unexpected extra content after value")),
    }
}

/// libyaml reads YAML 1.1 documents only and refuses a `%YAML` directive naming another
/// version; yaml-rust2 ignores directives, so the check is made here.
fn check_version_directive(text: &str) -> Result<(), String> {
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            break;
        }
        if let Some(rest) = line.strip_prefix("%YAML") {
            let version = rest.split_whitespace().next().unwrap_or("");
            if version != "1.1" {
                return Err(format!(
                    "on line {}, column 1: found incompatible YAML document",
                    n + 1
                ));
            }
        }
    }
    Ok(())
}

/// go-yaml's error position style; yaml-rust2's columns count from 0.
fn at(mark: Marker, msg: &str) -> String {
    format!(
        "on line {}, column {}: {msg}",
        mark.line().max(1),
        mark.col() + 1
    )
}

struct Decoder<'a> {
    text: &'a str,
    parser: Parser<std::str::Chars<'a>>,
    /// Values of completed anchors, by yaml-rust2's anchor id, with the number of values
    /// each expands to.
    anchors: HashMap<usize, (Value, usize)>,
    /// Anchors whose node is still being read (an alias to one would be a cycle, which a
    /// value cannot hold), with the value count when their node began.
    pending: HashMap<usize, usize>,
    /// Values made so far, aliases counted at their full size: an alias is a copy, so a
    /// few hundred bytes of nested aliases (a "billion laughs") could otherwise expand to
    /// more than memory holds. Bounded by [`MAX_YAML_NODES`].
    nodes: usize,
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A tag in its short form (`!!str`), as go-cty-yaml's messages and checks use it.
fn tag_name(tag: &Option<Tag>) -> String {
    match tag {
        None => String::new(),
        Some(t) if t.handle == TAG_PREFIX || t.handle == "!!" => format!("!!{}", t.suffix),
        Some(t) => format!("{}{}", t.handle, t.suffix),
    }
}

impl Decoder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), String> {
        self.parser
            .next_token()
            .map_err(|e| at(*e.marker(), e.info()))
    }

    /// Counts `n` more values, failing past [`MAX_YAML_NODES`].
    fn count(&mut self, n: usize, mark: Marker) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_YAML_NODES {
            return Err(at(
                mark,
                &format!(
                    "the document expands to more than {MAX_YAML_NODES} values once its aliases are resolved, forge's limit"
                ),
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event, mark: Marker) -> Result<Value, String> {
        if !matches!(ev, Event::Alias(_)) {
            self.count(1, mark)?;
        }
        match ev {
            Event::Scalar(mut src, style, anchor, tag) => {
                if matches!(style, TScalarStyle::Literal | TScalarStyle::Folded)
                    && self.ends_without_line_break()?
                {
                    // libyaml keeps only the line breaks it read: a block scalar running
                    // to the end of a text with no final newline has none, while
                    // yaml-rust2 adds one.
                    if src.ends_with('\n') {
                        src.pop();
                    }
                }
                let v = resolve(&tag_name(&tag), &src, style).map_err(|e| at(mark, &e))?;
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), 1));
                }
                Ok(v)
            }
            Event::Alias(id) => {
                if self.pending.contains_key(&id) {
                    return Err(at(
                        mark,
                        "cannot refer to an anchor from inside its own definition",
                    ));
                }
                let Some(size) = self.anchors.get(&id).map(|(_, size)| *size) else {
                    return Err(at(mark, "reference to an undefined anchor"));
                };
                // Counted before the copy is made.
                self.count(size, mark)?;
                Ok(self
                    .anchors
                    .get(&id)
                    .map(|(v, _)| v.clone())
                    .unwrap_or(Value::Null))
            }
            Event::MappingStart(anchor, tag) => {
                let name = tag_name(&tag);
                if !name.is_empty() && name != "!!map" {
                    return Err(at(mark, &format!("can't interpret mapping as {name}")));
                }
                self.begin(anchor);
                let v = self.mapping()?;
                self.complete(anchor, &v);
                Ok(v)
            }
            Event::SequenceStart(anchor, tag) => {
                let name = tag_name(&tag);
                if !name.is_empty() && name != "!!seq" {
                    return Err(at(mark, &format!("can't interpret sequence as {name}")));
                }
                self.begin(anchor);
                let mut items = Vec::new();
                loop {
                    let (ev, mark) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, mark)?);
                }
                let v = Value::Tuple(items);
                self.complete(anchor, &v);
                Ok(v)
            }
            Event::DocumentStart => Err(at(mark, "only a single document is allowed")),
            Event::StreamEnd => Err(at(mark, "expecting value but found end of stream")),
            _ => Err(at(mark, "unexpected parser event")),
        }
    }

    /// Whether the parser has reached the end of a text whose last line is content (no
    /// final newline, not a comment).
    fn ends_without_line_break(&mut self) -> Result<bool, String> {
        if self.text.ends_with(['\n', '\r']) {
            return Ok(false);
        }
        let last_line = self.text.rsplit(['\n', '\r']).next().unwrap_or("");
        if last_line.trim_start().starts_with('#') {
            return Ok(false);
        }
        let chars = self.text.chars().count();
        match self.parser.peek() {
            Ok((_, mark)) => Ok(mark.index() >= chars),
            Err(e) => Err(at(*e.marker(), e.info())),
        }
    }

    fn begin(&mut self, anchor: usize) {
        if anchor > 0 {
            // The collection's own value was counted just before this.
            self.pending.insert(anchor, self.nodes.saturating_sub(1));
        }
    }

    fn complete(&mut self, anchor: usize, v: &Value) {
        if let Some(start) = self.pending.remove(&anchor) {
            self.anchors
                .insert(anchor, (v.clone(), self.nodes.saturating_sub(start)));
        }
    }

    /// A mapping's entries until its end; later keys win, `<<` merges a mapping in place.
    fn mapping(&mut self) -> Result<Value, String> {
        let mut out = BTreeMap::new();
        loop {
            let (ev, mark) = self.next()?;
            let (src, style, tag) = match ev {
                Event::MappingEnd => return Ok(Value::Object(out)),
                Event::Scalar(src, style, _, tag) => (src, style, tag),
                _ => return Err(at(mark, "only strings are allowed as mapping keys")),
            };
            let tag = tag_name(&tag);
            // go-cty-yaml takes `<<` as a merge key whatever its quoting.
            if src == "<<" && (tag.is_empty() || tag == "!!merge") {
                let (ev, vmark) = self.next()?;
                match self.node(ev, vmark)? {
                    Value::Object(m) => out.extend(m),
                    other => {
                        return Err(at(
                            mark,
                            &format!("cannot merge {} into mapping", friendly(&other)),
                        ));
                    }
                }
                continue;
            }
            let key = match resolve(&tag, &src, style).map_err(|e| at(mark, &e))? {
                Value::String(s) => s,
                Value::Number(n) => number_text(n),
                Value::Bool(b) => b.to_string(),
                Value::Null => return Err(at(mark, "mapping key cannot be null")),
                _ => return Err(at(mark, "only strings are allowed as mapping keys")),
            };
            let (ev, vmark) = self.next()?;
            let value = self.node(ev, vmark)?;
            out.insert(key, value);
        }
    }
}

fn friendly(v: &Value) -> &'static str {
    match v {
        Value::Tuple(_) => "tuple",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        _ => "value",
    }
}

/// go-cty-yaml's scalar resolution: the first character hints at what a plain scalar may
/// be; quoted scalars are strings; explicit `!!` tags force a type.
fn resolve(tag: &str, src: &str, style: TScalarStyle) -> Result<Value, String> {
    const STR: &str = "!!str";
    const BINARY: &str = "!!binary";
    if !matches!(
        tag,
        "" | STR | BINARY | "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp"
    ) {
        return Err(format!("unsupported tag \"{tag}\""));
    }
    let hint = match src.as_bytes().first() {
        None => 'N',
        Some(b'+' | b'-') => 'S',
        Some(b'0'..=b'9') => 'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => 'M',
        Some(b'.') => '.',
        Some(_) => '\0',
    };
    let mut tag = tag;
    if hint != '\0' && tag != STR && tag != BINARY {
        match style {
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                return Ok(Value::String(src.to_string()));
            }
            // Terraform types a block scalar (`|`, `>`) by its content like a plain one,
            // then turns a number or bool into its string (`|\n  y` gives "true").
            TScalarStyle::Literal | TScalarStyle::Folded => {
                return Ok(match resolve(tag, src, TScalarStyle::Plain)? {
                    Value::Number(n) => Value::String(number_text(n)),
                    Value::Bool(b) => Value::String(b.to_string()),
                    other => other,
                });
            }
            _ => {}
        }
        if let Some(v) = well_known(src) {
            return Ok(v);
        }
        if tag.is_empty() && matches!(src, ".nan" | ".NaN" | ".NAN") {
            return Err("floating point NaN is not supported".into());
        }
        match hint {
            '.' => {
                if let Some(n) = decimal(src) {
                    return Ok(Value::Number(n));
                }
            }
            'D' | 'S' => {
                if (tag.is_empty() || tag == "!!timestamp")
                    && let Some(t) = timestamp(src)
                {
                    return Ok(Value::String(t));
                }
                if is_core_int(src) {
                    tag = "!!int";
                } else if is_core_float(src) {
                    tag = "!!float";
                }
            }
            _ => {}
        }
    }
    match tag {
        STR => Ok(Value::String(src.to_string())),
        BINARY => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(src)
                .map(|_| Value::String(src.to_string()))
                .map_err(|_| format!("cannot parse \"{src}\" as {tag}: not valid base64"))
        }
        "!!bool" => match well_known(src) {
            Some(b @ Value::Bool(_)) => Ok(b),
            _ => Err(format!("cannot parse \"{src}\" as {tag}")),
        },
        "!!int" | "!!float" => {
            let plain = src.replace('_', "");
            decimal(&plain)
                .or_else(|| prefixed_int(&plain))
                .map(Value::Number)
                .ok_or_else(|| format!("cannot parse \"{src}\" as {tag}"))
        }
        "!!timestamp" => timestamp(src)
            .map(Value::String)
            .ok_or_else(|| format!("cannot parse \"{src}\" as {tag}")),
        "!!null" => Ok(Value::Null),
        _ => Ok(Value::String(src.to_string())),
    }
}

/// The words go-cty-yaml resolves by table: YAML 1.1 booleans, nulls and infinities.
fn well_known(src: &str) -> Option<Value> {
    Some(match src {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Number(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Number(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// A decimal number as Go's `big.ParseFloat(s, 10, ...)` reads it: sign, digits with at
/// most one point, optional exponent; no underscores, prefixes or words.
fn decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut digits = 0;
    let mut point = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Integers with a base prefix, as Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`)
/// reads them after `decimal` has failed: `0x`, `0o`, `0b`, or a leading `0` for octal.
fn prefixed_int(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        return None;
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        // ParseInt's range for negatives; ParseUint takes no sign.
        (magnitude <= 1u64 << 63).then(|| -(magnitude as f64))
    } else {
        Some(magnitude as f64)
    }
}

/// YAML 1.2 core-schema integers: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
fn is_core_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|c| c.is_ascii_digit()) {
        return true;
    }
    if let Some(d) = s.strip_prefix("0o") {
        return !d.is_empty() && d.bytes().all(|c| (b'0'..=b'7').contains(&c));
    }
    if let Some(d) = s.strip_prefix("0x") {
        return !d.is_empty() && d.bytes().all(|c| c.is_ascii_hexdigit());
    }
    false
}

/// YAML 1.2 core-schema floats (without the `.inf`/`.nan` words, handled by table):
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_core_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    if int_digits == 0 {
        // `.5` form: a point and at least one digit.
        if b.get(i) != Some(&b'.') {
            return false;
        }
        i += 1;
        let frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return false;
        }
        i += frac;
    } else if b.get(i) == Some(&b'.') {
        i += 1;
        i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// The timestamp forms go-cty-yaml accepts (Go layouts `2006-1-2T15:4:5.999999999Z07:00`,
/// the same with `t`, `2006-1-2 15:4:5.999999999` and `2006-1-2`), printed as RFC 3339
/// the way Go's `time.Format` does: fractions dropped, a zero offset as `Z`.
fn timestamp(s: &str) -> Option<String> {
    let mut r = Reader {
        s: s.as_bytes(),
        i: 0,
    };
    let year = r.fixed(4)?;
    r.lit(b'-')?;
    let month = r.short()?;
    r.lit(b'-')?;
    let day = r.short()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if r.done() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let zoned = match r.peek()? {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    r.i += 1;
    let hour = r.short()?;
    r.lit(b':')?;
    let minute = r.short()?;
    r.lit(b':')?;
    let second = r.short()?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Fractional seconds: Go accepts a point or a comma followed by digits.
    if matches!(r.peek(), Some(b'.' | b',')) && r.s.get(r.i + 1).is_some_and(u8::is_ascii_digit) {
        r.i += 1;
        while r.peek().is_some_and(|c| c.is_ascii_digit()) {
            r.i += 1;
        }
    }
    let time = format!("{date}T{hour:02}:{minute:02}:{second:02}");
    if !zoned {
        return r.done().then(|| format!("{time}Z"));
    }
    match r.peek()? {
        b'Z' => {
            r.i += 1;
            r.done().then(|| format!("{time}Z"))
        }
        sign @ (b'+' | b'-') => {
            r.i += 1;
            let oh = r.fixed(2)?;
            r.lit(b':')?;
            let om = r.fixed(2)?;
            if !r.done() || oh > 24 || om > 59 {
                return None;
            }
            if oh == 0 && om == 0 {
                return Some(format!("{time}Z"));
            }
            Some(format!("{time}{}{oh:02}:{om:02}", sign as char))
        }
        _ => None,
    }
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// Exactly `n` digits.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }
    /// One or two digits (Go's `1`, `2`, `15`, `4`, `5` layout fields).
    fn short(&mut self) -> Option<u32> {
        let first = self.fixed(1)?;
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                self.i += 1;
                Some(first * 10 + u32::from(c - b'0'))
            }
            _ => Some(first),
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
