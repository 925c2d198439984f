//! `forge destroy`: delete everything the state records, dependents first.

use clap::Args;
use forge_engine::PlanMode;
use forge_render::text::Style;

use super::common::{Outcome, RunArgs};

#[derive(Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for confirmation.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
}

pub async fn run(args: DestroyArgs, style: Style) -> Outcome {
    super::apply::plan_confirm_apply(&args.run, &[], PlanMode::Destroy, args.auto_approve, style)
        .await
}
