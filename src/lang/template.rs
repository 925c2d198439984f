//! Templates as HCL evaluates them. hcl-edit gives the template tree, but HCL's rules work
//! on the *token stream*: strip markers (`~`) trim the one literal token next to them, and
//! in a heredoc every line is its own literal token, so a marker never reaches past a line
//! break; `<<-` heredocs then remove the smallest indentation of all lines (after the
//! markers have done their work, so a line that now starts with a directive keeps every
//! line's indentation). So the template is flattened to tokens, read from the source text
//! (hcl-edit leaves escapes inside directives unprocessed), trimmed, flushed, and rebuilt.

#![allow(clippy::result_large_err)]

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::template::{Directive, Element, Interpolation, Strip, Template};

/// How literal text is written in the source.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// A quoted string: backslash escapes apply.
    Quoted,
    /// A heredoc or template file: no backslash escapes; one literal token per line.
    Heredoc {
        /// `<<-`: remove the common indentation.
        flush: bool,
    },
}

enum Tok<'t> {
    Lit(String),
    Interp(&'t Interpolation),
    If(&'t Expression),
    Else,
    EndIf,
    For {
        key: Option<String>,
        value: String,
        coll: &'t Expression,
    },
    EndFor,
}

/// A template ready to evaluate.
pub(crate) enum Node<'t> {
    Lit(String),
    Interp(&'t Interpolation),
    If {
        cond: &'t Expression,
        then: Vec<Node<'t>>,
        otherwise: Vec<Node<'t>>,
    },
    For {
        key: Option<String>,
        value: String,
        coll: &'t Expression,
        body: Vec<Node<'t>>,
    },
}

/// Turns a parsed template into nodes with literal text processed as HCL does.
pub(crate) fn prepare<'t>(t: &'t Template, source: &str, mode: Mode) -> Vec<Node<'t>> {
    let mut toks = Vec::new();
    let mut strips = Vec::new();
    flatten(t, source, mode, &mut toks, &mut strips);
    apply_strips(&mut toks, &strips);
    if mode == (Mode::Heredoc { flush: true }) {
        flush(&mut toks);
    }
    let mut iter = toks.into_iter().peekable();
    build(&mut iter)
}

/// Where strip markers ask for trimming: (token index, trim the previous literal, trim the
/// next literal).
type StripMark = (usize, bool, bool);

fn flatten<'t>(
    t: &'t Template,
    source: &str,
    mode: Mode,
    toks: &mut Vec<Tok<'t>>,
    strips: &mut Vec<StripMark>,
) {
    for el in t.iter() {
        match el {
            Element::Literal(l) => {
                let raw = l.span().and_then(|s| source.get(s)).map(str::to_string);
                let text = match (raw, mode) {
                    (Some(raw), Mode::Quoted) => unescape_quoted(&raw),
                    (Some(raw), Mode::Heredoc { .. }) => unescape_markers(&raw),
                    (None, _) => l.value().clone(),
                };
                match mode {
                    Mode::Quoted => toks.push(Tok::Lit(text)),
                    Mode::Heredoc { .. } => {
                        for line in text.split_inclusive('\n') {
                            toks.push(Tok::Lit(line.to_string()));
                        }
                    }
                }
            }
            Element::Interpolation(i) => {
                mark(strips, toks.len(), i.strip);
                toks.push(Tok::Interp(i));
            }
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    mark(strips, toks.len(), d.if_expr.strip);
                    toks.push(Tok::If(&d.if_expr.cond_expr));
                    flatten(&d.if_expr.template, source, mode, toks, strips);
                    if let Some(e) = &d.else_expr {
                        mark(strips, toks.len(), e.strip);
                        toks.push(Tok::Else);
                        flatten(&e.template, source, mode, toks, strips);
                    }
                    mark(strips, toks.len(), d.endif_expr.strip);
                    toks.push(Tok::EndIf);
                }
                Directive::For(d) => {
                    let f = &d.for_expr;
                    mark(strips, toks.len(), f.strip);
                    toks.push(Tok::For {
                        key: f.key_var.as_ref().map(|k| k.as_str().to_string()),
                        value: f.value_var.as_str().to_string(),
                        coll: &f.collection_expr,
                    });
                    flatten(&f.template, source, mode, toks, strips);
                    mark(strips, toks.len(), d.endfor_expr.strip);
                    toks.push(Tok::EndFor);
                }
            },
        }
    }
}

fn mark(strips: &mut Vec<StripMark>, index: usize, strip: Strip) {
    if strip != Strip::None {
        strips.push((index, strip.strip_start(), strip.strip_end()));
    }
}

fn apply_strips(toks: &mut [Tok<'_>], strips: &[StripMark]) {
    for &(i, before, after) in strips {
        if before
            && i > 0
            && let Some(Tok::Lit(s)) = toks.get_mut(i - 1)
        {
            *s = s.trim_end().to_string();
        }
        if after && let Some(Tok::Lit(s)) = toks.get_mut(i + 1) {
            *s = s.trim_start().to_string();
        }
    }
}

/// `<<-`: remove the smallest indentation of the lines from every line. A blank line does
/// not count; a line starting with an interpolation or directive counts as unindented.
fn flush(toks: &mut [Tok<'_>]) {
    let mut min = usize::MAX;
    let mut line_starts = Vec::new();
    let mut at_line_start = true;
    for (i, tok) in toks.iter().enumerate() {
        if at_line_start {
            at_line_start = false;
            match tok {
                Tok::Lit(s) => {
                    let trimmed = s.trim_start();
                    if !(trimmed.is_empty() && s.ends_with('\n')) {
                        min = min.min(s.chars().count() - trimmed.chars().count());
                        line_starts.push(i);
                    }
                }
                _ => min = 0,
            }
        }
        if let Tok::Lit(s) = tok {
            at_line_start = s.ends_with('\n');
        }
    }
    if min == 0 || min == usize::MAX {
        return;
    }
    for i in line_starts {
        if let Some(Tok::Lit(s)) = toks.get_mut(i) {
            let cut: usize = s.chars().take(min).map(char::len_utf8).sum();
            *s = s[cut..].to_string();
        }
    }
}

fn build<'t>(iter: &mut std::iter::Peekable<std::vec::IntoIter<Tok<'t>>>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    while let Some(tok) = iter.peek() {
        if matches!(tok, Tok::Else | Tok::EndIf | Tok::EndFor) {
            break;
        }
        let Some(tok) = iter.next() else { break };
        match tok {
            Tok::Lit(s) => match out.last_mut() {
                Some(Node::Lit(prev)) => prev.push_str(&s),
                _ => out.push(Node::Lit(s)),
            },
            Tok::Interp(i) => out.push(Node::Interp(i)),
            Tok::If(cond) => {
                let then = build(iter);
                let otherwise = if matches!(iter.peek(), Some(Tok::Else)) {
                    iter.next();
                    build(iter)
                } else {
                    Vec::new()
                };
                if matches!(iter.peek(), Some(Tok::EndIf)) {
                    iter.next();
                }
                out.push(Node::If {
                    cond,
                    then,
                    otherwise,
                });
            }
            Tok::For { key, value, coll } => {
                let body = build(iter);
                if matches!(iter.peek(), Some(Tok::EndFor)) {
                    iter.next();
                }
                out.push(Node::For {
                    key,
                    value,
                    coll,
                    body,
                });
            }
            Tok::Else | Tok::EndIf | Tok::EndFor => {}
        }
    }
    out
}

/// `$${` and `%%{` stand for a literal `${` and `%{`.
fn unescape_markers(raw: &str) -> String {
    raw.replace("$${", "${").replace("%%{", "%{")
}

/// A quoted string's escapes: `\n \r \t \" \\ \uNNNN \UNNNNNNNN`, plus `$${` and `%%{`.
fn unescape_quoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let next = chars[i + 1];
            let simple = match next {
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                i += 2;
                continue;
            }
            let width = match next {
                'u' => 4,
                'U' => 8,
                _ => 0,
            };
            if width > 0 && i + 2 + width <= chars.len() {
                let hex: String = chars[i + 2..i + 2 + width].iter().collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                    i += 2 + width;
                    continue;
                }
            }
        }
        if (c == '$' || c == '%') && chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&'{')
        {
            out.push(c);
            out.push('{');
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}
