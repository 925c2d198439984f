//! Parsing with hcl-edit and conversion of its structure tree into our `Body` wrappers.

use std::sync::Arc;

use hcl_edit::Span;
use hcl_edit::structure;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::syntax::{Attribute, Block, Body, Expr, SourceFile};

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
