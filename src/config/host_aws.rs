//! Terragrunt's AWS functions: `get_aws_account_id()`, `get_aws_caller_identity_arn()`,
//! `get_aws_caller_identity_user_id()` and `get_aws_account_alias()`.
//!
//! forge-config reads files and has no AWS SDK (a config edit must not relink the SDK), so
//! the program passes the lookup in its [`crate::LoadContext`]
//! ([`crate::LoadContext::with_aws_identity`]): the `forge` binary asks STS (and IAM for
//! the alias) through the same credential and endpoint chain as the providers. The lookup
//! is made only when a configuration calls one of these functions, and at most once per
//! context and identity: its answer, or its error, is kept for every later call. A unit
//! with Terragrunt's `iam_role` is answered as that role, as Terragrunt answers it (it
//! assumes the role before it evaluates the unit's configuration): the unit is read once
//! more with its role (`unit.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use forge_provider::{UnitRole, Value};

/// STS GetCallerIdentity's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Asks AWS who the current credentials are. Errors are phrased "what is wrong; what to do"
/// (the part after the last "; " becomes the diagnostic's hint).
/// `role`: the unit's `iam_role`, assumed first (with its session name, duration and web
/// identity token); `None`: the program's own credentials.
pub trait AwsIdentityLookup: Send + Sync {
    fn caller_identity(&self, role: Option<&UnitRole>) -> Result<CallerIdentity, String>;
    /// The account's alias (IAM ListAccountAliases).
    fn account_alias(&self, role: Option<&UnitRole>) -> Result<String, String>;
}

/// What the AWS functions do.
#[derive(Clone)]
pub enum AwsIdentity {
    /// Ask this lookup (once).
    Lookup(Arc<dyn AwsIdentityLookup>),
    /// Give unknown values without asking: `forge validate` promises no network.
    Offline,
}

/// A context's lookup with its answers, each asked for at most once per identity (the
/// role's ARN, or none).
#[derive(Default)]
pub(crate) struct AwsAnswers {
    /// `None`: the program gave no lookup.
    identity: Option<AwsIdentity>,
    callers: Mutex<BTreeMap<Option<String>, Result<CallerIdentity, String>>>,
    aliases: Mutex<BTreeMap<Option<String>, Result<String, String>>>,
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
            callers: Mutex::default(),
            aliases: Mutex::default(),
        }
    }

    /// Evaluates one of [`AWS_FUNCTIONS`] (they take no arguments) for the credentials of
    /// `role`, or the program's own.
    pub(crate) fn call(
        &self,
        name: &str,
        args: &[Value],
        role: Option<&UnitRole>,
    ) -> Result<Value, String> {
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
        let key = role.map(|r| r.role_arn.clone());
        // The lock is held while asking, so each identity is asked once.
        let text = if name == "get_aws_account_alias" {
            let mut aliases = self.aliases.lock().unwrap_or_else(|p| p.into_inner());
            aliases
                .entry(key)
                .or_insert_with(|| lookup.account_alias(role))
                .clone()?
        } else {
            let mut callers = self.callers.lock().unwrap_or_else(|p| p.into_inner());
            let who = callers
                .entry(key)
                .or_insert_with(|| lookup.caller_identity(role))
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
