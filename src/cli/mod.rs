//! Argument parsing and dispatch: one file per subcommand; this file owns the runtime and
//! turns errors into `error: ...` output and exit code 1.

mod apply;
mod common;
mod destroy;
mod force_unlock;
mod graph;
mod import;
mod output;
mod plan;
mod schema_host;
mod state;
mod stop_signals;
mod terragrunt_host;
mod validate;

use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

/// `--api-stats` was given: commands add their part (apply: the critical path) to stderr.
pub(crate) static API_STATS: AtomicBool = AtomicBool::new(false);

#[derive(Parser)]
#[command(
    name = "forge",
    version,
    about = "Infrastructure as code for AWS: Terragrunt/Terraform HCL in, AWS out."
)]
pub struct Cli {
    /// Plain output without colors (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
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
}

/// Terraform spells some long options with one dash (`-out`, `-auto-approve`); accept both.
fn normalise_args(args: impl Iterator<Item = String>) -> Vec<String> {
    const SINGLE_DASH: [&str; 9] = [
        "out",
        "auto-approve",
        "detailed-exitcode",
        "refresh-only",
        "refresh",
        "json",
        "lock-timeout",
        "parallelism",
        "no-color",
    ];
    args.map(|a| {
        for name in SINGLE_DASH {
            let flag = format!("-{name}");
            if a == flag || a.starts_with(&format!("{flag}=")) {
                return format!("-{a}");
            }
        }
        a
    })
    .collect()
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(normalise_args(std::env::args())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    let started = std::time::Instant::now();
    API_STATS.store(cli.api_stats, Ordering::Relaxed);
    let style = common::style(cli.no_color);
    let unavailable_hooks = [
        forge_engine::fault_injection::unavailable_warning(),
        forge_aws_common::fault::unavailable_warning(),
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
            Command::Output(a) => output::run(a).await,
            Command::Graph(a) => graph::run(a).await,
            Command::Validate(a) => validate::run(a).await,
            Command::State(c) => state::run(c).await,
            Command::Import(a) => import::run(a).await,
            Command::ForceUnlock(a) => force_unlock::run(a).await,
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

    #[test]
    fn terraform_single_dash_flags_are_accepted() {
        let args = [
            "forge",
            "plan",
            "-out",
            "p",
            "-refresh=false",
            "-refresh-only",
            "-o",
            "-lock-timeout=5s",
        ]
        .map(String::from);
        assert_eq!(
            normalise_args(args.into_iter()),
            [
                "forge",
                "plan",
                "--out",
                "p",
                "--refresh=false",
                "--refresh-only",
                "-o",
                "--lock-timeout=5s"
            ]
            .map(String::from)
            .to_vec()
        );
    }
}
