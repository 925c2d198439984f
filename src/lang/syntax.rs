//! Parsed HCL that remembers where every piece came from.
//!
//! The evaluator works on hcl-edit's expression tree; these wrappers pair it with its
//! source file so that every diagnostic can name `file:line:col`.
//!
//! Parsing with hcl-edit and conversion of its structure tree into our `Body` wrappers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl_edit::Span;
use hcl_edit::structure;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};

/// A source file's path and text, with line starts for span -> line:col.
///
/// For a `.tf.json` file, `text` is the HCL the JSON front-end translated it to (what the
/// evaluator reads), and `shown` the JSON the user wrote: locations are reported there.
#[derive(Debug)]
pub struct SourceFile {
    pub path: Arc<PathBuf>,
    pub text: String,
    line_starts: Vec<usize>,
    shown: Option<Box<ShownText>>,
}

/// The text locations are reported in, when it is not the text parsed: a byte offset of
/// the parsed text maps to `to + (offset - from)` (at most `len` on) in `file` by the last
/// run whose `from` is not after it.
#[derive(Debug)]
pub(crate) struct ShownText {
    pub(crate) file: Arc<SourceFile>,
    /// (from, to, len), sorted by `from`.
    pub(crate) runs: Vec<(usize, usize, usize)>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: String) -> Arc<SourceFile> {
        Arc::new(Self::plain(path.into(), text))
    }

    fn plain(path: PathBuf, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: Arc::new(path),
            text,
            line_starts,
            shown: None,
        }
    }

    /// A parsed text whose locations are reported in `shown` (see [`ShownText`]).
    pub(crate) fn translated(text: String, shown: ShownText) -> Arc<SourceFile> {
        let mut file = Self::plain(shown.file.path.as_ref().clone(), text);
        file.path = shown.file.path.clone();
        file.shown = Some(Box::new(shown));
        Arc::new(file)
    }

    /// The location of a byte range.
    pub fn location(&self, span: std::ops::Range<usize>) -> Location {
        if let Some(shown) = &self.shown {
            let map = |at: usize| {
                let i = shown.runs.partition_point(|r| r.0 <= at);
                match i.checked_sub(1).and_then(|i| shown.runs.get(i)) {
                    Some(&(from, to, len)) => to + (at - from).min(len),
                    None => 0,
                }
            };
            let start = map(span.start);
            let end = map(span.end.max(span.start)).max(start);
            return shown.file.location(start..end);
        }
        let start = span.start.min(self.text.len());
        let line_idx = self
            .line_starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        let line_start = self.line_starts[line_idx];
        let line_end = self
            .line_starts
            .get(line_idx + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        let line_text = self
            .text
            .get(line_start..line_end)
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_string();
        let col = self
            .text
            .get(line_start..start)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        let end = span.end.min(line_end).max(start);
        let width = self
            .text
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(1)
            .max(1);
        Location {
            file: self.path.clone(),
            line: line_idx + 1,
            col,
            line_text,
            width,
        }
    }
}

/// A body: the attributes and blocks of a file or of a block.
#[derive(Clone, Debug)]
pub struct Body {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<Block>,
    pub file: Arc<SourceFile>,
}

impl Body {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn blocks_of<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.ident == ident)
    }
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub expr: Expr,
    /// Where the attribute's name stands.
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub ident: String,
    pub labels: Vec<String>,
    pub body: Body,
    /// Where the block's keyword stands.
    pub location: Location,
}

/// An unevaluated expression and its source.
#[derive(Clone, Debug)]
pub struct Expr {
    pub(crate) inner: hcl_edit::expr::Expression,
    pub(crate) file: Arc<SourceFile>,
}

/// One step of a reference after its root name.
#[derive(Clone, Debug, PartialEq)]
pub enum RefStep {
    Attr(String),
    /// An index known statically (`[0]`, `["uploads"]`); `None` when it is computed.
    Index(Option<forge_provider::Value>),
}

/// A reference an expression makes: `var.name`, `aws_s3_bucket.files.arn`,
/// `dependency.sqs.outputs.queue_arn`, `each.value`. Used to build graphs and to report
/// unknown names.
#[derive(Clone, Debug)]
pub struct Reference {
    pub root: String,
    pub steps: Vec<RefStep>,
    pub location: Location,
}

impl Reference {
    /// The first attribute name after the root (`name` in `var.name`), if any.
    pub fn first_attr(&self) -> Option<&str> {
        match self.steps.first() {
            Some(RefStep::Attr(a)) => Some(a),
            _ => None,
        }
    }
}

/// Reads and parses a file. Syntax errors come back as diagnostics with locations.
pub fn parse_file(path: &Path) -> Result<Body, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(crate::Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })?;
    parse_str(path, text)
}

/// Parses text as an HCL file named `path` (the name is used in diagnostics only).
pub fn parse_str(path: &Path, text: String) -> Result<Body, Diagnostics> {
    let file = SourceFile::new(path, text);
    parse_body(file)
}

/// Parses text as a single expression (the console and tests use this); `path` names it in
/// diagnostics.
pub fn parse_expr_str(path: &Path, text: String) -> Result<Expr, Diagnostics> {
    let file = SourceFile::new(path, text);
    parse_expr(file)
}

/// Parses a whole file into a body, or a diagnostic pointing at the syntax error.
pub(crate) fn parse_body(file: Arc<SourceFile>) -> Result<Body, Diagnostics> {
    match hcl_edit::parser::parse_body(&file.text) {
        Ok(body) => Ok(convert_body(&body, &file)),
        Err(err) => Err(syntax_error(&file, &err).into()),
    }
}

/// Parses a single expression (used by tests and the console).
pub(crate) fn parse_expr(file: Arc<SourceFile>) -> Result<Expr, Diagnostics> {
    // Trailing blank space (a newline after a heredoc) is not part of the expression;
    // trimming the end keeps every span valid for the full text.
    match hcl_edit::parser::parse_expr(file.text.trim_end()) {
        Ok(inner) => Ok(Expr { inner, file }),
        Err(err) => Err(syntax_error(&file, &err).into()),
    }
}

fn syntax_error(file: &SourceFile, err: &hcl_edit::parser::Error) -> Diagnostic {
    let offset = err.location().offset();
    let location = file.location(offset..offset + 1);
    let message = err.message();
    let summary = if message.is_empty() {
        "invalid HCL syntax".to_string()
    } else {
        format!("invalid HCL syntax: {message}")
    };
    Diagnostic::error(summary)
        .at(location)
        .hint("check for unbalanced brackets or quotes, a missing `=` or a missing newline between attributes")
}

fn convert_body(body: &structure::Body, file: &Arc<SourceFile>) -> Body {
    let mut attributes = Vec::new();
    let mut blocks = Vec::new();
    for structure in body.iter() {
        match structure {
            structure::Structure::Attribute(attr) => attributes.push(convert_attribute(attr, file)),
            structure::Structure::Block(block) => blocks.push(convert_block(block, file)),
        }
    }
    Body {
        attributes,
        blocks,
        file: file.clone(),
    }
}

fn convert_attribute(attr: &structure::Attribute, file: &Arc<SourceFile>) -> Attribute {
    let span = attr.key.span().or_else(|| attr.span()).unwrap_or(0..0);
    Attribute {
        name: attr.key.as_str().to_string(),
        expr: Expr {
            inner: attr.value.clone(),
            file: file.clone(),
        },
        location: file.location(span),
    }
}

fn convert_block(block: &structure::Block, file: &Arc<SourceFile>) -> Block {
    let span = block.ident.span().or_else(|| block.span()).unwrap_or(0..0);
    Block {
        ident: block.ident.as_str().to_string(),
        labels: block
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect(),
        body: convert_body(&block.body, file),
        location: file.location(span),
    }
}

/// A location for a span, or the start of the file when the parser gave none.
pub(crate) fn location_of(file: &SourceFile, span: Option<std::ops::Range<usize>>) -> Location {
    file.location(span.unwrap_or(0..0))
}
