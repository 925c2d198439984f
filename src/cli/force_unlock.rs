//! `forge force-unlock ID UNIT`: release a lock a crashed run left behind.

use std::path::PathBuf;

use clap::Args;

use super::common::{Outcome, factories, load_env, resolve_target, single_unit};

#[derive(Args)]
pub struct ForceUnlockArgs {
    /// The lock ID the refused run printed.
    pub id: String,
    /// The unit folder.
    pub target: PathBuf,
    /// Terraform's "do not ask first": forge never asks before releasing a lock, so
    /// scripts that pass it get what they ask for.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: ForceUnlockArgs) -> Outcome {
    let dir = resolve_target(&args.target)?;
    let env = load_env(&dir)?;
    let unit = single_unit(&env, &dir)?;
    let (factories, _fake) = factories()?;
    let engine = forge_engine::Engine::new(
        factories,
        vec![std::sync::Arc::new(
            forge_aws::remote_state::S3BackendFactory::new(),
        )],
    )
    .with_key_services(crate::cli::common::key_services());
    match engine.force_unlock(unit, &args.id).await? {
        Some(holder) => println!(
            "Released the lock {} of unit {} (held by {} since {} for {}).",
            holder.id, unit.name, holder.who, holder.created, holder.operation
        ),
        None => println!("Unit {} is not locked.", unit.name),
    }
    Ok(0)
}
