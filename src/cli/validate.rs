//! `forge validate`: the configuration's static checks plus schema checks against the
//! providers, with no network and no state. Exit 0 when valid, 1 otherwise.

use std::path::PathBuf;

use clap::Args;

use super::common::{Failure, Outcome, factories, load_context, resolve_target};

#[derive(Args)]
pub struct ValidateArgs {
    #[arg(default_value = ".")]
    pub target: PathBuf,
}

pub async fn run(args: ValidateArgs) -> Outcome {
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
    if diags.has_errors() {
        return Err(Failure::Diagnostics(diags));
    }
    if !diags.is_empty() {
        eprint!("{diags}");
    }
    let resources: usize = env
        .units
        .iter()
        .map(|u| u.module.resources.len() + u.module.data.len())
        .sum();
    println!(
        "Success! The configuration is valid ({} unit(s), {resources} resource and data blocks).",
        env.units.len()
    );
    Ok(0)
}
