//! A Terraform module: the blocks of the `*.tf` and `*.tf.json` files in one folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_lang::{
    Attribute, Body, Diagnostics, Expr, Location, Reference, SourceFile, TypeConstraint,
};
use forge_provider::Value;

#[derive(Clone, Debug)]
pub struct Module {
    pub dir: PathBuf,
    pub variables: Vec<Variable>,
    pub locals: Vec<Local>,
    /// `resource` blocks.
    pub resources: Vec<ResourceBlock>,
    /// `data` blocks.
    pub data: Vec<ResourceBlock>,
    pub outputs: Vec<Output>,
    pub providers: Vec<ProviderBlock>,
    /// `module` blocks: child modules from local folders, loaded recursively.
    pub module_calls: Vec<ModuleCall>,
    /// `moved { from = ... to = ... }` blocks (Terraform 1.1), addresses relative to this
    /// module.
    pub moved: Vec<Moved>,
    /// `removed { from = ... }` blocks (Terraform 1.7), addresses relative to this module.
    pub removed: Vec<Removed>,
    /// `import { to = ... id = ... }` blocks (Terraform 1.5); the root module only.
    pub imports: Vec<Import>,
    /// `check "name" { data ... assert { ... } }` blocks (Terraform 1.5).
    pub checks: Vec<CheckBlock>,
    pub files: Vec<Arc<SourceFile>>,
}

impl Module {
    /// Parses every `*.tf` and `*.tf.json` file in `dir` (sorted by name). All problems are reported together:
    /// syntax errors, duplicate names, unknown block types, bad meta-arguments.
    pub fn load(dir: &Path) -> Result<Module, Diagnostics> {
        crate::module_impl::load(dir)
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    pub fn module_call(&self, name: &str) -> Option<&ModuleCall> {
        self.module_calls.iter().find(|c| c.name == name)
    }
}

/// A `module "name" { source = "./child" ... }` block. Only local sources (`./`, `../`)
/// are supported; the child is loaded when its caller is.
#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    /// The `source` string as written.
    pub source: String,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Reference>,
    /// `providers = { aws = aws.west }`: the child's provider key to the caller's, both as
    /// `name` or `name.alias`. A child without an entry inherits the caller's default.
    pub providers: Vec<(String, String)>,
    /// The input variables: every attribute that is not a meta-argument, evaluated in the
    /// caller's scope.
    pub arguments: Vec<Attribute>,
    pub module: Arc<Module>,
    pub location: Location,
}

impl ModuleCall {
    /// Every reference the call makes in the caller: arguments, `count`, `for_each` and
    /// `depends_on`.
    pub fn references(&self) -> Vec<Reference> {
        let mut out: Vec<Reference> = self
            .arguments
            .iter()
            .flat_map(|a| a.expr.references())
            .collect();
        out.extend(
            self.count
                .iter()
                .chain(&self.for_each)
                .flat_map(Expr::references),
        );
        out.extend(self.depends_on.iter().cloned());
        out
    }
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub ty: TypeConstraint,
    /// The evaluated default (defaults may not reference anything).
    pub default: Option<Value>,
    pub sensitive: bool,
    pub nullable: bool,
    pub description: Option<String>,
    pub validations: Vec<Validation>,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct Validation {
    /// Evaluated with `var.<name>` in scope; false fails. Since Terraform 1.9 it may also
    /// use other variables, locals and data sources (`forge validate` checks that it uses
    /// its own variable).
    pub condition: Expr,
    pub error_message: Expr,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub location: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

/// A `resource` or `data` block.
#[derive(Clone, Debug)]
pub struct ResourceBlock {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    /// The body without meta-arguments (`count`, `for_each`, `depends_on`, `provider`,
    /// `lifecycle`, `provisioner`, `connection`).
    pub body: Body,
    pub depends_on: Vec<Reference>,
    pub lifecycle: Lifecycle,
    /// `provider = aws.west`: the alias, if any.
    pub provider_alias: Option<String>,
    pub location: Location,
}

impl ResourceBlock {
    /// `aws_sqs_queue.work` or `data.aws_region.current`.
    pub fn address(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }

    /// Every reference the block makes: body (nested blocks included), `count`,
    /// `for_each` and `depends_on`.
    pub fn references(&self) -> Vec<Reference> {
        crate::module_impl::resource_references(self)
    }
}

#[derive(Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    pub ignore_changes: IgnoreChanges,
    /// Checked before the instance's change is planned (before a data source is read).
    pub preconditions: Vec<Condition>,
    /// Checked against the planned object (when it is known), the applied one, or the
    /// data read; `self` is the object.
    pub postconditions: Vec<Condition>,
}

/// Written as before conditions existed, which adds them only when there are some (the
/// configuration snapshots print it).
impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Lifecycle");
        d.field("prevent_destroy", &self.prevent_destroy)
            .field("create_before_destroy", &self.create_before_destroy)
            .field("ignore_changes", &self.ignore_changes);
        if !self.preconditions.is_empty() {
            d.field("preconditions", &self.preconditions);
        }
        if !self.postconditions.is_empty() {
            d.field("postconditions", &self.postconditions);
        }
        d.finish()
    }
}

/// A `precondition`, `postcondition` or check `assert` block.
#[derive(Clone)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
    pub location: Location,
}

/// Conditions are the same when written the same at the same place.
impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.location == other.location
            && self.condition.source_text() == other.condition.source_text()
            && self.error_message.source_text() == other.error_message.source_text()
    }
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{ condition = {}, error_message = {} }}",
            self.condition.source_text(),
            self.error_message.source_text()
        )
    }
}

/// `check "name" { data "t" "n" {...}  assert { condition = ...  error_message = ... } }`:
/// evaluated once the rest of the module is planned or applied; a failure is a warning.
#[derive(Clone, Debug)]
pub struct CheckBlock {
    pub name: String,
    /// Scoped data sources: read for the check only, visible only to its asserts.
    pub data: Vec<ResourceBlock>,
    pub asserts: Vec<Condition>,
    pub location: Location,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum IgnoreChanges {
    #[default]
    None,
    /// `ignore_changes = all`
    All,
    /// Top-level attribute names (`tags`, `user_data`).
    Attributes(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<Reference>,
    /// Checked before the value is evaluated; a failure is an error.
    pub preconditions: Vec<Condition>,
    pub location: Location,
}

/// An address in a `moved`, `removed` or `import` block, in Terraform's spelling with
/// literal keys (`module.a[0].aws_sqs_queue.q["k"]`, `module.a`): it names objects, so it
/// is never evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockAddress {
    /// Canonical text: string keys written as JSON strings.
    pub text: String,
    pub location: Location,
}

impl BlockAddress {
    /// True when it ends with a resource (`type.name`, with or without a key) rather than a
    /// module call.
    pub fn is_resource(&self) -> bool {
        crate::refactor::address_ends_with_resource(&self.text)
    }
}

/// `moved { from = aws_sqs_queue.a  to = aws_sqs_queue.b }`.
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: BlockAddress,
    pub to: BlockAddress,
    pub location: Location,
}

/// `removed { from = aws_sqs_queue.a  lifecycle { destroy = false } }`.
#[derive(Clone, Debug)]
pub struct Removed {
    /// A resource or a module call, without instance keys.
    pub from: BlockAddress,
    /// `lifecycle { destroy = ... }`; true when absent, as Terraform.
    pub destroy: bool,
    pub location: Location,
}

/// `import { to = aws_sqs_queue.a  id = "..." }`; with `for_each` (Terraform 1.7), one
/// import per element.
#[derive(Clone, Debug)]
pub struct Import {
    /// A resource instance (keys allowed). With `for_each`, `to` as written.
    pub to: BlockAddress,
    /// Evaluated in the root module's scope; must be known when planning.
    pub id: Expr,
    pub for_each: Option<ImportForEach>,
    pub location: Location,
}

/// An import block's `for_each` and its `to`, whose instance keys are expressions of
/// `each.key` and `each.value` evaluated per element.
#[derive(Clone, Debug)]
pub struct ImportForEach {
    pub collection: Expr,
    /// `to`'s module calls, each with its key, from the root.
    pub modules: Vec<(String, Option<Expr>)>,
    /// `to`'s resource type, name and key.
    pub resource: (String, String, Option<Expr>),
}

/// A `provider "aws" {...}` block, from a module file or from a unit's `generate` contents.
#[derive(Clone, Debug)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    /// Evaluated with the module's scope (it may reference `var.*`); nested blocks such as
    /// `endpoints` and `default_tags` become lists of objects (`forge_lang::eval::eval_body`).
    pub body: Body,
    pub location: Location,
}
