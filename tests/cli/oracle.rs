//! The real `terraform` (on PATH; v1.11.4 on the project's machine image, see
//! /work/shared/notes/terraform-as-oracle.md) as the reference the CLI tests compare
//! forge with, and the configuration several of them compare on.

use std::path::Path;
use std::process::Command;

/// A chain of two `terraform_data` resources (no provider download), a variable feeding
/// both, an output of the second and a sensitive output.
pub const TERRAFORM_DATA_CHAIN: &str = r#"
variable "n" {
  default = "x"
}
resource "terraform_data" "a" {
  input = var.n
}
resource "terraform_data" "b" {
  input            = terraform_data.a.output
  triggers_replace = [var.n]
}
output "o" {
  value = terraform_data.b.output
}
output "s" {
  value     = "secret-${var.n}"
  sensitive = true
}
"#;

/// `terraform ARGS` in `dir`, with no CLI configuration of the user's and in automation
/// mode; its standard output. A failed run (or no terraform) fails the test with
/// Terraform's own output.
pub fn terraform(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("terraform is needed as the oracle for this test and was not found on PATH ({e}); it is on the project's machine image (v1.11.4), see /work/shared/notes/terraform-as-oracle.md")
        });
    assert!(
        out.status.success(),
        "terraform {args:?} in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
