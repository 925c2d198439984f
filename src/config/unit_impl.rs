//! Loading Terragrunt unit files: discovery, `include` of the root file, `locals`,
//! `dependency`, `remote_state`, `generate`, `terraform { source }` and pending `inputs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Attribute, Block, Body, Diagnostic, Diagnostics, Expr, Location, Scope, SourceFile};
use forge_provider::Value;

use crate::host::{relative_path, TerragruntHost};
use crate::module::{Module, ProviderBlock};
use crate::unit::{Dependency, Environment, RemoteState, Unit};

/// The file names that make a folder a unit.
pub(crate) const UNIT_FILE_NAMES: &[&str] = &["terragrunt.hcl", "forge.hcl"];

/// Top-level blocks of a unit or root file that forge reads.
const UNIT_BLOCKS: &[&str] = &["include", "locals", "dependency", "dependencies", "terraform", "remote_state", "generate"];
/// Terragrunt blocks that do not change what forge does; accepted so existing files load.
const IGNORED_UNIT_BLOCKS: &[&str] = &["feature", "errors", "exclude", "engine", "catalog", "retry", "ignore"];

/// A unit's `inputs` (root's first, then the unit's), kept unevaluated until the
/// dependencies' outputs are known.
#[derive(Clone, Debug, Default)]
pub struct PendingInputs {
    pub(crate) layers: Vec<InputLayer>,
}

/// One file's `inputs = {...}` and what its names mean.
#[derive(Clone, Debug)]
pub(crate) struct InputLayer {
    pub expr: Expr,
    pub location: Location,
    pub file: Arc<SourceFile>,
    /// The `local` object of the file the inputs are written in.
    pub locals: Value,
    pub include: Value,
    pub host: TerragruntHost,
}

impl PendingInputs {
    /// Each layer's expression with the names its file declares, for `forge validate`.
    pub(crate) fn layers(&self) -> &[InputLayer] {
        &self.layers
    }
}

/// A root file a unit includes, with its locals evaluated in the unit's context.
struct Included {
    label: Option<String>,
    dir: PathBuf,
    body: Body,
    locals: Value,
}

// ---------------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------------

pub(crate) fn load_environment(dir: &Path) -> Result<Environment, Diagnostics> {
    let dir = dir.canonicalize().map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(format!("cannot open the environment folder {}: {e}", dir.display()))
                .hint("pass a folder such as stacks/production that holds one folder per unit"),
        )
    })?;
    let mut candidates = Vec::new();
    discover_units(&dir, &mut candidates);
    // Root files that units include are configuration, not units.
    let included: BTreeSet<PathBuf> = candidates.iter().flat_map(|f| included_files(f)).collect();
    candidates.retain(|f| !included.contains(f));
    if candidates.is_empty() {
        return Err(Diagnostic::error(format!("no units found in {}", dir.display()))
            .hint("a unit is a folder holding a terragrunt.hcl (or forge.hcl) file; pass an environment folder such as stacks/production")
            .into());
    }
    // A single unit folder: its environment is the folder above it.
    let env_dir = if candidates.iter().any(|f| f.parent() == Some(dir.as_path())) {
        dir.parent().map(Path::to_path_buf).unwrap_or_else(|| dir.clone())
    } else {
        dir.clone()
    };
    let mut units = Vec::new();
    let mut diags = Diagnostics::new();
    for file in &candidates {
        match load_unit(&env_dir, file) {
            Ok(unit) => units.push(unit),
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        return Err(dedup(diags));
    }
    units.sort_by(|a, b| a.name.cmp(&b.name));
    let name = env_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Environment { dir: env_dir, name, units })
}

/// A problem in the root file is found once per unit that includes it; show it once.
fn dedup(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for d in diags.0 {
        if !out.iter().any(|seen| *seen == d) {
            out.push(d);
        }
    }
    out
}

/// Every unit file below `dir` (itself included), skipping hidden and cache folders.
fn discover_units(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Some(file) = UNIT_FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        out.push(file);
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != "node_modules" && name != "target"
        })
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        discover_units(&sub, out);
    }
}

/// The files a unit file includes, canonical; problems are ignored here (reported when
/// the unit itself loads).
fn included_files(config_file: &Path) -> Vec<PathBuf> {
    let Ok(body) = forge_lang::parse_file(config_file) else { return Vec::new() };
    let unit_dir = config_file.parent().unwrap_or(Path::new("/"));
    let host = TerragruntHost::new(unit_dir);
    body.blocks_of("include")
        .filter_map(|b| include_path(b, &host).ok())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------

fn load_unit(env_dir: &Path, config_file: &Path) -> Result<Unit, Diagnostics> {
    // Canonical, so that it matches dependencies' canonical config_path even through symlinks.
    let parent = config_file.parent().unwrap_or(Path::new("/"));
    let unit_dir = parent.canonicalize().unwrap_or_else(|_| parent.to_path_buf());
    let body = forge_lang::parse_file(config_file)?;
    let mut diags = check_unit_file_shape(&body);

    let (included, include_diags) = load_includes(&body, &unit_dir);
    diags.extend(include_diags);
    let host = match included.first() {
        Some(inc) => TerragruntHost::new(&unit_dir).with_include(&inc.dir),
        None => TerragruntHost::new(&unit_dir),
    };
    let include_value = include_root(&included);

    let dependency_names: Vec<String> = body.blocks_of("dependency").filter_map(|b| b.labels.first().cloned()).collect();
    // `dependency` is known here only so that a mistaken use in remote_state or generate
    // gives unknown rather than a confusing error; locals reject it outright.
    let load_roots = BTreeMap::from([
        ("include".to_string(), include_value.clone()),
        ("dependency".to_string(), unknown_dependencies(&dependency_names)),
    ]);
    let (locals, locals_diags) = eval_locals_partial(&body, &host, &load_roots);
    diags.extend(locals_diags);
    let mut roots = load_roots.clone();
    roots.insert("local".to_string(), locals.clone());
    let scope = Scope { roots, base_dir: unit_dir.clone(), host: Some(&host) };

    let dependencies = collect(&mut diags, load_dependencies(&body, &scope, &unit_dir));
    let extra_dependencies = collect(&mut diags, load_dependencies_paths(&body, &scope, &unit_dir));

    // The unit's own blocks win over the root's; the root's apply otherwise.
    let mut remote_state = None;
    let mut generate_blocks: BTreeMap<String, (Block, Scope<'_>)> = BTreeMap::new();
    let mut module_source: Option<(Expr, Scope<'_>)> = None;
    let mut layers = Vec::new();
    let unit_itself = Included { label: None, dir: unit_dir.clone(), body: body.clone(), locals: locals.clone() };
    let mut files: Vec<(Scope<'_>, &Included)> = included
        .iter()
        .map(|inc| {
            let mut roots = load_roots.clone();
            roots.insert("local".to_string(), inc.locals.clone());
            (Scope { roots, base_dir: unit_dir.clone(), host: Some(&host) }, inc)
        })
        .collect();
    files.push((scope.clone(), &unit_itself));
    for (inc_scope, inc) in &files {
        let file_body = &inc.body;
        if let Some(block) = file_body.blocks_of("remote_state").last()
            && let Some(rs) = collect(&mut diags, eval_remote_state(block, inc_scope)) {
                remote_state = Some(rs);
            }
        for block in file_body.blocks_of("generate") {
            match block.labels.first() {
                Some(label) => {
                    generate_blocks.insert(label.clone(), (block.clone(), inc_scope.clone()));
                }
                None => diags.push(Diagnostic::error("a generate block needs a name: generate \"provider\" { ... }").at(block.location.clone())),
            }
        }
        if let Some(source) = file_body.blocks_of("terraform").filter_map(|b| b.body.attribute("source")).last() {
            module_source = Some((source.expr.clone(), inc_scope.clone()));
        }
        if let Some(inputs) = file_body.attribute("inputs") {
            layers.push(InputLayer {
                expr: inputs.expr.clone(),
                location: inputs.location.clone(),
                file: file_body.file.clone(),
                locals: inc.locals.clone(),
                include: include_value.clone(),
                host: host.clone(),
            });
        }
    }

    let module_dir = match &module_source {
        Some((expr, src_scope)) => collect(&mut diags, resolve_module_source(expr, src_scope, &unit_dir)),
        None => Some(unit_dir.clone()),
    };
    // Problems of the folder itself (no .tf files) point at the source that named it.
    let module_at = module_source.as_ref().map(|(e, _)| e.location()).unwrap_or_else(|| body.file.location(0..0));
    let mut module = match &module_dir {
        Some(dir) => collect(&mut diags, Module::load(dir).map_err(|d| locate(d, &module_at))),
        None => None,
    };

    let mut generated_providers = Vec::new();
    for (block, gen_scope) in generate_blocks.values() {
        let Some(generated) = collect(&mut diags, generate_file(block, gen_scope, &unit_dir, module_dir.as_deref())) else { continue };
        generated_providers.extend(generated.providers);
        if let (Some(replaced), Some(m)) = (generated.replaces, module.as_mut()) {
            drop_file(m, &replaced);
        }
    }

    match (module, diags.is_empty()) {
        (Some(module), true) => Ok(Unit {
            name: relative_path(env_dir, &unit_dir),
            dir: unit_dir,
            config_file: config_file.to_path_buf(),
            path_relative_to_include: host.path_relative_to_include(),
            dependencies: dependencies.unwrap_or_default(),
            extra_dependencies: extra_dependencies.unwrap_or_default(),
            remote_state,
            generated_providers,
            module,
            inputs: PendingInputs { layers },
        }),
        _ => Err(diags),
    }
}

/// Moves a result's diagnostics into `diags`, keeping the value.
fn collect<T>(diags: &mut Diagnostics, result: Result<T, Diagnostics>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(d) => {
            diags.extend(d);
            None
        }
    }
}

/// Gives diagnostics that name no place the place that caused them.
fn locate(diags: Diagnostics, at: &Location) -> Diagnostics {
    Diagnostics(diags.0.into_iter().map(|d| if d.location.is_none() { d.at(at.clone()) } else { d }).collect())
}

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
        "terraform" => &["source", "include_in_copy", "exclude_from_copy", "copy_terraform_lock_file"],
        "remote_state" => &["backend", "config", "generate", "disable_init", "disable_dependency_optimization", "encryption"],
        "generate" => &["path", "contents", "if_exists", "if_disabled", "comment_prefix", "disable_signature", "disable", "hcl_fmt"],
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
fn check_unit_file_shape(body: &Body) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        if !UNIT_ATTRIBUTES.contains(&attr.name.as_str()) {
            diags.push(unknown_argument(&attr.name, "a Terragrunt file", UNIT_ATTRIBUTES, attr.location.clone()));
        }
    }
    for block in &body.blocks {
        let Some(known) = block_arguments(&block.ident) else { continue };
        for attr in &block.body.attributes {
            if !known.contains(&attr.name.as_str()) {
                diags.push(unknown_argument(&attr.name, &format!("the {} block", block.ident), known, attr.location.clone()));
            }
        }
    }
    for block in &body.blocks {
        if UNIT_BLOCKS.contains(&block.ident.as_str()) || IGNORED_UNIT_BLOCKS.contains(&block.ident.as_str()) {
            continue;
        }
        let mut d = Diagnostic::error(format!("unknown block type `{}` in a Terragrunt file", block.ident)).at(block.location.clone());
        d = match did_you_mean(&block.ident, UNIT_BLOCKS.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("a unit file holds: {}", UNIT_BLOCKS.join(", "))),
        };
        diags.push(d);
    }
    diags
}

fn include_path(block: &Block, host: &TerragruntHost) -> Result<PathBuf, Diagnostics> {
    let Some(attr) = block.body.attribute("path") else {
        return Err(Diagnostic::error("an include block needs a path")
            .at(block.location.clone())
            .hint("write: path = find_in_parent_folders()")
            .into());
    };
    let scope = Scope { roots: BTreeMap::new(), base_dir: host.unit_dir.clone(), host: Some(host) };
    let value = forge_lang::eval(&attr.expr, &scope)?;
    let text = string_value(&value, attr, "include path")?;
    let path = host.unit_dir.join(text);
    path.canonicalize().map_err(|_| {
        Diagnostics::from(
            Diagnostic::error(format!("the included file {} does not exist", path.display()))
                .at(attr.expr.location())
                .hint("include the root file with: path = find_in_parent_folders()"),
        )
    })
}

fn load_includes(body: &Body, unit_dir: &Path) -> (Vec<Included>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    let host = TerragruntHost::new(unit_dir);
    for block in body.blocks_of("include") {
        let Some(path) = collect(&mut diags, include_path(block, &host)) else { continue };
        let Some(inc_body) = collect(&mut diags, forge_lang::parse_file(&path)) else { continue };
        diags.extend(check_unit_file_shape(&inc_body));
        let inc_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let inc_host = host.with_include(&inc_dir);
        let (locals, locals_diags) = eval_locals_partial(&inc_body, &inc_host, &BTreeMap::new());
        diags.extend(locals_diags);
        out.push(Included { label: block.labels.first().cloned(), dir: inc_dir, body: inc_body, locals });
    }
    (out, diags)
}

/// The `include` root: `include.<label>.locals` for labeled includes, `include.locals`
/// for an unlabeled one.
fn include_root(included: &[Included]) -> Value {
    let mut root = BTreeMap::new();
    for inc in included {
        let exposed = Value::object([("locals", inc.locals.clone())]);
        match &inc.label {
            Some(label) => {
                root.insert(label.clone(), exposed);
            }
            None => {
                root.insert("locals".to_string(), inc.locals.clone());
            }
        }
    }
    Value::Object(root)
}

/// `dependency.<name>.outputs` as unknown, for everything evaluated before outputs exist.
fn unknown_dependencies(names: &[String]) -> Value {
    Value::Object(names.iter().map(|n| (n.clone(), dependency_entry(Value::Unknown))).collect())
}

/// `dependency.<name>`: only `outputs`, as in Terragrunt since it stopped exposing
/// dependencies' inputs.
fn dependency_entry(outputs: Value) -> Value {
    Value::object([("outputs", outputs)])
}

/// Evaluates every `locals` block of a file; locals may refer to each other in any order.
pub(crate) fn eval_locals(body: &Body, host: &TerragruntHost, extra_roots: &BTreeMap<String, Value>) -> Result<Value, Diagnostics> {
    let (value, diags) = eval_locals_partial(body, host, extra_roots);
    if diags.is_empty() { Ok(value) } else { Err(diags) }
}

/// The locals that could be evaluated (failed ones are unknown, so that what uses them
/// does not repeat the error) and the problems found.
fn eval_locals_partial(body: &Body, host: &TerragruntHost, extra_roots: &BTreeMap<String, Value>) -> (Value, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut declared: BTreeMap<&str, &Attribute> = BTreeMap::new();
    for attr in body.blocks_of("locals").flat_map(|b| b.body.attributes.iter()) {
        if let Some(first) = declared.get(attr.name.as_str()) {
            diags.push(
                Diagnostic::error(format!("local `{}` is declared twice", attr.name))
                    .at(attr.location.clone())
                    .detail(format!("first declared at {}", first.location)),
            );
            continue;
        }
        declared.insert(&attr.name, attr);
    }
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    let mut pending: Vec<&Attribute> = declared.values().copied().collect();
    loop {
        let before = pending.len();
        let mut waiting = Vec::new();
        for attr in pending {
            let waits = attr.expr.references().iter().any(|r| {
                r.root == "local" && r.first_attr().is_some_and(|n| declared.contains_key(n) && !done.contains_key(n))
            });
            if waits {
                waiting.push(attr);
                continue;
            }
            if let Some(r) = attr.expr.references().into_iter().find(|r| r.root == "dependency") {
                diags.push(
                    Diagnostic::error(format!("local `{}` refers to a dependency's outputs", attr.name))
                        .at(r.location)
                        .detail("locals are evaluated before any dependency is read, as in Terragrunt")
                        .hint("use dependency.<name>.outputs.<output> in inputs instead"),
                );
                done.insert(attr.name.clone(), Value::Unknown);
                continue;
            }
            let mut roots = extra_roots.clone();
            roots.insert("local".to_string(), Value::Object(done.clone()));
            let scope = Scope { roots, base_dir: host.unit_dir.clone(), host: Some(host) };
            let value = match forge_lang::eval(&attr.expr, &scope) {
                Ok(v) => v,
                Err(d) => {
                    diags.extend(d);
                    // Unknown keeps later locals from repeating the same error.
                    Value::Unknown
                }
            };
            done.insert(attr.name.clone(), value);
        }
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for attr in pending {
        diags.push(
            Diagnostic::error(format!("local `{}` refers to itself through other locals", attr.name))
                .at(attr.location.clone())
                .hint("break the cycle: one of these locals must not depend on the others"),
        );
        done.insert(attr.name.clone(), Value::Unknown);
    }
    (Value::Object(done), diags)
}

fn string_value<'v>(value: &'v Value, attr: &Attribute, what: &str) -> Result<&'v str, Diagnostics> {
    value.unmarked().as_str().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(format!("the {what} must be a string, not {}", value.kind_name())).at(attr.expr.location()),
        )
    })
}

/// A path written in a unit file, resolved against the unit folder; it must exist.
fn existing_path(text: &str, unit_dir: &Path, at: Location, what: &str) -> Result<PathBuf, Diagnostics> {
    let path = unit_dir.join(text);
    path.canonicalize().map_err(|_| {
        let mut d = Diagnostic::error(format!("{what} {text:?} does not exist")).at(at).detail(format!("resolved to {}", path.display()));
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
    did_you_mean(&wrong, names.iter().map(String::as_str)).map(|s| format!("did you mean the folder `{s}`?"))
}

/// A dependency must be another unit: a folder with a unit file, not the unit itself.
fn check_is_other_unit(path: &Path, unit_dir: &Path, at: Location, what: &str) -> Result<(), Diagnostics> {
    if path == unit_dir {
        return Err(Diagnostic::error(format!("{what} points at the unit itself"))
            .at(at)
            .hint("point it at the folder of the unit this one needs, such as \"../sqs-notifications\"")
            .into());
    }
    if !UNIT_FILE_NAMES.iter().any(|n| path.join(n).is_file()) {
        return Err(Diagnostic::error(format!("{what}: {} is not a unit", path.display()))
            .at(at)
            .detail("a unit folder holds a terragrunt.hcl (or forge.hcl)")
            .hint("point it at a unit folder, not at a module or environment folder")
            .into());
    }
    Ok(())
}

fn load_dependencies(body: &Body, scope: &Scope<'_>, unit_dir: &Path) -> Result<Vec<Dependency>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out: Vec<Dependency> = Vec::new();
    for block in body.blocks_of("dependency") {
        let Some(name) = block.labels.first() else {
            diags.push(Diagnostic::error("a dependency block needs a name: dependency \"sqs\" { ... }").at(block.location.clone()));
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
        match load_dependency(name, block, scope, unit_dir) {
            Ok(dep) => out.push(dep),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

fn load_dependency(name: &str, block: &Block, scope: &Scope<'_>, unit_dir: &Path) -> Result<Dependency, Diagnostics> {
    let Some(attr) = block.body.attribute("config_path") else {
        return Err(Diagnostic::error(format!("dependency `{name}` has no config_path"))
            .at(block.location.clone())
            .hint("point it at the unit folder: config_path = \"../sqs-notifications\"")
            .into());
    };
    let value = forge_lang::eval(&attr.expr, scope)?;
    let text = string_value(&value, attr, "config_path")?;
    let config_path = existing_path(text, unit_dir, attr.expr.location(), &format!("dependency `{name}`: config_path"))?;
    check_is_other_unit(&config_path, unit_dir, attr.expr.location(), &format!("dependency `{name}`"))?;
    let mock_outputs = match block.body.attribute("mock_outputs") {
        Some(a) => Some(forge_lang::eval(&a.expr, scope)?),
        None => None,
    };
    let skip_outputs = match block.body.attribute("skip_outputs") {
        Some(a) => forge_lang::eval(&a.expr, scope)?.unmarked().as_bool().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error("skip_outputs must be true or false").at(a.expr.location()))
        })?,
        None => false,
    };
    if let Some(a) = block.body.attribute("mock_outputs_allowed_terraform_commands") {
        // Parsed for compatibility: forge plans with real (possibly unknown) outputs.
        forge_lang::eval(&a.expr, scope)?;
    }
    Ok(Dependency { name: name.to_string(), config_path, mock_outputs, skip_outputs, location: block.location.clone() })
}

fn load_dependencies_paths(body: &Body, scope: &Scope<'_>, unit_dir: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for block in body.blocks_of("dependencies") {
        let Some(attr) = block.body.attribute("paths") else {
            diags.push(Diagnostic::error("a dependencies block needs paths = [...]").at(block.location.clone()));
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
            diags.push(Diagnostic::error(format!("paths must be a list of folders, not {}", value.kind_name())).at(attr.expr.location()));
            continue;
        };
        // Point at the element when the list is written out, else at the whole value.
        let element_locations: Vec<Location> = attr.expr.as_list().map(|xs| xs.iter().map(Expr::location).collect()).unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let at = element_locations.get(i).cloned().filter(|_| element_locations.len() == items.len()).unwrap_or_else(|| attr.expr.location());
            match item.unmarked().as_str() {
                Some(text) => match existing_path(text, unit_dir, at.clone(), "dependencies path")
                    .and_then(|p| check_is_other_unit(&p, unit_dir, at.clone(), "dependencies path").map(|()| p))
                {
                    Ok(p) => out.push(p),
                    Err(d) => diags.extend(d),
                },
                None => diags.push(Diagnostic::error("each of dependencies.paths must be a string").at(at)),
            }
        }
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

fn eval_remote_state(block: &Block, scope: &Scope<'_>) -> Result<RemoteState, Diagnostics> {
    let Some(backend_attr) = block.body.attribute("backend") else {
        return Err(Diagnostic::error("remote_state needs a backend").at(block.location.clone()).hint("write: backend = \"s3\"").into());
    };
    let backend = forge_lang::eval(&backend_attr.expr, scope)?;
    let backend = string_value(&backend, backend_attr, "backend")?.to_string();
    let config = match block.body.attribute("config") {
        Some(a) => {
            let v = forge_lang::eval(&a.expr, scope)?;
            if !matches!(v.unmarked(), Value::Object(_) | Value::Map(_)) {
                return Err(Diagnostic::error(format!("remote_state config must be an object, not {}", v.kind_name())).at(a.expr.location()).into());
            }
            v
        }
        None => Value::Object(BTreeMap::new()),
    };
    Ok(RemoteState { backend, config, location: block.location.clone() })
}

/// What a `generate` block contributes.
struct Generated {
    providers: Vec<ProviderBlock>,
    /// A module file the generated one replaces (`if_exists = "overwrite"`).
    replaces: Option<PathBuf>,
}

/// Reads a `generate` block. forge writes no files: the contents are read as if they were
/// the generated `.tf` file, and its `provider` blocks are kept. `if_exists` decides what
/// happens when the module already has a file of that name, as in Terragrunt.
fn generate_file(block: &Block, scope: &Scope<'_>, unit_dir: &Path, module_dir: Option<&Path>) -> Result<Generated, Diagnostics> {
    let nothing = Generated { providers: Vec::new(), replaces: None };
    if let Some(a) = block.body.attribute("disable")
        && forge_lang::eval(&a.expr, scope)?.unmarked().as_bool() == Some(true)
    {
        return Ok(nothing);
    }
    let label = block.labels.first().map(String::as_str).unwrap_or("");
    let (Some(path_attr), Some(contents_attr)) = (block.body.attribute("path"), block.body.attribute("contents")) else {
        return Err(Diagnostic::error(format!("generate \"{label}\" needs both path and contents")).at(block.location.clone()).into());
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
                return Err(Diagnostic::error(format!("if_exists must be overwrite, overwrite_terragrunt, skip or error, not {text:?}"))
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
    let generated = forge_lang::parse_str(&unit_dir.join(&path), contents).map_err(|d| add_detail(d, &origin))?;
    let providers = crate::module_impl::provider_blocks(&generated).map_err(|d| add_detail(d, &origin))?;
    Ok(Generated { providers, replaces })
}

fn add_detail(diags: Diagnostics, detail: &str) -> Diagnostics {
    Diagnostics(diags.0.into_iter().map(|d| if d.detail.is_none() { d.detail(detail) } else { d }).collect())
}

/// Forgets every block a module file declared (the file is replaced by a generated one).
fn drop_file(module: &mut Module, file: &Path) {
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
fn resolve_module_source(expr: &Expr, scope: &Scope<'_>, unit_dir: &Path) -> Result<PathBuf, Diagnostics> {
    let value = forge_lang::eval(expr, scope)?;
    let Some(text) = value.unmarked().as_str() else {
        return Err(Diagnostic::error(format!("terraform source must be a string, not {}", value.kind_name())).at(expr.location()).into());
    };
    let text = text.split('?').next().unwrap_or(text);
    if text.contains("://") || text.starts_with("git::") || text.starts_with("tfr:") {
        return Err(Diagnostic::error(format!("forge reads modules from local folders only, not {text:?}"))
            .at(expr.location())
            .hint("check the module out next to the stacks and point source at its folder")
            .into());
    }
    let joined = match text.split_once("//") {
        Some((root, sub)) => Path::new(root).join(sub),
        None => PathBuf::from(text),
    };
    let path = existing_path(&joined.to_string_lossy(), unit_dir, expr.location(), "terraform source")?;
    if !path.is_dir() {
        return Err(Diagnostic::error(format!("terraform source {} is not a folder", path.display())).at(expr.location()).into());
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

pub(crate) fn eval_inputs(unit: &Unit, dependency_outputs: &BTreeMap<String, Value>) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let deps = Value::Object(
        unit.dependencies
            .iter()
            .map(|d| (d.name.clone(), dependency_entry(dependency_outputs.get(&d.name).cloned().unwrap_or(Value::Unknown))))
            .collect(),
    );
    let mut merged = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for layer in &unit.inputs.layers {
        match eval_layer(layer, &deps) {
            Ok(values) => merged.extend(values),
            Err(d) => diags.extend(explain_missing_outputs(d, unit, dependency_outputs)),
        }
    }
    if diags.is_empty() { Ok(merged) } else { Err(diags) }
}

/// A dependency with no outputs at all was never applied (or was destroyed): say so
/// instead of only "no attribute".
fn explain_missing_outputs(diags: Diagnostics, unit: &Unit, dependency_outputs: &BTreeMap<String, Value>) -> Diagnostics {
    let empty: Vec<&crate::unit::Dependency> = unit
        .dependencies
        .iter()
        .filter(|d| matches!(dependency_outputs.get(&d.name).map(Value::unmarked), Some(Value::Object(m) | Value::Map(m)) if m.is_empty()))
        .collect();
    let explain = |d: forge_lang::Diagnostic| {
        let Some(dep) = empty.iter().find(|dep| d.summary.contains(&format!("dependency.{}.outputs", dep.name))) else { return d };
        let folder = dep.config_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        d.detail(format!("the unit {folder} has no outputs: it has not been applied, or it was destroyed"))
            .hint(format!("apply {folder} first, or run it together with {} so its outputs are planned", unit.name))
    };
    Diagnostics(diags.0.into_iter().map(explain).collect())
}

pub(crate) fn eval_layer(layer: &InputLayer, deps: &Value) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let roots = BTreeMap::from([
        ("local".to_string(), layer.locals.clone()),
        ("include".to_string(), layer.include.clone()),
        ("dependency".to_string(), deps.clone()),
    ]);
    let scope = Scope { roots, base_dir: layer.host.unit_dir.clone(), host: Some(&layer.host) };
    let value = forge_lang::eval(&layer.expr, &scope)?;
    match value {
        Value::Object(m) | Value::Map(m) => Ok(m),
        Value::Unknown => Err(Diagnostic::error("the inputs cannot be known before the dependencies are applied")
            .at(layer.location.clone())
            .hint("write inputs as an object literal { name = ... } so its keys are known")
            .into()),
        other => Err(Diagnostic::error(format!("inputs must be an object, not {}", other.kind_name())).at(layer.location.clone()).into()),
    }
}
