//! What the subcommands share: finding the folder a command means, loading it, building
//! the engine with the real providers and backends, printing progress events, asking for
//! confirmation, and turning failures into `error:` output.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use forge_config::tfvars::VariableArg;
use forge_config::{Environment, LoadContext, Unit};
use forge_engine::{EngineError, Event, OpKind, OpStatus, Options};
use forge_lang::Diagnostics;
use forge_provider::test_support::{FakeWorld, fake_world_from_env};
use forge_provider::{BackendFactory, ProviderFactory};
use forge_render::text::Style;

/// Why a command failed; printed by `finish`.
pub enum Failure {
    Engine(EngineError),
    Diagnostics(Diagnostics),
    /// Already printed; exit 1.
    Reported,
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Engine(e)
    }
}

/// An exit code.
pub type Outcome = Result<i32, Failure>;

pub fn finish(result: Outcome) -> i32 {
    match result {
        Ok(code) => code,
        Err(Failure::Engine(e)) => {
            eprint!("{e}");
            1
        }
        Err(Failure::Diagnostics(d)) => {
            eprint!("{d}");
            1
        }
        Err(Failure::Reported) => 1,
    }
}

/// When to colour the output (`-color`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR force it.
    #[default]
    Auto,
    /// Always, even into a pipe or a file (CI logs that render ANSI colours).
    Always,
    Never,
}

pub fn style(no_color: bool, choice: ColorChoice, compact_warnings: bool) -> Style {
    let forced = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0");
    let color = match (no_color, choice) {
        (true, _) | (false, ColorChoice::Never) => false,
        (false, ColorChoice::Always) => true,
        (false, ColorChoice::Auto) => {
            std::env::var_os("NO_COLOR").is_none()
                && (forced("CLICOLOR_FORCE")
                    || forced("FORCE_COLOR")
                    || std::io::stdout().is_terminal())
        }
    };
    Style {
        color,
        compact_warnings,
    }
}

/// Flags of every command that runs the engine.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The environment or unit folder (`stacks/production`, or `production` from the repository root).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// How many units, and how many provider calls, may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: u32,
    /// Only these units (repeatable; name or folder).
    #[arg(long = "include-unit", value_name = "UNIT")]
    pub include_unit: Vec<String>,
    /// Leave these units out (repeatable).
    #[arg(long = "exclude-unit", value_name = "UNIT")]
    pub exclude_unit: Vec<String>,
    /// With --include-unit: also every unit that depends on the included ones, directly
    /// or not (Terragrunt's "this unit and everything that depends on it").
    #[arg(long = "include-dependents")]
    pub include_dependents: bool,
    /// Only the units whose files (or modules, or the files in folders above them)
    /// changed since this git revision, uncommitted and untracked changes included.
    #[arg(long = "changed-since", value_name = "GIT_REF")]
    pub changed_since: Option<String>,
    /// Plan only this resource or module and what it depends on (repeatable;
    /// `unit:address` in an environment of several units).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Leave out this resource or module and what depends on it (repeatable; OpenTofu's
    /// -exclude; `unit:address` in an environment of several units).
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub excludes: Vec<String>,
    /// Set a root-module variable (repeatable); wins over inputs, TF_VAR_ and variable files.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variable values from a .tfvars or .tfvars.json file (repeatable; with -var,
    /// a later one wins).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// -var and -var-file in command-line order (filled in after parsing).
    #[arg(skip)]
    pub variables: Vec<VariableArg>,
    /// Take each unit's state lock (-lock=false: take none, at your own risk).
    #[arg(long = "lock", value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub lock: bool,
    /// How long to wait for a held state lock, as a Go duration (`30s`, `5m`, `1m30s`).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Read the live objects before planning (-refresh=false: plan from state alone).
    #[arg(long = "refresh", value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Ask for input (-input=false: never ask; an apply that would ask for approval fails instead).
    #[arg(long = "input", value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub input: bool,
    /// Show warnings as one line each.
    #[arg(long = "compact-warnings")]
    pub compact_warnings: bool,
    /// Write a run report to this file when the run ends: each unit's result (succeeded,
    /// failed, early exit), counts and time, as Terragrunt's run report.
    #[arg(long = "report-file", value_name = "FILE")]
    pub report_file: Option<PathBuf>,
    /// The report's format; by default the file's extension decides (.json, .md, else csv).
    #[arg(long = "report-format", value_enum, value_name = "FORMAT")]
    pub report_format: Option<super::run_report::ReportFormatArg>,
    /// Create a missing state bucket or lock table even in a command that changes
    /// nothing, such as plan (Terragrunt's --backend-bootstrap); apply, destroy and
    /// import create them anyway.
    #[arg(long = "backend-bootstrap")]
    pub backend_bootstrap: bool,
    /// A feature flag's value, `name=value` (Terragrunt's --feature; also TG_FEATURE).
    #[arg(long = "feature", value_name = "NAME=VALUE")]
    pub features: Vec<String>,
}

impl RunArgs {
    /// The arguments of a command that only reads the unit it is given (import).
    pub fn for_dir(dir: PathBuf) -> RunArgs {
        RunArgs {
            dir,
            parallelism: 10,
            include_unit: Vec::new(),
            exclude_unit: Vec::new(),
            include_dependents: false,
            changed_since: None,
            targets: Vec::new(),
            excludes: Vec::new(),
            vars: Vec::new(),
            var_files: Vec::new(),
            variables: Vec::new(),
            lock: true,
            lock_timeout: Duration::ZERO,
            refresh: true,
            input: true,
            compact_warnings: false,
            report_file: None,
            report_format: None,
            backend_bootstrap: false,
            features: Vec::new(),
        }
    }
}

/// A Go duration (`1m30s`, `500ms` is not one: Terraform's -lock-timeout takes h, m, s),
/// parsed by the one parser the provider block and the S3 backend use.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    forge_aws_common::provider_block::parse_go_duration(text.trim()).ok_or_else(|| {
        format!("{text:?} is not a duration; write it as Terraform does: 30s, 5m, 1m30s or 1h")
    })
}

/// The folder a command means: the path itself, or `stacks/<path>` from the repository root.
pub fn resolve_target(target: &Path) -> Result<PathBuf, Failure> {
    if target.is_dir() {
        return Ok(target.to_path_buf());
    }
    let in_stacks = Path::new("stacks").join(target);
    if target.is_relative() && in_stacks.is_dir() {
        return Ok(in_stacks);
    }
    Err(Failure::Engine(
        EngineError::new(forge_engine::ErrorKind::Request, format!("{} is not a folder", target.display()))
            .hint("name an environment or unit folder, such as stacks/production (or production from the repository root)"),
    ))
}

/// What loading configuration asks of the program: the providers' schemas (`.tf.json`
/// bodies), who the AWS credentials are (`get_aws_account_id()`, ...) and where `run_cmd`
/// output goes. `offline` (forge validate, which promises no network): the AWS functions
/// give unknown values instead of asking.
pub fn load_context(offline: bool) -> LoadContext {
    let context = LoadContext::new();
    let context = match forge_module_sources::ModuleCache::from_env(|k| std::env::var(k).ok()) {
        Some(cache) => context.with_module_sources(std::sync::Arc::new(CachedModuleSources(cache))),
        None => context,
    };
    context
        .with_schemas(super::schema_host::schemas())
        .with_aws_identity(super::terragrunt_host::aws_identity(offline))
        .with_command_log(super::terragrunt_host::command_log())
        .with_features(FEATURES.get().cloned().unwrap_or_default())
}

/// Remote module sources (git, registry, archives) fetched into the module cache.
struct CachedModuleSources(forge_module_sources::ModuleCache);

impl forge_config::ModuleSources for CachedModuleSources {
    fn fetch(&self, source: &str, version: Option<&str>) -> Result<std::path::PathBuf, String> {
        self.0.fetch(source, version)
    }
}

/// Terragrunt's environment variables for the command-line role that outranks a unit's
/// `iam_role`. forge does not read them; since a run with one set would run as another
/// identity than Terragrunt's, it is refused rather than ignored.
const IDENTITY_VARIABLES: &[&str] = &[
    "TG_IAM_ASSUME_ROLE",
    "TG_IAM_ASSUME_ROLE_DURATION",
    "TG_IAM_ASSUME_ROLE_SESSION_NAME",
    "TG_IAM_ASSUME_ROLE_WEB_IDENTITY_TOKEN",
    "TERRAGRUNT_IAM_ROLE",
    "TERRAGRUNT_IAM_ASSUME_ROLE_DURATION",
    "TERRAGRUNT_IAM_ASSUME_ROLE_SESSION_NAME",
    "TERRAGRUNT_IAM_ASSUME_ROLE_WEB_IDENTITY_TOKEN",
];

/// The refusal for a set identity variable forge does not read, if one is set.
pub fn unread_identity_variable(is_set: impl Fn(&str) -> bool) -> Option<String> {
    let name = IDENTITY_VARIABLES.iter().find(|v| is_set(v))?;
    Some(format!(
        "{name} is set, and forge does not read it: it would run as another identity than Terragrunt would. Set iam_role (and its siblings) in the unit or root file instead, or unset {name}"
    ))
}

/// The feature flag values of this run: `TG_FEATURE`, then `--feature` (set once, when
/// the command line is read).
static FEATURES: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
    std::sync::OnceLock::new();

/// Reads the run's feature flag values from `--feature` and `TG_FEATURE`.
pub fn set_features(flags: &[String]) -> Result<(), String> {
    let env = std::env::var("TG_FEATURE").ok();
    let given = forge_config::features::given_values(flags, env.as_deref())?;
    let _ = FEATURES.set(given);
    Ok(())
}

pub fn load_env(dir: &Path) -> Result<Environment, Failure> {
    Environment::load(dir, &load_context(false)).map_err(Failure::Diagnostics)
}

/// The one unit a command about state means.
pub fn single_unit<'a>(env: &'a Environment, target: &Path) -> Result<&'a Unit, Failure> {
    match env.units.as_slice() {
        [u] => Ok(u),
        units => {
            let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
            Err(Failure::Engine(
                EngineError::new(
                    forge_engine::ErrorKind::Request,
                    format!(
                        "{} holds {} units; this command works on one",
                        target.display(),
                        units.len()
                    ),
                )
                .hint(format!("name a unit folder, one of: {}", names.join(", "))),
            ))
        }
    }
}

pub struct Built {
    pub engine: forge_engine::Engine,
    pub fake: Option<FakeWorld>,
}

impl Drop for Built {
    fn drop(&mut self) {
        if let Some(f) = &self.fake
            && let Err(e) = f.save()
        {
            eprintln!("warning: {e}");
        }
    }
}

pub type Factories = Vec<Arc<dyn ProviderFactory>>;

/// The key services state encryption may use: OpenTofu's `aws_kms` key provider on AWS
/// KMS. Every engine that reads or writes a state gets them.
pub fn key_services() -> Vec<Arc<dyn forge_provider::KeyServiceFactory>> {
    vec![Arc::new(forge_aws::AwsKmsKeyServices::new())]
}

pub fn factories() -> Result<(Factories, Option<FakeWorld>), Failure> {
    let mut list: Vec<Arc<dyn ProviderFactory>> = vec![
        Arc::new(forge_aws::AwsProviderFactory::default()),
        Arc::new(forge_provider_terraform::TerraformProviderFactory),
        Arc::new(forge_provider_utility::RandomProviderFactory),
        Arc::new(forge_provider_utility::NullProviderFactory),
        Arc::new(forge_provider_utility::TimeProviderFactory),
    ];
    // Tests of the binary run on the in-memory provider, persisted between runs in the file
    // FORGE_FAKE_CLOUD names (a test build only; a product build refuses the variable).
    let fake = fake_world_from_env().map_err(|e| {
        Failure::Engine(EngineError::new(forge_engine::ErrorKind::Configuration, e))
    })?;
    if let Some(world) = &fake {
        list.push(world.factory());
    }
    Ok((list, fake))
}

/// The engine for a command; `changes` says whether the command changes something
/// (see [`build_engine_with`]).
pub fn build_engine(args: &RunArgs, changes: bool, style: Style) -> Result<Built, Failure> {
    build_engine_with(args, &[], changes, style)
}

/// The state backends forge opens besides the local file (for what they are; a run's
/// engine has its own, which may create a missing bucket).
pub fn backends() -> Vec<Arc<dyn BackendFactory>> {
    vec![Arc::new(forge_aws::remote_state::S3BackendFactory::new())]
}

/// The engine for a run, with `-replace`'s addresses (plan and apply only). Only a
/// command that `changes` something (apply, destroy, import), or one given
/// `--backend-bootstrap`, creates a missing state bucket or lock table.
pub fn build_engine_with(
    args: &RunArgs,
    replace: &[String],
    changes: bool,
    style: Style,
) -> Result<Built, Failure> {
    let targeting =
        forge_engine::targeting::Targeting::new(&args.targets, &args.excludes, replace)?;
    let (factories, fake) = factories()?;
    let backends: Vec<Arc<dyn BackendFactory>> = vec![Arc::new(
        forge_aws::remote_state::S3BackendFactory::new()
            .creating_missing(changes || args.backend_bootstrap),
    )];
    let mut engine =
        forge_engine::Engine::new(factories, backends).with_key_services(key_services());
    engine.options = Options {
        parallelism: args.parallelism.max(1) as usize,
        refresh: args.refresh,
        lock: args.lock,
        lock_timeout: args.lock_timeout,
        include: args.include_unit.clone(),
        exclude: args.exclude_unit.clone(),
        targeting,
        variables: args.variables.clone(),
        include_dependents: args.include_dependents,
        ..Options::default()
    };
    engine.events = Arc::new(move |e| print_event(&e, style));
    engine.hooks = Some(Arc::new(super::hooks::ProcessHooks::default()));
    super::stop_signals::watch(engine.interrupted.clone());
    Ok(Built { engine, fake })
}

/// `--changed-since REF`: narrows the run to the units the files changed since `REF`
/// touch. `false` when no unit is touched (the caller says so and stops).
pub fn select_changed_units(
    engine: &mut forge_engine::Engine,
    env: &Environment,
    args: &RunArgs,
) -> Result<bool, Failure> {
    let Some(rev) = &args.changed_since else {
        return Ok(true);
    };
    let refuse = |message: String| {
        Failure::Engine(EngineError::new(forge_engine::ErrorKind::Request, message))
    };
    if !args.include_unit.is_empty() {
        return Err(refuse(
            "--changed-since selects the units itself; leave out --include-unit (or use --exclude-unit)".into(),
        ));
    }
    let git = |git_args: &[&str]| -> Result<String, Failure> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&env.dir)
            .args(git_args)
            .output()
            .map_err(|e| refuse(format!("--changed-since {rev}: cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(refuse(format!(
                "--changed-since {rev}: git {} failed: {}",
                git_args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let root = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?.trim());
    let root = root.canonicalize().unwrap_or(root);
    let mut files = git(&["diff", "--name-only", rev.as_str(), "--"])?;
    files.push_str(&git(&[
        "ls-files",
        "--others",
        "--exclude-standard",
        "--full-name",
    ])?);
    let files: Vec<PathBuf> = files
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| root.join(l))
        .collect();
    let touched: Vec<String> = env
        .units_touched_by(&files)
        .into_iter()
        .map(|u| u.name.clone())
        .collect();
    if touched.is_empty() {
        return Ok(false);
    }
    engine.options.include = touched;
    Ok(true)
}

/// Terraform's warning when `-target` or `-exclude` narrowed the plan; empty otherwise.
pub fn targeting_warning(t: &forge_engine::targeting::Targeting, style: Style) -> String {
    let flag = if !t.targets.is_empty() {
        "-target"
    } else if !t.excludes.is_empty() {
        "-exclude"
    } else {
        return String::new();
    };
    forge_render::text::targeting_warning(flag, style)
}

pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{}s", d.as_secs())
    }
}

fn print_event(e: &Event, style: Style) {
    let line = event_line(e, style);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// The progress line(s) for an event; empty when it shows nothing.
pub fn event_line(e: &Event, style: Style) -> String {
    match e {
        Event::Schedule { waves } => {
            let mut s = String::from("Schedule:\n");
            for (i, w) in waves.iter().enumerate() {
                s.push_str(&format!("  wave {}: {}\n", i + 1, w.join(", ")));
            }
            s
        }
        // The same section `forge plan` prints for the unit.
        Event::UnitPlanned { plan } => format!(
            "{}\n{}\n",
            style.bold(&format!("── unit {} ", plan.unit)),
            forge_render::text::render_unit_changes(plan, style)
        ),
        // `forge plan` prints each unit's section itself (plan_stream.rs).
        Event::UnitPlanDone { .. } => String::new(),
        Event::UnitStarted { unit, operation } => {
            format!("{}\n", style.bold(&format!("── {unit}: {operation}")))
        }
        Event::UnitFinished { unit, elapsed, ok } => {
            format!(
                "{}\n",
                style.bold(&format!(
                    "── {unit}: {} in {}",
                    if *ok { "done" } else { "failed" },
                    seconds(*elapsed)
                ))
            )
        }
        Event::Notice { unit, message } => match unit {
            Some(u) => format!("note: {u}: {message}\n"),
            None => format!("note: {message}\n"),
        },
        // Terraform's plan line, once the id is known to name an object.
        Event::Op {
            unit,
            address,
            kind: OpKind::PreparingImport,
            status,
        } => match status {
            OpStatus::Started => String::new(),
            OpStatus::Still(d) => format!(
                "{unit} | {address}: Still preparing import... [{}s elapsed]\n",
                d.as_secs()
            ),
            OpStatus::Done(_, id) => format!(
                "{unit} | {address}: Preparing import...{}\n",
                id.as_ref()
                    .map(|i| format!(" [id={i}]"))
                    .unwrap_or_default()
            ),
            OpStatus::Failed(d) => format!(
                "{unit} | {address}: Preparing import failed after {}\n",
                seconds(*d)
            ),
        },
        Event::Op {
            unit,
            address,
            kind,
            status,
        } => {
            let (ing, noun) = match kind {
                OpKind::Reading => ("Reading", "Read"),
                OpKind::Importing | OpKind::PreparingImport => ("Importing", "Import"),
                OpKind::Creating => ("Creating", "Creation"),
                OpKind::Modifying => ("Modifying", "Modifications"),
                OpKind::Destroying => ("Destroying", "Destruction"),
            };
            match status {
                OpStatus::Started => format!("{unit} | {address}: {ing}...\n"),
                OpStatus::Still(d) => format!(
                    "{unit} | {address}: Still {}... [{}s elapsed]\n",
                    ing.to_lowercase(),
                    d.as_secs()
                ),
                OpStatus::Done(d, id) => {
                    let id = id
                        .as_ref()
                        .map(|i| format!(" [id={i}]"))
                        .unwrap_or_default();
                    format!(
                        "{unit} | {address}: {noun} complete after {}{id}\n",
                        seconds(*d)
                    )
                }
                OpStatus::Failed(d) => {
                    format!("{unit} | {address}: {ing} failed after {}\n", seconds(*d))
                }
            }
        }
    }
}

/// Asks the question and reads one line; only `yes` approves.
pub fn confirm(question: &str) -> bool {
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => line.trim() == "yes",
        Err(_) => false,
    }
}

/// Prints every unit's errors (and skips) of a run; true when there were any.
pub fn print_unit_failures<T>(units: &[(String, forge_engine::UnitOutcome<T>)]) -> bool {
    let mut any = false;
    for (name, o) in units {
        match o {
            forge_engine::UnitOutcome::Failed(errors) => {
                any = true;
                for e in errors {
                    // Errors name their unit; configuration diagnostics may not.
                    if e.message.contains(name.as_str()) {
                        eprint!("{e}");
                    } else {
                        eprint!("unit {name}: {e}");
                    }
                }
            }
            forge_engine::UnitOutcome::Skipped { because } => {
                any = true;
                eprintln!("error: unit {name} was skipped because {because} failed");
            }
            forge_engine::UnitOutcome::Done(_) => {}
        }
    }
    any
}
