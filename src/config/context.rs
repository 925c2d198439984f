//! What loading a configuration may ask of the program that loads it, passed in rather
//! than installed: the providers' schemas (to read `.tf.json` resource bodies), who the
//! AWS credentials are (Terragrunt's `get_aws_account_id()` and its siblings) and where
//! `run_cmd` reports the commands it ran. forge-config has no providers, no AWS SDK and no
//! terminal, so the program builds one [`LoadContext`] and hands it to
//! [`crate::Environment::load`] (or [`crate::Module::load`]); what a load returns depends
//! only on its arguments.
//!
//! A context also keeps what a run must not ask twice: the AWS identity's answers and
//! `run_cmd`'s results, shared by every load and every unit given the same context (and
//! its clones), as they were shared by the whole process before.

use std::fmt;
use std::sync::Arc;

use crate::host_aws::{AwsAnswers, AwsIdentity};
use crate::module_json::SchemaLookup;
use crate::run_cmd::{CommandLog, Commands};

/// The hooks a load uses. [`LoadContext::default`] has none: `.tf.json` resource bodies
/// are read without schemas (every property an argument), the AWS functions fail with a
/// message saying so, and `run_cmd` runs commands without reporting them.
#[derive(Clone, Default)]
pub struct LoadContext {
    schemas: Option<Arc<dyn SchemaLookup>>,
    module_sources: Option<Arc<dyn ModuleSources>>,
    aws: Arc<AwsAnswers>,
    commands: Arc<Commands>,
    /// Feature flag values given for the run (`--feature`, `TG_FEATURE`), by name.
    features: Arc<std::collections::BTreeMap<String, String>>,
    /// The unit's `iam_role`: who the AWS functions answer for (`None`: the program's
    /// own credentials).
    role: Option<forge_provider::UnitRole>,
}

/// Fetches a remote module source (`git::...`, `github.com/...`, a registry address,
/// an archive URL) into a local folder; the program provides it (forge-config does no
/// network I/O of its own).
pub trait ModuleSources: Send + Sync {
    /// The local folder holding the module `source` names (with a module block's
    /// `version` constraint, for a registry module), or what went wrong.
    fn fetch(&self, source: &str, version: Option<&str>) -> Result<std::path::PathBuf, String>;
}

impl LoadContext {
    /// A context with no hooks (see [`LoadContext`]).
    pub fn new() -> Self {
        LoadContext::default()
    }

    /// Resource and data source schemas for `.tf.json` files.
    pub fn with_schemas(mut self, schemas: Arc<dyn SchemaLookup>) -> Self {
        self.schemas = Some(schemas);
        self
    }

    /// How remote module sources are fetched; without it they are refused.
    pub fn with_module_sources(mut self, sources: Arc<dyn ModuleSources>) -> Self {
        self.module_sources = Some(sources);
        self
    }

    /// What the AWS identity functions do; each answer is asked for at most once per
    /// context.
    pub fn with_aws_identity(mut self, identity: AwsIdentity) -> Self {
        self.aws = Arc::new(AwsAnswers::new(Some(identity)));
        self
    }

    /// Where `run_cmd` reports each finished command (the CLI prints it to stderr).
    /// Starts a fresh record of the commands run.
    pub fn with_command_log(mut self, log: CommandLog) -> Self {
        self.commands = Arc::new(Commands::new(Some(log)));
        self
    }

    /// The feature flag values given for the run; they win over the blocks' defaults.
    pub fn with_features(mut self, given: std::collections::BTreeMap<String, String>) -> Self {
        self.features = Arc::new(given);
        self
    }

    pub(crate) fn features(&self) -> &std::collections::BTreeMap<String, String> {
        &self.features
    }

    pub(crate) fn module_sources(&self) -> Option<&Arc<dyn ModuleSources>> {
        self.module_sources.as_ref()
    }

    pub(crate) fn schemas(&self) -> Option<Arc<dyn SchemaLookup>> {
        self.schemas.clone()
    }

    pub(crate) fn aws(&self) -> &AwsAnswers {
        &self.aws
    }

    /// This context for a unit that runs as `role`: the AWS functions answer for the role
    /// (the answers still shared, by identity, with every other unit).
    pub(crate) fn as_role(&self, role: forge_provider::UnitRole) -> LoadContext {
        LoadContext {
            role: Some(role),
            ..self.clone()
        }
    }

    pub(crate) fn role(&self) -> Option<&forge_provider::UnitRole> {
        self.role.as_ref()
    }

    pub(crate) fn commands(&self) -> &Commands {
        &self.commands
    }
}

impl fmt::Debug for LoadContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadContext")
            .field("schemas", &self.schemas.is_some())
            .field("aws", &self.aws)
            .field("command_log", &self.commands.has_log())
            .finish()
    }
}
