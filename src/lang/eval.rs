//! Evaluation of expressions to values with unknown and sensitive marks.
//!
//! Expression evaluation with Terraform's semantics: unknown values propagate, sensitive
//! marks spread to everything computed from a sensitive value, and every error names the
//! sub-expression that caused it.

// Diagnostics are large, but they are built only on the error path and carry what the
// user needs; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use forge_provider::Value;
use hcl_edit::Span;
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Strip, Template};

use crate::diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
use crate::syntax::{Block, Body, Expr, RefStep, Reference, SourceFile};
use crate::template::{Mode, Node};
use crate::types::{TypeConstraint, convert, type_of, unify, values_equal};

/// Functions beyond Terraform's library (Terragrunt's `find_in_parent_folders`, ...).
/// `None` means "not mine": the evaluator then reports an unknown function.
pub trait FunctionHost: Send + Sync {
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
}

/// What names mean while evaluating: each root (`var`, `local`, `each`, `count`, `path`,
/// `data`, `dependency`, `include`, `terraform`, and one root per resource type such as
/// `aws_sqs_queue`) maps to a value, usually an object. A resource type's object maps
/// resource names to an instance object, a list of them (`count`) or a map of them
/// (`for_each`). An unknown value anywhere propagates.
#[derive(Clone, Default)]
pub struct Scope<'a> {
    pub roots: BTreeMap<String, Value>,
    /// The folder `file()`, `templatefile()` and relative paths resolve against: the root
    /// module's folder in modules (Terraform's working folder), a Terragrunt file's own.
    pub base_dir: PathBuf,
    pub host: Option<&'a dyn FunctionHost>,
}

impl<'a> Scope<'a> {
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Scope {
            roots: BTreeMap::new(),
            base_dir: base_dir.into(),
            host: None,
        }
    }
    pub fn with_root(mut self, name: impl Into<String>, value: Value) -> Self {
        self.roots.insert(name.into(), value);
        self
    }
}

/// One step of a traversal read by `Expr::as_traversal_with_indexes`.
#[derive(Clone, Debug)]
pub enum TraversalStep {
    Attr(String),
    Index(Expr),
}

/// Evaluates an expression. A reference to a root that is missing, or to an attribute a
/// known object lacks, is an error with a location and a "did you mean" hint.
pub fn eval(expr: &Expr, scope: &Scope<'_>) -> Result<Value, Diagnostics> {
    let mut ev = Evaluator::new(scope, &expr.file);
    ev.eval(&expr.inner).map_err(Diagnostics::from)
}

/// Evaluates a block body to an object: each attribute by name; each nested block type
/// as a list of objects (one per occurrence, evaluated the same way). `dynamic` blocks are
/// expanded. All errors of the body are reported together.
pub fn eval_body(body: &Body, scope: &Scope<'_>) -> Result<Value, Diagnostics> {
    let mut ev = Evaluator::new(scope, &body.file);
    let mut diags = Diagnostics::new();
    let value = ev.body(body, &mut diags);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(value)
    }
}

impl Expr {
    /// Every reference the expression makes, in source order (for graphs and checks).
    /// Names bound inside the expression (`for` variables) are not references.
    pub fn references(&self) -> Vec<Reference> {
        references(self)
    }

    /// Where the expression stands.
    pub fn location(&self) -> crate::Location {
        expr_location(self)
    }

    /// The expression as a bare traversal (`aws_s3_bucket.b`, `tags`), for `depends_on`
    /// and `ignore_changes` lists; `None` when it is anything else.
    pub fn as_traversal(&self) -> Option<Reference> {
        as_traversal(self)
    }

    /// The expression as a traversal whose indexes may be computed
    /// (`aws_sqs_queue.q[each.key]`, for an `import` block with `for_each`): the root name
    /// and each step, an index as its unevaluated expression. `None` when it is anything
    /// else (a call, an operator, a splat).
    pub fn as_traversal_with_indexes(&self) -> Option<(String, Vec<TraversalStep>)> {
        as_traversal_with_indexes(self)
    }

    /// The elements of a tuple literal (`[a, b]`), unevaluated; `None` otherwise.
    pub fn as_list(&self) -> Option<Vec<Expr>> {
        as_list(self)
    }

    /// The items of an object literal (`{ source = "hashicorp/aws", version = "~> 5.0" }`),
    /// unevaluated, each key as written (a name or a quoted string); `None` when it is
    /// anything else or a key is computed. For blocks whose values are partly names that
    /// are never evaluated (`configuration_aliases = [aws.west]`).
    pub fn as_object(&self) -> Option<Vec<(String, Expr)>> {
        as_object(self)
    }

    /// The source text of the expression (for plan rendering of unknown values' origin).
    pub fn source_text(&self) -> String {
        source_text(self)
    }
}

/// How deep expressions may nest before evaluation gives up (guards the stack against
/// pathological input).
const MAX_DEPTH: usize = 200;

fn expr_location(expr: &Expr) -> Location {
    crate::syntax::location_of(&expr.file, expr.inner.span())
}

fn source_text(expr: &Expr) -> String {
    expr.inner
        .span()
        .and_then(|s| expr.file.text.get(s).map(str::to_string))
        .unwrap_or_default()
}

fn as_list(expr: &Expr) -> Option<Vec<Expr>> {
    match strip_parens(&expr.inner) {
        Expression::Array(items) => Some(
            items
                .iter()
                .map(|e| Expr {
                    inner: e.clone(),
                    file: expr.file.clone(),
                })
                .collect(),
        ),
        _ => None,
    }
}

fn as_object(expr: &Expr) -> Option<Vec<(String, Expr)>> {
    let Expression::Object(obj) = strip_parens(&expr.inner) else {
        return None;
    };
    obj.iter()
        .map(|(k, v)| {
            let key = match k {
                ObjectKey::Ident(i) => i.as_str().to_string(),
                ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                ObjectKey::Expression(_) => return None,
            };
            Some((
                key,
                Expr {
                    inner: v.expr().clone(),
                    file: expr.file.clone(),
                },
            ))
        })
        .collect()
}

fn as_traversal(expr: &Expr) -> Option<Reference> {
    let location = expr_location(expr);
    match strip_parens(&expr.inner) {
        Expression::Variable(v) => Some(Reference {
            root: v.as_str().to_string(),
            steps: vec![],
            location,
        }),
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return None;
            };
            let mut steps = Vec::new();
            for op in &t.operators {
                steps.push(match op.value() {
                    TraversalOperator::GetAttr(a) => RefStep::Attr(a.as_str().to_string()),
                    TraversalOperator::Index(i) => RefStep::Index(Some(static_value(i)?)),
                    TraversalOperator::LegacyIndex(i) => {
                        RefStep::Index(Some(Value::Number(*i.value() as f64)))
                    }
                    _ => return None,
                });
            }
            Some(Reference {
                root: root.as_str().to_string(),
                steps,
                location,
            })
        }
        _ => None,
    }
}

fn as_traversal_with_indexes(expr: &Expr) -> Option<(String, Vec<TraversalStep>)> {
    match strip_parens(&expr.inner) {
        Expression::Variable(v) => Some((v.as_str().to_string(), Vec::new())),
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return None;
            };
            let mut steps = Vec::new();
            for op in &t.operators {
                steps.push(match op.value() {
                    TraversalOperator::GetAttr(a) => TraversalStep::Attr(a.as_str().to_string()),
                    TraversalOperator::Index(i) => TraversalStep::Index(Expr {
                        inner: i.clone(),
                        file: expr.file.clone(),
                    }),
                    _ => return None,
                });
            }
            Some((root.as_str().to_string(), steps))
        }
        _ => None,
    }
}

fn references(expr: &Expr) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut bound = Vec::new();
    collect_refs(&expr.inner, &expr.file, &mut bound, &mut out);
    out
}

fn strip_parens(e: &Expression) -> &Expression {
    match e {
        Expression::Parenthesis(p) => strip_parens(p.inner()),
        other => other,
    }
}

/// The value of a literal index (`[0]`, `["a"]`), if the index is a constant.
fn static_value(e: &Expression) -> Option<Value> {
    match strip_parens(e) {
        Expression::Number(n) => n.value().as_f64().map(Value::Number),
        Expression::String(s) => Some(Value::String(s.value().clone())),
        Expression::Bool(b) => Some(Value::Bool(*b.value())),
        Expression::StringTemplate(t) => {
            let mut s = String::new();
            for el in t.iter() {
                match el {
                    Element::Literal(l) => s.push_str(l.value()),
                    _ => return None,
                }
            }
            Some(Value::String(s))
        }
        _ => None,
    }
}

fn collect_refs(
    e: &Expression,
    file: &Arc<SourceFile>,
    bound: &mut Vec<String>,
    out: &mut Vec<Reference>,
) {
    let loc = |span: Option<std::ops::Range<usize>>| crate::syntax::location_of(file, span);
    match e {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_) => {}
        Expression::Variable(v) => {
            if !bound.iter().any(|b| b == v.as_str()) {
                out.push(Reference {
                    root: v.as_str().to_string(),
                    steps: vec![],
                    location: loc(e.span()),
                });
            }
        }
        Expression::Traversal(t) => {
            let mut steps = Vec::new();
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(a) => {
                        steps.push(RefStep::Attr(a.as_str().to_string()))
                    }
                    TraversalOperator::Index(i) => steps.push(RefStep::Index(static_value(i))),
                    TraversalOperator::LegacyIndex(i) => {
                        steps.push(RefStep::Index(Some(Value::Number(*i.value() as f64))))
                    }
                    // What follows a splat applies to every element: not a static path.
                    TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => break,
                }
            }
            match &t.expr {
                Expression::Variable(v) => {
                    if !bound.iter().any(|b| b == v.as_str()) {
                        out.push(Reference {
                            root: v.as_str().to_string(),
                            steps,
                            location: loc(t.span()),
                        });
                    }
                }
                other => collect_refs(other, file, bound, out),
            }
            // Computed indexes reference things of their own.
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op.value() {
                    collect_refs(i, file, bound, out);
                }
            }
        }
        Expression::Array(items) => items.iter().for_each(|i| collect_refs(i, file, bound, out)),
        Expression::Object(obj) => {
            for (k, v) in obj.iter() {
                if let ObjectKey::Expression(k) = k {
                    // A bare name used as a key is a literal, not a reference.
                    if !matches!(k, Expression::Variable(_)) {
                        collect_refs(k, file, bound, out);
                    }
                }
                collect_refs(v.expr(), file, bound, out);
            }
        }
        Expression::StringTemplate(t) => collect_template_refs(t, file, bound, out),
        Expression::HeredocTemplate(h) => collect_template_refs(&h.template, file, bound, out),
        Expression::Parenthesis(p) => collect_refs(p.inner(), file, bound, out),
        Expression::Conditional(c) => {
            collect_refs(&c.cond_expr, file, bound, out);
            collect_refs(&c.true_expr, file, bound, out);
            collect_refs(&c.false_expr, file, bound, out);
        }
        Expression::FuncCall(f) => f
            .args
            .iter()
            .for_each(|a| collect_refs(a, file, bound, out)),
        Expression::UnaryOp(u) => collect_refs(&u.expr, file, bound, out),
        Expression::BinaryOp(b) => {
            collect_refs(&b.lhs_expr, file, bound, out);
            collect_refs(&b.rhs_expr, file, bound, out);
        }
        Expression::ForExpr(f) => {
            collect_refs(&f.intro.collection_expr, file, bound, out);
            let before = bound.len();
            if let Some(k) = &f.intro.key_var {
                bound.push(k.as_str().to_string());
            }
            bound.push(f.intro.value_var.as_str().to_string());
            if let Some(k) = &f.key_expr {
                collect_refs(k, file, bound, out);
            }
            collect_refs(&f.value_expr, file, bound, out);
            if let Some(c) = &f.cond {
                collect_refs(&c.expr, file, bound, out);
            }
            bound.truncate(before);
        }
    }
}

fn collect_template_refs(
    t: &Template,
    file: &Arc<SourceFile>,
    bound: &mut Vec<String>,
    out: &mut Vec<Reference>,
) {
    for el in t.iter() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => collect_refs(&i.expr, file, bound, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => {
                    collect_refs(&i.if_expr.cond_expr, file, bound, out);
                    collect_template_refs(&i.if_expr.template, file, bound, out);
                    if let Some(e) = &i.else_expr {
                        collect_template_refs(&e.template, file, bound, out);
                    }
                }
                Directive::For(f) => {
                    collect_refs(&f.for_expr.collection_expr, file, bound, out);
                    let before = bound.len();
                    if let Some(k) = &f.for_expr.key_var {
                        bound.push(k.as_str().to_string());
                    }
                    bound.push(f.for_expr.value_var.as_str().to_string());
                    collect_template_refs(&f.for_expr.template, file, bound, out);
                    bound.truncate(before);
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Marks

/// Removes the top-level sensitive mark, remembering whether there was one.
fn unmark(v: Value) -> (Value, bool) {
    match v {
        Value::Sensitive(inner) => (*inner, true),
        other => (other, false),
    }
}

fn mark_if(v: Value, sensitive: bool) -> Value {
    if sensitive && !matches!(v, Value::Unknown) {
        v.sensitive()
    } else if sensitive {
        // An unknown computed from a secret stays secret once known.
        Value::Unknown.sensitive()
    } else {
        v
    }
}

// ---------------------------------------------------------------------------------------
// The evaluator

struct Evaluator<'s, 'a> {
    scope: &'s Scope<'a>,
    file: Arc<SourceFile>,
    /// Names bound by `for` expressions and template `for` directives, innermost last.
    locals: Vec<(String, Value)>,
    depth: usize,
    /// Inside a template file: Terraform forbids templatefile() there (it could recurse
    /// forever).
    in_templatefile: bool,
}

type R = Result<Value, Diagnostic>;

impl<'s, 'a> Evaluator<'s, 'a> {
    fn new(scope: &'s Scope<'a>, file: &Arc<SourceFile>) -> Self {
        Evaluator {
            scope,
            file: file.clone(),
            locals: Vec::new(),
            depth: 0,
            in_templatefile: false,
        }
    }

    fn loc(&self, span: Option<std::ops::Range<usize>>) -> Location {
        crate::syntax::location_of(&self.file, span)
    }

    fn source(&self, at: &impl Span) -> &str {
        at.span()
            .and_then(|sp| self.file.text.get(sp))
            .unwrap_or("")
    }

    fn err(&self, at: &impl Span, summary: impl Into<String>) -> Diagnostic {
        Diagnostic::error(summary).at(self.loc(at.span()))
    }

    fn eval(&mut self, e: &Expression) -> R {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self
                .err(e, "expression nests too deeply")
                .hint("split it into locals"));
        }
        let result = self.eval_inner(e);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, e: &Expression) -> R {
        match e {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => match n.value().as_f64() {
                // hcl-edit folds `-0` into 0; Terraform keeps the sign.
                Some(f) if f == 0.0 && self.source(e).starts_with('-') => Ok(Value::Number(-0.0)),
                Some(f) => Ok(Value::Number(f)),
                None => Err(self
                    .err(e, "number literal out of range")
                    .hint("numbers must fit in a 64-bit float (about ±1.8e308)")),
            },
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    out.push(self.eval(item)?);
                }
                Ok(Value::Tuple(out))
            }
            Expression::Object(obj) => self.object(obj),
            Expression::StringTemplate(t) => self.template_value(t, Mode::Quoted),
            Expression::HeredocTemplate(h) => self.heredoc(h),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.variable(v.as_str(), e),
            Expression::Conditional(c) => self.conditional(c),
            Expression::FuncCall(f) => self.call(f, e),
            Expression::Traversal(t) => self.traversal(t),
            Expression::UnaryOp(u) => self.unary(u),
            Expression::BinaryOp(b) => self.binary(b),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn variable(&self, name: &str, at: &Expression) -> R {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.scope.roots.get(name) {
            return Ok(v.clone());
        }
        let candidates: Vec<&str> = self
            .scope
            .roots
            .keys()
            .map(String::as_str)
            .chain(self.locals.iter().map(|(n, _)| n.as_str()))
            .collect();
        let mut d = self.err(at, format!("unknown name `{name}`"));
        if let Some(why) = contextual_root_hint(name) {
            return Err(d.hint(why));
        }
        d = d.detail(if candidates.is_empty() {
            "nothing can be referenced here".to_string()
        } else {
            format!("names available here: {}", candidates.join(", "))
        });
        d = match did_you_mean(name, candidates.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(
                "check the spelling, or declare it (a variable, local, resource or data source)",
            ),
        };
        Err(d)
    }

    fn object(&mut self, obj: &hcl_edit::expr::Object) -> R {
        let mut out = BTreeMap::new();
        let mut sensitive_key = false;
        let mut unknown_key = false;
        for (k, v) in obj.iter() {
            let key = match k {
                ObjectKey::Ident(i) => i.as_str().to_string(),
                ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                ObjectKey::Expression(ke) => {
                    let (kv, s) = unmark(self.eval(ke)?);
                    sensitive_key |= s;
                    match kv {
                        Value::Unknown => {
                            unknown_key = true;
                            continue;
                        }
                        Value::Null => {
                            return Err(self
                                .err(ke, "an object key must not be null")
                                .hint("give the key a value, e.g. coalesce(x, \"default\")"));
                        }
                        other => match convert(&TypeConstraint::String, other) {
                            Ok(Value::String(s)) => s,
                            _ => {
                                return Err(self
                                    .err(ke, "an object key must be a string")
                                    .hint("convert it with tostring(...) or use a name"));
                            }
                        },
                    }
                }
            };
            let value = self.eval(v.expr())?;
            out.insert(key, value);
        }
        if unknown_key {
            return Ok(mark_if(Value::Unknown, sensitive_key));
        }
        Ok(mark_if(Value::Object(out), sensitive_key))
    }

    fn conditional(&mut self, c: &hcl_edit::expr::Conditional) -> R {
        let (cond, cond_sensitive) = unmark(self.eval(&c.cond_expr)?);
        // Both results are evaluated for their types; only the chosen one's errors count.
        let t = self.eval(&c.true_expr);
        let f = self.eval(&c.false_expr);
        let cond = match cond {
            Value::Unknown => return Ok(mark_if(Value::Unknown, cond_sensitive)),
            Value::Null => return Err(self.err(&c.cond_expr, "the condition is null").hint(
                "a condition must be true or false; compare with null explicitly, e.g. `x != null`",
            )),
            other => match convert(&TypeConstraint::Bool, other) {
                Ok(Value::Bool(b)) => b,
                _ => {
                    return Err(self
                        .err(&c.cond_expr, "the condition is not a bool")
                        .hint("use a comparison such as `x == \"y\"`"));
                }
            },
        };
        let (chosen, other, chosen_expr) = if cond {
            (t, f, &c.true_expr)
        } else {
            (f, t, &c.false_expr)
        };
        let chosen = chosen?;
        let result = match other {
            Ok(other) => {
                let types = [type_of(&chosen), type_of(&other)];
                match unify(&types) {
                    Some(ty) => convert(&ty, chosen).map_err(|m| self.err(chosen_expr, m))?,
                    None => {
                        return Err(self
                            .err(chosen_expr, "the two results of the conditional have different types")
                            .detail(format!(
                                "true gives {}, false gives {}",
                                crate::types::type_name(&types[usize::from(!cond)]),
                                crate::types::type_name(&types[usize::from(cond)])
                            ))
                            .hint("make both results the same type, e.g. with tolist(), tomap() or tostring()"))
                    }
                }
            }
            Err(_) => chosen,
        };
        Ok(mark_if(result, cond_sensitive))
    }

    fn unary(&mut self, u: &hcl_edit::expr::UnaryOp) -> R {
        let (v, s) = unmark(self.eval(&u.expr)?);
        if v.is_unknown() {
            return Ok(mark_if(Value::Unknown, s));
        }
        let result = match u.operator.value() {
            UnaryOperator::Neg => {
                let n = self.to_number(v, &u.expr, "-")?;
                Value::Number(-n)
            }
            UnaryOperator::Not => {
                let b = self.to_bool(v, &u.expr, "!")?;
                Value::Bool(!b)
            }
        };
        Ok(mark_if(result, s))
    }

    fn to_number(&self, v: Value, at: &Expression, op: &str) -> Result<f64, Diagnostic> {
        match v {
            Value::Null => Err(self
                .err(at, format!("operand of `{op}` is null"))
                .hint("give it a value, or use coalesce(x, 0)")),
            other => match convert(&TypeConstraint::Number, other.clone()) {
                Ok(Value::Number(n)) => Ok(n),
                _ => Err(self
                    .err(
                        at,
                        format!(
                            "operand of `{op}` must be a number, but it is {}",
                            other.kind_name()
                        ),
                    )
                    .hint("arithmetic works on numbers (or strings that hold numbers)")),
            },
        }
    }

    fn to_bool(&self, v: Value, at: &Expression, op: &str) -> Result<bool, Diagnostic> {
        match v {
            Value::Null => Err(self
                .err(at, format!("operand of `{op}` is null"))
                .hint("give it a value, e.g. coalesce(x, false), or compare with null explicitly")),
            other => match convert(&TypeConstraint::Bool, other.clone()) {
                Ok(Value::Bool(b)) => Ok(b),
                _ => Err(self
                    .err(
                        at,
                        format!(
                            "operand of `{op}` must be a bool, but it is {}",
                            other.kind_name()
                        ),
                    )
                    .hint("logical operators work on true and false")),
            },
        }
    }

    fn binary(&mut self, b: &hcl_edit::expr::BinaryOp) -> R {
        let op = *b.operator.value();
        let (l, ls) = unmark(self.eval(&b.lhs_expr)?);
        let (r, rs) = unmark(self.eval(&b.rhs_expr)?);
        let sensitive = ls || rs;
        match op {
            BinaryOperator::Eq | BinaryOperator::NotEq => {
                if !l.is_wholly_known() || !r.is_wholly_known() {
                    return Ok(mark_if(Value::Unknown, sensitive));
                }
                let eq = values_equal(&l, &r);
                let result = if op == BinaryOperator::Eq { eq } else { !eq };
                Ok(mark_if(Value::Bool(result), sensitive))
            }
            BinaryOperator::And | BinaryOperator::Or => {
                let sym = op.as_str();
                let lb = if l.is_unknown() {
                    None
                } else {
                    Some(self.to_bool(l, &b.lhs_expr, sym)?)
                };
                let rb = if r.is_unknown() {
                    None
                } else {
                    Some(self.to_bool(r, &b.rhs_expr, sym)?)
                };
                let result = match (op, lb, rb) {
                    // A known side can decide the answer on its own.
                    (BinaryOperator::And, Some(false), _)
                    | (BinaryOperator::And, _, Some(false)) => Value::Bool(false),
                    (BinaryOperator::Or, Some(true), _) | (BinaryOperator::Or, _, Some(true)) => {
                        Value::Bool(true)
                    }
                    (_, Some(x), Some(y)) => Value::Bool(if op == BinaryOperator::And {
                        x && y
                    } else {
                        x || y
                    }),
                    _ => Value::Unknown,
                };
                Ok(mark_if(result, sensitive))
            }
            _ => {
                let sym = op.as_str();
                let ln = if l.is_unknown() {
                    None
                } else {
                    Some(self.to_number(l, &b.lhs_expr, sym)?)
                };
                let rn = if r.is_unknown() {
                    None
                } else {
                    Some(self.to_number(r, &b.rhs_expr, sym)?)
                };
                let (Some(x), Some(y)) = (ln, rn) else {
                    return Ok(mark_if(Value::Unknown, sensitive));
                };
                let result = match op {
                    BinaryOperator::Plus => Value::Number(x + y),
                    BinaryOperator::Minus => Value::Number(x - y),
                    BinaryOperator::Mul => Value::Number(x * y),
                    BinaryOperator::Div => {
                        if y == 0.0 && x == 0.0 {
                            return Err(self
                                .err(&b.rhs_expr, "division of zero by zero")
                                .hint("guard the division with a conditional"));
                        }
                        Value::Number(x / y)
                    }
                    BinaryOperator::Mod => {
                        if y == 0.0 {
                            return Err(self
                                .err(&b.rhs_expr, "modulo by zero")
                                .hint("guard the operation with a conditional"));
                        }
                        Value::Number(x % y)
                    }
                    BinaryOperator::Less => Value::Bool(x < y),
                    BinaryOperator::LessEq => Value::Bool(x <= y),
                    BinaryOperator::Greater => Value::Bool(x > y),
                    BinaryOperator::GreaterEq => Value::Bool(x >= y),
                    _ => Value::Null,
                };
                Ok(mark_if(result, sensitive))
            }
        }
    }

    // -------------------------------------------------------------------------------
    // Traversals

    fn traversal(&mut self, t: &hcl_edit::expr::Traversal) -> R {
        let base = self.eval(&t.expr)?;
        let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
        // The root name, for "did you mean" messages about its attributes.
        let root_name = match &t.expr {
            Expression::Variable(v) => Some(v.as_str().to_string()),
            _ => None,
        };
        self.apply_ops(base, &ops, root_name.as_deref(), &t.expr)
    }

    fn apply_ops(
        &mut self,
        mut value: Value,
        ops: &[&TraversalOperator],
        root: Option<&str>,
        base: &Expression,
    ) -> R {
        let mut i = 0;
        let mut path = root.map(str::to_string).unwrap_or_default();
        while i < ops.len() {
            match ops[i] {
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(ops[i], TraversalOperator::FullSplat(_));
                    // The splat applies the following steps (only attributes for `.*`) to
                    // every element.
                    let mut end = i + 1;
                    while end < ops.len()
                        && match ops[end] {
                            TraversalOperator::GetAttr(_) => true,
                            TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_) => full,
                            _ => false,
                        }
                    {
                        end += 1;
                    }
                    let inner: Vec<&TraversalOperator> = ops[i + 1..end].to_vec();
                    value = self.splat(value, &inner, base)?;
                    i = end;
                    continue;
                }
                TraversalOperator::GetAttr(name) => {
                    value = self.get_attr(value, name.as_str(), &path, name)?;
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name.as_str());
                }
                TraversalOperator::Index(ie) => {
                    let key = self.eval(ie)?;
                    value = self.index(value, key, ie)?;
                    path.push_str("[...]");
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = self.index(value, Value::Number(*n.value() as f64), base)?;
                    path.push_str(&format!("[{}]", n.value()));
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn splat(&mut self, value: Value, inner: &[&TraversalOperator], base: &Expression) -> R {
        let (value, s) = unmark(value);
        let result = match value {
            Value::Unknown => Value::Unknown,
            Value::Null => Value::Tuple(vec![]),
            Value::List(xs) | Value::Set(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    out.push(self.apply_ops(x, inner, None, base)?);
                }
                Value::List(out)
            }
            Value::Tuple(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    out.push(self.apply_ops(x, inner, None, base)?);
                }
                Value::Tuple(out)
            }
            other => Value::Tuple(vec![self.apply_ops(other, inner, None, base)?]),
        };
        Ok(mark_if(result, s))
    }

    fn get_attr(&self, value: Value, name: &str, path: &str, at: &impl Span) -> R {
        let (value, s) = unmark(value);
        let what = if path.is_empty() {
            "the value".to_string()
        } else {
            format!("`{path}`")
        };
        let result = match value {
            Value::Unknown => Value::Unknown,
            Value::Object(mut m) | Value::Map(mut m) => match m.remove(name) {
                Some(v) => v,
                None => {
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    let (summary, listing) = missing_attribute_words(path, name);
                    let mut d = self.err(at, summary);
                    if s {
                        // A sensitive map's keys are as secret as its values.
                        return Err(d
                            .detail("the value is sensitive, so its attributes are not listed")
                            .hint("check the attribute name"));
                    }
                    if keys.is_empty() {
                        d = d.detail(format!("{listing} nothing"));
                    } else if keys.len() <= 40 {
                        d = d.detail(format!("{listing} {}", keys.join(", ")));
                    }
                    d = match did_you_mean(name, keys.iter().copied()) {
                        Some(c) => d.hint(format!("did you mean `{c}`?")),
                        None => d.hint("check the attribute name"),
                    };
                    return Err(d);
                }
            },
            Value::Null => return Err(self
                .err(
                    at,
                    format!("cannot read attribute `{name}`: {what} is null"),
                )
                .hint(
                    "check for null first, e.g. `x == null ? default : x.attr`, or use try(...)",
                )),
            Value::Tuple(_) | Value::List(_) | Value::Set(_) => {
                return Err(self
                    .err(
                        at,
                        format!("cannot read attribute `{name}` of a list: {what} is a collection"),
                    )
                    .hint(format!(
                        "pick one element (`[0].{name}`) or all of them with a splat (`[*].{name}`)"
                    )));
            }
            other => {
                return Err(self
                    .err(
                        at,
                        format!(
                            "cannot read attribute `{name}` of a {} value",
                            other.kind_name()
                        ),
                    )
                    .hint("only objects and maps have attributes"));
            }
        };
        Ok(mark_if(result, s))
    }

    fn index(&self, value: Value, key: Value, at: &Expression) -> R {
        let (value, vs) = unmark(value);
        let (key, ks) = unmark(key);
        let s = vs || ks;
        if value.is_unknown() || key.is_unknown() {
            return Ok(mark_if(Value::Unknown, s));
        }
        let result = match value {
            Value::Tuple(xs) | Value::List(xs) => {
                let n = match convert(&TypeConstraint::Number, key.clone()) {
                    Ok(Value::Number(n)) => n,
                    _ => {
                        return Err(self
                            .err(
                                at,
                                format!("a list index must be a number, not {}", key.kind_name()),
                            )
                            .hint("use a whole number from 0"));
                    }
                };
                if n.fract() != 0.0 || n < 0.0 || n as usize >= xs.len() {
                    let index = if ks {
                        "(sensitive value)".to_string()
                    } else {
                        crate::number::number_text(n)
                    };
                    return Err(self
                        .err(
                            at,
                            format!(
                                "index {index} is out of range for a list of {} elements",
                                xs.len()
                            ),
                        )
                        .hint("use element(list, i) to wrap around, or check length(list) first"));
                }
                xs.into_iter().nth(n as usize).unwrap_or(Value::Null)
            }
            Value::Object(mut m) | Value::Map(mut m) => {
                let k = match convert(&TypeConstraint::String, key.clone()) {
                    Ok(Value::String(k)) => k,
                    _ => {
                        return Err(self
                            .err(
                                at,
                                format!("a map key must be a string, not {}", key.kind_name()),
                            )
                            .hint("convert the key with tostring(...)"));
                    }
                };
                match m.remove(&k) {
                    Some(v) => v,
                    None => {
                        // A sensitive key is not shown, and neither are the keys of a
                        // sensitive map (a "did you mean" would show one of them).
                        let lookup_hint =
                            "use lookup(map, key, default) when the key may be missing";
                        if ks {
                            return Err(self
                                .err(
                                    at,
                                    "the map has no element with the given key (sensitive value)",
                                )
                                .hint(lookup_hint));
                        }
                        if vs {
                            return Err(self
                                .err(
                                    at,
                                    format!("the map has no element with key \"{k}\" (the map is sensitive, so its keys are not listed)"),
                                )
                                .hint(lookup_hint));
                        }
                        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                        let mut d =
                            self.err(at, format!("the map has no element with key \"{k}\""));
                        d = match did_you_mean(&k, keys.iter().copied()) {
                            Some(c) => d.hint(format!("did you mean \"{c}\"?")),
                            None => d.hint(lookup_hint),
                        };
                        return Err(d);
                    }
                }
            }
            Value::Set(_) => {
                return Err(self
                    .err(at, "a set cannot be indexed: its elements have no order")
                    .hint("convert it with tolist(...) first, or iterate with for"));
            }
            Value::Null => {
                return Err(self
                    .err(at, "cannot index a null value")
                    .hint("check for null first, or use try(...)"));
            }
            other => {
                return Err(self
                    .err(
                        at,
                        format!("a {} value cannot be indexed", other.kind_name()),
                    )
                    .hint("only lists, tuples, maps and objects have elements"));
            }
        };
        Ok(mark_if(result, s))
    }

    // -------------------------------------------------------------------------------
    // for expressions

    fn for_expr(&mut self, f: &hcl_edit::expr::ForExpr) -> R {
        let (coll, cs) = unmark(self.eval(&f.intro.collection_expr)?);
        let items: Vec<(Value, Value)> = match coll {
            Value::Unknown => return Ok(mark_if(Value::Unknown, cs)),
            Value::Null => {
                return Err(self
                    .err(&f.intro.collection_expr, "cannot iterate over a null value")
                    .hint("use `coalesce(x, [])` or a conditional when it may be null"));
            }
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => xs
                .into_iter()
                .enumerate()
                .map(|(i, x)| (Value::Number(i as f64), x))
                .collect(),
            Value::Object(m) | Value::Map(m) => {
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
            }
            other => {
                return Err(self
                    .err(
                        &f.intro.collection_expr,
                        format!("cannot iterate over a {} value", other.kind_name()),
                    )
                    .hint("for expressions iterate over lists, sets, tuples, maps and objects"));
            }
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list_out = Vec::new();
        let mut map_out: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        let mut sensitive = cs;
        for (k, v) in items {
            let before = self.locals.len();
            if let Some(kv) = &key_var {
                self.locals.push((kv.clone(), k));
            }
            self.locals.push((value_var.clone(), v));
            let step = self.for_step(f);
            self.locals.truncate(before);
            let Some((key, value)) = step? else { continue };
            match key {
                None => list_out.push(value),
                Some(Value::Unknown) => unknown = true,
                Some(key) => {
                    let (key, ks) = unmark(key);
                    sensitive |= ks;
                    let key_expr = f.key_expr.as_ref().unwrap_or(&f.value_expr);
                    let k = match key {
                        Value::Null => {
                            return Err(self
                                .err(key_expr, "a key in a for expression is null")
                                .hint("filter such items out with `if`, or give a default with coalesce(...)"));
                        }
                        other => match convert(&TypeConstraint::String, other) {
                            Ok(Value::String(s)) => s,
                            _ => {
                                return Err(self
                                    .err(key_expr, "a key in a for expression must be a string")
                                    .hint("object keys are strings; build one, e.g. \"${x.name}\" or jsonencode(x)"));
                            }
                        },
                    };
                    if f.grouping {
                        groups.entry(k).or_default().push(value);
                    } else {
                        match map_out.entry(k) {
                            std::collections::btree_map::Entry::Occupied(e) => {
                                return Err(self
                                    .err(key_expr, format!("duplicate key \"{}\" in the for expression", e.key()))
                                    .hint("add `...` after the value expression to group values by key"));
                            }
                            std::collections::btree_map::Entry::Vacant(e) => {
                                e.insert(value);
                            }
                        }
                    }
                }
            }
        }
        let result = if unknown {
            Value::Unknown
        } else if f.key_expr.is_none() {
            Value::Tuple(list_out)
        } else if f.grouping {
            Value::Object(
                groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::Tuple(v)))
                    .collect(),
            )
        } else {
            Value::Object(map_out)
        };
        Ok(mark_if(result, sensitive))
    }

    /// One iteration: `None` when the `if` filters it out; the key is `None` for list forms.
    fn for_step(
        &mut self,
        f: &hcl_edit::expr::ForExpr,
    ) -> Result<Option<(Option<Value>, Value)>, Diagnostic> {
        if let Some(cond) = &f.cond {
            let (c, _) = unmark(self.eval(&cond.expr)?);
            match c {
                // Whether this element is kept is unknown, so the whole result is (an
                // unknown key marks the result unknown in both forms).
                Value::Unknown => return Ok(Some((Some(Value::Unknown), Value::Unknown))),
                Value::Null => {
                    return Err(self
                        .err(&cond.expr, "the `if` condition is null")
                        .hint("a condition must be true or false; compare with null explicitly, e.g. `x != null`"));
                }
                other => match convert(&TypeConstraint::Bool, other) {
                    Ok(Value::Bool(true)) => {}
                    Ok(Value::Bool(false)) => return Ok(None),
                    _ => {
                        return Err(self
                            .err(&cond.expr, "the `if` condition must be a bool")
                            .hint("use a comparison such as `x == \"y\"`"));
                    }
                },
            }
        }
        let key = match &f.key_expr {
            Some(k) => Some(self.eval(k)?),
            None => None,
        };
        let value = self.eval(&f.value_expr)?;
        Ok(Some((key, value)))
    }

    // -------------------------------------------------------------------------------
    // Templates

    fn heredoc(&mut self, h: &hcl_edit::template::HeredocTemplate) -> R {
        let flush = self.source(h).starts_with("<<-");
        self.template_value(&h.template, Mode::Heredoc { flush })
    }

    fn template_value(&mut self, t: &Template, mode: Mode) -> R {
        // `"${x}"` alone yields x itself, not its string form.
        if let Some(Element::Interpolation(i)) = t.as_single_element()
            && i.strip == Strip::None
        {
            return self.eval(&i.expr);
        }
        let file = self.file.clone();
        let nodes = crate::template::prepare(t, &file.text, mode);
        let mut out = TemplateOut::default();
        self.render_nodes(&nodes, &mut out)?;
        let value = if out.unknown {
            Value::Unknown
        } else {
            Value::String(out.text)
        };
        Ok(mark_if(value, out.sensitive))
    }

    fn error_at(&self, at: &Expression, summary: &str) -> Diagnostic {
        self.err(at, summary)
    }

    fn append_to_template(
        &self,
        v: Value,
        at: &Expression,
        out: &mut TemplateOut,
    ) -> Result<(), Diagnostic> {
        let (v, s) = unmark(v);
        out.sensitive |= s;
        match v {
            Value::Unknown => out.unknown = true,
            Value::Null => {
                return Err(self
                    .err(at, "cannot include a null value in a string template")
                    .hint("use coalesce(x, \"\") or a conditional to give it a default"));
            }
            Value::String(s) => out.text.push_str(&s),
            Value::Number(n) => out.text.push_str(&crate::number::number_text(n)),
            Value::Bool(b) => out.text.push_str(if b { "true" } else { "false" }),
            other => {
                return Err(self
                    .err(
                        at,
                        format!(
                            "cannot include a {} value in a string template",
                            other.kind_name()
                        ),
                    )
                    .hint("convert it first, e.g. with jsonencode(...) or join(\",\", ...)"));
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------------------------
    // Function calls

    fn call(&mut self, f: &hcl_edit::expr::FuncCall, at: &Expression) -> R {
        let name = f.name.name.as_str();
        if f.name.is_namespaced() {
            let full = f
                .name
                .namespace
                .iter()
                .map(|n| n.as_str())
                .chain([name])
                .collect::<Vec<_>>()
                .join("::");
            return Err(self
                .err(
                    at,
                    format!("provider functions such as `{full}` are not supported"),
                )
                .hint("use a built-in function instead"));
        }
        let args: Vec<&Expression> = f.args.iter().collect();
        match name {
            "try" => return self.call_try(&args, at),
            "templatefile" => return self.call_templatefile(&args, at),
            "templatestring" => return self.call_templatestring(&args, at),
            "can" => return self.call_can(&args, at),
            _ => {}
        }
        let mut values = Vec::with_capacity(args.len());
        for a in &args {
            values.push(self.eval(a)?);
        }
        if f.args.expand_final() {
            let last = values.pop().unwrap_or(Value::Null);
            let (last, s) = unmark(last);
            match last {
                Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
                    values.extend(xs.into_iter().map(|x| mark_if(x, s)));
                }
                Value::Unknown => return Ok(mark_if(Value::Unknown, s)),
                _ => {
                    let last_expr = args.last().copied().unwrap_or(at);
                    return Err(self
                        .err(last_expr, "only a list or tuple can be expanded with `...`")
                        .hint(
                            "write f(list...) with a list as the last argument, or drop the `...`",
                        ));
                }
            }
        }
        let ctx = crate::functions::FnContext {
            base_dir: &self.scope.base_dir,
        };
        // Function errors quote their arguments ("\"abc\" is not a number"); when a secret
        // is among them the message is withheld, since diagnostics reach the terminal.
        let secret_args = values.iter().any(Value::contains_sensitive);
        let withhold = |message: String| {
            if secret_args {
                "the call failed on a sensitive argument; the error is not shown so the value stays secret".to_string()
            } else {
                message
            }
        };
        if let Some(host) = self.scope.host
            && let Some(result) = host.call(name, &values)
        {
            // Host functions phrase their errors as "what is wrong; what to do": the second
            // half becomes the hint, so the advice is not said twice.
            return result.map_err(|m| {
                let m = withhold(m);
                match m.rsplit_once("; ") {
                    Some((what, todo)) => self
                        .err(at, format!("{name}: {what}"))
                        .hint(todo.to_string()),
                    None => self.err(at, format!("{name}: {m}")).hint(format!(
                        "check the arguments of {name}(...) and what it reads (files, environment)"
                    )),
                }
            });
        }
        match crate::functions::call(name, values, &ctx) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => {
                let target = e.arg.and_then(|i| args.get(i).copied()).unwrap_or(at);
                let mut d = self.err(target, format!("{name}: {}", withhold(e.message)));
                d = d.hint(e.hint.unwrap_or_else(|| {
                    format!(
                        "see https://developer.hashicorp.com/terraform/language/functions/{name}"
                    )
                }));
                Err(d)
            }
            None => {
                let mut d = self.err(at, format!("there is no function named `{name}`"));
                d = match did_you_mean(name, crate::functions::NAMES.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(
                        "see Terraform's function list; provider functions are not supported",
                    ),
                };
                Err(d)
            }
        }
    }

    fn call_try(&mut self, args: &[&Expression], at: &Expression) -> R {
        if args.is_empty() {
            return Err(self
                .err(at, "try: at least one argument is required")
                .hint("write try(expression, fallback)"));
        }
        let mut last_err = None;
        for a in args {
            match self.eval(a) {
                Ok(v) if !v.is_wholly_known() => return Ok(Value::Unknown),
                Ok(v) => return Ok(v),
                Err(e) => last_err = Some(e),
            }
        }
        let mut d = self.err(at, "try: no expression succeeded");
        if let Some(e) = last_err {
            d = d.detail(format!("the last one failed: {}", e.summary));
        }
        Err(d.hint("add a last argument that always works, such as a default value"))
    }

    fn call_templatefile(&mut self, args: &[&Expression], at: &Expression) -> R {
        if self.in_templatefile {
            return Err(self
                .err(at, "templatefile cannot be called from inside a template file")
                .hint("render the inner template in the configuration and pass the result in as a variable"));
        }
        let [path_expr, vars_expr] = args else {
            return Err(self
                .err(
                    at,
                    "templatefile: takes 2 arguments, a path and an object of variables",
                )
                .hint("write templatefile(\"${path.module}/x.tpl\", { name = value })"));
        };
        let (path, ps) = unmark(self.eval(path_expr)?);
        let (vars, vs) = unmark(self.eval(vars_expr)?);
        if path.is_unknown() || !vars.is_wholly_known() {
            return Ok(mark_if(Value::Unknown, ps || vs));
        }
        let Some(path) = path.as_str().map(str::to_string) else {
            return Err(self
                .err(*path_expr, "templatefile: the path must be a string")
                .hint("write the path as a string, e.g. \"${path.module}/x.tpl\""));
        };
        let vars = match vars {
            Value::Object(m) | Value::Map(m) => m,
            other => {
                return Err(self
                    .err(
                        *vars_expr,
                        format!(
                            "templatefile: the variables must be an object, not {}",
                            other.kind_name()
                        ),
                    )
                    .hint("write `templatefile(\"x.tpl\", { name = value })`"));
            }
        };
        let ctx = crate::functions::FnContext {
            base_dir: &self.scope.base_dir,
        };
        let text = crate::functions::read_file_text(&ctx, &path).map_err(|e| {
            let mut d = self.err(*path_expr, format!("templatefile: {}", e.message));
            if let Some(h) = e.hint {
                d = d.hint(h);
            }
            d
        })?;
        let full_path = if std::path::Path::new(&path).is_absolute() {
            path.clone().into()
        } else {
            self.scope.base_dir.join(&path)
        };
        let file = SourceFile::new(full_path, text);
        let template = hcl_edit::parser::parse_template(&file.text).map_err(|e| {
            let offset = e.location().offset();
            Diagnostic::error(format!(
                "templatefile: invalid template syntax: {}",
                e.message()
            ))
            .at(file.location(offset..offset + 1))
            .hint("literal `${` and `%{` are written `$${` and `%%{` in templates")
        })?;
        // A template sees only its variables, as in Terraform.
        let inner_scope = Scope {
            roots: BTreeMap::new(),
            base_dir: self.scope.base_dir.clone(),
            host: self.scope.host,
        };
        let mut inner = Evaluator::new(&inner_scope, &file);
        inner.locals = vars.into_iter().collect();
        inner.in_templatefile = true;
        inner.depth = self.depth;
        let value = inner.template_value(&template, Mode::Heredoc { flush: false })?;
        Ok(mark_if(value, ps || vs))
    }

    /// `templatestring(ref, vars)`: a string value rendered as a template with only `vars`
    /// in scope (Terraform 1.9+).
    fn call_templatestring(&mut self, args: &[&Expression], at: &Expression) -> R {
        let [text_expr, vars_expr] = args else {
            return Err(self
                .err(at, "templatestring: takes 2 arguments, a template string and an object of variables")
                .hint("write templatestring(local.template, { name = value })"));
        };
        let (text, ts) = unmark(self.eval(text_expr)?);
        let (vars, vs) = unmark(self.eval(vars_expr)?);
        if text.is_unknown() || !vars.is_wholly_known() {
            return Ok(mark_if(Value::Unknown, ts || vs));
        }
        let Some(text) = text.as_str().map(str::to_string) else {
            return Err(self
                .err(*text_expr, "templatestring: the template must be a string")
                .hint("pass a string holding the template text"));
        };
        let Some(vars) = vars.as_map().cloned() else {
            return Err(self
                .err(
                    *vars_expr,
                    "templatestring: the variables must be an object",
                )
                .hint("write templatestring(local.template, { name = value })"));
        };
        let file = SourceFile::new(
            format!("{} (template string)", self.file.path.display()),
            text,
        );
        let template = hcl_edit::parser::parse_template(&file.text).map_err(|e| {
            let offset = e.location().offset();
            Diagnostic::error(format!(
                "templatestring: invalid template syntax: {}",
                e.message()
            ))
            .at(file.location(offset..offset + 1))
            .hint("literal `${` and `%{` are written `$${` and `%%{` in templates")
        })?;
        let inner_scope = Scope {
            roots: BTreeMap::new(),
            base_dir: self.scope.base_dir.clone(),
            host: self.scope.host,
        };
        let mut inner = Evaluator::new(&inner_scope, &file);
        inner.locals = vars.into_iter().collect();
        inner.in_templatefile = true;
        inner.depth = self.depth;
        let value = inner.template_value(&template, Mode::Heredoc { flush: false })?;
        Ok(mark_if(value, ts || vs))
    }

    fn call_can(&mut self, args: &[&Expression], at: &Expression) -> R {
        let [a] = args else {
            return Err(self
                .err(at, "can: exactly one argument is required")
                .hint("write can(expression)"));
        };
        match self.eval(a) {
            Ok(v) if !v.is_wholly_known() => Ok(Value::Unknown),
            Ok(_) => Ok(Value::Bool(true)),
            Err(_) => Ok(Value::Bool(false)),
        }
    }

    // -------------------------------------------------------------------------------
    // Bodies

    fn body(&mut self, body: &Body, diags: &mut Diagnostics) -> Value {
        let mut out = BTreeMap::new();
        for attr in &body.attributes {
            match self.eval(&attr.expr.inner) {
                Ok(v) => {
                    out.insert(attr.name.clone(), v);
                }
                Err(d) => diags.push(d),
            }
        }
        let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        // Block types generated by a `dynamic` block whose for_each is not known yet: how
        // many blocks there will be is unknown, so the whole list is.
        let mut unknown_types = Vec::new();
        for block in &body.blocks {
            if block.ident == "dynamic" {
                let ty = block.labels.first().cloned().unwrap_or_default();
                match self.dynamic(block, diags) {
                    Some(expanded) => blocks.entry(ty).or_default().extend(expanded),
                    None => unknown_types.push(ty),
                }
            } else {
                let v = self.body(&block.body, diags);
                blocks.entry(block.ident.clone()).or_default().push(v);
            }
        }
        for (ty, list) in blocks {
            out.insert(ty, Value::Tuple(list));
        }
        for ty in unknown_types {
            out.insert(ty, Value::Unknown);
        }
        Value::Object(out)
    }

    fn dynamic(&mut self, block: &Block, diags: &mut Diagnostics) -> Option<Vec<Value>> {
        let Some(ty) = block.labels.first() else {
            diags.push(
                Diagnostic::error("a dynamic block needs a label: the type of block to generate")
                    .at(block.location.clone())
                    .hint("write `dynamic \"ingress\" { ... }`"),
            );
            return Some(vec![]);
        };
        let Some(for_each) = block.body.attribute("for_each") else {
            diags.push(
                Diagnostic::error(format!("dynamic \"{ty}\" has no for_each"))
                    .at(block.location.clone())
                    .hint("add `for_each = <collection>`"),
            );
            return Some(vec![]);
        };
        let Some(content) = block.body.blocks_of("content").next() else {
            diags.push(
                Diagnostic::error(format!("dynamic \"{ty}\" has no content block"))
                    .at(block.location.clone())
                    .hint("add `content { ... }` with the generated block's body"),
            );
            return Some(vec![]);
        };
        let iterator = match block.body.attribute("iterator") {
            Some(a) => match strip_parens(&a.expr.inner) {
                Expression::Variable(v) => v.as_str().to_string(),
                _ => {
                    diags.push(
                        Diagnostic::error("`iterator` must be a plain name")
                            .at(a.location.clone())
                            .hint("write `iterator = rule`"),
                    );
                    return Some(vec![]);
                }
            },
            None => ty.clone(),
        };
        let coll = match self.eval(&for_each.expr.inner) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return Some(vec![]);
            }
        };
        let (coll, s) = unmark(coll);
        let items: Vec<(Value, Value)> = match coll {
            Value::Unknown => return None,
            Value::Null => {
                diags.push(
                    Diagnostic::error(format!("dynamic \"{ty}\": for_each is null"))
                        .at(for_each.location.clone())
                        .hint("use an empty list or map (e.g. `coalesce(x, [])`) to generate no blocks"),
                );
                return Some(vec![]);
            }
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => xs
                .into_iter()
                .enumerate()
                .map(|(i, x)| (Value::Number(i as f64), x))
                .collect(),
            Value::Object(m) | Value::Map(m) => {
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
            }
            other => {
                diags.push(
                    Diagnostic::error(format!(
                        "dynamic \"{ty}\": for_each must be a collection, not {}",
                        other.kind_name()
                    ))
                    .at(for_each.location.clone()),
                );
                return Some(vec![]);
            }
        };
        let mut out = Vec::new();
        for (k, v) in items {
            let it = Value::object([("key", mark_if(k, s)), ("value", mark_if(v, s))]);
            self.locals.push((iterator.clone(), it));
            let value = self.body(&content.body, diags);
            self.locals.pop();
            out.push(value);
        }
        Some(out)
    }
}

/// How to say that `path` lacks `name`, in the words of the thing `path` is, and how to
/// introduce the list of what it does have.
fn missing_attribute_words(path: &str, name: &str) -> (String, &'static str) {
    match path {
        "var" => (
            format!("no variable named `{name}`"),
            "the module declares:",
        ),
        "local" => (
            format!("no local value named `{name}`"),
            "the module defines:",
        ),
        "module" => (
            format!("no module call named `{name}`"),
            "the module calls:",
        ),
        "data" => (
            format!("no data source type `{name}` is declared"),
            "declared data source types:",
        ),
        "dependency" => (
            format!("no dependency named `{name}`"),
            "the unit declares dependencies:",
        ),
        "each" | "count" | "path" | "terraform" | "self" => {
            (format!("`{path}` has no attribute `{name}`"), "it has:")
        }
        "" => (format!("the value has no attribute `{name}`"), "it has:"),
        p if !p.contains('.') && !p.contains('[') && p.contains('_') => (
            format!("no `{p}` resource named `{name}` is declared"),
            "declared:",
        ),
        p => (format!("`{p}` has no attribute `{name}`"), "it has:"),
    }
}

/// Roots that exist only in some places, and where.
fn contextual_root_hint(name: &str) -> Option<&'static str> {
    match name {
        "each" => {
            Some("`each` exists only inside a resource, data or module block that sets for_each")
        }
        "count" => {
            Some("`count` exists only inside a resource, data or module block that sets count")
        }
        "self" => Some("`self` exists only inside provisioner and connection blocks"),
        _ => None,
    }
}

/// The text a template produces, and whether it depends on unknown or sensitive values.
#[derive(Default)]
struct TemplateOut {
    pub text: String,
    pub unknown: bool,
    pub sensitive: bool,
}

impl Evaluator<'_, '_> {
    fn render_nodes(
        &mut self,
        nodes: &[Node<'_>],
        out: &mut TemplateOut,
    ) -> Result<(), Diagnostic> {
        for node in nodes {
            match node {
                Node::Lit(s) => out.text.push_str(s),
                Node::Interp(i) => {
                    let v = self.eval(&i.expr)?;
                    self.append_to_template(v, &i.expr, out)?;
                }
                Node::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let (c, s) = unmark(self.eval(cond)?);
                    out.sensitive |= s;
                    let chosen = match c {
                        Value::Unknown => {
                            out.unknown = true;
                            continue;
                        }
                        Value::Null => {
                            return Err(self
                                .error_at(cond, "the %{if} condition is null")
                                .hint("compare with null explicitly, e.g. %{ if x != null }"));
                        }
                        other => match convert(&TypeConstraint::Bool, other) {
                            Ok(Value::Bool(b)) => b,
                            _ => {
                                return Err(self
                                    .error_at(cond, "the %{if} condition must be a bool")
                                    .hint("use a comparison such as %{ if x == \"y\" }"));
                            }
                        },
                    };
                    self.render_nodes(if chosen { then } else { otherwise }, out)?;
                }
                Node::For {
                    key,
                    value,
                    coll,
                    body,
                } => {
                    let (collection, s) = unmark(self.eval(coll)?);
                    out.sensitive |= s;
                    let items: Vec<(Value, Value)> =
                        match collection {
                            Value::Unknown => {
                                out.unknown = true;
                                continue;
                            }
                            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => xs
                                .into_iter()
                                .enumerate()
                                .map(|(i, x)| (Value::Number(i as f64), x))
                                .collect(),
                            Value::Object(m) | Value::Map(m) => {
                                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                            }
                            Value::Null => {
                                return Err(self
                                    .error_at(coll, "cannot iterate over a null value in %{for}")
                                    .hint("use coalesce(x, []) when it may be null"));
                            }
                            other => {
                                return Err(self.error_at(
                                coll,
                                &format!(
                                    "cannot iterate over a {} value in %{{for}}",
                                    other.kind_name()
                                ),
                            )
                            .hint("%{for} iterates over lists, sets, tuples, maps and objects"));
                            }
                        };
                    for (k, v) in items {
                        let before = self.locals.len();
                        if let Some(kv) = key {
                            self.locals.push((kv.clone(), k));
                        }
                        self.locals.push((value.clone(), v));
                        let r = self.render_nodes(body, out);
                        self.locals.truncate(before);
                        r?;
                    }
                }
            }
        }
        Ok(())
    }
}
