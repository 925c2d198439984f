//! What forge-config's Terragrunt functions need from the program, which owns the AWS SDK
//! and the terminal: the AWS identity lookup behind `get_aws_account_id()` and its
//! siblings (STS GetCallerIdentity, IAM ListAccountAliases, through the standard chain the
//! providers use: AWS_PROFILE, AWS_ENDPOINT_URL, ...), and where `run_cmd` output is shown.

use std::future::Future;
use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_config::{AwsIdentity, AwsIdentityLookup, CallerIdentity, CommandLog, CommandRun};
use forge_provider::{ProviderError, UnitRole, Value};

/// What the AWS functions do. `offline` (forge validate, which promises no network): they
/// give unknown values instead of asking.
pub fn aws_identity(offline: bool) -> AwsIdentity {
    if offline {
        AwsIdentity::Offline
    } else {
        AwsIdentity::Lookup(Arc::new(Sts))
    }
}

/// Where `run_cmd` output goes: shown as Terragrunt shows it, on stderr so that stdout
/// stays the plan (or its JSON).
pub fn command_log() -> CommandLog {
    Arc::new(|run: &CommandRun<'_>| {
        if let Some(out) = run.stdout.filter(|o| !o.is_empty()) {
            eprint!("{out}{}", if out.ends_with('\n') { "" } else { "\n" });
        }
        if !run.stderr.is_empty() {
            eprint!(
                "{}{}",
                run.stderr,
                if run.stderr.ends_with('\n') { "" } else { "\n" }
            );
        }
    })
}

struct Sts;

impl AwsIdentityLookup for Sts {
    fn caller_identity(&self, role: Option<&UnitRole>) -> Result<CallerIdentity, String> {
        on_own_runtime(|| async {
            let who = context(role)
                .await?
                .caller_identity()
                .await
                .map_err(|e| explain("STS GetCallerIdentity", e))?;
            let missing = |what: &str| {
                format!(
                    "STS GetCallerIdentity returned no {what}; check the STS endpoint (AWS_ENDPOINT_URL)"
                )
            };
            Ok(CallerIdentity {
                arn: who.arn.ok_or_else(|| missing("ARN"))?,
                user_id: who.user_id.ok_or_else(|| missing("user id"))?,
                account: who.account,
            })
        })
    }

    fn account_alias(&self, role: Option<&UnitRole>) -> Result<String, String> {
        on_own_runtime(|| async {
            let ctx = context(role).await?;
            let conf = aws_sdk_iam::config::Builder::from(&ctx.sdk)
                .interceptor(ctx.api_counter())
                .build();
            let out = aws_sdk_iam::Client::from_conf(conf)
                .list_account_aliases()
                .send()
                .await
                .map_err(|e| explain("IAM ListAccountAliases", forge_aws_common::sdk_error(e)))?;
            // AWS allows one alias per account.
            out.account_aliases.into_iter().next().ok_or_else(|| {
                "the AWS account has no alias; create one (aws iam create-account-alias) or use get_aws_account_id() instead".to_string()
            })
        })
    }
}

/// The standard chain's configuration, as `role` (a unit's `iam_role`, assumed with the
/// chain's credentials) when given. STS and IAM answer in any region, so a machine with
/// no region configured asks us-east-1 rather than failing. The lookup's own call is the
/// credentials' check, so configuring makes none.
pub(crate) async fn context(role: Option<&UnitRole>) -> Result<AwsContext, String> {
    let unchecked = ("skip_credentials_validation", Value::Bool(true));
    let config = Value::object([unchecked.clone()]);
    if let Ok(ctx) = AwsContext::from_provider_config_as(&config, role).await {
        return Ok(ctx);
    }
    let config = Value::object([unchecked, ("region", Value::string("us-east-1"))]);
    AwsContext::from_provider_config_as(&config, role)
        .await
        .map_err(|e| explain("configuring the AWS SDK", e))
}

/// "what went wrong; what to do", the shape forge-config turns into a diagnostic and hint.
fn explain(call: &str, e: ProviderError) -> String {
    let what = match &e.code {
        Some(code) => format!("{call} failed: {code}: {}", e.message),
        None => format!("{call} failed: {}", e.message),
    };
    let todo = e.hint.unwrap_or_else(|| "check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the endpoint (AWS_ENDPOINT_URL)".to_string());
    format!("{what}; {todo}")
}

/// Runs an SDK call to completion from synchronous configuration loading, which may itself
/// run inside the CLI's runtime (where blocking on it would panic): on a thread of its own
/// with a runtime of its own.
fn on_own_runtime<T, F, Fut>(work: F) -> Result<T, String>
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = Result<T, String>>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the AWS call: {e}; try again"))?;
            runtime.block_on(work())
        })
        .join()
        .unwrap_or_else(|_| Err("the AWS identity lookup failed unexpectedly; run again, and report it if it repeats".to_string()))
    })
}
