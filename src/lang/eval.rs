//! Evaluation of expressions to values with unknown and sensitive marks.
//!
//! IMPLEMENTATION OWNER: the lang helper. The signatures below are the contract that
//! forge-config and forge-engine are written against; keep them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use forge_provider::Value;

use crate::diagnostic::Diagnostics;
use crate::syntax::{Body, Expr, Reference};

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
    crate::eval_impl::eval(expr, scope)
}

/// Evaluates a block body to an object: each attribute by name; each nested block type
/// as a list of objects (one per occurrence, evaluated the same way). `dynamic` blocks are
/// expanded. All errors of the body are reported together.
pub fn eval_body(body: &Body, scope: &Scope<'_>) -> Result<Value, Diagnostics> {
    crate::eval_impl::eval_body(body, scope)
}

impl Expr {
    /// Every reference the expression makes, in source order (for graphs and checks).
    /// Names bound inside the expression (`for` variables) are not references.
    pub fn references(&self) -> Vec<Reference> {
        crate::eval_impl::references(self)
    }

    /// Where the expression stands.
    pub fn location(&self) -> crate::Location {
        crate::eval_impl::expr_location(self)
    }

    /// The expression as a bare traversal (`aws_s3_bucket.b`, `tags`), for `depends_on`
    /// and `ignore_changes` lists; `None` when it is anything else.
    pub fn as_traversal(&self) -> Option<Reference> {
        crate::eval_impl::as_traversal(self)
    }

    /// The expression as a traversal whose indexes may be computed
    /// (`aws_sqs_queue.q[each.key]`, for an `import` block with `for_each`): the root name
    /// and each step, an index as its unevaluated expression. `None` when it is anything
    /// else (a call, an operator, a splat).
    pub fn as_traversal_with_indexes(&self) -> Option<(String, Vec<TraversalStep>)> {
        crate::eval_impl::as_traversal_with_indexes(self)
    }

    /// The elements of a tuple literal (`[a, b]`), unevaluated; `None` otherwise.
    pub fn as_list(&self) -> Option<Vec<Expr>> {
        crate::eval_impl::as_list(self)
    }

    /// The value when the expression is a constant as Terraform's plan JSON means it
    /// (`constant_value`): no reference and no function call (`"a-${"b"}"`, `[for x in [1] :
    /// x]`, `null`); `None` otherwise.
    pub fn constant_value(&self) -> Option<Value> {
        crate::constant_impl::constant_value(self)
    }

    /// The source text of the expression (for plan rendering of unknown values' origin).
    pub fn source_text(&self) -> String {
        crate::eval_impl::source_text(self)
    }
}
