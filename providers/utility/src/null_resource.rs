//! `null_resource`: nothing but an `id` (a random non-negative number, as the provider's)
//! and `triggers`, whose change replaces it (values that are not null, as random's
//! `keepers`). The provider has no import.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::{Entropy, OsEntropy};
use crate::replace::keepers_replace;
use crate::values::{attr, kept};

pub struct NullResource;

/// A random number in 0..2^63, in decimal (Go's rand.Int() on 64-bit machines).
pub(crate) fn random_decimal() -> ProviderResult<String> {
    let mut b = [0u8; 8];
    OsEntropy.fill(&mut b)?;
    Ok((u64::from_le_bytes(b) >> 1).to_string())
}

#[async_trait]
impl ResourceType for NullResource {
    fn type_name(&self) -> &'static str {
        "null_resource"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::new()
                .attr(
                    "triggers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                )
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let triggers = attr(config, "triggers");
        let replace = prior.is_some_and(|p| keepers_replace(&attr(p, "triggers"), &triggers));
        let id = if replace {
            Value::Unknown
        } else {
            kept(prior, "id")
        };
        Ok(PlannedState {
            planned: Value::object([("triggers", triggers), ("id", id)]),
            requires_replace: if replace {
                vec!["triggers".to_string()]
            } else {
                Vec::new()
            },
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        Ok(Value::object([
            ("triggers", attr(planned, "triggers")),
            ("id", Value::string(random_decimal()?)),
        ]))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        Ok(planned.clone())
    }

    async fn delete(&self, _state: &Value) -> ProviderResult<()> {
        Ok(())
    }

    async fn import(&self, _id: &str) -> ProviderResult<Option<Value>> {
        Err(ProviderError::new(
            "null_resource cannot be imported (the provider has no import for it)",
        )
        .hint("let forge create it: it holds nothing outside state"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trigger_change_replaces_and_the_id_is_a_non_negative_number() {
        let c = |v: &str| {
            Value::object([(
                "triggers",
                Value::Map([("k".to_string(), Value::string(v))].into()),
            )])
        };
        let made = NullResource
            .create(&NullResource.plan(None, &c("1")).expect("plan").planned)
            .await
            .expect("create");
        let id = made.str_attr("id").expect("id");
        assert!(id.parse::<i64>().is_ok_and(|n| n >= 0), "{id}");
        let same = NullResource.plan(Some(&made), &c("1")).expect("plan");
        assert!(same.requires_replace.is_empty() && same.planned.same_as(&made));
        let changed = NullResource.plan(Some(&made), &c("2")).expect("plan");
        assert_eq!(changed.requires_replace, vec!["triggers".to_string()]);
        assert_eq!(changed.planned.get("id"), Some(&Value::Unknown));
        assert!(NullResource.import("1").await.is_err());
    }
}
