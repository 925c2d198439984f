//! Parsed HCL that remembers where every piece came from.
//!
//! The evaluator works on hcl-edit's expression tree; these wrappers pair it with its
//! source file so that every diagnostic can name `file:line:col`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostics, Location};

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
    crate::syntax_impl::parse_body(file)
}

/// Parses text as a single expression (the console and tests use this); `path` names it in
/// diagnostics.
pub fn parse_expr_str(path: &Path, text: String) -> Result<Expr, Diagnostics> {
    let file = SourceFile::new(path, text);
    crate::syntax_impl::parse_expr(file)
}
