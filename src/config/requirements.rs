//! What a configuration asks of the tool that runs it, and forge's answer: a module's
//! `terraform` block (`required_version`, `required_providers`, `backend`, `cloud`,
//! `experiments`, `provider_meta`) and Terragrunt's tool settings
//! (`terraform_version_constraint`, `terragrunt_version_constraint`, `terraform_binary`,
//! `download_dir`, the `engine` and `catalog` blocks).
//!
//! forge stands in for Terraform: it writes state as Terraform 1.5.7 writes it (so every
//! Terraform from 1.5.7 on reads it) and reads the language as Terraform 1.11.4 does (its
//! reference in the oracle tests). A version constraint is met when some Terraform release
//! in that range meets it; one that none meets is an error, as Terraform refuses to run a
//! configuration its version does not meet. `required_providers` entries are checked
//! against the built-in providers by forge-engine, which has them.

use std::collections::BTreeMap;

use forge_lang::{Block, Body, Diagnostic, Diagnostics, Location, Scope, Severity};
use forge_provider::Value;

use crate::version_constraint::{Version, VersionConstraint};

/// The Terraform releases forge stands in for: the version its state says it was written
/// by, and the version whose language and output it follows.
pub const TERRAFORM_RELEASES: (&str, &str) = ("1.5.7", "1.11.4");

/// One `required_providers` entry: `aws = { source = "hashicorp/aws", version = "~> 5.0" }`
/// (or the older `aws = "~> 5.0"`).
#[derive(Clone, Debug)]
pub struct RequiredProvider {
    /// The name the module uses for it (`aws` in `provider "aws"` and `aws_` types).
    pub local_name: String,
    /// As written, `None` when left out (Terraform then means `hashicorp/<local name>`).
    pub source: Option<String>,
    pub version: Option<VersionConstraint>,
    pub location: Location,
}

impl RequiredProvider {
    /// The source as `namespace/type`, lower case, without the default registry host;
    /// `hashicorp/<local name>` when none is written.
    pub fn normalized_source(&self) -> String {
        let source = self
            .source
            .clone()
            .unwrap_or_else(|| format!("hashicorp/{}", self.local_name))
            .to_ascii_lowercase();
        source
            .strip_prefix("registry.terraform.io/")
            .map(str::to_string)
            .unwrap_or(source)
    }
}

/// A `backend "type" { ... }` block of a module (literal settings only, as Terraform
/// allows).
#[derive(Clone)]
pub struct ModuleBackend {
    pub backend_type: String,
    pub config: BTreeMap<String, Value>,
    pub location: Location,
}

impl std::fmt::Debug for ModuleBackend {
    /// Setting names only: a backend block may hold keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleBackend")
            .field("backend_type", &self.backend_type)
            .field("settings", &self.config.keys().collect::<Vec<_>>())
            .field("location", &self.location)
            .finish()
    }
}

/// What one module's `terraform` blocks ask for (everything but `encryption`, which
/// [`crate::EncryptionSettings`] reads).
#[derive(Clone, Debug, Default)]
pub struct ModuleRequirements {
    pub required_providers: Vec<RequiredProvider>,
    pub backend: Option<ModuleBackend>,
    /// Settings read and not acted on (`provider_meta`, a child module's backend).
    pub warnings: Vec<Diagnostic>,
}

const TERRAFORM_BLOCK_ITEMS: &[&str] = &[
    "required_version",
    "required_providers",
    "backend",
    "cloud",
    "experiments",
    "provider_meta",
    "encryption",
];

/// Reads a module's `terraform` block into `into`. `child` is true for a module another
/// module calls: Terraform ignores a child's backend, with a warning.
pub(crate) fn read_terraform_block(
    block: &Block,
    child: bool,
    into: &mut ModuleRequirements,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &block.body.attributes {
        match attr.name.as_str() {
            "required_version" => {
                if let Err(d) =
                    check_terraform_constraint(attr, &Scope::new("."), "required_version")
                {
                    diags.extend(d);
                }
            }
            "experiments" => diags.push(
                Diagnostic::error("experiments are not available in forge")
                    .at(attr.location.clone())
                    .hint("remove `experiments`: released Terraform versions refuse them too"),
            ),
            other => diags.push(unknown_item("argument", other, &attr.location)),
        }
    }
    for inner in &block.body.blocks {
        match inner.ident.as_str() {
            "required_providers" => diags.extend(read_required_providers(inner, into)),
            "backend" => match read_backend(inner) {
                Ok(backend) if child => into.warnings.push(warning(
                    format!(
                        "backend \"{}\" in a module another module calls is ignored, as Terraform ignores it",
                        backend.backend_type
                    ),
                    &inner.location,
                    "only the module a unit points at may name a backend (or the unit's remote_state)",
                )),
                Ok(backend) => {
                    if let Some(first) = &into.backend {
                        diags.push(
                            Diagnostic::error("the module has two backend blocks")
                                .at(inner.location.clone())
                                .detail(format!("the first is at {}", first.location))
                                .hint("keep one backend block"),
                        );
                    } else {
                        into.backend = Some(backend);
                    }
                }
                Err(d) => diags.extend(d),
            },
            "cloud" => diags.push(
                Diagnostic::error("the cloud block (HCP Terraform) is not available in forge")
                    .at(inner.location.clone())
                    .hint("forge keeps state in the unit's remote_state (S3) or a local file; remove the cloud block and set remote_state"),
            ),
            "provider_meta" => into.warnings.push(warning(
                format!(
                    "provider_meta \"{}\" is not sent: forge's providers are built in and take no module metadata",
                    inner.labels.first().map(String::as_str).unwrap_or("")
                ),
                &inner.location,
                "remove it, or keep it for Terraform runs only",
            )),
            // OpenTofu's state encryption, read by crate::encryption.
            "encryption" => {}
            other => diags.push(unknown_item("block", other, &inner.location)),
        }
    }
    diags
}

/// Terragrunt's tool settings in a unit file: `terraform_version_constraint` is checked
/// as `required_version` is; the others do not apply to forge and are warnings.
pub(crate) fn read_terragrunt_tool_settings(
    body: &Body,
    scope: &Scope<'_>,
    warnings: &mut Vec<Diagnostic>,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        match attr.name.as_str() {
            "terraform_version_constraint" => {
                if let Err(d) =
                    check_terraform_constraint(attr, scope, "terraform_version_constraint")
                {
                    diags.extend(d);
                }
            }
            "terragrunt_version_constraint" => warnings.push(warning(
                "terragrunt_version_constraint is not checked: forge reads Terragrunt's configuration itself, it does not run Terragrunt".into(),
                &attr.location,
                "forge's README lists the Terragrunt settings it reads",
            )),
            "terraform_binary" => warnings.push(warning(
                "terraform_binary is not used: forge runs no Terraform or OpenTofu binary".into(),
                &attr.location,
                "remove it, or keep it for Terragrunt runs only",
            )),
            "download_dir" => warnings.push(warning(
                "download_dir is not used: forge reads modules where they are and downloads nothing".into(),
                &attr.location,
                "remove it, or keep it for Terragrunt runs only",
            )),
            _ => {}
        }
    }
    for block in &body.blocks {
        match block.ident.as_str() {
            "engine" => warnings.push(warning(
                "the engine block is not used: forge is the engine and runs no plugin".into(),
                &block.location,
                "remove it, or keep it for Terragrunt runs only",
            )),
            "catalog" => warnings.push(warning(
                "the catalog block is for `terragrunt catalog`, which forge does not have".into(),
                &block.location,
                "it changes nothing forge does; remove it or keep it for Terragrunt",
            )),
            _ => {}
        }
    }
    diags
}

/// A Terraform version constraint, evaluated in `scope`: an error unless some release
/// forge stands in for meets it.
fn check_terraform_constraint(
    attr: &forge_lang::Attribute,
    scope: &Scope<'_>,
    what: &str,
) -> Result<(), Diagnostics> {
    let value = forge_lang::eval(&attr.expr, scope)?;
    let Some(text) = value.unmarked().as_str().map(str::to_string) else {
        return Err(Diagnostic::error(format!(
            "{what} must be a string such as \">= 1.5\", not {}",
            value.kind_name()
        ))
        .at(attr.expr.location())
        .into());
    };
    let constraint = VersionConstraint::parse(&text).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(format!("{what}: {e}"))
                .at(attr.expr.location())
                .hint("write constraints as Terraform does: \">= 1.5, < 2.0\" or \"~> 1.9\""),
        )
    })?;
    let (lowest, highest) = terraform_range();
    if constraint.allows_a_release_between(&lowest, &highest) {
        return Ok(());
    }
    Err(Diagnostic::error(format!(
        "{what} \"{constraint}\" allows no Terraform version forge stands in for ({lowest} to {highest})"
    ))
    .at(attr.expr.location())
    .detail("forge writes state as Terraform 1.5.7 writes it and reads the language of Terraform 1.11")
    .hint("widen the constraint to allow a version in that range, or run this configuration with the Terraform it names")
    .into())
}

fn terraform_range() -> (Version, Version) {
    let parse = |t: &str| {
        Version::parse(t).unwrap_or_else(|_| unreachable!("TERRAFORM_RELEASES are versions"))
    };
    (parse(TERRAFORM_RELEASES.0), parse(TERRAFORM_RELEASES.1))
}

fn read_required_providers(block: &Block, into: &mut ModuleRequirements) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let scope = Scope::new(".");
    for b in &block.body.blocks {
        diags.push(
            Diagnostic::error(format!(
                "required_providers takes attributes, not a `{}` block",
                b.ident
            ))
            .at(b.location.clone())
            .hint("write: aws = { source = \"hashicorp/aws\", version = \"~> 5.0\" }"),
        );
    }
    for attr in &block.body.attributes {
        let mut entry = RequiredProvider {
            local_name: attr.name.clone(),
            source: None,
            version: None,
            location: attr.location.clone(),
        };
        let version_at =
            |expr: &forge_lang::Expr, entry: &mut RequiredProvider, diags: &mut Diagnostics| {
                match literal_string(expr, &scope, "version") {
                    Ok(text) => match VersionConstraint::parse(&text) {
                        Ok(c) => entry.version = Some(c),
                        Err(e) => diags.push(
                            Diagnostic::error(format!("required_providers.{}: {e}", attr.name))
                                .at(expr.location())
                                .hint("write constraints as Terraform does: \"~> 5.0\""),
                        ),
                    },
                    Err(d) => diags.extend(d),
                }
            };
        match attr.expr.as_object() {
            Some(items) => {
                for (key, expr) in items {
                    match key.as_str() {
                        "source" => match literal_string(&expr, &scope, "source") {
                            Ok(s) => entry.source = Some(s),
                            Err(d) => diags.extend(d),
                        },
                        "version" => version_at(&expr, &mut entry, &mut diags),
                        // Names of aliases the module expects its caller to pass
                        // (`providers = { aws.west = ... }`); forge reads the call's map.
                        "configuration_aliases" => {}
                        other => diags.push(
                            Diagnostic::error(format!(
                                "required_providers.{}: unknown key `{other}`",
                                attr.name
                            ))
                            .at(expr.location())
                            .hint("an entry takes source, version and configuration_aliases"),
                        ),
                    }
                }
            }
            // Terraform 0.12's form: the value is the version constraint.
            None => version_at(&attr.expr, &mut entry, &mut diags),
        }
        into.required_providers
            .retain(|p| p.local_name != entry.local_name);
        into.required_providers.push(entry);
    }
    diags
}

fn read_backend(block: &Block) -> Result<ModuleBackend, Diagnostics> {
    let Some(backend_type) = block.labels.first().cloned() else {
        return Err(Diagnostic::error("a backend block needs its type")
            .at(block.location.clone())
            .hint("write: backend \"s3\" { }")
            .into());
    };
    let mut diags = Diagnostics::new();
    let mut config = BTreeMap::new();
    for attr in &block.body.attributes {
        match attr.expr.constant_value() {
            Some(v) => {
                config.insert(attr.name.clone(), v);
            }
            None => diags.push(
                Diagnostic::error(format!(
                    "backend \"{backend_type}\": `{}` must be a literal value",
                    attr.name
                ))
                .at(attr.expr.location())
                .hint("a backend block cannot use variables or functions (as in Terraform); set computed values in the unit's remote_state"),
            ),
        }
    }
    for inner in &block.body.blocks {
        // Nested blocks (`assume_role { ... }`) as a list of objects, as remote_state
        // config spells them.
        let mut object = BTreeMap::new();
        for attr in &inner.body.attributes {
            match attr.expr.constant_value() {
                Some(v) => {
                    object.insert(attr.name.clone(), v);
                }
                None => diags.push(
                    Diagnostic::error(format!(
                        "backend \"{backend_type}\": `{}.{}` must be a literal value",
                        inner.ident, attr.name
                    ))
                    .at(attr.expr.location()),
                ),
            }
        }
        config.insert(inner.ident.clone(), Value::Object(object));
    }
    if diags.is_empty() {
        Ok(ModuleBackend {
            backend_type,
            config,
            location: block.location.clone(),
        })
    } else {
        Err(diags)
    }
}

fn literal_string(
    expr: &forge_lang::Expr,
    scope: &Scope<'_>,
    what: &str,
) -> Result<String, Diagnostics> {
    let value = forge_lang::eval(expr, scope)?;
    match value.unmarked() {
        Value::String(s) => Ok(s.clone()),
        other => Err(Diagnostic::error(format!(
            "{what} must be a string, not {}",
            other.kind_name()
        ))
        .at(expr.location())
        .into()),
    }
}

fn unknown_item(kind: &str, name: &str, at: &Location) -> Diagnostic {
    let d =
        Diagnostic::error(format!("unknown {kind} `{name}` in the terraform block")).at(at.clone());
    match forge_lang::diagnostic::did_you_mean(name, TERRAFORM_BLOCK_ITEMS.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!(
            "the terraform block takes: {}",
            TERRAFORM_BLOCK_ITEMS.join(", ")
        )),
    }
}

fn warning(summary: String, at: &Location, hint: &str) -> Diagnostic {
    let mut d = Diagnostic::error(summary).at(at.clone()).hint(hint);
    d.severity = Severity::Warning;
    d
}

/// The warnings of a module and of every module it calls (each module once).
pub(crate) fn module_tree_warnings(module: &crate::Module) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut pending = vec![module];
    while let Some(m) = pending.pop() {
        if !seen.insert(m.dir.clone()) {
            continue;
        }
        out.extend(m.requirements.warnings.iter().cloned());
        pending.extend(m.module_calls.iter().map(|c| c.module.as_ref()));
    }
    out
}

/// Where the unit's state lives, with the module's `backend` block taken into account as
/// Terraform and Terragrunt do: Terragrunt hands `remote_state`'s settings to the module's
/// backend block (`terraform init -backend-config`), so the block's own settings apply
/// where `remote_state` leaves them out; without `remote_state`, the block alone says
/// where the state is. A block of another type than `remote_state`'s is an error.
pub(crate) fn backend_for_unit(
    module: &crate::Module,
    remote_state: Option<crate::RemoteState>,
) -> Result<Option<crate::RemoteState>, Diagnostics> {
    let Some(block) = &module.requirements.backend else {
        return Ok(remote_state);
    };
    let Some(mut rs) = remote_state else {
        return Ok(Some(crate::RemoteState {
            backend: block.backend_type.clone(),
            config: Value::Object(block.config.clone()),
            encryption: None,
            location: block.location.clone(),
        }));
    };
    if rs.backend != block.backend_type {
        return Err(Diagnostic::error(format!(
            "the module's backend \"{}\" and the unit's remote_state backend \"{}\" differ",
            block.backend_type, rs.backend
        ))
        .at(block.location.clone())
        .detail(format!("remote_state is at {}", rs.location))
        .hint("Terragrunt passes remote_state's settings to the module's backend block: make both the same type, or remove the module's backend block")
        .into());
    }
    if let Value::Object(config) | Value::Map(config) = &mut rs.config {
        for (key, value) in &block.config {
            config.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(Some(rs))
}
