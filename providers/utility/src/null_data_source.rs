//! `data "null_data_source"` (deprecated in the provider, still read): `outputs` is a copy
//! of `inputs`, `random` a random number on every read, `has_computed_default` the
//! configured value or "default", `id` "static".

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{AttrType, Attribute, DataSourceType, ProviderResult, Schema, Value};

use crate::null_resource::random_decimal;
use crate::values::{attr, or_default};

pub struct NullDataSource;

#[async_trait]
impl DataSourceType for NullDataSource {
    fn type_name(&self) -> &'static str {
        "null_data_source"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let strings = AttrType::Map(Box::new(AttrType::String));
            Schema::new()
                .attr("inputs", Attribute::optional(strings.clone()))
                .attr("outputs", Attribute::computed(strings))
                .attr("random", Attribute::computed(AttrType::String))
                .attr(
                    "has_computed_default",
                    Attribute::optional_computed(AttrType::String),
                )
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let inputs = attr(config, "inputs");
        Ok(Value::object([
            ("inputs", inputs.clone()),
            ("outputs", inputs),
            ("random", Value::string(random_decimal()?)),
            (
                "has_computed_default",
                or_default(config, "has_computed_default", Value::string("default")),
            ),
            ("id", Value::string("static")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outputs_copy_inputs_and_the_default_is_filled() {
        let inputs = Value::Map([("a".to_string(), Value::string("1"))].into());
        let read = NullDataSource
            .read(&Value::object([
                ("inputs", inputs.clone()),
                ("has_computed_default", Value::Null),
            ]))
            .await
            .expect("read");
        assert_eq!(read.get("outputs"), Some(&inputs));
        assert_eq!(read.str_attr("has_computed_default"), Some("default"));
        assert_eq!(read.str_attr("id"), Some("static"));
        assert!(
            read.str_attr("random")
                .is_some_and(|r| r.parse::<u64>().is_ok())
        );
    }
}
