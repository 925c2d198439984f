//! `forge validate`: the configuration's static checks plus schema checks against the
//! providers, with no network and no state. Exit 0 when valid, 1 otherwise; `-json`
//! prints Terraform's `validate -json` document instead of text.

use std::path::PathBuf;

use clap::Args;
use forge_lang::{Diagnostics, Severity};
use serde_json::json;

use super::common::{Failure, Outcome, factories, load_context, resolve_target};

#[derive(Args)]
pub struct ValidateArgs {
    #[arg(default_value = ".")]
    pub target: PathBuf,
    /// Print Terraform's document: valid, error_count, warning_count and diagnostics
    /// (each with its range: filename, start and end line, column and byte).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ValidateArgs) -> Outcome {
    let checked = check(&args).await;
    if args.json {
        let diags = match checked {
            Ok((diags, _)) => diags,
            Err(Failure::Diagnostics(d)) => d,
            Err(other) => return Err(other),
        };
        let count = |s: Severity| diags.0.iter().filter(|d| d.severity == s).count();
        let errors = count(Severity::Error);
        let doc = json!({
            "format_version": "1.0",
            "valid": errors == 0,
            "error_count": errors,
            "warning_count": count(Severity::Warning),
            "diagnostics": diags.0.iter().map(|d| forge_render::json_ui::diagnostic(d, &super::json_stream::byte_offset)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(if errors == 0 { 0 } else { 1 });
    }
    let (diags, (units, resources)) = checked?;
    if diags.has_errors() {
        return Err(Failure::Diagnostics(diags));
    }
    if !diags.is_empty() {
        eprint!("{diags}");
    }
    println!(
        "Success! The configuration is valid ({units} unit(s), {resources} resource and data blocks)."
    );
    Ok(0)
}

/// The diagnostics, and how many units and resource/data blocks were checked.
async fn check(args: &ValidateArgs) -> Result<(Diagnostics, (usize, usize)), Failure> {
    let dir = resolve_target(&args.target)?;
    let env =
        forge_config::Environment::load(&dir, &load_context(true)).map_err(Failure::Diagnostics)?;
    let (factories, _fake) = factories()?;
    let mut diags = forge_config::validate_environment(&env);
    diags.extend(forge_engine::validate::check_schemas(&env, &factories).await);
    diags.extend(forge_engine::validate::check_backends(
        &env,
        &super::common::backends(),
    ));
    let resources: usize = env
        .units
        .iter()
        .map(|u| u.module.resources.len() + u.module.data.len())
        .sum();
    Ok((diags, (env.units.len(), resources)))
}
