//! The small utility providers every module set uses, built in so that no download is
//! needed: `random` (registry.terraform.io/hashicorp/random: random_password,
//! random_string, random_id, random_uuid, random_integer, random_shuffle, random_pet),
//! `null` (hashicorp/null: null_resource, data null_data_source) and `time`
//! (hashicorp/time: time_static, time_rotating, time_offset, time_sleep).
//!
//! None of them acts outside state: `read` returns what state records (time_rotating
//! reads as gone once its rotation moment has passed). Schemas, defaults, replacement
//! rules, import ids and state shapes (with the schema versions) are the providers', so a
//! state either tool wrote plans no change in the other. Randomness comes from the
//! operating system (`entropy`).

mod charset;
mod clock;
mod entropy;
mod null_data_source;
mod null_resource;
mod pet_words;
mod random_id;
mod random_integer;
mod random_pet;
mod random_shuffle;
mod random_text;
mod random_uuid;
mod replace;
mod time_offset;
mod time_rotating;
mod time_sleep;
mod time_static;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use forge_provider::{
    ConfigIssue, DataSourceType, IssueSeverity, Provider, ProviderError, ProviderFactory,
    ProviderResult, ProviderSchemas, ResourceType, Schema, Value,
};

pub use clock::{Clock, system_clock};
pub use null_data_source::NullDataSource;
pub use null_resource::NullResource;
pub use random_id::RandomId;
pub use random_integer::RandomInteger;
pub use random_pet::RandomPet;
pub use random_shuffle::RandomShuffle;
pub use random_text::{RandomText, TextKind};
pub use random_uuid::RandomUuid;
pub use time_offset::TimeOffset;
pub use time_rotating::TimeRotating;
pub use time_sleep::TimeSleep;
pub use time_static::TimeStatic;

/// The `random` provider.
#[derive(Default)]
pub struct RandomProviderFactory;

/// The `null` provider.
#[derive(Default)]
pub struct NullProviderFactory;

/// The `time` provider.
#[derive(Default)]
pub struct TimeProviderFactory;

impl RandomProviderFactory {
    fn provider() -> UtilityProvider {
        UtilityProvider {
            resources: vec![
                Arc::new(RandomText::new(TextKind::Password)),
                Arc::new(RandomText::new(TextKind::String)),
                Arc::new(RandomId),
                Arc::new(RandomUuid),
                Arc::new(RandomInteger),
                Arc::new(RandomShuffle),
                Arc::new(RandomPet),
            ],
            data_sources: Vec::new(),
        }
    }
}

impl NullProviderFactory {
    fn provider() -> UtilityProvider {
        UtilityProvider {
            resources: vec![Arc::new(NullResource)],
            data_sources: vec![Arc::new(NullDataSource)],
        }
    }
}

impl TimeProviderFactory {
    fn provider() -> UtilityProvider {
        let clock: Clock = system_clock;
        UtilityProvider {
            resources: vec![
                Arc::new(TimeStatic { clock }),
                Arc::new(TimeRotating { clock }),
                Arc::new(TimeOffset { clock }),
                Arc::new(TimeSleep { clock }),
            ],
            data_sources: Vec::new(),
        }
    }
}

/// One of the three providers: its types, by name.
pub struct UtilityProvider {
    resources: Vec<Arc<dyn ResourceType>>,
    data_sources: Vec<Arc<dyn DataSourceType>>,
}

impl UtilityProvider {
    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            resources: self
                .resources
                .iter()
                .map(|r| (r.type_name().to_string(), r.schema().clone()))
                .collect::<BTreeMap<_, _>>(),
            data_sources: self
                .data_sources
                .iter()
                .map(|d| (d.type_name().to_string(), d.schema().clone()))
                .collect(),
        }
    }
}

impl Provider for UtilityProvider {
    fn resource_type(&self, type_name: &str) -> Option<Arc<dyn ResourceType>> {
        self.resources
            .iter()
            .find(|r| r.type_name() == type_name)
            .cloned()
    }

    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSourceType>> {
        self.data_sources
            .iter()
            .find(|d| d.type_name() == type_name)
            .cloned()
    }

    fn resource_type_names(&self) -> Vec<&'static str> {
        self.resources.iter().map(|r| r.type_name()).collect()
    }
}

/// The three providers take no configuration: a `provider "random" {}` block is fine,
/// an argument in it is refused (as Terraform's "Unsupported argument").
fn arguments_set(config: &Value) -> Vec<String> {
    config
        .as_map()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn refuse_arguments(provider: &str, config: &Value) -> ProviderResult<()> {
    match arguments_set(config).first() {
        None => Ok(()),
        Some(name) => Err(ProviderError::new(format!(
            "the {provider} provider has no argument named \"{name}\""
        ))
        .hint(format!(
            "the {provider} provider takes no arguments: leave its block empty or remove it"
        ))),
    }
}

fn argument_issues(provider: &str, config: &Value) -> Vec<ConfigIssue> {
    arguments_set(config)
        .into_iter()
        .map(|name| ConfigIssue {
            message: format!("the {provider} provider has no argument named \"{name}\""),
            path: vec![name],
            severity: IssueSeverity::Error,
            hint: Some(format!("the {provider} provider takes no arguments")),
        })
        .collect()
}

macro_rules! utility_factory {
    ($factory:ident, $name:literal, $version:literal) => {
        #[async_trait]
        impl ProviderFactory for $factory {
            fn name(&self) -> &'static str {
                $name
            }

            fn release(&self) -> Option<forge_provider::ProviderRelease> {
                Some(forge_provider::ProviderRelease {
                    source: concat!("hashicorp/", $name),
                    version: $version,
                })
            }

            async fn configure(&self, config: &Value) -> ProviderResult<Arc<dyn Provider>> {
                refuse_arguments($name, config)?;
                Ok(Arc::new(Self::provider()))
            }

            fn schemas(&self) -> ProviderSchemas {
                Self::provider().schemas()
            }

            fn config_schema(&self) -> Option<Schema> {
                Some(Schema::new())
            }

            fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
                argument_issues($name, config)
            }
        }
    };
}

// The releases whose behaviour each follows (the latest of each when it was written).
utility_factory!(RandomProviderFactory, "random", "3.7.2");
utility_factory!(NullProviderFactory, "null", "3.2.4");
utility_factory!(TimeProviderFactory, "time", "0.13.1");

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_provider_offers_its_types_and_refuses_arguments() {
        let empty = Value::object::<&str>([]);
        let random = RandomProviderFactory
            .configure(&empty)
            .await
            .expect("random");
        assert_eq!(
            random.resource_type_names(),
            vec![
                "random_password",
                "random_string",
                "random_id",
                "random_uuid",
                "random_integer",
                "random_shuffle",
                "random_pet"
            ]
        );
        let null = NullProviderFactory.configure(&empty).await.expect("null");
        assert!(null.resource_type("null_resource").is_some());
        assert!(null.data_source("null_data_source").is_some());
        let time = TimeProviderFactory.configure(&empty).await.expect("time");
        assert_eq!(
            time.resource_type_names(),
            vec!["time_static", "time_rotating", "time_offset", "time_sleep"]
        );
        let with_arg = Value::object([("region", Value::string("x"))]);
        let refused = RandomProviderFactory
            .configure(&with_arg)
            .await
            .err()
            .expect("refused");
        assert!(refused.message.contains("no argument named \"region\""));
        assert_eq!(TimeProviderFactory.check_config(&with_arg).len(), 1);
        let schemas = RandomProviderFactory.schemas();
        assert_eq!(schemas.resources["random_password"].version, 3);
        assert_eq!(schemas.resources["random_string"].version, 2);
        assert!(schemas.resources["random_password"].attributes["result"].sensitive);
        assert!(schemas.resources["random_password"].attributes["bcrypt_hash"].sensitive);
        assert!(!schemas.resources["random_string"].attributes["result"].sensitive);
    }
}
