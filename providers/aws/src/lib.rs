//! The `aws` provider: binds one `provider "aws" {...}` configuration to the resource
//! types and data sources of every service crate.
//! Also the `s3` state backend (`remote_state`).

mod kms_key_service;
pub mod remote_state;

/// The API-call counter every client records into (`forge --api-stats`).
pub use forge_aws_common::api_stats;
pub use kms_key_service::AwsKmsKeyServices;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{
    ConfigIssue, DataSourceType, Discovered, DiscoveryFilter, Provider, ProviderFactory,
    ProviderResult, ProviderSchemas, ResourceType, Schema, UnitRole, Value,
};
use tokio::sync::Mutex;

/// A configured `aws` provider.
pub struct AwsProvider {
    pub context: Arc<AwsContext>,
    resources: BTreeMap<&'static str, Arc<dyn ResourceType>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSourceType>>,
}

impl AwsProvider {
    pub fn new(context: Arc<AwsContext>) -> Self {
        let resources = [
            forge_aws_sqs::resource_types(&context),
            forge_aws_s3::resource_types(&context),
            forge_aws_iam::resource_types(&context),
            forge_aws_secretsmanager::resource_types(&context),
            forge_aws_ec2::resource_types(&context),
        ]
        .into_iter()
        .flatten()
        .map(|r| (r.type_name(), r))
        .collect();
        let data_sources = [
            forge_aws_sqs::data_sources(&context),
            forge_aws_s3::data_sources(&context),
            forge_aws_iam::data_sources(&context),
            forge_aws_secretsmanager::data_sources(&context),
            forge_aws_ec2::data_sources(&context),
        ]
        .into_iter()
        .flatten()
        .map(|d| (d.type_name(), d))
        .collect();
        AwsProvider {
            context,
            resources,
            data_sources,
        }
    }
}

impl Provider for AwsProvider {
    fn resource_type(&self, type_name: &str) -> Option<Arc<dyn ResourceType>> {
        self.resources.get(type_name).cloned()
    }
    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSourceType>> {
        self.data_sources.get(type_name).cloned()
    }
    fn resource_type_names(&self) -> Vec<&'static str> {
        self.resources.keys().copied().collect()
    }
}

/// Builds `aws` providers, one per distinct configuration: units that configure the
/// provider the same way share clients (and so connections and the account-id lookup).
#[derive(Default)]
pub struct AwsProviderFactory {
    cache: Mutex<Vec<Configured>>,
    /// The same configurations bound to a unit's root module folder (`configure_in`),
    /// each sharing its base configuration's clients; `discover` asks only the bases.
    in_dirs: Mutex<Vec<InDir>>,
}

/// A provider configured once: the block's evaluated configuration and the unit's role
/// it was configured for, then the provider that configuration gave.
type Configured = (Value, Option<UnitRole>, Arc<AwsProvider>);

/// A configured provider bound to a root module folder: the base it shares clients with,
/// the folder, and the bound provider.
type InDir = (Arc<AwsProvider>, std::path::PathBuf, Arc<AwsProvider>);

impl AwsProviderFactory {
    /// The provider for one configuration and unit role, made once.
    async fn configured(
        &self,
        config: &Value,
        role: Option<&UnitRole>,
    ) -> ProviderResult<Arc<AwsProvider>> {
        let mut cache = self.cache.lock().await;
        if let Some((_, _, p)) = cache
            .iter()
            .find(|(c, r, _)| c.same_as(config) && r.as_ref() == role)
        {
            return Ok(p.clone());
        }
        let context = Arc::new(AwsContext::from_provider_config_as(config, role).await?);
        let provider = Arc::new(AwsProvider::new(context));
        cache.push((config.clone(), role.cloned(), provider.clone()));
        Ok(provider)
    }
}

#[async_trait]
impl ProviderFactory for AwsProviderFactory {
    fn name(&self) -> &'static str {
        "aws"
    }

    /// The release the oracle tests compare against (schemas, defaults, state shapes).
    fn release(&self) -> Option<forge_provider::ProviderRelease> {
        Some(forge_provider::ProviderRelease {
            source: "hashicorp/aws",
            version: "5.100.0",
        })
    }

    async fn configure(&self, config: &Value) -> ProviderResult<Arc<dyn Provider>> {
        self.configure_as(config, None).await
    }

    /// Units that run as different roles never share clients, even when their blocks
    /// are alike.
    async fn configure_as(
        &self,
        config: &Value,
        role: Option<&UnitRole>,
    ) -> ProviderResult<Arc<dyn Provider>> {
        Ok(self.configured(config, role).await?)
    }

    /// As `configure_as`, with relative file paths read from `module_dir`: the base
    /// configuration's context (its clients, its caller identity) is shared, only the
    /// folder differs.
    async fn configure_in(
        &self,
        config: &Value,
        role: Option<&UnitRole>,
        module_dir: &std::path::Path,
    ) -> ProviderResult<Arc<dyn Provider>> {
        let base = self.configured(config, role).await?;
        let mut in_dirs = self.in_dirs.lock().await;
        if let Some((_, _, p)) = in_dirs
            .iter()
            .find(|(b, d, _)| Arc::ptr_eq(b, &base) && d == module_dir)
        {
            return Ok(p.clone());
        }
        let context = Arc::new(base.context.in_module_dir(module_dir));
        let provider = Arc::new(AwsProvider::new(context));
        in_dirs.push((base, module_dir.to_path_buf(), provider.clone()));
        Ok(provider)
    }

    /// Every configuration made so far (one per distinct provider block and unit role)
    /// asks each service; an object two configurations reach is reported once.
    async fn discover(&self, filter: &DiscoveryFilter) -> ProviderResult<Vec<Discovered>> {
        let providers: Vec<Arc<AwsProvider>> = self
            .cache
            .lock()
            .await
            .iter()
            .map(|(_, _, p)| p.clone())
            .collect();
        let unmarked = filter.name_prefix.as_deref().is_none_or(str::is_empty)
            && providers.iter().all(|p| p.context.default_tags.is_empty());
        if unmarked && !providers.is_empty() {
            return Err(forge_provider::ProviderError::new(
                "no provider configuration has default_tags and no name prefix was given: nothing tells the environment's objects from others",
            )
            .hint("add default_tags to the provider block (every object then carries them), or give --name-prefix"));
        }
        let mut found = Vec::new();
        for provider in providers {
            let ctx = provider.context.as_ref();
            let (sqs, s3, iam, secrets, ec2) = tokio::join!(
                forge_aws_sqs::discover::discover(ctx, filter),
                forge_aws_s3::discover::discover(ctx, filter),
                forge_aws_iam::discover::discover(ctx, filter),
                forge_aws_secretsmanager::discover::discover(ctx, filter),
                forge_aws_ec2::discover::discover(ctx, filter),
            );
            for service in [sqs, s3, iam, secrets, ec2] {
                found.extend(service?);
            }
        }
        found.sort();
        found.dedup_by(|a, b| a.type_name == b.type_name && a.id == b.id);
        Ok(found)
    }

    fn config_schema(&self) -> Option<Schema> {
        Some(forge_aws_common::provider_block::config_schema())
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        forge_aws_common::provider_block::check(config)
    }

    /// The service crates build each type's schema with the type; they are built here
    /// around a context that loads nothing and is dropped with them.
    fn schemas(&self) -> ProviderSchemas {
        let provider = AwsProvider::new(Arc::new(AwsContext::for_schemas_only()));
        ProviderSchemas {
            resources: provider
                .resources
                .iter()
                .map(|(name, r)| (name.to_string(), r.schema().clone()))
                .collect(),
            data_sources: provider
                .data_sources
                .iter()
                .map(|(name, d)| (name.to_string(), d.schema().clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schemas come without configuration: no region, no credentials, no runtime needed.
    #[test]
    fn schemas_are_had_without_configuring() {
        let schemas = AwsProviderFactory::default().schemas();
        let queue = schemas
            .resources
            .get("aws_sqs_queue")
            .expect("aws_sqs_queue");
        assert!(queue.attributes.contains_key("fifo_queue"));
        let sse = schemas
            .resources
            .get("aws_s3_bucket_server_side_encryption_configuration")
            .expect("the S3 encryption configuration");
        assert!(sse.blocks.contains_key("rule"), "rule is a nested block");
        assert!(schemas.data_sources.contains_key("aws_caller_identity"));
        assert!(
            schemas.resources.len() >= 10,
            "{:?}",
            schemas.resources.keys()
        );
    }
}
