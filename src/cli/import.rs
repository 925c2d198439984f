//! `forge import UNIT ADDRESS ID`: adopt an existing object into a unit's state.

use std::path::PathBuf;

use clap::Args;
use forge_engine::{EngineError, InstanceAddr};
use forge_render::text::{Style, inline};

use super::common::{Outcome, RunArgs, build_engine, load_env, resolve_target, single_unit};

#[derive(Args)]
pub struct ImportArgs {
    /// The unit folder.
    pub target: PathBuf,
    /// The resource address (`aws_sqs_queue.work["uploads"]`).
    pub address: String,
    /// The object's id, as Terraform's import takes it.
    pub id: String,
}

pub async fn run(args: ImportArgs) -> Outcome {
    let dir = resolve_target(&args.target)?;
    let env = load_env(&dir)?;
    let unit = single_unit(&env, &dir)?;
    let addr = InstanceAddr::parse(&args.address).ok_or_else(|| {
        EngineError::new(forge_engine::ErrorKind::Request, format!("{:?} is not a resource address", args.address)).hint("write it as type.name, type.name[0] or type.name[\"key\"], after module.name. (or module.name[0].) for a child module's resource")
    })?;
    let run = RunArgs::for_dir(dir.clone());
    let mut built = build_engine(&run, true, Style::default())?;
    built.engine.options.command = Some("import");
    let value = built.engine.import(&env, unit, &addr, &args.id).await?;
    let id = value
        .str_attr("id")
        .map(str::to_string)
        .unwrap_or_else(|| inline(&value));
    println!(
        "{addr}: Import complete [id={id}]\nThe object is now managed by unit {}; run forge plan to compare it with the configuration.",
        unit.name
    );
    Ok(0)
}
