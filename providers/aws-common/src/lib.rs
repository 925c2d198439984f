//! What every AWS service crate shares: the SDK configuration built from a
//! `provider "aws" {...}` block and the standard chain, error conversion, retries with
//! backoff, default tags and the account id.
//!
//! Endpoints are never hard-coded: they come from the provider block's `endpoints {...}`
//! or from the standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), which
//! aws-config reads by itself.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod adoption;
pub mod api_stats;
pub mod batch_read;
pub mod discovery;
pub mod fault;
pub mod fault_refusals;
pub mod identity;
pub mod naming;
pub mod policy;
pub mod provider_block;
mod service_client;
pub mod transport;
pub mod values;

pub use api_stats::{ApiCounter, ApiStats};

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use forge_provider::{ProviderError, ProviderResult, Value};
use tokio::sync::OnceCell;

/// STS GetCallerIdentity's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

/// One configured AWS provider's shared settings.
#[derive(Debug)]
pub struct AwsContext {
    pub sdk: aws_types::SdkConfig,
    pub region: String,
    /// Per-service endpoints from the provider block, by the block's key (`s3`, `sqs`, ...).
    pub endpoints: BTreeMap<String, String>,
    /// `default_tags { tags = {...} }`, merged under each resource's own tags.
    pub default_tags: BTreeMap<String, String>,
    /// `s3_use_path_style = true`: S3 addressed as `<endpoint>/<bucket>` even without a
    /// custom endpoint.
    pub s3_use_path_style: bool,
    /// The root module's folder of the unit this context serves, when the engine gave one
    /// ([`forge_provider::ProviderFactory::configure_in`]): relative file paths in
    /// arguments (`aws_s3_object`'s `source`) are read from there, as Terraform's provider
    /// reads them from its working folder (the root module's, where Terragrunt runs it).
    pub module_dir: Option<std::path::PathBuf>,
    /// Shared with the contexts [`AwsContext::in_module_dir`] makes from this one.
    caller: std::sync::Arc<OnceCell<CallerIdentity>>,
    /// `skip_requesting_account_id = true`, with where to say it was set.
    skip_requesting_account_id: bool,
    /// Where this context's clients record their API calls (the process-wide record
    /// unless [`AwsContext::with_api_stats`] gave another).
    api_stats: ApiStats,
    /// What the resource types of every context made from this configuration share
    /// ([`AwsContext::shared`]): their read batchers, so reads of units with different
    /// root modules still join one call.
    shared: SharedByConfiguration,
}

/// One value per type for a provider configuration and every context
/// [`AwsContext::in_module_dir`] makes from it.
#[derive(Default, Clone)]
struct SharedByConfiguration(
    std::sync::Arc<
        std::sync::Mutex<
            std::collections::HashMap<
                std::any::TypeId,
                std::sync::Arc<dyn std::any::Any + Send + Sync>,
            >,
        >,
    >,
);

impl std::fmt::Debug for SharedByConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedByConfiguration")
    }
}

impl AwsContext {
    /// Builds the context from an evaluated provider block (an object with the block's
    /// arguments, nested blocks as lists of objects; see [`provider_block`]); absent
    /// settings fall back to the standard chain (`AWS_REGION`, `AWS_PROFILE`, credentials,
    /// endpoint variables). With `allowed_account_ids` or `forbidden_account_ids` the
    /// caller identity is checked here, before anything uses the credentials.
    pub async fn from_provider_config(config: &Value) -> ProviderResult<Self> {
        Self::from_provider_config_as(config, None).await
    }

    /// As [`AwsContext::from_provider_config`], for a unit that runs as `role`
    /// (Terragrunt's `iam_role`): the role is assumed first, with the environment's
    /// credentials, unless the block names its own profile or keys.
    pub async fn from_provider_config_as(
        config: &Value,
        role: Option<&forge_provider::UnitRole>,
    ) -> ProviderResult<Self> {
        let mut settings = provider_block::ProviderSettings::read(config)?;
        settings.unit_role = role.cloned();
        let sdk = identity::sdk_config(&settings).await?;
        let region = match sdk.region() {
            Some(r) => r.to_string(),
            None => {
                return Err(ProviderError::new("no AWS region is configured")
                    .hint("set `region` in the provider \"aws\" block or export AWS_REGION"));
            }
        };
        let context = AwsContext {
            sdk,
            region,
            endpoints: settings.endpoints.clone(),
            default_tags: settings.default_tags.clone(),
            s3_use_path_style: settings.s3_use_path_style,
            caller: Default::default(),
            module_dir: None,
            skip_requesting_account_id: settings.skip_requesting_account_id,
            api_stats: ApiStats::global(),
            shared: SharedByConfiguration::default(),
        };
        // As the provider: unless skipped, the credentials are checked with STS
        // GetCallerIdentity now, so bad ones fail before anything is read or locked for
        // this provider, naming the setting that skips the check. The answer is kept:
        // the account checks below and the account id reuse it.
        if !settings.skip_credentials_validation {
            context
                .caller_identity()
                .await
                .map_err(|e| invalid_credentials(e, settings.profile.as_deref()))?;
        }
        if let Some(check) = settings.account_check() {
            let caller = context.caller_identity().await.map_err(|e| ProviderError {
                message: format!(
                    "cannot check allowed_account_ids/forbidden_account_ids: {}",
                    e.message
                ),
                ..e
            })?;
            check.verify(&caller.account)?;
        }
        Ok(context)
    }

    /// True when S3 must be addressed path-style: asked for (`s3_use_path_style`), or a
    /// custom endpoint in force (virtual-hosted names do not resolve on an emulator).
    pub fn s3_path_style(&self) -> bool {
        self.s3_use_path_style || self.has_custom_endpoint("s3")
    }

    /// A context that only serves to build resource types for their schemas
    /// ([`forge_provider::ProviderFactory::schemas`]): no region, no credentials, no
    /// endpoint; nothing is read from the environment, and no call made with it succeeds.
    pub fn for_schemas_only() -> Self {
        AwsContext {
            sdk: aws_types::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
            region: String::new(),
            endpoints: BTreeMap::new(),
            default_tags: BTreeMap::new(),
            s3_use_path_style: false,
            caller: Default::default(),
            module_dir: None,
            skip_requesting_account_id: false,
            api_stats: ApiStats::global(),
            shared: SharedByConfiguration::default(),
        }
    }

    /// The same configuration for a unit whose root module is `dir`: the SDK settings,
    /// their HTTP client and the caller identity are shared with `self`.
    pub fn in_module_dir(&self, dir: &std::path::Path) -> AwsContext {
        AwsContext {
            sdk: self.sdk.clone(),
            region: self.region.clone(),
            endpoints: self.endpoints.clone(),
            default_tags: self.default_tags.clone(),
            s3_use_path_style: self.s3_use_path_style,
            module_dir: Some(dir.to_path_buf()),
            caller: self.caller.clone(),
            skip_requesting_account_id: self.skip_requesting_account_id,
            api_stats: self.api_stats.clone(),
            shared: self.shared.clone(),
        }
    }

    /// The one `T` of this provider configuration, made on first use and shared by every
    /// context [`AwsContext::in_module_dir`] makes from it (not by another configuration,
    /// whose credentials or endpoints may differ).
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> std::sync::Arc<T> {
        let mut slots = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| std::sync::Arc::new(T::default()));
        match std::sync::Arc::clone(slot).downcast::<T>() {
            Ok(value) => value,
            // Cannot happen: the slot is keyed by T's own TypeId. Should it, a value of
            // this context's own keeps the caller correct (only unshared).
            Err(_) => std::sync::Arc::new(T::default()),
        }
    }

    /// A file path from an argument as the provider would open it: `~/` expanded, and a
    /// relative path taken from the unit's root module folder (when known).
    pub fn resolve_path(&self, path: &str) -> std::path::PathBuf {
        let expanded = match path.strip_prefix("~/") {
            Some(rest) => match std::env::var_os("HOME") {
                Some(home) => std::path::PathBuf::from(home).join(rest),
                None => std::path::PathBuf::from(path),
            },
            None => std::path::PathBuf::from(path),
        };
        match &self.module_dir {
            Some(dir) if expanded.is_relative() => dir.join(expanded),
            _ => expanded,
        }
    }

    /// Records this context's API calls in `stats` instead of the process-wide record
    /// (tests that count calls, so concurrent tests do not mix).
    pub fn with_api_stats(mut self, stats: ApiStats) -> Self {
        self.api_stats = stats;
        // A batch is counted where its call is made: a context counting apart batches apart.
        self.shared = SharedByConfiguration::default();
        self
    }

    /// The interceptor every client built from this context registers, so that
    /// `forge --api-stats` counts every call.
    pub fn api_counter(&self) -> ApiCounter {
        self.api_stats.interceptor()
    }

    pub fn api_stats(&self) -> &ApiStats {
        &self.api_stats
    }

    /// The endpoint the provider block sets for a service (by its block key, such as
    /// `s3`, `sqs`, `iam`, `secretsmanager`, `ec2`, `sts`, `dynamodb`), if any. When
    /// `None`, the SDK uses the standard variables.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.endpoints.get(service).map(String::as_str)
    }

    /// True when any custom endpoint is in force (block or environment): S3 then needs
    /// path-style addressing.
    pub fn has_custom_endpoint(&self, service: &str) -> bool {
        self.endpoint_for(service).is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os(format!("AWS_ENDPOINT_URL_{}", service.to_uppercase())).is_some()
    }

    /// Who the credentials are (STS GetCallerIdentity), asked once per context: the
    /// account id and `data "aws_caller_identity"` share it, so a run asks STS once per
    /// provider configuration (emulators differ: never assume the account).
    pub async fn caller_identity(&self) -> ProviderResult<CallerIdentity> {
        self.caller
            .get_or_try_init(|| async {
                let client = crate::service_client!(aws_sdk_sts, self, "sts");
                let out = client.get_caller_identity().send().await.map_err(|e| {
                    sdk_error(e).hint("check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the STS endpoint")
                })?;
                let account = out.account.ok_or_else(|| ProviderError::new("STS GetCallerIdentity returned no account"))?;
                Ok(CallerIdentity { account, arn: out.arn, user_id: out.user_id })
            })
            .await
            .cloned()
    }

    /// The account id (see [`AwsContext::caller_identity`]); refused under
    /// `skip_requesting_account_id = true`, where the provider would build ARNs without
    /// it: forge does not record such an ARN.
    pub async fn account_id(&self) -> ProviderResult<String> {
        if self.skip_requesting_account_id {
            return Err(ProviderError::new(
                "this needs the AWS account id (an ARN forge builds), and the provider block sets skip_requesting_account_id = true",
            )
            .hint("remove skip_requesting_account_id (forge then asks STS GetCallerIdentity once for this provider)"));
        }
        Ok(self.caller_identity().await?.account)
    }

    /// The resource's tags merged over the provider's default tags (Terraform's `tags_all`).
    pub fn tags_all(&self, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = self.default_tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

/// The error of the credentials' check at configure time: names the profile, and for an
/// IAM Identity Center (SSO) profile without a signed-in session (the SDK's SSO provider
/// found no token in its cache) says how to sign in.
fn invalid_credentials(e: ProviderError, profile: Option<&str>) -> ProviderError {
    let whose = profile
        .map(|p| format!(" (profile {p:?})"))
        .unwrap_or_default();
    let hint = match profile {
        Some(p) if e.message.to_lowercase().contains("sso") => format!(
            "the profile {p:?} signs in through IAM Identity Center: run `aws sso login --profile {p}`, then run forge again"
        ),
        _ => "check the credentials (profile, keys, role) and the STS endpoint; skip_credentials_validation = true skips this check".to_string(),
    };
    ProviderError {
        message: format!(
            "the provider's credentials{whose} are not valid (STS GetCallerIdentity failed): {}",
            e.message
        ),
        hint: Some(hint),
        ..e
    }
}

/// A map of strings from an object or map value (non-string and null entries skipped).
pub fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A string map as a `Value::Map` (empty map for none).
pub fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::string(v)))
            .collect(),
    )
}

/// Converts any SDK error into a provider error with the service's code and message.
pub fn sdk_error<E, R>(err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().map(str::to_string).unwrap_or_else(|| e.to_string());
            ProviderError::with_code(code, message)
        }
        SdkError::DispatchFailure(d) => ProviderError::with_code(
            "DispatchFailure",
            format!("could not reach the AWS endpoint: {:?}", d),
        )
        .hint("check the endpoint (AWS_ENDPOINT_URL or the provider's endpoints block) and the network"),
        SdkError::TimeoutError(_) => ProviderError::with_code("Timeout", "the AWS call timed out"),
        other => {
            let code = other.code().map(str::to_string);
            ProviderError { code, message: format!("{}", DisplayChain(other)), hint: None }
        }
    }
}

struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// True for codes that mean "try again later".
pub fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "SlowDown"
                | "RequestThrottled"
                | "RequestThrottledException"
                | "ProvisionedThroughputExceededException"
                | "ServiceUnavailable"
                | "InternalError"
        )
    )
}

/// How long and how often to retry.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// Runs `op` until it succeeds, fails with an error `retryable` refuses, or the attempts
/// run out. Throttling is always retried; `retryable` adds codes such as IAM's eventual
/// consistency (`InvalidParameterValue` for an instance profile EC2 cannot see yet).
pub async fn retry<T, F, Fut>(
    backoff: Backoff,
    retryable: impl Fn(&ProviderError) -> bool,
    mut op: F,
) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProviderResult<T>>,
{
    let mut delay = backoff.first_delay;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e)
                if attempt < backoff.attempts
                    && (is_throttling(e.code.as_deref()) || retryable(&e)) =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retry_retries_throttling_then_succeeds() {
        let calls = AtomicU32::new(0);
        let quick = Backoff {
            attempts: 5,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let out = retry(
            quick,
            |_| false,
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(ProviderError::with_code("Throttling", "slow down"))
                } else {
                    Ok(7)
                }
            },
        )
        .await;
        assert_eq!(out, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn retry_gives_up_on_other_errors_at_once() {
        let calls = AtomicU32::new(0);
        let out: ProviderResult<()> = retry(
            Backoff::default(),
            |_| false,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::with_code("AccessDenied", "no"))
            },
        )
        .await;
        assert_eq!(out.unwrap_err().code.as_deref(), Some("AccessDenied"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn shared_values_span_module_folders_not_configurations() {
        #[derive(Default)]
        struct Counter(std::sync::atomic::AtomicUsize);
        let base = AwsContext::for_schemas_only();
        let in_a = base.in_module_dir(std::path::Path::new("/a"));
        let in_b = in_a.in_module_dir(std::path::Path::new("/b"));
        in_a.shared::<Counter>().0.fetch_add(1, Ordering::SeqCst);
        in_b.shared::<Counter>().0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(base.shared::<Counter>().0.load(Ordering::SeqCst), 2);
        // Another configuration, and a context counting its calls apart, start afresh.
        let other = AwsContext::for_schemas_only();
        assert_eq!(other.shared::<Counter>().0.load(Ordering::SeqCst), 0);
        let apart = base
            .in_module_dir(std::path::Path::new("/c"))
            .with_api_stats(ApiStats::new());
        assert_eq!(apart.shared::<Counter>().0.load(Ordering::SeqCst), 0);
        // A different type has a slot of its own.
        #[derive(Default)]
        struct Other(std::sync::atomic::AtomicUsize);
        assert_eq!(in_b.shared::<Other>().0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn tags_all_merges_resource_tags_over_defaults() {
        let ctx = AwsContext {
            sdk: aws_types::SdkConfig::builder().build(),
            region: "us-east-1".into(),
            endpoints: BTreeMap::new(),
            default_tags: [
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "a".to_string()),
            ]
            .into(),
            s3_use_path_style: false,
            skip_requesting_account_id: false,
            caller: Default::default(),
            module_dir: None,
            api_stats: ApiStats::new(),
            shared: SharedByConfiguration::default(),
        };
        let own: BTreeMap<String, String> = [("team".to_string(), "b".to_string())].into();
        let all = ctx.tags_all(&own);
        assert_eq!(all.get("team").map(String::as_str), Some("b"));
        assert_eq!(all.get("env").map(String::as_str), Some("prod"));
        assert_eq!(all.len(), 2);
    }
}
