//! Whether an expression is a constant in Terraform's sense (`constant_value` in plan
//! JSON's configuration): HCL evaluates it with no context, where any variable outside a
//! `for` it binds, and any function call, fails.

use forge_provider::Value;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};

use crate::eval::Scope;
use crate::syntax::Expr;

impl Expr {
    /// The value when the expression is a constant as Terraform's plan JSON means it
    /// (`constant_value`): no reference and no function call (`"a-${"b"}"`, `[for x in [1] :
    /// x]`, `null`); `None` otherwise.
    pub fn constant_value(&self) -> Option<Value> {
        if !self.references().is_empty() || calls_function(&self.inner, 0) {
            return None;
        }
        // No references: no scope root is consulted, so an empty scope is HCL's nil context.
        let value = crate::eval::eval(self, &Scope::new(std::path::PathBuf::new())).ok()?;
        value.is_wholly_known().then_some(value)
    }
}

/// True when a function is called anywhere in the expression. Depth-limited like the
/// evaluator: past the limit the answer is "yes", which only withholds a constant.
fn calls_function(e: &Expression, depth: usize) -> bool {
    if depth > 200 {
        return true;
    }
    let deeper = |x: &Expression| calls_function(x, depth + 1);
    match e {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => false,
        Expression::FuncCall(_) => true,
        Expression::Traversal(t) => {
            deeper(&t.expr)
                || t.operators
                    .iter()
                    .any(|op| matches!(op.value(), TraversalOperator::Index(i) if deeper(i)))
        }
        Expression::Array(items) => items.iter().any(deeper),
        Expression::Object(obj) => obj
            .iter()
            .any(|(k, v)| matches!(k, ObjectKey::Expression(k) if deeper(k)) || deeper(v.expr())),
        Expression::StringTemplate(t) => template_calls(t, depth + 1),
        Expression::HeredocTemplate(h) => template_calls(&h.template, depth + 1),
        Expression::Parenthesis(p) => deeper(p.inner()),
        Expression::Conditional(c) => {
            deeper(&c.cond_expr) || deeper(&c.true_expr) || deeper(&c.false_expr)
        }
        Expression::UnaryOp(u) => deeper(&u.expr),
        Expression::BinaryOp(b) => deeper(&b.lhs_expr) || deeper(&b.rhs_expr),
        Expression::ForExpr(f) => {
            deeper(&f.intro.collection_expr)
                || f.key_expr.as_ref().is_some_and(deeper)
                || deeper(&f.value_expr)
                || f.cond.as_ref().is_some_and(|c| deeper(&c.expr))
        }
    }
}

fn template_calls(t: &Template, depth: usize) -> bool {
    t.iter().any(|el| match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => calls_function(&i.expr, depth),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => {
                calls_function(&i.if_expr.cond_expr, depth)
                    || template_calls(&i.if_expr.template, depth + 1)
                    || i.else_expr
                        .as_ref()
                        .is_some_and(|e| template_calls(&e.template, depth + 1))
            }
            Directive::For(f) => {
                calls_function(&f.for_expr.collection_expr, depth)
                    || template_calls(&f.for_expr.template, depth + 1)
            }
        },
    })
}
