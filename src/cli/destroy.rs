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
    /// Print Terraform's machine-readable UI, one JSON object a line (needs -auto-approve).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DestroyArgs, style: Style) -> Outcome {
    if args.json {
        super::json_stream::emit_version();
        let walk =
            super::apply::json_walk(&args.run, &[], PlanMode::Destroy, args.auto_approve, style);
        return super::json_stream::reported(walk.await);
    }
    super::apply::plan_confirm_apply(&args.run, &[], PlanMode::Destroy, args.auto_approve, style)
        .await
}
