//! Terragrunt's AWS functions: `get_aws_account_id()`, `get_aws_caller_identity_arn()`,
//! `get_aws_caller_identity_user_id()` and `get_aws_account_alias()`.
//!
//! forge-config reads files and has no AWS SDK (a config edit must not relink the SDK), so
//! the program installs the lookup with [`set_aws_identity`]: the `forge` binary asks STS
//! (and IAM for the alias) through the same credential and endpoint chain as the providers.
//! The lookup is made only when a configuration calls one of these functions, and at most
//! once per process: its answer, or its error, is kept for every later call.

use std::sync::{Arc, OnceLock, RwLock};

use forge_provider::Value;

/// STS GetCallerIdentity's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Asks AWS who the current credentials are. Errors are phrased "what is wrong; what to do"
/// (the part after the last "; " becomes the diagnostic's hint).
pub trait AwsIdentityLookup: Send + Sync {
    fn caller_identity(&self) -> Result<CallerIdentity, String>;
    /// The account's alias (IAM ListAccountAliases).
    fn account_alias(&self) -> Result<String, String>;
}

/// What the AWS functions do in this process.
#[derive(Clone)]
pub enum AwsIdentity {
    /// Ask this lookup (once).
    Lookup(Arc<dyn AwsIdentityLookup>),
    /// Give unknown values without asking: `forge validate` promises no network.
    Offline,
}

/// The installed lookup with its answers, each asked for at most once.
struct Installed {
    identity: AwsIdentity,
    caller: OnceLock<Result<CallerIdentity, String>>,
    alias: OnceLock<Result<String, String>>,
}

static INSTALLED: RwLock<Option<Arc<Installed>>> = RwLock::new(None);

/// Installs what the AWS functions use for the rest of the process (replacing, and
/// forgetting the answers of, any earlier one).
pub fn set_aws_identity(identity: AwsIdentity) {
    let installed = Arc::new(Installed {
        identity,
        caller: OnceLock::new(),
        alias: OnceLock::new(),
    });
    match INSTALLED.write() {
        Ok(mut slot) => *slot = Some(installed),
        Err(poisoned) => *poisoned.into_inner() = Some(installed),
    }
}

fn installed() -> Option<Arc<Installed>> {
    match INSTALLED.read() {
        Ok(slot) => slot.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

pub(crate) const AWS_FUNCTIONS: &[&str] = &[
    "get_aws_account_id",
    "get_aws_caller_identity_arn",
    "get_aws_caller_identity_user_id",
    "get_aws_account_alias",
];

/// Evaluates one of [`AWS_FUNCTIONS`] (they take no arguments).
pub(crate) fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    if !args.is_empty() {
        return Err(format!(
            "takes no arguments, {} given; write {name}()",
            args.len()
        ));
    }
    let Some(installed) = installed() else {
        return Err(format!(
            "this program has no way to ask AWS who the credentials are; run the configuration with the forge CLI, which answers {name}() with STS"
        ));
    };
    let lookup = match &installed.identity {
        AwsIdentity::Offline => return Ok(Value::Unknown),
        AwsIdentity::Lookup(l) => l,
    };
    let text = if name == "get_aws_account_alias" {
        installed
            .alias
            .get_or_init(|| lookup.account_alias())
            .clone()?
    } else {
        let who = installed
            .caller
            .get_or_init(|| lookup.caller_identity())
            .clone()?;
        match name {
            "get_aws_caller_identity_arn" => who.arn,
            "get_aws_caller_identity_user_id" => who.user_id,
            _ => who.account,
        }
    };
    Ok(Value::string(text))
}
