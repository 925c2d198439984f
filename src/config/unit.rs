//! Terragrunt units and the environments that hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forge_lang::{Diagnostics, Location};
use forge_provider::Value;

use crate::module::{Module, ProviderBlock};

/// An environment folder and its units.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The environment folder (`stacks/production`).
    pub dir: PathBuf,
    /// Its folder name (`production`).
    pub name: String,
    /// Units in a stable order (by relative path).
    pub units: Vec<Unit>,
}

impl Environment {
    /// Discovers every unit below `dir` (folders with `terragrunt.hcl` or `forge.hcl`,
    /// not the root file that units include) and loads each with its module. A single
    /// unit folder is accepted too and yields an environment of one unit. Every problem
    /// in every unit is reported together.
    pub fn load(dir: &Path) -> Result<Environment, Diagnostics> {
        crate::unit_impl::load_environment(dir)
    }

    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct Unit {
    /// The unit's path relative to the environment folder (`s3-storage`).
    pub name: String,
    /// The unit's folder, absolute and canonical.
    pub dir: PathBuf,
    /// The unit's `terragrunt.hcl` / `forge.hcl`.
    pub config_file: PathBuf,
    /// `path_relative_to_include()` as the root include sees it (`production/s3-storage`).
    pub path_relative_to_include: String,
    pub dependencies: Vec<Dependency>,
    /// `dependencies { paths = [...] }`: ordering only, no outputs. Absolute, canonical.
    pub extra_dependencies: Vec<PathBuf>,
    pub remote_state: Option<RemoteState>,
    /// Provider blocks read out of `generate` blocks' contents (after interpolation).
    pub generated_providers: Vec<ProviderBlock>,
    /// The module `terraform { source }` points at (the unit folder's own `*.tf` when no source).
    pub module: Module,
    /// Terragrunt's `skip` and `prevent_destroy` (see `unit_settings`).
    pub settings: crate::unit_settings::UnitSettings,
    /// Unevaluated inputs (root's, then the unit's on top); see `eval_inputs`.
    pub(crate) inputs: crate::unit_impl::PendingInputs,
}

impl Unit {
    /// Evaluates the merged `inputs` with each dependency's outputs (an object of output
    /// name to value, where any value may be `Value::Unknown` because the dependency is
    /// not applied yet). Keys are dependency block names.
    pub fn eval_inputs(
        &self,
        dependency_outputs: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, Diagnostics> {
        crate::unit_impl::eval_inputs(self, dependency_outputs)
    }
}

#[derive(Clone, Debug)]
pub struct Dependency {
    pub name: String,
    /// Absolute, canonical folder of the unit depended on.
    pub config_path: PathBuf,
    pub mock_outputs: Option<Value>,
    pub skip_outputs: bool,
    pub location: Location,
}

/// `remote_state { backend = "s3", config = {...} }`, evaluated.
#[derive(Clone, Debug)]
pub struct RemoteState {
    pub backend: String,
    /// The `config` object: bucket, key, region, dynamodb_table, encrypt, use_lockfile, ...
    pub config: Value,
    pub location: Location,
}
