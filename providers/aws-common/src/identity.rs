//! Who a provider block makes forge act as: the SDK configuration built from
//! [`ProviderSettings`], in the hashicorp/aws provider's order of precedence. Static keys
//! in the block win; otherwise the SDK's own credential chain runs (environment, the
//! shared config and credentials files with the block's `profile` and file lists,
//! IAM Identity Center and `credential_process` profiles, web identity, container and
//! instance credentials). Roles are then assumed on top: `assume_role_with_web_identity`
//! replaces the base credentials, and each `assume_role` block is assumed with the
//! credentials before it (role chaining).

use std::path::PathBuf;
use std::time::SystemTime;

use aws_config::BehaviorVersion;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_runtime::env_config::file::{
    EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
};
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
use forge_provider::{ProviderError, ProviderResult, UnitRole, UnitRoleToken};

use crate::provider_block::{
    AssumeRole, ProviderSettings, RetryMode, WebIdentityRole, WebIdentityToken,
};

/// The SDK configuration for a provider block's settings. Nothing is called here except
/// what a named profile needs to be read (the files); roles are assumed at first use.
pub async fn sdk_config(settings: &ProviderSettings) -> ProviderResult<aws_types::SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let files = profile_files(
        &settings.shared_config_files,
        &settings.shared_credentials_files,
    )?;
    if let Some(files) = &files {
        loader = loader.profile_files(files.clone());
    }
    if let Some(profile) = &settings.profile {
        loader = loader
            .profile_name(profile)
            .credentials_provider(profile_credentials(
                profile,
                files.as_ref(),
                settings.region.as_deref(),
            ));
    }
    // The provider's `skip_metadata_api_check = true`: the SDK's chain without its EC2
    // instance metadata step (the SDK's only switch for it is AWS_EC2_METADATA_DISABLED,
    // process-wide), made of the SDK's own providers in the SDK's order.
    if settings.skip_metadata_api_check && settings.profile.is_none() {
        loader = loader.credentials_provider(chain_without_instance_metadata(
            files.as_ref(),
            settings.region.as_deref(),
        ));
    }
    if let Some(keys) = &settings.static_keys {
        loader = loader.credentials_provider(Credentials::new(
            keys.access_key.clone(),
            keys.secret_key.clone(),
            keys.token.clone(),
            None,
            "provider block access_key",
        ));
    }
    loader = loader.retry_config(retry_config(settings.max_retries, settings.retry_mode));
    if settings.use_fips_endpoint {
        loader = loader.use_fips(true);
    }
    if settings.use_dualstack_endpoint {
        loader = loader.use_dual_stack(true);
    }
    if let Some(client) =
        crate::transport::http_client(settings.custom_ca_bundle.as_deref(), &settings.proxy)?
    {
        loader = loader.http_client(client);
    }
    let base = loader.load().await;
    let mut credentials = base.credentials_provider();
    // Terragrunt hands the unit's iam_role credentials to Terraform in the environment,
    // where the block's own profile or keys outrank them; forge keeps that order.
    if let Some(role) = &settings.unit_role
        && settings.profile.is_none()
        && settings.static_keys.is_none()
    {
        credentials = Some(unit_role_credentials(
            sts_client(&base, settings, None),
            role,
        ));
    }
    if let Some(role) = &settings.web_identity {
        credentials = Some(SharedCredentialsProvider::new(WebIdentityProvider {
            sts: sts_client(&base, settings, None),
            role: role.clone(),
        }));
    }
    for role in &settings.assume_roles {
        credentials = Some(SharedCredentialsProvider::new(AssumeRoleProvider {
            sts: sts_client(&base, settings, credentials.clone()),
            role: role.clone(),
        }));
    }
    let mut config = base.to_builder();
    config.set_credentials_provider(credentials);
    Ok(config.build())
}

/// The credentials of a unit's role (Terragrunt's `iam_role`), assumed with those of
/// `sts`: AssumeRoleWithWebIdentity when the unit gives a token, AssumeRole otherwise.
pub fn unit_role_credentials(
    sts: aws_sdk_sts::Client,
    role: &UnitRole,
) -> SharedCredentialsProvider {
    match &role.web_identity_token {
        Some(token) => SharedCredentialsProvider::new(WebIdentityProvider {
            sts,
            role: WebIdentityRole {
                role_arn: role.role_arn.clone(),
                session_name: role.session_name.clone(),
                duration: role.duration,
                token: match token {
                    UnitRoleToken::Inline(t) => WebIdentityToken::Inline(t.clone()),
                    UnitRoleToken::File(p) => WebIdentityToken::File(p.clone()),
                },
                ..Default::default()
            },
        }),
        None => SharedCredentialsProvider::new(AssumeRoleProvider {
            sts,
            role: AssumeRole {
                role_arn: role.role_arn.clone(),
                session_name: role.session_name.clone(),
                duration: role.duration,
                ..Default::default()
            },
        }),
    }
}

/// An STS client for the block's STS region and endpoint, with the given credentials
/// (or the base configuration's).
pub fn sts_client(
    base: &aws_types::SdkConfig,
    settings: &ProviderSettings,
    credentials: Option<SharedCredentialsProvider>,
) -> aws_sdk_sts::Client {
    let mut conf = aws_sdk_sts::config::Builder::from(base);
    if let Some(region) = &settings.sts_region {
        conf = conf.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = settings.endpoints.get("sts") {
        conf = conf.endpoint_url(url);
    }
    if let Some(credentials) = credentials {
        conf = conf.credentials_provider(credentials);
    }
    // Tests throttle these calls and refuse a just-made role here too (a test build
    // only; none otherwise).
    for fault in crate::fault::layers() {
        conf.push_interceptor(fault);
    }
    aws_sdk_sts::Client::from_conf(conf.build())
}

/// A named profile's credentials, read by the SDK's profile provider (static keys,
/// role_arn with source_profile, credential_process and IAM Identity Center (SSO)
/// profiles). A profile named in configuration wins over credentials in the environment,
/// as in the provider; the SDK's default chain would take AWS_ACCESS_KEY_ID first.
pub fn profile_credentials(
    profile: &str,
    files: Option<&ProfileFiles>,
    region: Option<&str>,
) -> ProfileFileCredentialsProvider {
    let mut provider_config = ProviderConfig::default();
    if let Some(region) = region {
        provider_config =
            provider_config.with_region(Some(aws_config::Region::new(region.to_string())));
    }
    let mut builder = ProfileFileCredentialsProvider::builder()
        .configure(&provider_config)
        .profile_name(profile);
    if let Some(files) = files {
        builder = builder.profile_files(files.clone());
    }
    builder.build()
}

/// The SDK's default credential chain less its last step, the EC2 instance metadata
/// service: environment variables, the shared files' profile (AWS_PROFILE or
/// `default`; SSO, credential_process and role profiles included), web identity, then
/// container credentials.
fn chain_without_instance_metadata(
    files: Option<&ProfileFiles>,
    region: Option<&str>,
) -> CredentialsProviderChain {
    let mut conf = ProviderConfig::default();
    if let Some(region) = region {
        conf = conf.with_region(Some(aws_config::Region::new(region.to_string())));
    }
    let mut profile = ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(files) = files {
        profile = profile.profile_files(files.clone());
    }
    CredentialsProviderChain::first_try(
        "Environment",
        aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", profile.build())
    .or_else(
        "WebIdentityToken",
        aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
            .configure(&conf)
            .build(),
    )
    .or_else(
        "EcsContainer",
        aws_config::ecs::EcsCredentialsProvider::builder()
            .configure(&conf)
            .build(),
    )
}

/// The shared config and credentials files, `None` when neither list is given (the SDK's
/// defaults, `~/.aws/config` and `~/.aws/credentials`, then apply). A list given replaces
/// that kind's default file; the other kind keeps its default.
pub fn profile_files(
    config_files: &[PathBuf],
    credentials_files: &[PathBuf],
) -> ProviderResult<Option<ProfileFiles>> {
    if config_files.is_empty() && credentials_files.is_empty() {
        return Ok(None);
    }
    let mut files = ProfileFiles::builder()
        .include_default_config_file(config_files.is_empty())
        .include_default_credentials_file(credentials_files.is_empty());
    for (kind, paths, key) in [
        (ProfileFileKind::Config, config_files, "shared_config_files"),
        (
            ProfileFileKind::Credentials,
            credentials_files,
            "shared_credentials_files",
        ),
    ] {
        for path in paths {
            // A named file that is not there is a typo more often than not: say so
            // rather than fall through to other credentials.
            if !path.is_file() {
                return Err(ProviderError::new(format!(
                    "`{key}`: {} is not a file",
                    path.display()
                ))
                .hint("check the path (\"~/\" is the home folder)"));
            }
            files = files.with_file(kind, path);
        }
    }
    Ok(Some(files.build()))
}

/// How long the first retry of a throttled or failed call waits at most (the SDK draws a
/// wait below it, then doubles it for each retry after). The SDK's own 1 s made an apply
/// with 10% of its calls throttled up to 4 times slower than without, and 250 ms still
/// up to 5.6 times on the short state-only applies (scripts/crash-bench): a call throttled
/// three times in a row waited up to 1.75 s. At 100 ms that is at most 0.7 s, and the
/// extra attempt of [`DEFAULT_ATTEMPTS`] keeps the longest total wait (3.1 s) near what it
/// was (3.75 s), for throttling that lasts.
pub const FIRST_RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// How many times a call is sent at most when `max_retries` is not set. Terraform's S3
/// backend sends 5 (the provider 25); the SDK's own 3 let a read with 10% of calls
/// throttled fail about once in a thousand calls. forge sends 6: with the shorter first
/// wait above, a call is still retried for about 3 s in all, and a dead endpoint still
/// fails within seconds.
pub const DEFAULT_ATTEMPTS: u32 = 6;

/// `max_retries` counts every attempt, as the provider's "the maximum number of times an
/// AWS API request is executed" ([`DEFAULT_ATTEMPTS`] when unset); `retry_mode` picks
/// the SDK's standard or adaptive mode. Either way the first retry waits at most
/// [`FIRST_RETRY_BACKOFF`].
pub fn retry_config(max_retries: Option<u32>, mode: Option<RetryMode>) -> RetryConfig {
    let retry = match mode {
        Some(RetryMode::Adaptive) => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    retry
        .with_max_attempts(max_retries.unwrap_or(DEFAULT_ATTEMPTS).max(1))
        .with_initial_backoff(FIRST_RETRY_BACKOFF)
}

/// How long AssumeRole's AccessDenied is retried: IAM documents that a new role, or a
/// changed trust policy, takes seconds to be usable everywhere (0.5 + 1 + 2 + 4 + 4 + 4 s).
const ROLE_PROPAGATION: crate::Backoff = crate::Backoff {
    attempts: 7,
    first_delay: std::time::Duration::from_millis(500),
    max_delay: std::time::Duration::from_secs(4),
};

/// One `assume_role` block: STS AssumeRole with every argument the block takes, using
/// the credentials of the step before. The SDK's identity cache around the final
/// provider keeps the credentials until they near expiry.
#[derive(Debug)]
struct AssumeRoleProvider {
    sts: aws_sdk_sts::Client,
    role: AssumeRole,
}

impl AssumeRoleProvider {
    async fn assume(&self) -> Result<Credentials, CredentialsError> {
        let role = &self.role;
        let mut call = self
            .sts
            .assume_role()
            .role_arn(&role.role_arn)
            .role_session_name(session_name(role.session_name.as_deref()))
            .set_external_id(role.external_id.clone())
            .set_policy(role.policy.clone())
            .set_source_identity(role.source_identity.clone())
            .set_transitive_tag_keys(
                (!role.transitive_tag_keys.is_empty()).then(|| role.transitive_tag_keys.clone()),
            );
        if let Some(d) = role.duration {
            call = call.duration_seconds(i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        }
        for arn in &role.policy_arns {
            call = call.policy_arns(PolicyDescriptorType::builder().arn(arn).build());
        }
        for (key, value) in &role.tags {
            let tag = Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(CredentialsError::invalid_configuration)?;
            call = call.tags(tag);
        }
        // A role made a moment ago (by a unit this run applied first) is refused with
        // AccessDenied until IAM has propagated it, for seconds: that answer is retried
        // for about 15 s before it is taken as final.
        let out = crate::retry(
            ROLE_PROPAGATION,
            |e| e.code.as_deref() == Some("AccessDenied"),
            || {
                let call = call.clone();
                async move { call.send().await.map_err(crate::sdk_error) }
            },
        )
        .await
        .map_err(|e| {
            CredentialsError::provider_error(RoleError(format!(
                "assuming role {}: {e}",
                role.role_arn
            )))
        })?;
        credentials_from(out.credentials, "assume_role", &role.role_arn)
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

/// The `assume_role_with_web_identity` block: STS AssumeRoleWithWebIdentity (an unsigned
/// call), the token read from the file each time, as such files are rotated.
#[derive(Debug)]
struct WebIdentityProvider {
    sts: aws_sdk_sts::Client,
    role: WebIdentityRole,
}

impl WebIdentityProvider {
    async fn assume(&self) -> Result<Credentials, CredentialsError> {
        let role = &self.role;
        let token = match &role.token {
            WebIdentityToken::Inline(t) => t.clone(),
            WebIdentityToken::File(path) => std::fs::read_to_string(path)
                .map_err(|e| {
                    CredentialsError::invalid_configuration(RoleError(format!(
                        "assume_role_with_web_identity.web_identity_token_file {}: {e}",
                        path.display()
                    )))
                })?
                .trim()
                .to_string(),
            WebIdentityToken::None => {
                return Err(CredentialsError::invalid_configuration(RoleError(
                    "assume_role_with_web_identity has no token".into(),
                )));
            }
        };
        let mut call = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&role.role_arn)
            .role_session_name(session_name(role.session_name.as_deref()))
            .web_identity_token(token)
            .set_policy(role.policy.clone());
        if let Some(d) = role.duration {
            call = call.duration_seconds(i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        }
        for arn in &role.policy_arns {
            call = call.policy_arns(PolicyDescriptorType::builder().arn(arn).build());
        }
        let out = call.send().await.map_err(|e| {
            CredentialsError::provider_error(RoleError(format!(
                "assuming role {} with a web identity: {}",
                role.role_arn,
                crate::sdk_error(e)
            )))
        })?;
        credentials_from(
            out.credentials,
            "assume_role_with_web_identity",
            &role.role_arn,
        )
    }
}

impl ProvideCredentials for WebIdentityProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

fn credentials_from(
    creds: Option<aws_sdk_sts::types::Credentials>,
    source: &'static str,
    role_arn: &str,
) -> Result<Credentials, CredentialsError> {
    let Some(c) = creds else {
        return Err(CredentialsError::unhandled(RoleError(format!(
            "STS returned no credentials for role {role_arn}"
        ))));
    };
    let expiry = SystemTime::try_from(c.expiration).ok();
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        expiry,
        source,
    ))
}

/// The provider's default session name when the block gives none.
fn session_name(given: Option<&str>) -> String {
    match given {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => format!(
            "forge-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ),
    }
}

/// Why assuming a role failed, for the credentials error chain.
#[derive(Debug)]
struct RoleError(String);

impl std::fmt::Display for RoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RoleError {}
