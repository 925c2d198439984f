//! The `forge` command: Terragrunt/Terraform HCL in, AWS out. All printing and exit codes
//! live in `cli`; the engine returns results.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
