//! `forge version [-json]`: the version, the commit it was built from and the platform.

use clap::Args;
use forge_render::version::{BuildInfo, go_platform, version_json, version_text};

use super::common::Outcome;

#[derive(Args)]
pub struct VersionArgs {
    /// Print Terraform's `version -json` document (with forge_version and forge_commit).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VersionArgs) -> Outcome {
    let info = BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("FORGE_GIT_COMMIT"),
        terraform_version: forge_engine::state::TERRAFORM_VERSION,
        platform: go_platform(std::env::consts::OS, std::env::consts::ARCH),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&version_json(&info)).unwrap_or_default()
        );
    } else {
        print!("{}", version_text(&info));
    }
    Ok(0)
}
