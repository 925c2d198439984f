//! Argument parsing and dispatch: one file per subcommand; this file owns the runtime and
//! turns errors into `error: ...` output and exit code 1.

mod apply;
mod common;
mod completions;
mod console;
mod destroy;
mod drift;
mod force_unlock;
mod graph;
mod hooks;
mod import;
mod json_stream;
mod logging;
mod output;
mod plan;
mod plan_stream;
mod run_report;
mod schema_host;
mod show;
mod state;
mod stop_signals;
mod terragrunt_host;
mod validate;
mod version;

use std::sync::atomic::{AtomicBool, Ordering};

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use common::ColorChoice;
use forge_config::tfvars::VariableArg;

/// `--api-stats` was given: commands add their part (apply: the critical path) to stderr.
pub(crate) static API_STATS: AtomicBool = AtomicBool::new(false);

#[derive(Parser)]
#[command(
    name = "forge",
    // `-version`/`-v` are Terraform's spellings of the version command (normalise_args).
    disable_version_flag = true,
    about = "Infrastructure as code for AWS: Terragrunt/Terraform HCL in, AWS out."
)]
pub struct Cli {
    /// Switch to this folder before anything else (Terraform's -chdir: give it before the command).
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Plain output without colors (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// When to colour the output: auto (a terminal; CLICOLOR_FORCE=1 or FORCE_COLOR=1
    /// force it), always (CI logs that show ANSI colours), never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// At the end, print to stderr the AWS API calls made (total, per operation, requests
    /// sent twice), the run's wall time and, for apply and destroy, the critical path: the
    /// longest chain of dependent operations. FORGE_API_STATS=1 does the same.
    #[arg(long, global = true, env = "FORGE_API_STATS", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub api_stats: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Make AWS match the configuration (or apply a saved plan file).
    Apply(apply::ApplyArgs),
    /// Delete everything the state of the environment or unit records.
    Destroy(destroy::DestroyArgs),
    /// Show a saved plan, or the state of a unit or environment (-json: Terraform's documents).
    Show(show::ShowArgs),
    /// Evaluate expressions (one a line on stdin) in a unit's scope, reading its state.
    Console(console::ConsoleArgs),
    /// Report what changed outside forge in every unit, taking no lock and writing
    /// nothing (exit 0: none, 2: drift, 1: a unit could not be checked).
    Drift(drift::DriftArgs),
    /// Show the outputs recorded in state.
    Output(output::OutputArgs),
    /// Print the graph of units (or of resources) as DOT or Mermaid.
    Graph(graph::GraphArgs),
    /// Check the configuration without network or state.
    Validate(validate::ValidateArgs),
    /// Inspect or edit a unit's state.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Adopt an existing object into a unit's state.
    Import(import::ImportArgs),
    /// Release a lock left by a run that died.
    ForceUnlock(force_unlock::ForceUnlockArgs),
    /// Print forge's version, the commit it was built from and the platform.
    Version(version::VersionArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(completions::CompletionsArgs),
}

/// Terraform's flags forge knowingly lacks, with what to do instead; named in the error
/// when given, so a CI script learns what to change rather than that `-s` is unexpected.
const TERRAFORM_FLAGS_NOT_SUPPORTED: &[(&str, &str)] = &[
    (
        "state",
        "each unit's state lives in its remote_state backend; forge state pull/push move it",
    ),
    (
        "state-out",
        "each unit's state lives in its remote_state backend; forge state pull/push move it",
    ),
    (
        "backup",
        "state is written by the backend (S3 keeps versions); there is no local backup file",
    ),
    (
        "generate-config-out",
        "write the resource block and an import block for it",
    ),
    ("light", "forge plans every resource it reads"),
    (
        "json",
        "this command has no JSON output in forge (plan, apply, destroy, show, validate, output and version have -json)",
    ),
    ("raw", "this command has no raw output in forge"),
    ("upgrade", "forge has no init: providers are built in"),
    (
        "reconfigure",
        "forge has no init: the backend comes from remote_state",
    ),
    (
        "backend-config",
        "forge has no init: the backend comes from remote_state",
    ),
    (
        "migrate-state",
        "forge has no init: the backend comes from remote_state",
    ),
    ("destroy", "use forge destroy"),
    (
        "deprecation",
        "forge has no module deprecation warnings to show",
    ),
];

/// Terraform writes long flags with one dash (`-lock=false`), forge's parser with two;
/// so every single-dash word of two or more letters becomes `--word` unless it is the
/// value of the flag before it (`-var -x=1` keeps `-x=1`). Which flags take a value
/// comes from the parser's own model, so the two never disagree.
fn normalise_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    let mut command = &root;
    let mut value_next = false;
    let mut only_positionals = false;
    for (i, arg) in args.enumerate() {
        if i == 0 || only_positionals || value_next {
            value_next = false;
            out.push(arg);
            continue;
        }
        if arg == "--" {
            only_positionals = true;
            out.push(arg);
            continue;
        }
        let single_dash_word = arg.len() > 2
            && arg.starts_with('-')
            && !arg.starts_with("--")
            && arg[1..].starts_with(|c: char| c.is_ascii_alphabetic());
        let arg = if single_dash_word {
            format!("-{arg}")
        } else {
            arg
        };
        // Terraform takes `-version` (and `-v`) where the command goes, as `version`.
        let arg =
            if std::ptr::eq(command, &root) && matches!(arg.as_str(), "--version" | "-v" | "-V") {
                "version".to_string()
            } else {
                arg
            };
        if let Some(flag) = arg.strip_prefix("--") {
            let (name, has_value) = match flag.split_once('=') {
                Some((n, _)) => (n, true),
                None => (flag, false),
            };
            let takes_value = command
                .get_arguments()
                .chain(root.get_arguments())
                .find(|a| a.get_long() == Some(name))
                .is_some_and(|a| {
                    a.get_action().takes_values()
                        && !a.is_require_equals_set()
                        && a.get_num_args().is_none_or(|n| n.min_values() > 0)
                });
            value_next = takes_value && !has_value;
        } else if !arg.starts_with('-')
            && let Some(sub) = command.find_subcommand(&arg)
        {
            command = sub;
        }
        out.push(arg);
    }
    out
}

/// A parse error in words that name the flag as the user wrote it.
fn explain_parse_error(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let name = arg.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    if name == "chdir" {
        return Some(
            "error: -chdir must come before the command, as in Terraform: forge -chdir=DIR plan ...
"
            .into(),
        );
    }
    if let Some((_, why)) = TERRAFORM_FLAGS_NOT_SUPPORTED
        .iter()
        .find(|(n, _)| *n == name)
    {
        return Some(format!(
            "error: forge does not support Terraform's -{name} here: {why}
"
        ));
    }
    Some(format!(
        "error: unknown flag -{name}
hint: run the command with -help to list its flags
"
    ))
}

/// `-var` and `-var-file` in the order they were given (a later one wins, as in Terraform).
fn ordered_variables(matches: &clap::ArgMatches) -> Result<Vec<VariableArg>, String> {
    let mut ordered: Vec<(usize, VariableArg)> = Vec::new();
    if let (Some(idx), Some(values)) = (
        matches.indices_of("vars"),
        matches.get_many::<String>("vars"),
    ) {
        for (i, v) in idx.zip(values) {
            ordered.push((i, VariableArg::assignment(v)?));
        }
    }
    if let (Some(idx), Some(values)) = (
        matches.indices_of("var_files"),
        matches.get_many::<PathBuf>("var_files"),
    ) {
        for (i, v) in idx.zip(values) {
            ordered.push((i, VariableArg::File(v.clone())));
        }
    }
    ordered.sort_by_key(|(i, _)| *i);
    Ok(ordered.into_iter().map(|(_, v)| v).collect())
}

/// Parses the command line: Terraform's spellings, then clap, then the variables' order.
fn parse(args: impl Iterator<Item = String>) -> Result<Cli, i32> {
    let matches = match Cli::command().try_get_matches_from(normalise_args(args)) {
        Ok(m) => m,
        Err(e) => {
            match explain_parse_error(&e) {
                Some(text) => eprint!("{text}"),
                None => {
                    let _ = e.print();
                }
            }
            return Err(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return Err(1);
        }
    };
    let command_variables = match &mut cli.command {
        Command::Console(a) => Some(&mut a.variables),
        Command::Drift(a) => Some(&mut a.variables),
        _ => None,
    };
    if let (Some(variables), Some((_, sub))) = (command_variables, matches.subcommand()) {
        match ordered_variables(sub) {
            Ok(v) => *variables = v,
            Err(message) => {
                eprintln!("error: {message}");
                return Err(1);
            }
        }
    }
    let run = match &mut cli.command {
        Command::Plan(a) => Some(&mut a.run),
        Command::Apply(a) => Some(&mut a.run),
        Command::Destroy(a) => Some(&mut a.run),
        _ => None,
    };
    let mut features = Vec::new();
    if let (Some(run), Some((_, sub))) = (run, matches.subcommand()) {
        features = run.features.clone();
        match ordered_variables(sub) {
            Ok(v) => run.variables = v,
            Err(message) => {
                eprintln!("error: {message}");
                return Err(1);
            }
        }
    }
    if let Err(message) = common::set_features(&features) {
        eprintln!("error: {message}");
        return Err(1);
    }
    Ok(cli)
}

/// A panic is a bug in forge: after Rust's own message (where it happened), say so and
/// what to do. A panic inside a unit's work is caught there (the unit fails, its lock is
/// released, its journal kept); one anywhere else ends the process with exit code 101.
fn report_panics_as_bugs() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!(
            "error: forge hit an internal error (a bug). Please report it with the command you \
             ran and the output of FORGE_LOG=debug. Each unit's journal in .forge/ keeps what \
             finished; a unit's lock is released when the panic was in that unit's work, \
             otherwise by the next run (its holder is gone)."
        );
    }));
}

pub fn main() -> i32 {
    let cli = match parse(std::env::args()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Before -chdir, as Terraform: a relative FORGE_LOG_PATH is where forge was started.
    if let Err(message) = logging::init() {
        eprintln!("error: {message}");
        return 1;
    }
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!("error: -chdir={}: cannot switch to it: {e}", dir.display());
        return 1;
    }
    report_panics_as_bugs();
    if let Some(message) = common::unread_identity_variable(|k| std::env::var_os(k).is_some()) {
        eprintln!("error: {message}");
        return 1;
    }
    let started = std::time::Instant::now();
    API_STATS.store(cli.api_stats, Ordering::Relaxed);
    let compact_warnings = match &cli.command {
        Command::Plan(a) => a.run.compact_warnings,
        Command::Apply(a) => a.run.compact_warnings,
        Command::Destroy(a) => a.run.compact_warnings,
        _ => false,
    };
    let style = common::style(cli.no_color, cli.color, compact_warnings);
    let unavailable_hooks = [
        forge_engine::fault_injection::unavailable_warning(),
        forge_aws_common::fault::unavailable_warning(),
        forge_aws_common::fault_refusals::unavailable_warning(),
    ];
    for warning in unavailable_hooks.into_iter().flatten() {
        eprintln!("warning: {warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plan(a) => plan::run(a, style).await,
            Command::Apply(a) => apply::run(a, style).await,
            Command::Destroy(a) => destroy::run(a, style).await,
            Command::Show(a) => show::run(a, style).await,
            Command::Console(a) => console::run(a, style).await,
            Command::Drift(a) => drift::run(a).await,
            Command::Output(a) => output::run(a).await,
            Command::Graph(a) => graph::run(a).await,
            Command::Validate(a) => validate::run(a).await,
            Command::State(c) => state::run(c).await,
            Command::Import(a) => import::run(a).await,
            Command::ForceUnlock(a) => force_unlock::run(a).await,
            Command::Version(a) => version::run(a),
            Command::Completions(a) => completions::run(a),
        }
    });
    // A run a signal stopped says so in its exit code, whatever else happened.
    let code = common::finish(result);
    let code = match stop_signals::exit_code() {
        Some(stopped) => {
            eprintln!("{}", stop_signals::stopped_summary());
            stopped
        }
        None => code,
    };
    if cli.api_stats {
        eprint!(
            "{}",
            forge_aws::api_stats::ApiStats::global().summary().render()
        );
        eprintln!("wall time: {:.2} s", started.elapsed().as_secs_f64());
        if std::env::var_os("FORGE_API_TRACE").is_some() {
            let mut calls = forge_aws::api_stats::ApiStats::global().calls();
            calls.sort_by_key(|c| c.start);
            for c in calls {
                eprintln!(
                    "trace {:>7.1} {:>6.1} {}:{}",
                    c.start.as_secs_f64() * 1000.0,
                    c.elapsed.as_secs_f64() * 1000.0,
                    c.service,
                    c.operation
                );
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::normalise_args;

    fn normalised(args: &[&str]) -> Vec<String> {
        normalise_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn terraform_single_dash_flags_become_long_flags() {
        assert_eq!(
            normalised(&[
                "forge",
                "-chdir=env",
                "plan",
                "-out",
                "p",
                "-refresh=false",
                "-lock-timeout",
                "1m30s",
                "-o",
                "dir",
            ]),
            [
                "forge",
                "--chdir=env",
                "plan",
                "--out",
                "p",
                "--refresh=false",
                "--lock-timeout",
                "1m30s",
                "-o",
                "dir",
            ]
        );
    }

    #[test]
    fn a_flag_value_that_starts_with_a_dash_is_left_alone() {
        // -var takes the next word whatever it looks like; -lock takes its value only
        // after `=`, so the word after it is the folder, normalised as any word.
        assert_eq!(
            normalised(&["forge", "plan", "-var", "-x=1", "-lock", "dir", "--", "-y"]),
            [
                "forge", "plan", "--var", "-x=1", "--lock", "dir", "--", "-y"
            ]
        );
        assert_eq!(
            normalised(&["forge", "state", "rm", "-lock-timeout", "-5s"]),
            ["forge", "state", "rm", "--lock-timeout", "-5s"],
            "a dash and a digit is not a flag name"
        );
    }
}
