//! HCL's JSON syntax (`*.tf.json`): a front-end that reads a JSON file into the same
//! [`Body`] the native syntax gives, so everything downstream (the configuration model,
//! references, evaluation) is shared.
//!
//! JSON cannot say by itself whether a property is an argument or a nested block, nor
//! whether a string is a template, a literal or a reference: that depends on where it
//! stands. The caller says so with a [`BodySpec`] per block type (Terraform's rules:
//! <https://developer.hashicorp.com/terraform/language/syntax/json>). The front-end then
//! writes the equivalent native HCL and parses it, keeping a map from every byte of that
//! text back to the JSON, so diagnostics name `file:line:col` in the `.json` file and show
//! its line.
//!
//! The JSON front-end: a JSON parser that keeps byte positions (and, for strings, where
//! every decoded byte came from), and the translation of a JSON body to native HCL text
//! with a position map back to the JSON.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use hcl_edit::Span;
use hcl_edit::template::{Directive, Element, Template};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::syntax::{Body, ShownText, SourceFile};

/// How a property's value is read when it is an argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueMode {
    /// Terraform's expression mapping: strings are templates (`"${var.x}"`), numbers,
    /// bools and null literal, arrays tuples, objects objects (keys are templates too).
    #[default]
    Expression,
    /// Taken literally: strings are not templates (`variable` defaults, descriptions,
    /// `module` source, `terraform` settings).
    Literal,
    /// A string (or an array of strings) holding a reference, a keyword or a type written
    /// as in native syntax without quotes: `"aws.west"`, `["aws_s3_bucket.b"]`, `"all"`,
    /// `"list(string)"`.
    Reference,
    /// `module`'s `providers`: an object of provider addresses, `{"aws": "aws.west"}`.
    ProviderMap,
}

/// How the properties of one block body are read.
#[derive(Clone, Default)]
pub struct BodySpec {
    /// Nested block types by name; every other property is an argument.
    pub blocks: BTreeMap<String, BlockSpec>,
    /// How arguments are read, by name; the rest by `default_mode`.
    pub modes: BTreeMap<String, ValueMode>,
    pub default_mode: ValueMode,
    /// Only blocks belong here (the top level of a file): a property that is not a known
    /// block type is passed on as an empty block of that name, for the caller to report
    /// as an unknown block type.
    pub only_blocks: bool,
}

impl BodySpec {
    pub fn block(
        mut self,
        name: &str,
        labels: usize,
        body: impl Fn(&[String]) -> BodySpec + Send + Sync + 'static,
    ) -> Self {
        self.blocks.insert(
            name.to_string(),
            BlockSpec {
                labels,
                body: Arc::new(body),
            },
        );
        self
    }
    pub fn mode(mut self, name: &str, mode: ValueMode) -> Self {
        self.modes.insert(name.to_string(), mode);
        self
    }
    pub fn default_mode(mut self, mode: ValueMode) -> Self {
        self.default_mode = mode;
        self
    }
}

/// The spec of a block's body given its labels.
pub type BodyOfLabels = Arc<dyn Fn(&[String]) -> BodySpec + Send + Sync>;

/// A nested block type: how many labels it takes, and the spec of its body given them
/// (a resource's body depends on its type label).
#[derive(Clone)]
pub struct BlockSpec {
    pub labels: usize,
    pub body: BodyOfLabels,
}

/// A parsed JSON file, ready to be read as a body.
pub struct JsonFile {
    pub(crate) source: Arc<SourceFile>,
    pub(crate) root: Node,
}

impl JsonFile {
    /// The file as a body read with `spec`. Wrong shapes (an argument given where a block
    /// belongs, a reference that is not a string, a bad template) come back as diagnostics
    /// located in the JSON.
    pub fn body(&self, spec: &BodySpec) -> Result<Body, Diagnostics> {
        translate(self, spec)
    }

    pub fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }
}

/// Reads and parses a JSON file.
pub fn parse_json_file(path: &Path) -> Result<JsonFile, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(crate::Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })?;
    parse_json_str(path, text)
}

/// Parses text as a JSON file named `path` (the name is used in diagnostics only).
pub fn parse_json_str(path: &Path, text: String) -> Result<JsonFile, Diagnostics> {
    let source = SourceFile::new(path, text);
    let root = parse(&source)?;
    Ok(JsonFile { source, root })
}

/// Deeper nesting than this is refused (guards the stack against pathological input).
const MAX_DEPTH: usize = 256;

// ---------------------------------------------------------------------------------------
// Parsing

/// A JSON string: its decoded value and, for each byte of it (and one past the end), the
/// offset in the file of the character it came from.
#[derive(Debug)]
pub(crate) struct JStr {
    pub(crate) value: String,
    pos: Vec<usize>,
    span: Range<usize>,
}

impl JStr {
    /// Where the decoded byte `i` came from.
    fn at(&self, i: usize) -> usize {
        self.pos
            .get(i)
            .copied()
            .unwrap_or(self.span.end.saturating_sub(1))
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    Null(Range<usize>),
    Bool(bool, Range<usize>),
    /// The number as written (JSON's number syntax is a subset of HCL's).
    Num(String, Range<usize>),
    Str(JStr),
    Arr(Vec<Node>, Range<usize>),
    /// Members in order; duplicates kept (HCL gives them meaning: several blocks).
    Obj(Vec<(JStr, Node)>, Range<usize>),
}

impl Node {
    fn span(&self) -> Range<usize> {
        match self {
            Node::Null(s)
            | Node::Bool(_, s)
            | Node::Num(_, s)
            | Node::Arr(_, s)
            | Node::Obj(_, s) => s.clone(),
            Node::Str(s) => s.span.clone(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Null(_) => "null",
            Node::Bool(..) => "a bool",
            Node::Num(..) => "a number",
            Node::Str(_) => "a string",
            Node::Arr(..) => "an array",
            Node::Obj(..) => "an object",
        }
    }
}

pub(crate) fn parse(source: &Arc<SourceFile>) -> Result<Node, Diagnostics> {
    let mut p = Parser {
        text: source.text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let result = p.value().and_then(|v| {
        p.ws();
        if p.at < p.text.len() {
            Err((
                p.at,
                "unexpected text after the top-level value".to_string(),
            ))
        } else {
            Ok(v)
        }
    });
    result.map_err(|(at, what)| {
        Diagnostic::error(format!("invalid JSON: {what}"))
            .at(source.location(at..at + 1))
            .hint("a .tf.json file must be strict JSON: no comments (use a \"//\" property), no trailing commas, every string in double quotes")
            .into()
    })
}

type PResult<T> = Result<T, (usize, String)>;

struct Parser<'t> {
    text: &'t [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, c: u8, what: &str) -> PResult<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err((self.at, format!("expected {what}")))
        }
    }

    fn value(&mut self) -> PResult<Node> {
        self.ws();
        let start = self.at;
        match self.peek() {
            Some(b'{') => self.nested(|p| p.object(start)),
            Some(b'[') => self.nested(|p| p.array(start)),
            Some(b'"') => self.string().map(Node::Str),
            Some(b't') => self.word("true").map(|_| Node::Bool(true, start..self.at)),
            Some(b'f') => self
                .word("false")
                .map(|_| Node::Bool(false, start..self.at)),
            Some(b'n') => self.word("null").map(|_| Node::Null(start..self.at)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err((
                start,
                "expected a value (an object, array, string, number, true, false or null)"
                    .to_string(),
            )),
            None => Err((start, "unexpected end of file".to_string())),
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> PResult<Node>) -> PResult<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((self.at, format!("values nested more than {MAX_DEPTH} deep")));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn word(&mut self, w: &str) -> PResult<()> {
        if self.text[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            Ok(())
        } else {
            Err((
                self.at,
                "expected a value (an object, array, string, number, true, false or null)"
                    .to_string(),
            ))
        }
    }

    fn number(&mut self) -> PResult<Node> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let s = p.at;
            while let Some(b'0'..=b'9') = p.peek() {
                p.at += 1;
            }
            p.at > s
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        if self.peek() == Some(b'0') {
            self.at += 1;
        } else if !digits(self) {
            return Err((self.at, "expected a digit".to_string()));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return Err((
                    self.at,
                    "expected a digit after the decimal point".to_string(),
                ));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !digits(self) {
                return Err((self.at, "expected a digit in the exponent".to_string()));
            }
        }
        let raw = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        Ok(Node::Num(raw, start..self.at))
    }

    fn string(&mut self) -> PResult<JStr> {
        let start = self.at;
        self.at += 1;
        let mut value = String::new();
        let mut pos = Vec::new();
        loop {
            let here = self.at;
            let Some(b) = self.peek() else {
                return Err((start, "this string is never closed".to_string()));
            };
            match b {
                b'"' => {
                    self.at += 1;
                    break;
                }
                b'\\' => {
                    self.at += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.text[self.at..].starts_with(b"\\u") {
                                    return Err((
                                        here,
                                        "a UTF-16 high surrogate must be followed by a low one"
                                            .to_string(),
                                    ));
                                }
                                self.at += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err((
                                        here,
                                        "a UTF-16 high surrogate must be followed by a low one"
                                            .to_string(),
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or((here, "\\u escape of a lone surrogate".to_string()))?;
                            self.at -= 1; // the common step below moves past the last hex digit
                            c
                        }
                        _ => return Err((
                            here,
                            "unknown escape (JSON knows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
                                .to_string(),
                        )),
                    };
                    self.at += 1;
                    let mut buf = [0u8; 4];
                    for _ in 0..c.encode_utf8(&mut buf).len() {
                        pos.push(here);
                    }
                    value.push(c);
                }
                0..=0x1f => return Err((
                    here,
                    "a control character (such as a line break) must be escaped inside a string"
                        .to_string(),
                )),
                _ => {
                    // One UTF-8 character, copied as it is.
                    let len = match b {
                        0xF0..=0xFF => 4,
                        0xE0..=0xEF => 3,
                        0xC0..=0xDF => 2,
                        _ => 1,
                    };
                    let end = (self.at + len).min(self.text.len());
                    let s = std::str::from_utf8(&self.text[self.at..end])
                        .map_err(|_| (here, "invalid UTF-8".to_string()))?;
                    value.push_str(s);
                    pos.extend(self.at..end);
                    self.at = end;
                }
            }
        }
        pos.push(self.at - 1);
        Ok(JStr {
            value,
            pos,
            span: start..self.at,
        })
    }

    fn hex4(&mut self) -> PResult<u32> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok());
        let code = digits
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or((self.at, "expected four hex digits after \\u".to_string()))?;
        self.at += 4;
        Ok(code)
    }

    fn object(&mut self, start: usize) -> PResult<Node> {
        self.at += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Node::Obj(members, start..self.at));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err((
                    self.at,
                    "expected a property name in double quotes".to_string(),
                ));
            }
            let key = self.string()?;
            self.expect(b':', "`:` after the property name")?;
            let value = self.value()?;
            members.push((key, value));
            self.ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Node::Obj(members, start..self.at));
                }
                _ => return Err((self.at, "expected `,` or `}`".to_string())),
            }
        }
    }

    fn array(&mut self, start: usize) -> PResult<Node> {
        self.at += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Node::Arr(items, start..self.at));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Node::Arr(items, start..self.at));
                }
                _ => return Err((self.at, "expected `,` or `]`".to_string())),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Translation to native syntax

pub(crate) fn translate(file: &JsonFile, spec: &BodySpec) -> Result<Body, Diagnostics> {
    let mut t = Translator {
        json: &file.source,
        out: String::new(),
        runs: Vec::new(),
        diags: Diagnostics::new(),
    };
    match &file.root {
        Node::Obj(members, _) => t.body(members, spec),
        other => t.error(
            other.span(),
            format!(
                "the top level of a JSON configuration file must be an object, not {}",
                other.kind()
            ),
            "write {\"resource\": {...}, \"variable\": {...}, ...}: one property per block type",
        ),
    }
    if !t.diags.is_empty() {
        return Err(t.diags);
    }
    let translated = SourceFile::translated(
        t.out,
        ShownText {
            file: file.source.clone(),
            runs: t.runs,
        },
    );
    crate::syntax::parse_body(translated)
}

struct Translator<'a> {
    json: &'a Arc<SourceFile>,
    out: String,
    /// See [`ShownText::runs`].
    runs: Vec<(usize, usize, usize)>,
    diags: Diagnostics,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A provider address as `providers` takes it: `aws` or `aws.west`.
fn is_provider_address(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_identifier(p))
}

/// How a character of literal text is written inside a quoted HCL string, when not as is.
fn quoted_escape(c: char) -> Option<String> {
    match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        '\n' => Some("\\n".into()),
        '\r' => Some("\\r".into()),
        '\t' => Some("\\t".into()),
        c if (c as u32) < 0x20 || c == '\u{7f}' => Some(format!("\\u{:04x}", c as u32)),
        _ => None,
    }
}

/// The byte ranges of literal text in a template, directives' bodies included.
fn literal_spans(t: &Template, out: &mut Vec<Range<usize>>) {
    for el in t.iter() {
        match el {
            Element::Literal(l) => out.extend(l.span()),
            Element::Interpolation(_) => {}
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    literal_spans(&d.if_expr.template, out);
                    if let Some(e) = &d.else_expr {
                        literal_spans(&e.template, out);
                    }
                }
                Directive::For(d) => literal_spans(&d.for_expr.template, out),
            },
        }
    }
}

impl Translator<'_> {
    /// Appends `text`, which stands for the JSON at byte `at`: character for character when
    /// `same` (so positions inside it map exactly), else as a whole.
    fn put(&mut self, text: &str, at: usize, same: bool) {
        let here = self.out.len();
        match self.runs.last_mut() {
            Some(last)
                if same && last.2 > 0 && last.0 + last.2 == here && last.1 + last.2 == at =>
            {
                last.2 += text.len()
            }
            _ => self
                .runs
                .push((here, at, if same { text.len() } else { 0 })),
        }
        self.out.push_str(text);
    }

    fn error(&mut self, span: Range<usize>, summary: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(summary)
                .at(self.json.location(span))
                .hint(hint),
        );
    }

    fn body(&mut self, members: &[(JStr, Node)], spec: &BodySpec) {
        let mut arguments: BTreeMap<&str, &JStr> = BTreeMap::new();
        for (key, value) in members {
            let name = key.value.as_str();
            if name == "//" {
                continue;
            }
            if let Some(block) = spec.blocks.get(name) {
                self.blocks(key, value, block, &mut Vec::new());
                continue;
            }
            if spec.only_blocks {
                if is_identifier(name) {
                    // Passed on empty: the caller reports an unknown block type by name.
                    self.put(name, key.span.start + 1, false);
                    self.put(" {\n}\n", key.span.start, false);
                } else {
                    let known: Vec<&str> = spec.blocks.keys().map(String::as_str).collect();
                    self.error(
                        key.span.clone(),
                        format!("`{name}` is not a block type"),
                        format!("the properties here are block types: {}", known.join(", ")),
                    );
                }
                continue;
            }
            if !is_identifier(name) {
                self.error(key.span.clone(), format!("`{name}` is not a valid argument name"), "argument names start with a letter or `_` and hold letters, digits, `_` and `-`");
                continue;
            }
            if let Some(first) = arguments.get(name) {
                let first_at = self.json.location(first.span.clone());
                self.diags.push(
                    Diagnostic::error(format!("argument `{name}` is given twice in this block"))
                        .at(self.json.location(key.span.clone()))
                        .detail(format!("first given at {first_at}"))
                        .hint("remove one of them"),
                );
                continue;
            }
            arguments.insert(name, key);
            let mode = spec.modes.get(name).copied().unwrap_or(spec.default_mode);
            self.put(
                name,
                key.span.start + 1,
                key.value.len() + 2 == key.span.len(),
            );
            self.put(" = ", key.span.end, false);
            self.value(value, mode, name);
            self.put("\n", value.span().end, false);
        }
    }

    /// One property naming a block type: the label levels, then one body or an array of
    /// bodies.
    fn blocks<'j>(
        &mut self,
        ident: &JStr,
        value: &'j Node,
        spec: &BlockSpec,
        labels: &mut Vec<&'j JStr>,
    ) {
        let name = ident.value.as_str();
        if labels.len() < spec.labels {
            match value {
                Node::Obj(members, _) => {
                    for (label, inner) in members {
                        labels.push(label);
                        self.blocks(ident, inner, spec, labels);
                        labels.pop();
                    }
                }
                Node::Arr(items, _) => {
                    for item in items {
                        if let Node::Obj(..) = item {
                            self.blocks(ident, item, spec, labels);
                        } else {
                            self.label_error(name, item, spec.labels - labels.len());
                        }
                    }
                }
                other => self.label_error(name, other, spec.labels - labels.len()),
            }
            return;
        }
        match value {
            Node::Obj(members, span) => self.one_block(ident, labels, members, span, spec),
            Node::Arr(items, _) => {
                for item in items {
                    match item {
                        Node::Obj(members, span) => self.one_block(ident, labels, members, span, spec),
                        other => self.error(
                            other.span(),
                            format!("each element of `{name}` must be an object (the body of one `{name}` block), not {}", other.kind()),
                            format!("write \"{name}\": [{{...}}, {{...}}] for several blocks, or \"{name}\": {{...}} for one"),
                        ),
                    }
                }
            }
            other => match labels.last() {
                Some(last) => {
                    let header: Vec<String> = labels.iter().map(|l| format!("{:?}", l.value)).collect();
                    self.error(
                        other.span(),
                        format!("the body of {name} {} must be an object (or an array of objects), not {}", header.join(" "), other.kind()),
                        format!("write \"{}\": {{ ... }} with the block's arguments inside", last.value),
                    )
                }
                None => self.error(
                    other.span(),
                    format!("`{name}` is a block here: give an object (one block) or an array of objects (several), not {}", other.kind()),
                    format!("write \"{name}\": {{ ... }}"),
                ),
            },
        }
    }

    fn label_error(&mut self, name: &str, value: &Node, missing: usize) {
        let what = if missing == 1 {
            "label".to_string()
        } else {
            format!("{missing} labels")
        };
        self.error(
            value.span(),
            format!("`{name}` blocks take {what} here: expected an object whose property names are the labels, not {}", value.kind()),
            match name {
                "resource" | "data" => format!("write \"{name}\": {{\"<type>\": {{\"<name>\": {{ ... }}}}}}"),
                _ => format!("write \"{name}\": {{\"<name>\": {{ ... }}}}"),
            },
        );
    }

    fn one_block(
        &mut self,
        ident: &JStr,
        labels: &[&JStr],
        members: &[(JStr, Node)],
        span: &Range<usize>,
        spec: &BlockSpec,
    ) {
        // A block stands where its last label (its name) is written, else at its type.
        let at = labels.last().map_or(ident.span.start, |l| l.span.start) + 1;
        let mut values = Vec::new();
        for label in labels {
            if label.value.contains("${") || label.value.contains("%{") {
                self.error(
                    label.span.clone(),
                    format!("a block label cannot hold a template: {:?}", label.value),
                    "labels are plain names; write the name itself",
                );
                return;
            }
            values.push(label.value.clone());
        }
        self.put(&ident.value, at, false);
        for label in labels {
            self.put(" ", label.span.start, false);
            self.literal_string(label);
        }
        self.put(" {\n", span.start, false);
        let body = (spec.body)(&values);
        self.body(members, &body);
        self.put("}\n", span.end.saturating_sub(1), false);
    }

    fn value(&mut self, node: &Node, mode: ValueMode, name: &str) {
        match mode {
            ValueMode::Expression | ValueMode::Literal => {
                self.expression(node, mode == ValueMode::Literal)
            }
            ValueMode::Reference => match node {
                Node::Str(s) => self.reference(s, name),
                Node::Arr(items, span) => {
                    self.put("[", span.start, true);
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.put(", ", item.span().start, false);
                        }
                        match item {
                            Node::Str(s) => self.reference(s, name),
                            other => self.error(
                                other.span(),
                                format!("each element of `{name}` must be a string holding a reference, not {}", other.kind()),
                                format!("write \"{name}\": [\"aws_s3_bucket.files\"]"),
                            ),
                        }
                    }
                    self.put("]", span.end.saturating_sub(1), true);
                }
                other => self.error(
                    other.span(),
                    format!(
                        "`{name}` must be given as a string holding a reference or keyword, not {}",
                        other.kind()
                    ),
                    reference_example(name),
                ),
            },
            ValueMode::ProviderMap => match node {
                Node::Obj(members, span) => {
                    self.put("{\n", span.start, false);
                    for (key, value) in members {
                        let Node::Str(target) = value else {
                            self.error(value.span(), format!("`{name}` maps a provider to a provider address given as a string, not {}", value.kind()), "write \"providers\": {\"aws\": \"aws.west\"}");
                            continue;
                        };
                        for s in [key, target] {
                            if !is_provider_address(&s.value) {
                                self.error(s.span.clone(), format!("{:?} is not a provider address", s.value), "write the provider's name, or name.alias: \"aws\", \"aws.west\"");
                            }
                        }
                        self.put(&key.value, key.span.start + 1, false);
                        self.put(" = ", key.span.end, false);
                        self.put(&target.value, target.span.start + 1, false);
                        self.put("\n", target.span.end, false);
                    }
                    self.put("}", span.end.saturating_sub(1), true);
                }
                other => self.error(
                    other.span(),
                    format!("`{name}` must be an object, not {}", other.kind()),
                    "write \"providers\": {\"aws\": \"aws.west\"}",
                ),
            },
        }
    }

    fn expression(&mut self, node: &Node, literal: bool) {
        match node {
            Node::Null(span) => self.put("null", span.start, true),
            Node::Bool(b, span) => self.put(if *b { "true" } else { "false" }, span.start, true),
            Node::Num(raw, span) => self.put(raw, span.start, true),
            Node::Str(s) if literal => self.literal_string(s),
            Node::Str(s) => self.template(s),
            Node::Arr(items, span) => {
                self.put("[", span.start, true);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.put(", ", item.span().start, false);
                    }
                    self.expression(item, literal);
                }
                self.put("]", span.end.saturating_sub(1), true);
            }
            Node::Obj(members, span) => {
                self.put("{\n", span.start, false);
                for (key, value) in members {
                    if literal {
                        self.literal_string(key)
                    } else {
                        self.template(key)
                    }
                    self.put(" = ", key.span.end, false);
                    self.expression(value, literal);
                    self.put("\n", value.span().end, false);
                }
                self.put("}", span.end.saturating_sub(1), true);
            }
        }
    }

    /// A string taken as it is: a quoted HCL string with every template sequence escaped.
    fn literal_string(&mut self, s: &JStr) {
        self.put("\"", s.span.start, true);
        let mut chars = s.value.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = s.at(i);
            if (c == '$' || c == '%') && chars.peek().is_some_and(|(_, n)| *n == '{') {
                // `$${` is HCL's escape for a literal `${`.
                self.put(if c == '$' { "$$" } else { "%%" }, at, false);
                continue;
            }
            match quoted_escape(c) {
                Some(e) => self.put(&e, at, false),
                None => self.put(c.encode_utf8(&mut [0; 4]), at, true),
            }
        }
        self.put("\"", s.span.end.saturating_sub(1), true);
    }

    /// A string read as a template (Terraform's template syntax, no backslash escapes of
    /// its own): written as a quoted HCL template whose literal parts are escaped and whose
    /// interpolations and directives are copied as they are.
    fn template(&mut self, s: &JStr) {
        let template = match hcl_edit::parser::parse_template(&s.value) {
            Ok(t) => t,
            Err(e) => {
                let at = s.at(e.location().offset());
                let message = e.message();
                let summary = if message.is_empty() {
                    "invalid template in this string".to_string()
                } else {
                    format!("invalid template in this string: {message}")
                };
                self.error(at..at + 1, summary, "`${` starts an interpolation and `%{` a directive; write `$${` or `%%{` for the characters themselves");
                return;
            }
        };
        if s.value.contains('\n') && (s.value.contains("~}") || s.value.contains("{~")) {
            self.heredoc(s);
            return;
        }
        let mut literal = Vec::new();
        literal_spans(&template, &mut literal);
        self.put("\"", s.span.start, true);
        for (i, c) in s.value.char_indices() {
            let at = s.at(i);
            let in_literal = literal.iter().any(|r| r.contains(&i));
            match quoted_escape(c).filter(|_| in_literal) {
                Some(e) => self.put(&e, at, false),
                None => self.put(c.encode_utf8(&mut [0; 4]), at, true),
            }
        }
        self.put("\"", s.span.end.saturating_sub(1), true);
    }

    /// A template whose strip markers (`~`) stand next to a line break: HCL trims only up to
    /// the line break before a marker in template text, as in a heredoc, where a quoted
    /// string would trim across it; so it is written as a heredoc, as it is. The directive
    /// at its end strips the heredoc's own final line break, which the JSON string lacks.
    fn heredoc(&mut self, s: &JStr) {
        let mut marker = "JSON".to_string();
        while s.value.lines().any(|l| l.trim() == marker) {
            marker.push('_');
        }
        self.put(&format!("<<{marker}\n"), s.span.start, false);
        for (i, c) in s.value.char_indices() {
            self.put(c.encode_utf8(&mut [0; 4]), s.at(i), true);
        }
        self.put(
            &format!("%{{ if false }}%{{ endif ~}}\n{marker}\n"),
            s.span.end.saturating_sub(1),
            false,
        );
    }

    /// A string holding a reference, keyword or type, copied as native syntax.
    fn reference(&mut self, s: &JStr, name: &str) {
        let text = s.value.trim();
        if text.starts_with("${") && text.ends_with('}') {
            let inner = text.trim_start_matches("${").trim_end_matches('}').trim();
            self.error(
                s.span.clone(),
                format!("`{name}` takes a reference written without ${{ }}"),
                format!("write {inner:?}"),
            );
            return;
        }
        if text.is_empty() || text.chars().any(char::is_control) {
            self.error(
                s.span.clone(),
                format!(
                    "`{name}` must hold a reference, keyword or type, not {:?}",
                    s.value
                ),
                reference_example(name),
            );
            return;
        }
        for (i, c) in s.value.char_indices() {
            self.put(c.encode_utf8(&mut [0; 4]), s.at(i), true);
        }
    }
}

fn reference_example(name: &str) -> String {
    match name {
        "type" => "write the type as a string: \"type\": \"list(string)\"".to_string(),
        "provider" => "write \"provider\": \"aws.west\"".to_string(),
        "ignore_changes" => {
            "write \"ignore_changes\": [\"tags\"] or \"ignore_changes\": \"all\"".to_string()
        }
        _ => format!("write \"{name}\": [\"aws_s3_bucket.files\"]"),
    }
}
