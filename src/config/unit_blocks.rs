//! The blocks of a unit file one by one: their shape (Terragrunt's schema), `dependency`,
//! `dependencies`, `remote_state`, `generate` and `terraform { source }`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Attribute, Block, Body, Diagnostic, Diagnostics, Expr, Location, Scope};
use forge_provider::Value;

use crate::module::{Module, ProviderBlock};

/// The file names that make a folder a unit.
pub(crate) const UNIT_FILE_NAMES: &[&str] = &["terragrunt.hcl", "forge.hcl"];

#[derive(Clone, Debug)]
pub struct Dependency {
    pub name: String,
    /// Absolute, canonical folder of the unit depended on.
    pub config_path: PathBuf,
    pub mock_outputs: Option<Value>,
    pub skip_outputs: bool,
    pub location: Location,
}

/// `remote_state { backend = "s3", config = {...} }`, evaluated. The config may hold
/// credentials (`secret_key`, `sse_customer_key`): Debug names its keys only.
#[derive(Clone)]
pub struct RemoteState {
    pub backend: String,
    /// The `config` object: bucket, key, region, dynamodb_table, encrypt, use_lockfile, ...
    pub config: Value,
    /// Terragrunt's `encryption = { key_provider = ..., ... }`: OpenTofu's state and plan
    /// encryption with one key provider and `aes_gcm`.
    pub encryption: Option<crate::EncryptionSettings>,
    pub location: Location,
}

impl std::fmt::Debug for RemoteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&String> = self
            .config
            .as_map()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        f.debug_struct("RemoteState")
            .field("backend", &self.backend)
            .field("config_keys", &keys)
            .field("encryption", &self.encryption)
            .field("location", &self.location)
            .finish()
    }
}

/// Top-level blocks of a unit or root file that forge reads.
const UNIT_BLOCKS: &[&str] = &[
    "include",
    "locals",
    "dependency",
    "dependencies",
    "terraform",
    "remote_state",
    "generate",
    "exclude",
    "feature",
];
/// Terragrunt blocks that do not change what forge does; accepted so existing files load.
const IGNORED_UNIT_BLOCKS: &[&str] = &["errors", "engine", "catalog", "retry", "ignore"];

/// Top-level attributes Terragrunt accepts; forge reads `inputs` and tolerates the rest.
const UNIT_ATTRIBUTES: &[&str] = &[
    "inputs",
    "download_dir",
    "prevent_destroy",
    "skip",
    "iam_role",
    "iam_assume_role_duration",
    "iam_assume_role_session_name",
    "iam_web_identity_token",
    "terraform_binary",
    "terraform_version_constraint",
    "terragrunt_version_constraint",
    "retryable_errors",
    "retry_max_attempts",
    "retry_sleep_interval_sec",
];

/// The arguments each block of a unit file takes (Terragrunt's schema).
fn block_arguments(ident: &str) -> Option<&'static [&'static str]> {
    Some(match ident {
        "include" => &["path", "expose", "merge_strategy"],
        "dependency" => &[
            "config_path",
            "enabled",
            "skip_outputs",
            "mock_outputs",
            "mock_outputs_allowed_terraform_commands",
            "mock_outputs_merge_with_state",
            "mock_outputs_merge_strategy_with_state",
        ],
        "dependencies" => &["paths"],
        "exclude" => &["if", "actions", "exclude_dependencies", "no_run"],
        "feature" => &["default"],
        "terraform" => &[
            "source",
            "include_in_copy",
            "exclude_from_copy",
            "copy_terraform_lock_file",
        ],
        "remote_state" => &[
            "backend",
            "config",
            "generate",
            "disable_init",
            "disable_dependency_optimization",
            "encryption",
        ],
        "generate" => &[
            "path",
            "contents",
            "if_exists",
            "if_disabled",
            "comment_prefix",
            "disable_signature",
            "disable",
            "hcl_fmt",
        ],
        _ => return None,
    })
}

fn unknown_argument(name: &str, place: &str, known: &[&str], at: Location) -> Diagnostic {
    let d = Diagnostic::error(format!("unknown argument `{name}` in {place}")).at(at);
    match did_you_mean(name, known.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!("{place} takes: {}", known.join(", "))),
    }
}

/// Unknown blocks and arguments in a unit file, with a hint at the closest known one.
pub(crate) fn check_unit_file_shape(body: &Body) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        if !UNIT_ATTRIBUTES.contains(&attr.name.as_str()) {
            diags.push(unknown_argument(
                &attr.name,
                "a Terragrunt file",
                UNIT_ATTRIBUTES,
                attr.location.clone(),
            ));
        }
    }
    for block in &body.blocks {
        let Some(known) = block_arguments(&block.ident) else {
            continue;
        };
        for attr in &block.body.attributes {
            if !known.contains(&attr.name.as_str()) {
                diags.push(unknown_argument(
                    &attr.name,
                    &format!("the {} block", block.ident),
                    known,
                    attr.location.clone(),
                ));
            }
        }
    }
    for block in &body.blocks {
        if UNIT_BLOCKS.contains(&block.ident.as_str())
            || IGNORED_UNIT_BLOCKS.contains(&block.ident.as_str())
        {
            continue;
        }
        let mut d = Diagnostic::error(format!(
            "unknown block type `{}` in a Terragrunt file",
            block.ident
        ))
        .at(block.location.clone());
        d = match did_you_mean(&block.ident, UNIT_BLOCKS.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("a unit file holds: {}", UNIT_BLOCKS.join(", "))),
        };
        diags.push(d);
    }
    diags
}

pub(crate) fn string_value<'v>(
    value: &'v Value,
    attr: &Attribute,
    what: &str,
) -> Result<&'v str, Diagnostics> {
    value.unmarked().as_str().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(format!(
                "the {what} must be a string, not {}",
                value.kind_name()
            ))
            .at(attr.expr.location()),
        )
    })
}

/// A path written in a unit file, resolved against the unit folder; it must exist.
fn existing_path(
    text: &str,
    unit_dir: &Path,
    at: Location,
    what: &str,
) -> Result<PathBuf, Diagnostics> {
    let path = unit_dir.join(text);
    path.canonicalize().map_err(|_| {
        let mut d = Diagnostic::error(format!("{what} {text:?} does not exist"))
            .at(at)
            .detail(format!("resolved to {}", path.display()));
        if let Some(hint) = sibling_hint(&path) {
            d = d.hint(hint);
        } else if let Some(names) = sibling_folders(&path).filter(|n| !n.is_empty()) {
            d = d.hint(format!("the folders there are: {}", names.join(", ")));
        }
        Diagnostics::from(d)
    })
}

/// The folders next to a missing path, sorted, hidden ones left out.
fn sibling_folders(missing: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(missing.parent()?)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Some(names)
}

/// "did you mean `../sqs-notifications`?" from the folders next to a missing one.
fn sibling_hint(missing: &Path) -> Option<String> {
    let wrong = missing.file_name()?.to_string_lossy().into_owned();
    let names = sibling_folders(missing)?;
    did_you_mean(&wrong, names.iter().map(String::as_str))
        .map(|s| format!("did you mean the folder `{s}`?"))
}

/// A dependency must be another unit: a folder with a unit file, not the unit itself.
fn check_is_other_unit(
    path: &Path,
    unit_dir: &Path,
    at: Location,
    what: &str,
) -> Result<(), Diagnostics> {
    if path == unit_dir {
        return Err(Diagnostic::error(format!("{what} points at the unit itself"))
            .at(at)
            .hint("point it at the folder of the unit this one needs, such as \"../sqs-notifications\"")
            .into());
    }
    if !UNIT_FILE_NAMES.iter().any(|n| path.join(n).is_file()) {
        return Err(
            Diagnostic::error(format!("{what}: {} is not a unit", path.display()))
                .at(at)
                .detail("a unit folder holds a terragrunt.hcl (or forge.hcl)")
                .hint("point it at a unit folder, not at a module or environment folder")
                .into(),
        );
    }
    Ok(())
}

pub(crate) fn load_dependencies(
    body: &Body,
    scope: &Scope<'_>,
    unit_dir: &Path,
) -> Result<Vec<Dependency>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out: Vec<Dependency> = Vec::new();
    for block in body.blocks_of("dependency") {
        let Some(name) = block.labels.first() else {
            diags.push(
                Diagnostic::error("a dependency block needs a name: dependency \"sqs\" { ... }")
                    .at(block.location.clone()),
            );
            continue;
        };
        if let Some(first) = out.iter().find(|d| &d.name == name) {
            diags.push(
                Diagnostic::error(format!("dependency `{name}` is declared twice"))
                    .at(block.location.clone())
                    .detail(format!("first declared at {}", first.location)),
            );
            continue;
        }
        match dependency_enabled(block, scope) {
            Ok(true) => {}
            // `enabled = false`: Terragrunt ignores the block entirely.
            Ok(false) => continue,
            Err(d) => {
                diags.extend(d);
                continue;
            }
        }
        match load_dependency(name, block, scope, unit_dir) {
            Ok(dep) => out.push(dep),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn dependency_enabled(block: &Block, scope: &Scope<'_>) -> Result<bool, Diagnostics> {
    let Some(attr) = block.body.attribute("enabled") else {
        return Ok(true);
    };
    let value = forge_lang::eval(&attr.expr, scope)?;
    value.unmarked().as_bool().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(format!(
                "enabled must be true or false, not {}",
                value.kind_name()
            ))
            .at(attr.expr.location()),
        )
    })
}

fn load_dependency(
    name: &str,
    block: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
) -> Result<Dependency, Diagnostics> {
    let Some(attr) = block.body.attribute("config_path") else {
        return Err(
            Diagnostic::error(format!("dependency `{name}` has no config_path"))
                .at(block.location.clone())
                .hint("point it at the unit folder: config_path = \"../sqs-notifications\"")
                .into(),
        );
    };
    let value = forge_lang::eval(&attr.expr, scope)?;
    let text = string_value(&value, attr, "config_path")?;
    let config_path = existing_path(
        text,
        unit_dir,
        attr.expr.location(),
        &format!("dependency `{name}`: config_path"),
    )?;
    check_is_other_unit(
        &config_path,
        unit_dir,
        attr.expr.location(),
        &format!("dependency `{name}`"),
    )?;
    let mock_outputs = match block.body.attribute("mock_outputs") {
        Some(a) => Some(forge_lang::eval(&a.expr, scope)?),
        None => None,
    };
    let skip_outputs = match block.body.attribute("skip_outputs") {
        Some(a) => forge_lang::eval(&a.expr, scope)?
            .unmarked()
            .as_bool()
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error("skip_outputs must be true or false").at(a.expr.location()),
                )
            })?,
        None => false,
    };
    if let Some(a) = block
        .body
        .attribute("mock_outputs_allowed_terraform_commands")
    {
        // Parsed for compatibility: forge plans with real (possibly unknown) outputs.
        forge_lang::eval(&a.expr, scope)?;
    }
    Ok(Dependency {
        name: name.to_string(),
        config_path,
        mock_outputs,
        skip_outputs,
        location: block.location.clone(),
    })
}

pub(crate) fn load_dependencies_paths(
    body: &Body,
    scope: &Scope<'_>,
    unit_dir: &Path,
) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for block in body.blocks_of("dependencies") {
        let Some(attr) = block.body.attribute("paths") else {
            diags.push(
                Diagnostic::error("a dependencies block needs paths = [...]")
                    .at(block.location.clone()),
            );
            continue;
        };
        let value = match forge_lang::eval(&attr.expr, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                continue;
            }
        };
        let Some(items) = value.unmarked().as_seq() else {
            diags.push(
                Diagnostic::error(format!(
                    "paths must be a list of folders, not {}",
                    value.kind_name()
                ))
                .at(attr.expr.location()),
            );
            continue;
        };
        // Point at the element when the list is written out, else at the whole value.
        let element_locations: Vec<Location> = attr
            .expr
            .as_list()
            .map(|xs| xs.iter().map(Expr::location).collect())
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let at = element_locations
                .get(i)
                .cloned()
                .filter(|_| element_locations.len() == items.len())
                .unwrap_or_else(|| attr.expr.location());
            match item.unmarked().as_str() {
                Some(text) => match existing_path(text, unit_dir, at.clone(), "dependencies path")
                    .and_then(|p| {
                        check_is_other_unit(&p, unit_dir, at.clone(), "dependencies path")
                            .map(|()| p)
                    }) {
                    Ok(p) => out.push(p),
                    Err(d) => diags.extend(d),
                },
                None => diags
                    .push(Diagnostic::error("each of dependencies.paths must be a string").at(at)),
            }
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

pub(crate) fn eval_remote_state(
    block: &Block,
    scope: &Scope<'_>,
) -> Result<RemoteState, Diagnostics> {
    let Some(backend_attr) = block.body.attribute("backend") else {
        return Err(Diagnostic::error("remote_state needs a backend")
            .at(block.location.clone())
            .hint("write: backend = \"s3\"")
            .into());
    };
    let backend = forge_lang::eval(&backend_attr.expr, scope)?;
    let backend = string_value(&backend, backend_attr, "backend")?.to_string();
    let config = match block.body.attribute("config") {
        Some(a) => {
            let v = forge_lang::eval(&a.expr, scope)?;
            if !matches!(v.unmarked(), Value::Object(_) | Value::Map(_)) {
                return Err(Diagnostic::error(format!(
                    "remote_state config must be an object, not {}",
                    v.kind_name()
                ))
                .at(a.expr.location())
                .into());
            }
            v
        }
        None => Value::Object(BTreeMap::new()),
    };
    let encryption = match block.body.attribute("encryption") {
        Some(a) => {
            let v = forge_lang::eval(&a.expr, scope)?;
            Some(crate::EncryptionSettings::from_terragrunt(
                &v,
                a.expr.location(),
            )?)
        }
        None => None,
    };
    Ok(RemoteState {
        backend,
        config,
        encryption,
        location: block.location.clone(),
    })
}

/// Whether a `terraform { source }` is a remote address (git, the GitHub/Bitbucket
/// shorthands, a URL, the registry) rather than a folder.
fn is_remote_source(text: &str) -> bool {
    text.contains("://")
        || text.contains("::")
        || text.starts_with("tfr:")
        || text.starts_with("github.com/")
        || text.starts_with("bitbucket.org/")
        || text.starts_with("git@")
}

/// What a `generate` block contributes.
pub(crate) struct Generated {
    pub providers: Vec<ProviderBlock>,
    /// The generated file, read as one of the module's own (its provider blocks aside).
    pub body: Option<forge_lang::Body>,
    /// A module file the generated one replaces (`if_exists = "overwrite"`).
    pub replaces: Option<PathBuf>,
}

/// Reads a `generate` block. forge writes no files: the contents are read as if they were
/// the generated `.tf` file: its `provider` blocks are kept apart (the unit's), the rest
/// joins the module. `if_exists` decides what
/// happens when the module already has a file of that name, as in Terragrunt.
pub(crate) fn generate_file(
    block: &Block,
    scope: &Scope<'_>,
    unit_dir: &Path,
    module_dir: Option<&Path>,
) -> Result<Generated, Diagnostics> {
    let nothing = Generated {
        providers: Vec::new(),
        body: None,
        replaces: None,
    };
    if let Some(a) = block.body.attribute("disable")
        && forge_lang::eval(&a.expr, scope)?.unmarked().as_bool() == Some(true)
    {
        return Ok(nothing);
    }
    let label = block.labels.first().map(String::as_str).unwrap_or("");
    let (Some(path_attr), Some(contents_attr)) = (
        block.body.attribute("path"),
        block.body.attribute("contents"),
    ) else {
        return Err(Diagnostic::error(format!(
            "generate \"{label}\" needs both path and contents"
        ))
        .at(block.location.clone())
        .into());
    };
    let path = forge_lang::eval(&path_attr.expr, scope)?;
    let path = string_value(&path, path_attr, "generate path")?.to_string();
    if !path.ends_with(".tf") {
        return Ok(nothing);
    }
    let if_exists = match block.body.attribute("if_exists") {
        Some(a) => {
            let v = forge_lang::eval(&a.expr, scope)?;
            let text = string_value(&v, a, "if_exists")?.to_string();
            if !["overwrite", "overwrite_terragrunt", "skip", "error"].contains(&text.as_str()) {
                return Err(Diagnostic::error(format!(
                    "if_exists must be overwrite, overwrite_terragrunt, skip or error, not {text:?}"
                ))
                .at(a.expr.location())
                .into());
            }
            text
        }
        None => "overwrite_terragrunt".to_string(),
    };
    let existing = module_dir.map(|d| d.join(&path)).filter(|p| p.is_file());
    let mut replaces = None;
    if let Some(existing) = existing {
        match if_exists.as_str() {
            "skip" => return Ok(nothing),
            "overwrite" => replaces = Some(existing),
            _ => {
                return Err(Diagnostic::error(format!("generate \"{label}\" would overwrite the module's own {path}"))
                    .at(path_attr.expr.location())
                    .detail(format!("{} exists and was not generated", existing.display()))
                    .hint("rename one of the files, or set if_exists = \"overwrite\" to replace it or \"skip\" to keep it")
                    .into());
            }
        }
    }
    let contents = forge_lang::eval(&contents_attr.expr, scope)?;
    let contents = string_value(&contents, contents_attr, "generate contents")?.to_string();
    // Diagnostics name the file Terragrunt would have written, and the block that wrote it.
    let origin = format!("generated by generate \"{label}\" at {}", block.location);
    let generated = forge_lang::parse_str(&unit_dir.join(&path), contents)
        .map_err(|d| add_detail(d, &origin))?;
    let providers =
        crate::module::provider_blocks(&generated).map_err(|d| add_detail(d, &origin))?;
    Ok(Generated {
        providers,
        body: Some(generated),
        replaces,
    })
}

fn add_detail(diags: Diagnostics, detail: &str) -> Diagnostics {
    Diagnostics(
        diags
            .0
            .into_iter()
            .map(|d| {
                if d.detail.is_none() {
                    d.detail(detail)
                } else {
                    d
                }
            })
            .collect(),
    )
}

/// Forgets every block a module file declared (the file is replaced by a generated one).
pub(crate) fn drop_file(module: &mut Module, file: &Path) {
    let same = |at: &Location| at.file.as_path() == file;
    module.variables.retain(|x| !same(&x.location));
    module.locals.retain(|x| !same(&x.location));
    module.resources.retain(|x| !same(&x.location));
    module.data.retain(|x| !same(&x.location));
    module.outputs.retain(|x| !same(&x.location));
    module.providers.retain(|x| !same(&x.location));
    module.files.retain(|f| f.path.as_path() != file);
}

/// `terraform { source = "../../modules/sqs" }`, also `../../modules//sqs` and `?ref=`.
pub(crate) fn resolve_module_source(
    expr: &Expr,
    scope: &Scope<'_>,
    unit_dir: &Path,
    context: &crate::LoadContext,
) -> Result<PathBuf, Diagnostics> {
    let value = forge_lang::eval(expr, scope)?;
    let Some(text) = value.unmarked().as_str() else {
        return Err(Diagnostic::error(format!(
            "terraform source must be a string, not {}",
            value.kind_name()
        ))
        .at(expr.location())
        .into());
    };
    if is_remote_source(text) {
        let Some(sources) = context.module_sources() else {
            return Err(Diagnostic::error(format!(
                "this run reads modules from local folders only, not {text:?}"
            ))
            .at(expr.location())
            .hint("check the module out next to the stacks and point source at its folder")
            .into());
        };
        return sources.fetch(text, None).map_err(|e| {
            Diagnostic::error(e)
                .at(expr.location())
                .hint("check the address, the version or ref, and your access (forge runs git with your credentials, sends TF_TOKEN_<host> to a registry, reads S3 with your AWS credentials); what was fetched is kept in the module cache, FORGE_MODULE_CACHE")
                .into()
        });
    }
    let text = text.split('?').next().unwrap_or(text);
    let joined = match text.split_once("//") {
        Some((root, sub)) => Path::new(root).join(sub),
        None => PathBuf::from(text),
    };
    let path = existing_path(
        &joined.to_string_lossy(),
        unit_dir,
        expr.location(),
        "terraform source",
    )?;
    if !path.is_dir() {
        return Err(Diagnostic::error(format!(
            "terraform source {} is not a folder",
            path.display()
        ))
        .at(expr.location())
        .into());
    }
    Ok(path)
}
