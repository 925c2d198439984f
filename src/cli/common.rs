//! What the subcommands share: finding the folder a command means, loading it, building
//! the engine with the real providers and backends, printing progress events, asking for
//! confirmation, and turning failures into `error:` output.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
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

pub fn style(no_color: bool) -> Style {
    let color =
        !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    Style { color }
}

/// Flags of every command that runs the engine.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The environment or unit folder (`stacks/production`, or `production` from the repository root).
    #[arg(default_value = ".")]
    pub target: PathBuf,
    /// How many units, and how many provider calls, may run at once.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// Only these units (repeatable; name or folder).
    #[arg(long = "include-unit")]
    pub include_unit: Vec<String>,
    /// Leave these units out (repeatable).
    #[arg(long = "exclude-unit")]
    pub exclude_unit: Vec<String>,
    /// How long to wait for a held state lock (`30s`, `5m`).
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Skip reading the live objects before planning.
    #[arg(long = "refresh", default_value_t = true, action = clap::ArgAction::Set)]
    pub refresh: bool,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| t.split_at(i))
        .unwrap_or((t, "s"));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write 30s, 5m or 1h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{text:?} has an unknown unit; use ms, s, m or h")),
    };
    Ok(Duration::from_secs_f64(secs))
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
    LoadContext::new()
        .with_schemas(super::schema_host::schemas())
        .with_aws_identity(super::terragrunt_host::aws_identity(offline))
        .with_command_log(super::terragrunt_host::command_log())
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

pub fn factories() -> Result<(Factories, Option<FakeWorld>), Failure> {
    let mut list: Vec<Arc<dyn ProviderFactory>> = vec![
        Arc::new(forge_aws::AwsProviderFactory::default()),
        Arc::new(forge_provider_terraform::TerraformProviderFactory),
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

pub fn build_engine(args: &RunArgs, style: Style) -> Result<Built, Failure> {
    let (factories, fake) = factories()?;
    let backends: Vec<Arc<dyn BackendFactory>> =
        vec![Arc::new(forge_aws::remote_state::S3BackendFactory::new())];
    let mut engine = forge_engine::Engine::new(factories, backends);
    engine.options = Options {
        parallelism: args.parallelism.max(1),
        refresh: args.refresh,
        lock_timeout: args.lock_timeout,
        include: args.include_unit.clone(),
        exclude: args.exclude_unit.clone(),
        ..Options::default()
    };
    engine.events = Arc::new(move |e| print_event(&e, style));
    super::stop_signals::watch(engine.interrupted.clone());
    Ok(Built { engine, fake })
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
