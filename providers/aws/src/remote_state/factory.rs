//! Opening `s3` backends: the SDK clients for a config (region, credentials, an assumed
//! role, endpoints), shared between units configured alike, and the start of the bootstrap
//! (which the backend waits for only where it must: see `bootstrap`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use forge_aws_common::identity;
use forge_aws_common::provider_block::{AccountCheck, RetryMode};

use super::bucket_owner::BucketOwner;
use forge_aws_dynamodb::LockTable;
use forge_provider::{BackendError, BackendFactory, StateBackend, UnitRole, Value};

use super::config::S3BackendConfig;
use super::role::RoleSettings;
use super::s3_store::{StateBucket, md5_hex};
use super::{Checks, ConsistencyRetry, S3Backend, bootstrap};

/// Opens `s3` backends. Clients are shared between units configured alike, and each
/// bucket and table is made sure of once per process.
pub struct S3BackendFactory {
    clients: tokio::sync::Mutex<HashMap<String, Clients>>,
    /// Filled by the configuration notes at opening, and by the bucket and table checks
    /// when they finish (after `open` has returned).
    notices: bootstrap::Notices,
    /// Configuration notes already given: many units share one config shape.
    noted: Mutex<std::collections::HashSet<String>>,
    consistency: ConsistencyRetry,
    /// Whether a missing bucket or lock table is created (`creating_missing`).
    create_missing: bool,
}

#[derive(Clone)]
struct Clients {
    sdk: aws_types::SdkConfig,
    region: String,
    s3: aws_sdk_s3::Client,
    /// The caller's account, the owner every state bucket call expects (asked when the
    /// first bucket call needs it).
    owner: std::sync::Arc<BucketOwner>,
}

impl Default for S3BackendFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl S3BackendFactory {
    pub fn new() -> Self {
        S3BackendFactory {
            clients: tokio::sync::Mutex::new(HashMap::new()),
            notices: Default::default(),
            noted: Mutex::new(std::collections::HashSet::new()),
            consistency: ConsistencyRetry::default(),
            create_missing: false,
        }
    }

    /// A factory whose backends create a missing state bucket or lock table: for the
    /// commands that change something (apply, destroy, import, state push/rm/mv) and
    /// for `--backend-bootstrap`. Without it a missing one is an error saying so.
    pub fn creating_missing(mut self, create: bool) -> Self {
        self.create_missing = create;
        self
    }

    /// Changes how long reads wait for S3 to match the digest item.
    pub fn with_consistency_retry(mut self, consistency: ConsistencyRetry) -> Self {
        self.consistency = consistency;
        self
    }

    /// Opens the backend as its concrete type (`open` hands out the trait object).
    pub async fn open_s3(&self, config: &Value) -> Result<Arc<S3Backend>, BackendError> {
        self.open_s3_as(config, None).await
    }

    /// Opens the backend of a unit that runs as `role` (Terragrunt's `iam_role`).
    pub async fn open_s3_as(
        &self,
        config: &Value,
        role: Option<&UnitRole>,
    ) -> Result<Arc<S3Backend>, BackendError> {
        let mut config = S3BackendConfig::from_value(config)?;
        config.unit_role = role.cloned();
        config.bootstrap.create_missing = self.create_missing;
        for note in &config.ignored_notes {
            self.notice_once(note.clone());
        }
        let clients = self.clients_for(&config).await?;
        let bucket = StateBucket::new(
            clients.s3.clone(),
            config.bucket.clone(),
            config.object_encryption.clone(),
            config.acl.clone(),
        )
        .owned_by(Some(clients.owner.clone()));
        let s3_scope = config
            .s3_endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_default();
        let table = config.dynamodb_table.as_ref().map(|name| {
            LockTable::new(
                &clients.sdk,
                config.dynamodb_endpoint.as_deref(),
                name.clone(),
            )
        });
        let ddb_scope = config
            .dynamodb_endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok())
            .unwrap_or_default();
        // Started, not awaited: the first lock goes out at once and waits for the table only
        // when it finds none; reads and writes wait for both (see `S3Backend`).
        let checks = Checks {
            bucket: bootstrap::start_bucket_check(
                &bucket,
                &clients.region,
                &s3_scope,
                &config.bootstrap,
                &self.notices,
                &sts_client(&clients.sdk, &config),
            ),
            table: table.as_ref().map(|t| {
                bootstrap::start_table_check(
                    t,
                    &clients.region,
                    &ddb_scope,
                    &config.bootstrap,
                    &self.notices,
                )
            }),
        };
        Ok(Arc::new(S3Backend {
            config,
            bucket,
            table,
            checks,
            consistency: self.consistency,
            held: Default::default(),
        }))
    }

    /// The SDK clients for this config's region, credentials and endpoints, built once.
    async fn clients_for(&self, config: &S3BackendConfig) -> Result<Clients, BackendError> {
        let cache_key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            config.identity,
            config.region,
            config.profile,
            config.role,
            config.unit_role,
            config.sts_endpoint,
            config
                .static_credentials
                .as_ref()
                .map(|c| (c.access_key.clone(), md5_hex(c.secret_key.as_bytes()))),
            config.s3_endpoint,
            config.dynamodb_endpoint,
            config.needs_path_style()
        );
        let mut cache = self.clients.lock().await;
        if let Some(c) = cache.get(&cache_key) {
            return Ok(c.clone());
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let identity = &config.identity;
        let paths = |files: &[String]| -> Vec<std::path::PathBuf> {
            files.iter().map(|f| expand_home(f)).collect()
        };
        let files = identity::profile_files(
            &paths(&identity.shared_config_files),
            &paths(&identity.shared_credentials_files),
        )
        .map_err(|e| backend_setting_error(config, e))?;
        if let Some(files) = &files {
            loader = loader.profile_files(files.clone());
        }
        if let Some(profile) = &config.profile {
            loader =
                loader
                    .profile_name(profile)
                    .credentials_provider(identity::profile_credentials(
                        profile,
                        files.as_ref(),
                        config.region.as_deref(),
                    ));
        }
        let retry_mode = match identity.retry_mode.as_deref() {
            Some("adaptive") => Some(RetryMode::Adaptive),
            Some(_) => Some(RetryMode::Standard),
            None => None,
        };
        loader = loader.retry_config(identity::retry_config(identity.max_retries, retry_mode));
        let ca_bundle = identity.custom_ca_bundle.as_deref().map(expand_home);
        if let Some(client) = forge_aws_common::transport::http_client(
            ca_bundle.as_deref(),
            &forge_aws_common::transport::ProxySettings::default(),
        )
        .map_err(|e| backend_setting_error(config, e))?
        {
            loader = loader.http_client(client);
        }
        if let Some(creds) = &config.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                &creds.access_key,
                &creds.secret_key,
                creds.token.clone(),
                None,
                "remote_state config",
            ));
        }
        let mut sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            return Err(BackendError::Other(format!(
                "remote_state config.region: no region for the state bucket {}; set `region` in the remote_state config or export AWS_REGION",
                config.bucket
            )));
        };
        // As under Terragrunt, the unit's iam_role stands in for the environment's
        // credentials; the config's own profile or keys outrank it.
        if let Some(role) = &config.unit_role
            && config.profile.is_none()
            && config.static_credentials.is_none()
        {
            let credentials = identity::unit_role_credentials(sts_client(&sdk, config), role);
            sdk = sdk.into_builder().credentials_provider(credentials).build();
        }
        if let Some(role) = &config.role {
            sdk = with_assumed_role(
                sdk,
                role,
                config.sts_endpoint.as_deref(),
                identity.sts_region.as_deref(),
            )
            .await;
        }
        let access_key = check_credentials(&sdk, config).await?;
        let owner = std::sync::Arc::new(BucketOwner::new(
            sts_client(&sdk, config),
            format!(
                "{access_key}|{}",
                config.sts_endpoint.as_deref().unwrap_or_default()
            ),
            config.bucket.clone(),
        ));
        check_account(&owner, config).await?;
        let mut s3_conf = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.needs_path_style())
            .interceptor(forge_aws_common::ApiStats::global().interceptor());
        if let Some(url) = &config.s3_endpoint {
            s3_conf = s3_conf.endpoint_url(url);
        }
        // Tests lose and throttle some answers here (a test build only; none otherwise).
        for fault in forge_aws_common::fault::layers() {
            s3_conf.push_interceptor(fault);
        }
        let clients = Clients {
            s3: aws_sdk_s3::Client::from_conf(s3_conf.build()),
            sdk,
            region,
            owner,
        };
        cache.insert(cache_key, clients.clone());
        Ok(clients)
    }

    fn notice_once(&self, notice: String) {
        let first_time = self
            .noted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(notice.clone());
        if first_time {
            self.notices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(notice);
        }
    }
}

/// The same configuration with credentials of the assumed role; the role is assumed
/// with the configuration's own credentials, through `sts_endpoint` when one is given.
async fn with_assumed_role(
    sdk: aws_types::SdkConfig,
    role: &RoleSettings,
    sts_endpoint: Option<&str>,
    sts_region: Option<&str>,
) -> aws_types::SdkConfig {
    let mut sts_sdk = sdk.clone();
    if let Some(region) = sts_region {
        sts_sdk = sts_sdk
            .into_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
    }
    if let Some(url) = sts_endpoint {
        // The environment's endpoint variables outrank the configuration's endpoint in
        // the SDK; the config's `endpoints.sts` must win here, as it does in Terraform.
        let inner = sdk.service_config().map(|_| sdk.clone());
        sts_sdk = sts_sdk
            .into_builder()
            .endpoint_url(url)
            .service_config(WithoutEndpointOverride { inner })
            .build();
    }
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
        .configure(&sts_sdk)
        .session_name(
            role.session_name
                .clone()
                .unwrap_or_else(|| "forge".to_string()),
        );
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id);
    }
    if let Some(duration) = role.duration {
        builder = builder.session_length(duration);
    }
    if let Some(policy) = &role.policy {
        builder = builder.policy(policy);
    }
    if !role.policy_arns.is_empty() {
        builder = builder.policy_arns(role.policy_arns.clone());
    }
    if !role.tags.is_empty() {
        builder = builder.tags(role.tags.clone());
    }
    let provider = builder.build().await;
    sdk.into_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(provider))
        .build()
}

/// Fetches the credentials once up front, so that a missing credential or a role that
/// cannot be assumed is reported as such, not as an unreachable S3.
/// Loads the credentials once (an error names what to set); returns their access key id.
async fn check_credentials(
    sdk: &aws_types::SdkConfig,
    config: &S3BackendConfig,
) -> Result<String, BackendError> {
    use aws_sdk_s3::config::ProvideCredentials;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(BackendError::Other(format!(
            "no AWS credentials for the state bucket {}: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or set access_key/secret_key or profile in the remote_state config",
            config.bucket
        )));
    };
    match provider.provide_credentials().await {
        Ok(c) => Ok(c.access_key_id().to_string()),
        Err(e) => {
            let role_arn = config
                .role
                .as_ref()
                .map(|r| &r.role_arn)
                .or(config.unit_role.as_ref().map(|r| &r.role_arn));
            let what = match role_arn {
                Some(role_arn) => format!(
                    "could not assume the role {role_arn} for the state bucket {}",
                    config.bucket
                ),
                None => format!(
                    "could not load AWS credentials for the state bucket {}",
                    config.bucket
                ),
            };
            let hint = match (&config.role, &config.unit_role) {
                (Some(_), _) => {
                    "check remote_state config.assume_role (role_arn, external_id), the STS endpoint (config.endpoints.sts or AWS_ENDPOINT_URL) and that the base credentials may assume it"
                }
                (None, Some(_)) => {
                    "check the unit's iam_role (and iam_web_identity_token), the STS endpoint (AWS_ENDPOINT_URL) and that the environment's credentials may assume it"
                }
                (None, None) => {
                    "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or set access_key/secret_key or profile in the remote_state config"
                }
            };
            Err(BackendError::Other(format!(
                "{what}: {}\nhint: {hint}",
                error_chain(&e)
            )))
        }
    }
}

/// `allowed_account_ids` / `forbidden_account_ids`: the credentials' account (STS
/// GetCallerIdentity) is checked when the backend is opened, before its lock is taken or
/// anything is read or written.
async fn check_account(owner: &BucketOwner, config: &S3BackendConfig) -> Result<(), BackendError> {
    let identity = &config.identity;
    let check = if !identity.allowed_account_ids.is_empty() {
        AccountCheck::Allowed(&identity.allowed_account_ids)
    } else if !identity.forbidden_account_ids.is_empty() {
        AccountCheck::Forbidden(&identity.forbidden_account_ids)
    } else {
        return Ok(());
    };
    let account = owner.account().await.map_err(|e| {
        BackendError::Other(format!(
            "remote_state config: cannot check allowed_account_ids/forbidden_account_ids for the state bucket {}: {}",
            config.bucket, e.message
        ))
    })?;
    check.verify(&account).map_err(|e| {
        BackendError::Other(format!(
            "remote_state config: the state bucket {} is not used: {}{}",
            config.bucket,
            e.message,
            e.hint.map(|h| format!("\nhint: {h}")).unwrap_or_default()
        ))
    })
}

/// STS for this config: its endpoint and region, every call counted.
fn sts_client(sdk: &aws_types::SdkConfig, config: &S3BackendConfig) -> aws_sdk_sts::Client {
    let mut conf = aws_sdk_sts::config::Builder::from(sdk)
        .interceptor(forge_aws_common::ApiStats::global().interceptor());
    if let Some(url) = &config.sts_endpoint {
        conf = conf.endpoint_url(url);
    }
    if let Some(region) = &config.identity.sts_region {
        conf = conf.region(aws_config::Region::new(region.clone()));
    }
    aws_sdk_sts::Client::from_conf(conf.build())
}

fn backend_setting_error(
    config: &S3BackendConfig,
    e: forge_provider::ProviderError,
) -> BackendError {
    BackendError::Other(format!(
        "remote_state config {} (state bucket {})",
        e, config.bucket
    ))
}

/// `~/` at the start of a path is the home folder, as Terraform expands it.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The environment's per-service settings minus the endpoint URL variables.
#[derive(Debug)]
struct WithoutEndpointOverride {
    inner: Option<aws_types::SdkConfig>,
}

impl aws_types::service_config::LoadServiceConfig for WithoutEndpointOverride {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() == "endpoint_url" {
            return None;
        }
        self.inner.as_ref()?.service_config()?.load_config(key)
    }
}

#[async_trait]
impl BackendFactory for S3BackendFactory {
    fn backend_type(&self) -> &'static str {
        "s3"
    }

    async fn open(&self, config: &Value) -> Result<Arc<dyn StateBackend>, BackendError> {
        self.open_as(config, None).await
    }

    async fn open_as(
        &self,
        config: &Value,
        role: Option<&UnitRole>,
    ) -> Result<Arc<dyn StateBackend>, BackendError> {
        let backend: Arc<dyn StateBackend> = self.open_s3_as(config, role).await?;
        Ok(backend)
    }

    fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
