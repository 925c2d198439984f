//! `forge completions bash|zsh|fish`: a completion script for the shell, generated from
//! the parser itself so it lists exactly the commands and flags forge has.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::common::Outcome;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

pub fn run(args: CompletionsArgs) -> Outcome {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut command = super::Cli::command();
    // Into memory first: clap_complete panics on a write error, and a closed pipe
    // (`forge completions bash | head`) is not worth one.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "forge", &mut script);
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
    Ok(0)
}
