//! Terragrunt units and the environments that hold them.
//!
//! Loading Terragrunt unit files: discovery, `include` of the root file, `locals`,
//! `dependency`, `remote_state`, `generate`, `terraform { source }` and pending `inputs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_lang::{Block, Body, Diagnostic, Diagnostics, Expr, Location, Scope, SourceFile};
use forge_provider::Value;

use crate::context::LoadContext;
use crate::host::{TerragruntHost, relative_path};
use crate::locals::eval_locals_partial;
use crate::module::{Module, ProviderBlock};
pub use crate::unit_blocks::{Dependency, RemoteState};
use crate::unit_blocks::{
    UNIT_FILE_NAMES, check_unit_file_shape, drop_file, eval_remote_state, generate_file,
    load_dependencies, load_dependencies_paths, resolve_module_source, string_value,
};

/// An environment folder and its units.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The environment folder (`stacks/production`).
    pub dir: PathBuf,
    /// Its folder name (`production`).
    pub name: String,
    /// Units in a stable order (by relative path).
    pub units: Vec<Unit>,
}

impl Environment {
    /// Discovers every unit below `dir` (folders with `terragrunt.hcl` or `forge.hcl`,
    /// not the root file that units include) and loads each with its module. A single
    /// unit folder is accepted too and yields an environment of one unit. Every problem
    /// in every unit is reported together.
    /// Terragrunt's functions and `.tf.json` files ask the program through `context`.
    pub fn load(dir: &Path, context: &LoadContext) -> Result<Environment, Diagnostics> {
        load_environment(dir, context)
    }

    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }

    /// The units a change to these files (absolute paths) can change: a file in the unit's
    /// folder, in a folder above it (what Terragrunt reads from parent folders: the root
    /// `terragrunt.hcl`, `env.hcl`; any file there counts, to be safe), or in the folder
    /// of its module or of a module it calls.
    pub fn units_touched_by(&self, files: &[PathBuf]) -> Vec<&Unit> {
        self.units
            .iter()
            .filter(|u| {
                let mut module_dirs = Vec::new();
                collect_module_dirs(&u.module, &mut module_dirs);
                files.iter().any(|f| {
                    f.starts_with(&u.dir)
                        || f.parent().is_some_and(|folder| u.dir.starts_with(folder))
                        || module_dirs.iter().any(|d| f.starts_with(d))
                })
            })
            .collect()
    }
}

/// A module's folder and those of every module it calls, recursively.
fn collect_module_dirs(module: &Module, out: &mut Vec<PathBuf>) {
    out.push(module.dir.clone());
    for call in &module.module_calls {
        collect_module_dirs(&call.module, out);
    }
}

#[derive(Clone, Debug)]
pub struct Unit {
    /// The unit's path relative to the environment folder (`s3-storage`).
    pub name: String,
    /// The unit's folder, absolute and canonical.
    pub dir: PathBuf,
    /// The unit's `terragrunt.hcl` / `forge.hcl`.
    pub config_file: PathBuf,
    /// `path_relative_to_include()` as the root include sees it (`production/s3-storage`).
    pub path_relative_to_include: String,
    pub dependencies: Vec<Dependency>,
    /// `dependencies { paths = [...] }`: ordering only, no outputs. Absolute, canonical.
    pub extra_dependencies: Vec<PathBuf>,
    pub remote_state: Option<RemoteState>,
    /// Provider blocks read out of `generate` blocks' contents (after interpolation).
    pub generated_providers: Vec<ProviderBlock>,
    /// The module `terraform { source }` points at (the unit folder's own `*.tf` when no source).
    pub module: Module,
    /// Terragrunt's `skip`, `prevent_destroy` and `iam_role` & co (see `unit_settings`).
    pub settings: crate::unit_settings::UnitSettings,
    /// Unevaluated inputs (root's, then the unit's on top); see `eval_inputs`.
    pub(crate) inputs: PendingInputs,
    /// What the unit was loaded with; its inputs and its dependencies' configurations
    /// are evaluated with the same.
    pub(crate) context: LoadContext,
}

impl Unit {
    /// Evaluates the merged `inputs` with each dependency's outputs (an object of output
    /// name to value, where any value may be `Value::Unknown` because the dependency is
    /// not applied yet). Keys are dependency block names.
    pub fn eval_inputs(
        &self,
        dependency_outputs: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, Diagnostics> {
        eval_inputs(self, dependency_outputs)
    }

    /// The context the unit was loaded with, to load a configuration it refers to (a
    /// dependency outside the environment) the same way.
    pub fn load_context(&self) -> &LoadContext {
        &self.context
    }
}

/// A unit's `inputs` (root's first, then the unit's), kept unevaluated until the
/// dependencies' outputs are known.
#[derive(Clone, Debug, Default)]
pub struct PendingInputs {
    pub(crate) layers: Vec<InputLayer>,
    /// `merge_strategy = "deep"` on an include: nested objects merge key by key.
    pub(crate) deep_merge: bool,
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
    /// The unit's feature flags (`feature.<name>.value`).
    pub feature: Value,
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
    merge: MergeStrategy,
}

/// An include's `merge_strategy`, as in Terragrunt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MergeStrategy {
    /// The included file's blocks and inputs apply; the unit's win per top-level key.
    Shallow,
    /// As shallow, but nested objects of inputs merge key by key.
    Deep,
    /// Nothing is merged: the file is only readable through `include.<name>`.
    NoMerge,
}

// ---------------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------------

fn load_environment(dir: &Path, context: &LoadContext) -> Result<Environment, Diagnostics> {
    let dir = dir.canonicalize().map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(format!(
                "cannot open the environment folder {}: {e}",
                dir.display()
            ))
            .hint("pass a folder such as stacks/production that holds one folder per unit"),
        )
    })?;
    let mut candidates = Vec::new();
    discover_units(&dir, &mut candidates);
    // Reported with the other units' problems.
    let refused = refuse_json_units(&candidates);
    candidates.retain(|f| f.file_name().is_none_or(|n| n != JSON_UNIT_FILE));
    if candidates.is_empty() && !refused.is_empty() {
        return Err(refused);
    }
    // Root files that units include are configuration, not units.
    // A file that has includes of its own is a unit even when another file includes it
    // (Terragrunt allows one level of includes): loading it reports the chain, where
    // dropping it as a root file would end in "no units found".
    let included: BTreeSet<PathBuf> = candidates
        .iter()
        .flat_map(|f| included_files(f, context))
        .collect();
    candidates
        .retain(|f| !included.contains(&canonical(f)) || !included_files(f, context).is_empty());
    if candidates.is_empty() {
        return Err(Diagnostic::error(format!("no units found in {}", dir.display()))
            .hint("a unit is a folder holding a terragrunt.hcl (or forge.hcl) file; pass an environment folder such as stacks/production")
            .into());
    }
    // A single unit folder: its environment is the folder above it.
    let env_dir = if candidates.iter().any(|f| f.parent() == Some(dir.as_path())) {
        dir.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.clone())
    } else {
        dir.clone()
    };
    let mut units = Vec::new();
    let mut diags = refused;
    for file in &candidates {
        match load_unit(&env_dir, file, context) {
            Ok(unit) => units.push(unit),
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        return Err(dedup(diags));
    }
    units.sort_by(|a, b| a.name.cmp(&b.name));
    let name = env_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Environment {
        dir: env_dir,
        name,
        units,
    })
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

/// Terragrunt also reads `terragrunt.hcl.json`; forge does not (its modules may be
/// `.tf.json`, its units not), and skipping such a folder would drop the unit silently.
const JSON_UNIT_FILE: &str = "terragrunt.hcl.json";

fn refuse_json_units(candidates: &[PathBuf]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for path in candidates
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == JSON_UNIT_FILE))
    {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let location = forge_lang::SourceFile::new(path.clone(), text).location(0..1);
        diags.push(
            Diagnostic::error(format!("{} uses Terragrunt's JSON syntax, which forge does not read for units", path.display()))
                .at(location)
                .hint("write the unit as terragrunt.hcl (the same blocks and attributes in HCL syntax); the Terraform module it points at may use .tf.json files"),
        );
    }
    diags
}

/// Every unit file below `dir` (itself included), skipping hidden and cache folders. A
/// folder with only a `terragrunt.hcl.json` gives that file, to be refused by name.
fn discover_units(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Some(file) = UNIT_FILE_NAMES
        .iter()
        .chain([&JSON_UNIT_FILE])
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    {
        out.push(file);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
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
fn included_files(config_file: &Path, context: &LoadContext) -> Vec<PathBuf> {
    let Ok(body) = forge_lang::parse_file(config_file) else {
        return Vec::new();
    };
    let unit_dir = config_file.parent().unwrap_or(Path::new("/"));
    let host = TerragruntHost::new(unit_dir, context);
    body.blocks_of("include")
        .filter_map(|b| include_path(b, &host).ok())
        .map(|p| canonical(&p))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------

/// Reads one unit. A unit with an `iam_role` is read again with a context that answers
/// Terragrunt's AWS functions as that role (its locals now, its inputs later), so that
/// every answer names the role's account, as under Terragrunt, which assumes the role
/// before it evaluates the unit. `run_cmd` answers the second reading from its record of
/// the run (a `--terragrunt-no-cache` command, asked to run every time, runs again).
fn load_unit(
    env_dir: &Path,
    config_file: &Path,
    context: &LoadContext,
) -> Result<Unit, Diagnostics> {
    let unit = load_unit_as(env_dir, config_file, context)?;
    match unit.settings.role() {
        Some(role) if context.role().is_none() => {
            load_unit_as(env_dir, config_file, &context.as_role(role.clone()))
        }
        _ => Ok(unit),
    }
}

fn load_unit_as(
    env_dir: &Path,
    config_file: &Path,
    context: &LoadContext,
) -> Result<Unit, Diagnostics> {
    // Canonical, so that it matches dependencies' canonical config_path even through symlinks.
    let parent = config_file.parent().unwrap_or(Path::new("/"));
    let unit_dir = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    let body = forge_lang::parse_file(config_file)?;
    let mut diags = check_unit_file_shape(&body);

    let (included, include_diags) = load_includes(&body, config_file, &unit_dir, context);
    diags.extend(include_diags);
    let host = match included.first() {
        Some(inc) => TerragruntHost::new(&unit_dir, context).with_include(&inc.dir),
        None => TerragruntHost::new(&unit_dir, context),
    };
    let include_value = include_root(&included);

    let dependency_names: Vec<String> = body
        .blocks_of("dependency")
        .filter_map(|b| b.labels.first().cloned())
        .collect();
    // `dependency` is known here only so that a mistaken use in remote_state or generate
    // gives unknown rather than a confusing error; locals reject it outright.
    // Feature flags come first: locals and every later value may read them. Their
    // defaults see `include` only, as they are read before anything else.
    let feature = {
        let feature_scope = Scope {
            roots: BTreeMap::from([("include".to_string(), include_value.clone())]),
            base_dir: unit_dir.clone(),
            host: Some(&host),
        };
        let bodies = included
            .iter()
            .filter(|inc| inc.merge != MergeStrategy::NoMerge)
            .map(|inc| &inc.body)
            .chain(std::iter::once(&body));
        collect(
            &mut diags,
            crate::features::feature_object(bodies, &feature_scope, context.features()),
        )
        .unwrap_or_else(|| Value::Object(BTreeMap::new()))
    };
    let load_roots = BTreeMap::from([
        ("include".to_string(), include_value.clone()),
        (
            "dependency".to_string(),
            unknown_dependencies(&dependency_names),
        ),
        ("feature".to_string(), feature.clone()),
    ]);
    let (locals, locals_diags) = eval_locals_partial(&body, &host.unit_dir, &host, &load_roots);
    diags.extend(locals_diags);
    let mut roots = load_roots.clone();
    roots.insert("local".to_string(), locals.clone());
    let scope = Scope {
        roots,
        base_dir: unit_dir.clone(),
        host: Some(&host),
    };

    let dependencies = collect(&mut diags, load_dependencies(&body, &scope, &unit_dir));
    let extra_dependencies = collect(
        &mut diags,
        load_dependencies_paths(&body, &scope, &unit_dir),
    );

    // The unit's own blocks win over the root's; the root's apply otherwise.
    let mut remote_state = None;
    let mut generate_blocks: BTreeMap<String, (Block, Scope<'_>)> = BTreeMap::new();
    let mut module_source: Option<(Expr, Scope<'_>)> = None;
    let mut layers = Vec::new();
    let unit_itself = Included {
        label: None,
        dir: unit_dir.clone(),
        body: body.clone(),
        locals: locals.clone(),
        merge: MergeStrategy::Shallow,
    };
    let mut files: Vec<(Scope<'_>, &Included)> = included
        .iter()
        .map(|inc| {
            let mut roots = load_roots.clone();
            roots.insert("local".to_string(), inc.locals.clone());
            (
                Scope {
                    roots,
                    base_dir: unit_dir.clone(),
                    host: Some(&host),
                },
                inc,
            )
        })
        .collect();
    files.push((scope.clone(), &unit_itself));
    for (inc_scope, inc) in &files {
        if inc.merge == MergeStrategy::NoMerge {
            continue;
        }
        let file_body = &inc.body;
        if let Some(block) = file_body.blocks_of("remote_state").last()
            && let Some(rs) = collect(&mut diags, eval_remote_state(block, inc_scope))
        {
            remote_state = Some(rs);
        }
        for block in file_body.blocks_of("generate") {
            match block.labels.first() {
                Some(label) => {
                    generate_blocks.insert(label.clone(), (block.clone(), inc_scope.clone()));
                }
                None => diags.push(
                    Diagnostic::error(
                        "a generate block needs a name: generate \"provider\" { ... }",
                    )
                    .at(block.location.clone()),
                ),
            }
        }
        if let Some(source) = file_body
            .blocks_of("terraform")
            .filter_map(|b| b.body.attribute("source"))
            .last()
        {
            module_source = Some((source.expr.clone(), inc_scope.clone()));
        }
        if let Some(inputs) = file_body.attribute("inputs") {
            layers.push(InputLayer {
                expr: inputs.expr.clone(),
                location: inputs.location.clone(),
                file: file_body.file.clone(),
                locals: inc.locals.clone(),
                include: include_value.clone(),
                feature: feature.clone(),
                host: host.clone(),
            });
        }
    }

    let settings = collect(
        &mut diags,
        crate::unit_settings::read(
            files
                .iter()
                .filter(|(_, inc)| inc.merge != MergeStrategy::NoMerge)
                .map(|(s, inc)| (&inc.body, s)),
            &unit_dir,
        ),
    );
    let module_dir = match &module_source {
        Some((expr, src_scope)) => collect(
            &mut diags,
            resolve_module_source(expr, src_scope, &unit_dir, context),
        ),
        None => Some(unit_dir.clone()),
    };
    // Problems of the folder itself (no .tf files) point at the source that named it.
    let module_at = module_source
        .as_ref()
        .map(|(e, _)| e.location())
        .unwrap_or_else(|| body.file.location(0..0));
    let mut module = match &module_dir {
        Some(dir) => collect(
            &mut diags,
            Module::load(dir, context).map_err(|d| locate(d, &module_at)),
        ),
        None => None,
    };

    let mut generated_providers = Vec::new();
    for (block, gen_scope) in generate_blocks.values() {
        let Some(generated) = collect(
            &mut diags,
            generate_file(block, gen_scope, &unit_dir, module_dir.as_deref()),
        ) else {
            continue;
        };
        generated_providers.extend(generated.providers);
        if let (Some(replaced), Some(m)) = (generated.replaces, module.as_mut()) {
            drop_file(m, &replaced);
        }
        if let (Some(body), Some(m)) = (generated.body, module.as_mut()) {
            for d in m.add_generated_file(&body, context).0 {
                diags.push(d.detail(format!(
                    "generated by the generate block at {}",
                    block.location
                )));
            }
        }
    }
    let mut settings = settings;
    if let (Some(m), Some(s)) = (module.as_ref(), settings.as_mut()) {
        s.warnings
            .extend(crate::requirements::module_tree_warnings(m));
        match crate::requirements::backend_for_unit(m, remote_state.take()) {
            Ok(rs) => remote_state = rs,
            Err(d) => diags.extend(d),
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
            settings: settings.unwrap_or_default(),
            inputs: PendingInputs {
                layers,
                deep_merge: included.iter().any(|i| i.merge == MergeStrategy::Deep),
            },
            context: context.clone(),
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
    Diagnostics(
        diags
            .0
            .into_iter()
            .map(|d| {
                if d.location.is_none() {
                    d.at(at.clone())
                } else {
                    d
                }
            })
            .collect(),
    )
}

fn include_path(block: &Block, host: &TerragruntHost) -> Result<PathBuf, Diagnostics> {
    let Some(attr) = block.body.attribute("path") else {
        return Err(Diagnostic::error("an include block needs a path")
            .at(block.location.clone())
            .hint("write: path = find_in_parent_folders()")
            .into());
    };
    let scope = Scope {
        roots: BTreeMap::new(),
        base_dir: host.unit_dir.clone(),
        host: Some(host),
    };
    let value = forge_lang::eval(&attr.expr, &scope)?;
    let text = string_value(&value, attr, "include path")?;
    let path = host.unit_dir.join(text);
    path.canonicalize().map_err(|_| {
        Diagnostics::from(
            Diagnostic::error(format!(
                "the included file {} does not exist",
                path.display()
            ))
            .at(attr.expr.location())
            .hint("include the root file with: path = find_in_parent_folders()"),
        )
    })
}

fn load_includes(
    body: &Body,
    config_file: &Path,
    unit_dir: &Path,
    context: &LoadContext,
) -> (Vec<Included>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    let host = TerragruntHost::new(unit_dir, context);
    let this_file = canonical(config_file);
    for block in body.blocks_of("include") {
        let Some(path) = collect(&mut diags, include_path(block, &host)) else {
            continue;
        };
        if canonical(&path) == this_file {
            diags.push(
                Diagnostic::error(format!(
                    "{} includes itself",
                    this_file.display()
                ))
                .at(block.location.clone())
                .hint("point the include at the root file above the unit, e.g. path = find_in_parent_folders(\"root.hcl\")"),
            );
            continue;
        }
        let Some(inc_body) = collect(&mut diags, forge_lang::parse_file(&path)) else {
            continue;
        };
        // Terragrunt allows one level: a root file with includes of its own is an error
        // there too (and a chain of includes back to the unit would never end).
        if let Some(nested) = inc_body.blocks_of("include").next() {
            let inc_dir = path.parent().unwrap_or(Path::new("/"));
            let target = include_path(nested, &TerragruntHost::new(inc_dir, context))
                .map(|p| canonical(&p).display().to_string())
                .unwrap_or_else(|_| "another file".to_string());
            diags.push(
                Diagnostic::error(format!(
                    "{} includes {}, which itself includes {target}: only one level of includes is allowed, as in Terragrunt",
                    this_file.display(),
                    canonical(&path).display()
                ))
                .at(nested.location.clone())
                .hint("move what the nested file shares into the root file, or read it with read_terragrunt_config"),
            );
            continue;
        }
        diags.extend(check_unit_file_shape(&inc_body));
        let inc_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let inc_host = host.with_include(&inc_dir);
        let (locals, locals_diags) =
            eval_locals_partial(&inc_body, &inc_host.unit_dir, &inc_host, &BTreeMap::new());
        diags.extend(locals_diags);
        let merge =
            collect(&mut diags, merge_strategy(block, &host)).unwrap_or(MergeStrategy::Shallow);
        out.push(Included {
            label: block.labels.first().cloned(),
            dir: inc_dir,
            body: inc_body,
            locals,
            merge,
        });
    }
    (out, diags)
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn merge_strategy(block: &Block, host: &TerragruntHost) -> Result<MergeStrategy, Diagnostics> {
    let Some(attr) = block.body.attribute("merge_strategy") else {
        return Ok(MergeStrategy::Shallow);
    };
    let scope = Scope {
        roots: BTreeMap::new(),
        base_dir: host.unit_dir.clone(),
        host: Some(host),
    };
    let value = forge_lang::eval(&attr.expr, &scope)?;
    match value.unmarked().as_str() {
        Some("shallow") => Ok(MergeStrategy::Shallow),
        Some("deep") => Ok(MergeStrategy::Deep),
        Some("no_merge") => Ok(MergeStrategy::NoMerge),
        _ => Err(Diagnostic::error(format!(
            "merge_strategy must be \"shallow\", \"deep\" or \"no_merge\", not {}",
            render(&value)
        ))
        .at(attr.expr.location())
        .into()),
    }
}

fn render(value: &Value) -> String {
    forge_lang::render_console(value)
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
    Value::Object(
        names
            .iter()
            .map(|n| (n.clone(), dependency_entry(Value::Unknown)))
            .collect(),
    )
}

/// `dependency.<name>`: only `outputs`, as in Terragrunt since it stopped exposing
/// dependencies' inputs.
fn dependency_entry(outputs: Value) -> Value {
    Value::object([("outputs", outputs)])
}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

pub(crate) fn eval_inputs(
    unit: &Unit,
    dependency_outputs: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let deps = Value::Object(
        unit.dependencies
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    dependency_entry(
                        dependency_outputs
                            .get(&d.name)
                            .cloned()
                            .unwrap_or(Value::Unknown),
                    ),
                )
            })
            .collect(),
    );
    let mut merged = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for layer in &unit.inputs.layers {
        match eval_layer(layer, &deps) {
            Ok(values) if unit.inputs.deep_merge => {
                for (k, v) in values {
                    let combined = match merged.remove(&k) {
                        Some(old) => deep_merge(old, v),
                        None => v,
                    };
                    merged.insert(k, combined);
                }
            }
            Ok(values) => merged.extend(values),
            Err(d) => diags.extend(explain_missing_outputs(d, unit, dependency_outputs)),
        }
    }
    if diags.is_empty() {
        Ok(merged)
    } else {
        Err(diags)
    }
}

/// Objects merge key by key (the newer value wins at the leaves); anything else is replaced.
fn deep_merge(old: Value, new: Value) -> Value {
    match (old, new) {
        (Value::Object(mut a) | Value::Map(mut a), Value::Object(b) | Value::Map(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(prev) => deep_merge(prev, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Value::Object(a)
        }
        (_, new) => new,
    }
}

/// A dependency with no outputs at all was never applied (or was destroyed): say so
/// instead of only "no attribute".
fn explain_missing_outputs(
    diags: Diagnostics,
    unit: &Unit,
    dependency_outputs: &BTreeMap<String, Value>,
) -> Diagnostics {
    let empty: Vec<&Dependency> = unit
        .dependencies
        .iter()
        .filter(|d| matches!(dependency_outputs.get(&d.name).map(Value::unmarked), Some(Value::Object(m) | Value::Map(m)) if m.is_empty()))
        .collect();
    let explain = |d: forge_lang::Diagnostic| {
        let Some(dep) = empty.iter().find(|dep| {
            d.summary
                .contains(&format!("dependency.{}.outputs", dep.name))
        }) else {
            return d;
        };
        let folder = dep
            .config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        d.detail(format!(
            "the unit {folder} has no outputs: it has not been applied, or it was destroyed"
        ))
        .hint(format!(
            "apply {folder} first, or run it together with {} so its outputs are planned",
            unit.name
        ))
    };
    Diagnostics(diags.0.into_iter().map(explain).collect())
}

pub(crate) fn eval_layer(
    layer: &InputLayer,
    deps: &Value,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let roots = BTreeMap::from([
        ("local".to_string(), layer.locals.clone()),
        ("include".to_string(), layer.include.clone()),
        ("dependency".to_string(), deps.clone()),
        ("feature".to_string(), layer.feature.clone()),
    ]);
    let scope = Scope {
        roots,
        base_dir: layer.host.unit_dir.clone(),
        host: Some(&layer.host),
    };
    let value = forge_lang::eval(&layer.expr, &scope)?;
    match value {
        Value::Object(m) | Value::Map(m) => Ok(m),
        Value::Unknown => Err(Diagnostic::error(
            "the inputs cannot be known before the dependencies are applied",
        )
        .at(layer.location.clone())
        .hint("write inputs as an object literal { name = ... } so its keys are known")
        .into()),
        other => Err(Diagnostic::error(format!(
            "inputs must be an object, not {}",
            other.kind_name()
        ))
        .at(layer.location.clone())
        .into()),
    }
}
