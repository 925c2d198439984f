//! The names every expression of a Terraform module can read before anything is
//! evaluated: `path.module`, `path.root`, `path.cwd` and `terraform.workspace`. The
//! engine's plan and `forge validate` both start a module's scope here, so the two can
//! never disagree about them.

use std::path::Path;

use forge_lang::Scope;
use forge_provider::Value;

use crate::relative_path;

/// A scope for a module at `module_dir` of the root module at `root_dir`, run from
/// `cwd` (the unit's folder, as Terragrunt runs Terraform there). forge has one
/// workspace, `default`.
pub fn module_scope(root_dir: &Path, module_dir: &Path, cwd: &Path) -> Scope<'static> {
    Scope::new(root_dir.to_path_buf())
        .with_root(
            "path",
            Value::object([
                ("module", Value::string(relative_path(root_dir, module_dir))),
                ("root", Value::string(".")),
                ("cwd", Value::string(cwd.display().to_string())),
            ]),
        )
        .with_root(
            "terraform",
            Value::object([("workspace", Value::string("default"))]),
        )
}
