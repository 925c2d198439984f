//! Terragrunt's AWS functions: `get_aws_account_id()`, `get_aws_caller_identity_arn()`,
//! `get_aws_caller_identity_user_id()` and `get_aws_account_alias()`.
//!
//! forge-config reads files and has no AWS SDK (a config edit must not relink the SDK), so
//! the program passes the lookup in its [`crate::LoadContext`]
//! ([`crate::LoadContext::with_aws_identity`]): the `forge` binary asks STS (and IAM for
//! the alias) through the same credential and endpoint chain as the providers. The lookup
//! is made only when a configuration calls one of these functions, and at most once per
//! context: its answer, or its error, is kept for every later call.

use std::fmt;
use std::sync::{Arc, OnceLock};

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

/// What the AWS functions do.
#[derive(Clone)]
pub enum AwsIdentity {
    /// Ask this lookup (once).
    Lookup(Arc<dyn AwsIdentityLookup>),
    /// Give unknown values without asking: `forge validate` promises no network.
    Offline,
}

/// A context's lookup with its answers, each asked for at most once.
#[derive(Default)]
pub(crate) struct AwsAnswers {
    /// `None`: the program gave no lookup.
    identity: Option<AwsIdentity>,
    caller: OnceLock<Result<CallerIdentity, String>>,
    alias: OnceLock<Result<String, String>>,
}

impl fmt::Debug for AwsAnswers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.identity {
            None => "none",
            Some(AwsIdentity::Offline) => "offline",
            Some(AwsIdentity::Lookup(_)) => "lookup",
        })
    }
}

pub(crate) const AWS_FUNCTIONS: &[&str] = &[
    "get_aws_account_id",
    "get_aws_caller_identity_arn",
    "get_aws_caller_identity_user_id",
    "get_aws_account_alias",
];

impl AwsAnswers {
    pub(crate) fn new(identity: Option<AwsIdentity>) -> Self {
        AwsAnswers {
            identity,
            caller: OnceLock::new(),
            alias: OnceLock::new(),
        }
    }

    /// Evaluates one of [`AWS_FUNCTIONS`] (they take no arguments).
    pub(crate) fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        if !args.is_empty() {
            return Err(format!(
                "takes no arguments, {} given; write {name}()",
                args.len()
            ));
        }
        let lookup = match &self.identity {
            None => {
                return Err(format!(
                    "this program has no way to ask AWS who the credentials are; run the configuration with the forge CLI, which answers {name}() with STS"
                ));
            }
            Some(AwsIdentity::Offline) => return Ok(Value::Unknown),
            Some(AwsIdentity::Lookup(l)) => l,
        };
        let text = if name == "get_aws_account_alias" {
            self.alias.get_or_init(|| lookup.account_alias()).clone()?
        } else {
            let who = self
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
}
