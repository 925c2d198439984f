//! `forge drift ENV`: what changed outside forge, in every unit, without taking a lock or
//! writing anything. Each unit is planned (its state read, its objects read back from AWS,
//! no lock taken, nothing written); the report is the plan's drift that the configuration
//! governs (what the plan would set back), never its pending changes. Exit 0 when
//! everything matches, 2 on drift, 1 when a unit could not be checked.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use forge_engine::{Options, PlanMode};
use forge_provider::BackendFactory;
use forge_render::drift_report::DriftReport;

use super::common::{Failure, Outcome, factories, load_env, resolve_target};
use forge_config::tfvars::VariableArg;
use forge_engine::{EngineError, ErrorKind};

#[derive(Args)]
pub struct DriftArgs {
    /// The environment or unit folder (`stacks/production`, or `production` from the repository root).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// How to print the report: text, json (for --since and other tools) or markdown
    /// (for a ticket or a pull request comment).
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    pub format: DriftFormat,
    /// Show only drift that an earlier JSON report (`--format json`) did not list.
    #[arg(long, value_name = "FILE")]
    pub since: Option<PathBuf>,
    /// Check only these units (a name, a folder name or a glob; repeatable).
    #[arg(long = "include-unit", value_name = "UNIT")]
    pub include_unit: Vec<String>,
    /// Leave these units out (a name, a folder name or a glob; repeatable).
    #[arg(long = "exclude-unit", value_name = "UNIT")]
    pub exclude_unit: Vec<String>,
    /// Also list the objects in the environment's accounts that carry its default tags
    /// (or `--name-prefix`) and that no unit's state records, with `import` blocks for them.
    #[arg(long)]
    pub unmanaged: bool,
    /// With --unmanaged: objects whose name starts with this are the environment's too.
    #[arg(long, value_name = "PREFIX", requires = "unmanaged")]
    pub name_prefix: Option<String>,
    /// How many units and objects to read at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: u32,
    /// A variable value, as for plan (units whose inputs need it).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A file of variable values, as for plan.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// `-var` and `-var-file` in command-line order (filled by the parser).
    #[arg(skip)]
    pub variables: Vec<VariableArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    Text,
    Json,
    Markdown,
}

pub async fn run(args: DriftArgs) -> Outcome {
    // Read the earlier report first: a bad file fails before any AWS call.
    let earlier = match &args.since {
        Some(path) => Some(read_report(path)?),
        None => None,
    };
    let dir = resolve_target(&args.dir)?;
    let env = load_env(&dir)?;
    let (factories, _fake) = factories()?;
    // Never creates a missing state bucket or table: a drift check changes nothing.
    let backends: Vec<Arc<dyn BackendFactory>> = vec![Arc::new(
        forge_aws::remote_state::S3BackendFactory::new().creating_missing(false),
    )];
    let mut engine = forge_engine::Engine::new(factories.clone(), backends)
        .with_key_services(crate::cli::common::key_services());
    engine.options = Options {
        parallelism: args.parallelism as usize,
        refresh: true,
        // A read-only report takes no lock, so it can run while an apply holds them.
        lock: false,
        include: args.include_unit.clone(),
        exclude: args.exclude_unit.clone(),
        variables: args.variables.clone(),
        command: Some("plan"),
        ..Options::default()
    };
    super::stop_signals::watch(engine.interrupted.clone());
    let plan = engine.plan(&env, PlanMode::Normal).await?;
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let mut report = DriftReport::from_plan(&name, &plan);
    if args.unmanaged {
        let filter = forge_provider::DiscoveryFilter {
            name_prefix: args.name_prefix.clone(),
        };
        let mut found = Vec::new();
        for factory in &factories {
            found.extend(factory.discover(&filter).await.map_err(|e| {
                Failure::Engine(EngineError::provider(
                    &format!("provider {}", factory.name()),
                    "listing the environment's objects",
                    &e,
                ))
            })?);
        }
        report.unmanaged = Some(forge_render::unmanaged::unmanaged(&plan, found));
    }
    if let (Some(earlier), Some(path)) = (&earlier, &args.since) {
        report = report
            .since(earlier)
            .map_err(|why| bad_report(path, &why))?;
    }
    match args.format {
        DriftFormat::Text => print!("{}", report.to_text()),
        DriftFormat::Json => println!("{}", report.to_json()),
        DriftFormat::Markdown => print!("{}", report.to_markdown()),
    }
    if !report.failed.is_empty() {
        return Err(Failure::Reported);
    }
    Ok(if report.has_drift() { 2 } else { 0 })
}

fn read_report(path: &PathBuf) -> Result<serde_json::Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_report(path, &format!("cannot read it: {e}")))?;
    serde_json::from_str(&text).map_err(|e| bad_report(path, &format!("it is not JSON: {e}")))
}

fn bad_report(path: &std::path::Path, why: &str) -> Failure {
    Failure::Engine(
        EngineError::new(
            ErrorKind::Request,
            format!("--since {}: {why}", path.display()),
        )
        .hint("give a report written by `forge drift --format json`"),
    )
}
