//! A Terraform module: the blocks of the `*.tf` and `*.tf.json` files in one folder.
//!
//! Reading a Terraform module folder into [`Module`]: every `*.tf` and `*.tf.json` file
//! (the JSON through forge-lang's JSON front-end, `module_json` saying how each block type
//! reads), every problem reported together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_lang::diagnostic::did_you_mean;
use forge_lang::{
    Attribute, Block, Body, Diagnostic, Diagnostics, Expr, Location, Reference, Scope, SourceFile,
    TypeConstraint,
};
use forge_provider::Value;

use crate::context::LoadContext;
pub use crate::mode::Mode;
pub use crate::refactor::{BlockAddress, Import, ImportForEach, Moved, Removed};

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
    /// OpenTofu's `terraform { encryption { ... } }` (root module only: a child's is
    /// refused, as OpenTofu does).
    pub encryption: Option<crate::EncryptionSettings>,
    /// The `terraform` block's `required_providers` and `backend`, and what of it forge
    /// does not act on (warnings); `required_version` is checked as it is read.
    pub requirements: crate::requirements::ModuleRequirements,
    pub files: Vec<Arc<SourceFile>>,
}

impl Module {
    /// Parses every `*.tf` and `*.tf.json` file in `dir` (sorted by name). All problems are reported together:
    /// syntax errors, duplicate names, unknown block types, bad meta-arguments. `.tf.json`
    /// resource bodies are read with the context's schemas.
    pub fn load(dir: &Path, context: &LoadContext) -> Result<Module, Diagnostics> {
        load_nested(dir, &mut Vec::new(), context)
    }

    /// Reads a file a unit's `generate` block would write into this module, as if it were
    /// one of the module's own (its `provider` blocks are the caller's to keep: they are
    /// left out here).
    pub fn add_generated_file(&mut self, body: &Body, context: &LoadContext) -> Diagnostics {
        let without_providers = Body {
            attributes: body.attributes.clone(),
            blocks: body
                .blocks
                .iter()
                .filter(|b| b.ident != "provider")
                .cloned()
                .collect(),
            file: body.file.clone(),
        };
        let mut calling = vec![canonical(&self.dir)];
        let mut diags = read_file_body(&without_providers, self, &mut calling, context);
        self.files.push(body.file.clone());
        diags.extend(check_duplicates(self));
        diags
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
        resource_references(self)
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

const MODULE_BLOCKS: &[&str] = &[
    "variable",
    "locals",
    "output",
    "resource",
    "data",
    "provider",
    "terraform",
    "module",
    "moved",
    "removed",
    "import",
    "check",
];
/// Meta-arguments of a `module` block; every other attribute is an input variable.
const MODULE_CALL_META: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];
/// Meta-arguments taken out of a resource body.
const META_ATTRIBUTES: &[&str] = &["count", "for_each", "depends_on", "provider"];
const META_BLOCKS: &[&str] = &["lifecycle", "provisioner", "connection"];
const VARIABLE_ATTRIBUTES: &[&str] = &[
    "type",
    "default",
    "sensitive",
    "nullable",
    "description",
    "ephemeral",
];
const OUTPUT_ATTRIBUTES: &[&str] = &[
    "value",
    "sensitive",
    "description",
    "depends_on",
    "ephemeral",
];
const LIFECYCLE_ATTRIBUTES: &[&str] = &[
    "prevent_destroy",
    "create_before_destroy",
    "ignore_changes",
    "replace_triggered_by",
];

/// Loads a module and, recursively, the modules it calls; `calling` holds the folders of
/// the modules being loaded above this one (to report a cycle instead of recursing forever).
fn load_nested(
    dir: &Path,
    calling: &mut Vec<PathBuf>,
    context: &LoadContext,
) -> Result<Module, Diagnostics> {
    let files = tf_files(dir)?;
    let mut diags = Diagnostics::new();
    let mut bodies = Vec::new();
    for path in &files {
        let parsed = if is_json_configuration(path) {
            // The same model from Terraform's JSON syntax: forge-lang's front-end reads the
            // file into a body by the rules of each block type.
            forge_lang::parse_json_file(path)
                .and_then(|f| f.body(&crate::module_json::file_spec(context.schemas())))
        } else {
            forge_lang::parse_file(path)
        };
        match parsed {
            Ok(body) => bodies.push(body),
            Err(d) => diags.extend(d),
        }
    }
    let mut module = Module {
        dir: dir.to_path_buf(),
        variables: Vec::new(),
        locals: Vec::new(),
        resources: Vec::new(),
        data: Vec::new(),
        outputs: Vec::new(),
        providers: Vec::new(),
        module_calls: Vec::new(),
        moved: Vec::new(),
        removed: Vec::new(),
        imports: Vec::new(),
        checks: Vec::new(),
        encryption: None,
        requirements: Default::default(),
        files: bodies.iter().map(|b| b.file.clone()).collect(),
    };
    calling.push(canonical(dir));
    for body in &bodies {
        diags.extend(read_file_body(body, &mut module, calling, context));
    }
    calling.pop();
    diags.extend(check_duplicates(&module));
    if diags.is_empty() {
        Ok(module)
    } else {
        Err(diags)
    }
}

fn is_json_configuration(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tf.json"))
}

/// `override.tf`, `main_override.tf` and their `.tf.json` forms: Terraform merges them into
/// the blocks they name, which forge does not do.
fn is_override_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"));
    stem.is_some_and(|s| s == "override" || s.ends_with("_override"))
}

/// The module's `*.tf` and `*.tf.json` files, sorted by name as Terraform reads them.
fn tf_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, Diagnostics> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostics::from(Diagnostic::error(format!(
            "cannot read the module folder {}: {e}",
            dir.display()
        )))
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && (p.extension().is_some_and(|x| x == "tf") || is_json_configuration(p))
        })
        .collect();
    files.sort();
    refuse_override_files(&files)?;
    if files.is_empty() {
        return Err(Diagnostic::error(format!("the module folder {} has no .tf or .tf.json files", dir.display()))
            .hint("point terraform { source } at a folder of Terraform files, or put them next to the unit's terragrunt.hcl")
            .into());
    }
    Ok(files)
}

/// Reading an override file as an ordinary one would declare its blocks twice or, worse,
/// add blocks Terraform would refuse, so it is an error.
fn refuse_override_files(files: &[PathBuf]) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for path in files.iter().filter(|p| is_override_file(p)) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let location = forge_lang::SourceFile::new(path.clone(), text).location(0..1);
        diags.push(
            Diagnostic::error(format!("{} is an override file, which forge does not merge", path.display()))
                .at(location)
                .hint("make the changes in the file that declares those blocks and delete the override file"),
        );
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

/// `a/./b/../c` as `a/c`, without touching the file system (so messages show the path the
/// user would write, and symbolic links stay as they are).
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

fn read_file_body(
    body: &Body,
    module: &mut Module,
    calling: &mut Vec<PathBuf>,
    context: &LoadContext,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        diags.push(
            Diagnostic::error(format!(
                "unexpected attribute `{}` at the top level of a .tf file",
                attr.name
            ))
            .at(attr.location.clone())
            .hint("top-level declarations are blocks: put it in a locals { } block"),
        );
    }
    for block in &body.blocks {
        let result = match block.ident.as_str() {
            "variable" => read_variable(block).map(|v| module.variables.push(v)),
            "locals" => {
                module
                    .locals
                    .extend(block.body.attributes.iter().map(|a| Local {
                        name: a.name.clone(),
                        expr: a.expr.clone(),
                        location: a.location.clone(),
                    }));
                no_blocks(block, "locals")
            }
            "output" => read_output(block).map(|o| module.outputs.push(o)),
            "resource" => read_resource(block, Mode::Managed).map(|r| module.resources.push(r)),
            "data" => read_resource(block, Mode::Data).map(|r| module.data.push(r)),
            "provider" => read_provider(block).map(|p| module.providers.push(p)),
            "terraform" => {
                let child = calling.len() > 1;
                let mut found = crate::requirements::read_terraform_block(
                    block,
                    child,
                    &mut module.requirements,
                );
                if let Err(d) = read_terraform_block(block, module, child) {
                    found.extend(d);
                }
                if found.is_empty() { Ok(()) } else { Err(found) }
            }
            "module" => {
                read_module_call(block, calling, context).map(|c| module.module_calls.push(c))
            }
            "moved" => crate::refactor::read_moved(block).map(|m| module.moved.push(m)),
            "removed" => crate::refactor::read_removed(block).map(|r| module.removed.push(r)),
            "import" => crate::refactor::read_import(block).map(|i| module.imports.push(i)),
            "check" => read_check(block).map(|c| module.checks.push(c)),
            other => Err(unknown_name_error(
                "block type",
                other,
                MODULE_BLOCKS,
                block.location.clone(),
            )),
        };
        if let Err(d) = result {
            diags.extend(d);
        }
    }
    diags
}

fn unknown_name_error(kind: &str, name: &str, known: &[&str], at: Location) -> Diagnostics {
    unknown_name_in(kind, name, "", known, at)
}

/// "unknown argument `defualt` in variable "typo"", with the closest known name.
fn unknown_name_in(
    kind: &str,
    name: &str,
    place: &str,
    known: &[&str],
    at: Location,
) -> Diagnostics {
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" in {place}")
    };
    let d = Diagnostic::error(format!("unknown {kind} `{name}`{place}")).at(at);
    match did_you_mean(name, known.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!("expected one of: {}", known.join(", "))),
    }
    .into()
}

fn no_blocks(block: &Block, what: &str) -> Result<(), Diagnostics> {
    match block.body.blocks.first() {
        Some(b) => Err(Diagnostic::error(format!(
            "a {what} block holds attributes only, not a `{}` block",
            b.ident
        ))
        .at(b.location.clone())
        .into()),
        None => Ok(()),
    }
}

/// The one label a block must have (`variable "name"`).
fn one_label(block: &Block, example: &str) -> Result<String, Diagnostics> {
    match block.labels.as_slice() {
        [name] => Ok(name.clone()),
        _ => Err(
            Diagnostic::error(format!("a {} block takes exactly one name", block.ident))
                .at(block.location.clone())
                .hint(format!("write: {example}"))
                .into(),
        ),
    }
}

fn check_attributes(body: &Body, allowed: &[&str], what: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        if !allowed.contains(&attr.name.as_str()) {
            diags.extend(unknown_name_in(
                "argument",
                &attr.name,
                what,
                allowed,
                attr.location.clone(),
            ));
        }
    }
    diags
}

/// A constant: evaluated with nothing in scope (defaults, flags).
fn constant(expr: &Expr, base_dir: &Path) -> Result<Value, Diagnostics> {
    forge_lang::eval(expr, &Scope::new(base_dir))
}

fn constant_bool(
    attr: Option<&Attribute>,
    default: bool,
    base_dir: &Path,
) -> Result<bool, Diagnostics> {
    let Some(attr) = attr else { return Ok(default) };
    if let Some(r) = attr.expr.references().first() {
        let name = r
            .first_attr()
            .map_or(r.root.clone(), |a| format!("{}.{a}", r.root));
        return Err(Diagnostic::error(format!(
            "`{}` must be a literal true or false; it cannot refer to `{name}`",
            attr.name
        ))
        .at(r.location.clone())
        .hint("Terraform reads it before any variable is known; write true or false")
        .into());
    }
    let value = constant(&attr.expr, base_dir)?;
    value.unmarked().as_bool().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(format!(
                "`{}` must be true or false, not {}",
                attr.name,
                value.kind_name()
            ))
            .at(attr.expr.location())
            .hint("write a literal true or false; it cannot refer to variables"),
        )
    })
}

fn constant_string(
    attr: Option<&Attribute>,
    base_dir: &Path,
) -> Result<Option<String>, Diagnostics> {
    let Some(attr) = attr else { return Ok(None) };
    let value = constant(&attr.expr, base_dir)?;
    match value.unmarked().as_str() {
        Some(s) => Ok(Some(s.to_string())),
        None => Err(
            Diagnostic::error(format!("`{}` must be a string", attr.name))
                .at(attr.expr.location())
                .into(),
        ),
    }
}

fn base_dir_of(body: &Body) -> std::path::PathBuf {
    body.file
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read_variable(block: &Block) -> Result<Variable, Diagnostics> {
    let name = one_label(block, "variable \"name\" { type = string }")?;
    let body = &block.body;
    let base = base_dir_of(body);
    let mut diags = check_attributes(body, VARIABLE_ATTRIBUTES, &format!("variable \"{name}\""));
    let ty = match body.attribute("type") {
        Some(a) => TypeConstraint::parse(&a.expr).unwrap_or_else(|d| {
            diags.extend(d);
            TypeConstraint::Any
        }),
        None => TypeConstraint::Any,
    };
    let sensitive = constant_bool(body.attribute("sensitive"), false, &base).unwrap_or_else(|d| {
        diags.extend(d);
        false
    });
    let nullable = constant_bool(body.attribute("nullable"), true, &base).unwrap_or_else(|d| {
        diags.extend(d);
        true
    });
    let description = constant_string(body.attribute("description"), &base).unwrap_or_else(|d| {
        diags.extend(d);
        None
    });
    let default = match body.attribute("default") {
        Some(a) => match constant(&a.expr, &base) {
            Ok(v) if v.is_null() && !nullable => {
                diags.push(
                    Diagnostic::error(format!("variable `{name}` is not nullable, so its default cannot be null"))
                        .at(a.expr.location())
                        .hint("give a non-null default, or remove the default to make the variable required"),
                );
                None
            }
            Ok(v) if v.is_null() => Some(Value::Null),
            Ok(v) => match ty.convert(v) {
                Ok(v) => Some(if sensitive { v.sensitive() } else { v }),
                // The conversion message quotes the value; a secret's must not be shown.
                Err(_) if sensitive => {
                    diags.push(
                        Diagnostic::error(format!(
                            "the default of sensitive variable `{name}` does not match its type"
                        ))
                        .at(a.expr.location())
                        .hint("change the default or the type so they agree"),
                    );
                    None
                }
                Err(e) => {
                    diags.push(
                        Diagnostic::error(format!(
                            "the default of variable `{name}` does not match its type: {e}"
                        ))
                        .at(a.expr.location())
                        .hint("change the default or the type so they agree"),
                    );
                    None
                }
            },
            Err(_) => {
                diags.push(
                    Diagnostic::error(format!("the default of variable `{name}` must be a constant"))
                        .at(a.expr.location())
                        .hint("defaults cannot refer to other variables, locals or resources; use a local for derived values"),
                );
                None
            }
        },
        None => None,
    };
    let mut validations = Vec::new();
    for vb in &body.blocks {
        if vb.ident != "validation" {
            diags.extend(unknown_name_in(
                "block",
                &vb.ident,
                &format!("variable \"{name}\""),
                &["validation"],
                vb.location.clone(),
            ));
            continue;
        }
        match (
            vb.body.attribute("condition"),
            vb.body.attribute("error_message"),
        ) {
            (Some(c), Some(m)) => validations.push(Validation {
                condition: c.expr.clone(),
                error_message: m.expr.clone(),
            }),
            _ => diags.push(
                Diagnostic::error("a validation block needs condition and error_message")
                    .at(vb.location.clone()),
            ),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Variable {
        name,
        ty,
        default,
        sensitive,
        nullable,
        description,
        validations,
        location: block.location.clone(),
    })
}

fn read_output(block: &Block) -> Result<Output, Diagnostics> {
    let name = one_label(block, "output \"name\" { value = ... }")?;
    let body = &block.body;
    let base = base_dir_of(body);
    let mut diags = check_attributes(body, OUTPUT_ATTRIBUTES, &format!("output \"{name}\""));
    let Some(value) = body.attribute("value") else {
        diags.push(
            Diagnostic::error(format!("output `{name}` has no value"))
                .at(block.location.clone())
                .hint("write: value = <expression>"),
        );
        return Err(diags);
    };
    let sensitive = constant_bool(body.attribute("sensitive"), false, &base).unwrap_or_else(|d| {
        diags.extend(d);
        false
    });
    let description = constant_string(body.attribute("description"), &base).unwrap_or_else(|d| {
        diags.extend(d);
        None
    });
    let depends_on = traversal_list(body.attribute("depends_on")).unwrap_or_else(|d| {
        diags.extend(d);
        Vec::new()
    });
    let mut preconditions = Vec::new();
    for b in &body.blocks {
        if b.ident != "precondition" {
            diags.extend(unknown_name_in(
                "block",
                &b.ident,
                &format!("output \"{name}\""),
                &["precondition"],
                b.location.clone(),
            ));
            continue;
        }
        match read_condition(b) {
            Ok(c) => preconditions.push(c),
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Output {
        name,
        expr: value.expr.clone(),
        sensitive,
        description,
        depends_on,
        preconditions,
        location: block.location.clone(),
    })
}

/// `depends_on = [aws_s3_bucket.b, data.x.y]`: bare references only.
fn traversal_list(attr: Option<&Attribute>) -> Result<Vec<Reference>, Diagnostics> {
    let Some(attr) = attr else {
        return Ok(Vec::new());
    };
    let Some(items) = attr.expr.as_list() else {
        return Err(
            Diagnostic::error(format!("`{}` must be a list of references", attr.name))
                .at(attr.expr.location())
                .hint("write: depends_on = [aws_s3_bucket.files]")
                .into(),
        );
    };
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for item in items {
        match item.as_traversal() {
            Some(r) => out.push(r),
            None => diags.push(
                Diagnostic::error(format!(
                    "each element of `{}` must be a reference such as aws_s3_bucket.files",
                    attr.name
                ))
                .at(item.location())
                .hint("remove quotes and expressions: refer to the resource itself"),
            ),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn read_resource(block: &Block, mode: Mode) -> Result<ResourceBlock, Diagnostics> {
    let keyword = if mode == Mode::Managed {
        "resource"
    } else {
        "data"
    };
    let [type_name, name] = block.labels.as_slice() else {
        return Err(
            Diagnostic::error(format!("a {keyword} block takes a type and a name"))
                .at(block.location.clone())
                .hint(format!(
                    "write: {keyword} \"aws_s3_bucket\" \"files\" {{ ... }}"
                ))
                .into(),
        );
    };
    let body = &block.body;
    let mut diags = Diagnostics::new();
    let count = body.attribute("count").map(|a| a.expr.clone());
    let for_each = body.attribute("for_each").map(|a| a.expr.clone());
    if let (Some(_), Some(fe)) = (&count, body.attribute("for_each")) {
        diags.push(
            Diagnostic::error(format!(
                "{keyword} {type_name}.{name} sets both count and for_each"
            ))
            .at(fe.location.clone())
            .hint(
                "use one of them: for_each for a map or set of names, count for a number of copies",
            ),
        );
    }
    let depends_on = traversal_list(body.attribute("depends_on")).unwrap_or_else(|d| {
        diags.extend(d);
        Vec::new()
    });
    let provider_alias = match body.attribute("provider") {
        Some(a) => match a.expr.as_traversal() {
            Some(r) => r.first_attr().map(str::to_string),
            None => {
                diags.push(
                    Diagnostic::error("provider must be a reference such as aws.west")
                        .at(a.expr.location())
                        .hint("remove the quotes"),
                );
                None
            }
        },
        None => None,
    };
    let mut lifecycle = Lifecycle::default();
    for lb in body.blocks_of("lifecycle") {
        match read_lifecycle(lb) {
            Ok(l) => lifecycle = l,
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let stripped = Body {
        attributes: body
            .attributes
            .iter()
            .filter(|a| !META_ATTRIBUTES.contains(&a.name.as_str()))
            .cloned()
            .collect(),
        blocks: body
            .blocks
            .iter()
            .filter(|b| !META_BLOCKS.contains(&b.ident.as_str()))
            .cloned()
            .collect(),
        file: body.file.clone(),
    };
    Ok(ResourceBlock {
        mode,
        type_name: type_name.clone(),
        name: name.clone(),
        count,
        for_each,
        body: stripped,
        depends_on,
        lifecycle,
        provider_alias,
        location: block.location.clone(),
    })
}

fn read_module_call(
    block: &Block,
    calling: &mut Vec<PathBuf>,
    context: &LoadContext,
) -> Result<ModuleCall, Diagnostics> {
    let name = one_label(block, "module \"queue\" { source = \"./queue\" }")?;
    let body = &block.body;
    let base = base_dir_of(body);
    let mut diags = no_blocks(block, &format!("module \"{name}\""))
        .err()
        .unwrap_or_default();
    let Some(source_attr) = body.attribute("source") else {
        diags.push(
            Diagnostic::error(format!("module \"{name}\" has no source"))
                .at(block.location.clone())
                .hint("write: source = \"./path/to/module\" (a folder relative to this module)"),
        );
        return Err(diags);
    };
    let source = constant_string(Some(source_attr), &base)?.unwrap_or_default();
    let source_at = source_attr.expr.location();
    // Terraform treats only paths starting with ./ or ../ as local; anything else is a
    // registry address or a go-getter URL, fetched by the context's module sources.
    let local = source.starts_with("./") || source.starts_with("../");
    // A registry module's version constraint, given to the fetch that chooses the
    // version (it is refused below for a local source, and by the fetch for git and
    // archive sources).
    let version = if local {
        None
    } else {
        constant_string(body.attribute("version"), &base)?
    };
    let fetched = if local {
        None
    } else {
        let Some(sources) = context.module_sources() else {
            diags.push(
                Diagnostic::error(format!("module \"{name}\": this run reads local module sources (starting with ./ or ../) only, not {source:?}"))
                    .at(source_at)
                    .hint("check the module out next to this one and point source at its folder, e.g. source = \"../modules/queue\""),
            );
            return Err(diags);
        };
        match sources.fetch(&source, version.as_deref()) {
            Ok(dir) => Some(dir),
            Err(e) => {
                diags.push(
                    Diagnostic::error(format!("module \"{name}\": {e}"))
                        .at(source_at)
                        .hint("check the address, the version or ref, and your access (git credentials, TF_TOKEN_<host> for a registry, AWS credentials for S3); what was fetched is kept in the module cache, FORGE_MODULE_CACHE"),
                );
                return Err(diags);
            }
        }
    };
    if let (true, Some(v)) = (local, body.attribute("version")) {
        diags.push(
            Diagnostic::error(format!("module \"{name}\": `version` applies to registry modules only, not to a local source"))
                .at(v.location.clone())
                .hint("remove the version argument"),
        );
    }
    let count = body.attribute("count").map(|a| a.expr.clone());
    let for_each = body.attribute("for_each").map(|a| a.expr.clone());
    if let (Some(_), Some(fe)) = (&count, body.attribute("for_each")) {
        diags.push(
            Diagnostic::error(format!("module \"{name}\" sets both count and for_each"))
                .at(fe.location.clone())
                .hint("use one of them: for_each for a map or set of names, count for a number of copies"),
        );
    }
    let depends_on = traversal_list(body.attribute("depends_on")).unwrap_or_else(|d| {
        diags.extend(d);
        Vec::new()
    });
    let providers = match body.attribute("providers") {
        Some(a) => provider_map(a).unwrap_or_else(|d| {
            diags.extend(d);
            Vec::new()
        }),
        None => Vec::new(),
    };
    let dir = fetched.unwrap_or_else(|| normalized(&base.join(&source)));
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error(format!(
                "module \"{name}\": the source folder {source:?} does not exist"
            ))
            .at(source_at)
            .detail(format!("resolved to {}", dir.display()))
            .hint("source is relative to the folder of the calling module"),
        );
        return Err(diags);
    }
    let key = canonical(&dir);
    if let Some(first) = calling.iter().position(|d| *d == key) {
        let path: Vec<String> = calling[first..]
            .iter()
            .chain([&key])
            .map(|d| d.display().to_string())
            .collect();
        diags.push(
            Diagnostic::error(format!(
                "module \"{name}\" calls a module that is already calling it: {}",
                path.join(" -> ")
            ))
            .at(source_at)
            .hint("a module cannot call itself, directly or through other modules"),
        );
        return Err(diags);
    }
    let child = match load_nested(&dir, calling, context) {
        Ok(m) => m,
        Err(d) => {
            diags.extend(Diagnostics(
                d.0.into_iter()
                    .map(|x| {
                        if x.location.is_none() {
                            x.at(source_at.clone())
                        } else {
                            x
                        }
                    })
                    .collect(),
            ));
            return Err(diags);
        }
    };
    for p in &child.providers {
        diags.push(
            Diagnostic::error(format!("provider \"{}\" is configured inside the child module \"{name}\"; forge configures providers in the root module only", p.name))
                .at(p.location.clone())
                .hint("move the provider block to the root module: the child inherits its default configuration, or pass an alias with providers = { aws = aws.west }"),
        );
    }
    for i in &child.imports {
        diags.push(
            Diagnostic::error(format!("an import block in module \"{name}\": import blocks are allowed in the root module only"))
                .at(i.location.clone())
                .hint(format!("move it to the root module, with the module path in `to`: module.{name}.{}", i.to.text)),
        );
    }
    let arguments: Vec<Attribute> = body
        .attributes
        .iter()
        .filter(|a| !MODULE_CALL_META.contains(&a.name.as_str()))
        .cloned()
        .collect();
    let declared: Vec<&str> = child.variables.iter().map(|v| v.name.as_str()).collect();
    for arg in &arguments {
        if child.variable(&arg.name).is_none() {
            let d = Diagnostic::error(format!(
                "module \"{name}\" has no input variable `{}`",
                arg.name
            ))
            .at(arg.location.clone());
            let d = match did_you_mean(&arg.name, declared.iter().copied()) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None if declared.is_empty() => {
                    d.hint(format!("the module at {source} declares no variables"))
                }
                None => d.hint(format!(
                    "the module at {source} declares: {}",
                    declared.join(", ")
                )),
            };
            diags.push(d);
        }
    }
    for var in &child.variables {
        if var.default.is_none() && !arguments.iter().any(|a| a.name == var.name) {
            diags.push(
                Diagnostic::error(format!(
                    "module \"{name}\" does not set the required variable `{}`",
                    var.name
                ))
                .at(block.location.clone())
                .detail(format!("declared at {}", var.location))
                .hint(format!("add `{} = ...` to the module block", var.name)),
            );
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(ModuleCall {
        name,
        source,
        count,
        for_each,
        depends_on,
        providers,
        arguments,
        module: Arc::new(child),
        location: block.location.clone(),
    })
}

/// `providers = { aws = aws.west, aws.east = aws }`: pairs of bare provider references,
/// read from the source text (they are names, never evaluated).
fn provider_map(attr: &Attribute) -> Result<Vec<(String, String)>, Diagnostics> {
    let bad = || -> Diagnostics {
        Diagnostic::error("providers must be a map of provider references")
            .at(attr.expr.location())
            .hint("write: providers = { aws = aws.west }")
            .into()
    };
    let text = attr.expr.source_text();
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let is_key = |s: &str| {
        let parts: Vec<&str> = s.split('.').collect();
        (1..=2).contains(&parts.len())
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
    };
    let mut out = Vec::new();
    for item in inner
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (k, v) = item.split_once(['=', ':']).ok_or_else(bad)?;
        let (k, v) = (k.trim(), v.trim());
        if !is_key(k) || !is_key(v) {
            return Err(bad());
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

fn read_lifecycle(block: &Block) -> Result<Lifecycle, Diagnostics> {
    let body = &block.body;
    let base = base_dir_of(body);
    let mut diags = check_attributes(body, LIFECYCLE_ATTRIBUTES, "lifecycle");
    let (mut preconditions, mut postconditions) = (Vec::new(), Vec::new());
    for b in &body.blocks {
        let list = match b.ident.as_str() {
            "precondition" => &mut preconditions,
            "postcondition" => &mut postconditions,
            _ => {
                diags.extend(unknown_name_in(
                    "block",
                    &b.ident,
                    "lifecycle",
                    &["precondition", "postcondition"],
                    b.location.clone(),
                ));
                continue;
            }
        };
        match read_condition(b) {
            Ok(c) => list.push(c),
            Err(d) => diags.extend(d),
        }
    }
    let prevent_destroy = constant_bool(body.attribute("prevent_destroy"), false, &base)
        .unwrap_or_else(|d| {
            diags.extend(d);
            false
        });
    let create_before_destroy =
        constant_bool(body.attribute("create_before_destroy"), false, &base).unwrap_or_else(|d| {
            diags.extend(d);
            false
        });
    let ignore_changes = match body.attribute("ignore_changes") {
        Some(a) => read_ignore_changes(a).unwrap_or_else(|d| {
            diags.extend(d);
            IgnoreChanges::None
        }),
        None => IgnoreChanges::None,
    };
    if diags.is_empty() {
        Ok(Lifecycle {
            prevent_destroy,
            create_before_destroy,
            ignore_changes,
            preconditions,
            postconditions,
        })
    } else {
        Err(diags)
    }
}

/// A `precondition`, `postcondition` or `assert` block: `condition` and `error_message`,
/// both required, nothing else.
fn read_condition(block: &Block) -> Result<Condition, Diagnostics> {
    let what = block.ident.as_str();
    let mut diags = check_attributes(&block.body, &["condition", "error_message"], what);
    diags.extend(no_blocks(block, what).err().unwrap_or_default());
    let condition = block.body.attribute("condition");
    let message = block.body.attribute("error_message");
    for (name, attr) in [("condition", condition), ("error_message", message)] {
        if attr.is_none() {
            diags.push(
                Diagnostic::error(format!(
                    "{} {what} block needs `{name}`",
                    if what.starts_with('a') { "an" } else { "a" }
                ))
                .at(block.location.clone())
                .hint(format!(
                    "write: {what} {{ condition = <bool expression>  error_message = \"...\" }}"
                )),
            );
        }
    }
    match (condition, message) {
        (Some(c), Some(m)) if diags.is_empty() => Ok(Condition {
            condition: c.expr.clone(),
            error_message: m.expr.clone(),
            location: block.location.clone(),
        }),
        _ => Err(diags),
    }
}

/// `check "name" { data "t" "n" { ... }  assert { ... } }`: at least one assert, at most
/// data sources besides (Terraform 1.5).
/// The `terraform` block's `encryption`: OpenTofu's state and plan encryption, allowed in
/// the root module only (the rest of the block: [`crate::requirements`]).
fn read_terraform_block(
    block: &Block,
    module: &mut Module,
    child: bool,
) -> Result<(), Diagnostics> {
    let Some(enc) = block.body.blocks_of("encryption").next() else {
        return Ok(());
    };
    if child {
        return Err(
            Diagnostic::error("encryption is only allowed in the root module")
                .at(enc.location.clone())
                .hint("move it to the module the unit points at")
                .into(),
        );
    }
    if let Some(earlier) = &module.encryption {
        return Err(Diagnostic::error("duplicate encryption block")
            .at(enc.location.clone())
            .hint(format!("the first one is at {}", earlier.location))
            .into());
    }
    let scope = forge_lang::Scope::new(module.dir.clone());
    module.encryption = Some(crate::EncryptionSettings::from_block(enc, &scope)?);
    Ok(())
}

fn read_check(block: &Block) -> Result<CheckBlock, Diagnostics> {
    let name = one_label(
        block,
        "check \"name\" { assert { condition = ...  error_message = \"...\" } }",
    )?;
    let mut diags = Diagnostics::new();
    for attr in &block.body.attributes {
        diags.push(
            Diagnostic::error(format!(
                "check \"{name}\" takes data and assert blocks only, not the argument `{}`",
                attr.name
            ))
            .at(attr.location.clone())
            .hint("put conditions in an assert { condition = ...  error_message = \"...\" } block"),
        );
    }
    let (mut data, mut asserts) = (Vec::new(), Vec::new());
    for b in &block.body.blocks {
        match b.ident.as_str() {
            "assert" => match read_condition(b) {
                Ok(c) => asserts.push(c),
                Err(d) => diags.extend(d),
            },
            "data" => match read_resource(b, Mode::Data) {
                Ok(r) if r.count.is_some() || r.for_each.is_some() => diags.push(
                    Diagnostic::error(format!(
                        "the data source {} in check \"{name}\" uses count or for_each",
                        r.address()
                    ))
                    .at(r.location.clone())
                    .hint(
                        "a data source scoped to a check block is read once: remove count/for_each",
                    ),
                ),
                Ok(r) => data.push(r),
                Err(d) => diags.extend(d),
            },
            other => diags.extend(unknown_name_in(
                "block",
                other,
                &format!("check \"{name}\""),
                &["data", "assert"],
                b.location.clone(),
            )),
        }
    }
    if asserts.is_empty() {
        diags.push(
            Diagnostic::error(format!("check \"{name}\" has no assert block"))
                .at(block.location.clone())
                .hint("add: assert { condition = <bool expression>  error_message = \"...\" }"),
        );
    }
    if diags.is_empty() {
        Ok(CheckBlock {
            name,
            data,
            asserts,
            location: block.location.clone(),
        })
    } else {
        Err(diags)
    }
}

/// `ignore_changes = all` or a list of attribute references (`[tags, user_data]`).
fn read_ignore_changes(attr: &Attribute) -> Result<IgnoreChanges, Diagnostics> {
    if let Some(r) = attr.expr.as_traversal()
        && r.root == "all"
        && r.steps.is_empty()
    {
        return Ok(IgnoreChanges::All);
    }
    let bad = |at: Location| -> Diagnostics {
        Diagnostic::error("ignore_changes must be `all` or a list of attribute names")
            .at(at)
            .hint("write: ignore_changes = [tags, user_data]")
            .into()
    };
    let Some(items) = attr.expr.as_list() else {
        return Err(bad(attr.expr.location()));
    };
    let mut names = Vec::new();
    let mut diags = Diagnostics::new();
    for item in items {
        if let Some(r) = item.as_traversal() {
            names.push(r.root);
            continue;
        }
        // Terraform 0.11 wrote the names quoted; still seen in older modules.
        match constant(&item, Path::new("."))
            .ok()
            .and_then(|v| v.unmarked().as_str().map(str::to_string))
        {
            Some(s) => names.push(s.split(['.', '[']).next().unwrap_or(&s).to_string()),
            None => diags.extend(bad(item.location())),
        }
    }
    if diags.is_empty() {
        Ok(IgnoreChanges::Attributes(names))
    } else {
        Err(diags)
    }
}

fn read_provider(block: &Block) -> Result<ProviderBlock, Diagnostics> {
    let name = one_label(block, "provider \"aws\" { region = \"us-east-1\" }")?;
    let base = base_dir_of(&block.body);
    let alias = constant_string(block.body.attribute("alias"), &base)?;
    let body = Body {
        attributes: block
            .body
            .attributes
            .iter()
            .filter(|a| a.name != "alias" && a.name != "version")
            .cloned()
            .collect(),
        blocks: block.body.blocks.clone(),
        file: block.body.file.clone(),
    };
    Ok(ProviderBlock {
        name,
        alias,
        body,
        location: block.location.clone(),
    })
}

/// The `provider` blocks of a body (used for `generate` contents too).
pub(crate) fn provider_blocks(body: &Body) -> Result<Vec<ProviderBlock>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for block in body.blocks_of("provider") {
        match read_provider(block) {
            Ok(p) => out.push(p),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn check_duplicates(module: &Module) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut check = |kind: &str, items: Vec<(String, &Location)>| {
        let mut seen: BTreeMap<String, &Location> = BTreeMap::new();
        for (name, at) in items {
            if let Some(first) = seen.get(&name) {
                diags.push(
                    Diagnostic::error(format!("{kind} `{name}` is declared twice"))
                        .at(at.clone())
                        .detail(format!("first declared at {first}"))
                        .hint("rename or remove one of them"),
                );
            } else {
                seen.insert(name, at);
            }
        }
    };
    check(
        "variable",
        module
            .variables
            .iter()
            .map(|v| (v.name.clone(), &v.location))
            .collect(),
    );
    check(
        "local",
        module
            .locals
            .iter()
            .map(|l| (l.name.clone(), &l.location))
            .collect(),
    );
    check(
        "output",
        module
            .outputs
            .iter()
            .map(|o| (o.name.clone(), &o.location))
            .collect(),
    );
    check(
        "resource",
        module
            .resources
            .iter()
            .map(|r| (r.address(), &r.location))
            .collect(),
    );
    check(
        "data source",
        module
            .data
            .iter()
            .map(|r| (r.address(), &r.location))
            .collect(),
    );
    check(
        "module",
        module
            .module_calls
            .iter()
            .map(|c| (c.name.clone(), &c.location))
            .collect(),
    );
    check(
        "check block",
        module
            .checks
            .iter()
            .map(|c| (c.name.clone(), &c.location))
            .collect(),
    );
    check(
        "provider configuration",
        module
            .providers
            .iter()
            .map(|p| {
                (
                    p.alias
                        .as_ref()
                        .map_or(p.name.clone(), |a| format!("{}.{a}", p.name)),
                    &p.location,
                )
            })
            .collect(),
    );
    diags
}

// ---------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------

pub(crate) fn resource_references(rb: &ResourceBlock) -> Vec<Reference> {
    let mut out = Vec::new();
    if let Some(c) = &rb.count {
        out.extend(c.references());
    }
    if let Some(f) = &rb.for_each {
        out.extend(f.references());
    }
    out.extend(body_references(&rb.body));
    out.extend(rb.depends_on.iter().cloned());
    // What the conditions read must be ready before the instance is planned; `self` is
    // the instance itself.
    let conditions = rb
        .lifecycle
        .preconditions
        .iter()
        .chain(&rb.lifecycle.postconditions);
    out.extend(
        conditions
            .flat_map(|c| {
                c.condition
                    .references()
                    .into_iter()
                    .chain(c.error_message.references())
            })
            .filter(|r| r.root != "self"),
    );
    out
}

/// Every reference of a body and its nested blocks; in `dynamic` blocks the iterator
/// name is bound, not a reference.
pub(crate) fn body_references(body: &Body) -> Vec<Reference> {
    let mut out: Vec<Reference> = body
        .attributes
        .iter()
        .flat_map(|a| a.expr.references())
        .collect();
    for block in &body.blocks {
        if block.ident == "dynamic" {
            let iterator = block
                .body
                .attribute("iterator")
                .and_then(|a| a.expr.as_traversal())
                .map(|r| r.root)
                .or_else(|| block.labels.first().cloned())
                .unwrap_or_default();
            let inner: Vec<Reference> = block
                .body
                .attributes
                .iter()
                .filter(|a| a.name != "iterator")
                .flat_map(|a| a.expr.references())
                .chain(
                    block
                        .body
                        .blocks
                        .iter()
                        .flat_map(|b| body_references(&b.body)),
                )
                .filter(|r| r.root != iterator)
                .collect();
            out.extend(inner);
        } else {
            out.extend(body_references(&block.body));
        }
    }
    out
}
