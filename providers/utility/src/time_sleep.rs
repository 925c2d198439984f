//! `time_sleep`: waits `create_duration` when created and `destroy_duration` when
//! destroyed (Go-style durations: "30s", "1.5m", "250ms", "2h"); `id` is the moment of
//! creation. Changing a duration alone changes state only; `triggers` replace it.
//! Imported by `CREATEDURATION,DESTROYDURATION`.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::clock::{Clock, format_rfc3339, now, parse_duration};
use crate::replace::differs;
use crate::values::{attr, kept, text, with};

pub struct TimeSleep {
    pub clock: Clock,
}

impl TimeSleep {
    async fn wait(state: &Value, name: &str) -> ProviderResult<()> {
        if let Some(s) = text(state, name).filter(|s| !s.is_empty()) {
            tokio::time::sleep(parse_duration(name, s)?).await;
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceType for TimeSleep {
    fn type_name(&self) -> &'static str {
        "time_sleep"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::new()
                .attr("create_duration", Attribute::optional(AttrType::String))
                .attr("destroy_duration", Attribute::optional(AttrType::String))
                .attr(
                    "triggers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))).force_new(),
                )
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        for name in ["create_duration", "destroy_duration"] {
            if let Some(s) = text(config, name) {
                parse_duration(name, s)?;
            }
        }
        if attr(config, "create_duration").is_null() && attr(config, "destroy_duration").is_null() {
            return Err(ProviderError::new(
                "at least one of create_duration and destroy_duration must be set",
            ));
        }
        let replace =
            prior.is_some_and(|p| differs(&attr(p, "triggers"), &attr(config, "triggers")));
        let id = if replace {
            Value::Unknown
        } else {
            kept(prior, "id")
        };
        Ok(PlannedState {
            planned: Value::object([
                ("create_duration", attr(config, "create_duration")),
                ("destroy_duration", attr(config, "destroy_duration")),
                ("triggers", attr(config, "triggers")),
                ("id", id),
            ]),
            requires_replace: if replace {
                vec!["triggers".to_string()]
            } else {
                Vec::new()
            },
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        Self::wait(planned, "create_duration").await?;
        Ok(with(
            planned.clone(),
            "id",
            Value::string(format_rfc3339(&now(self.clock))),
        ))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        Ok(planned.clone())
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        Self::wait(state, "destroy_duration").await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let parts: Vec<&str> = id.split(',').collect();
        let [create, destroy] = parts.as_slice() else {
            return Err(ProviderError::new(format!(
                "the import id {id:?} is not CREATEDURATION,DESTROYDURATION"
            )));
        };
        if create.is_empty() && destroy.is_empty() {
            return Err(ProviderError::new(format!(
                "the import id {id:?} names neither duration"
            )));
        }
        let duration = |name: &str, s: &str| -> ProviderResult<Value> {
            if s.is_empty() {
                return Ok(Value::Null);
            }
            parse_duration(name, s)?;
            Ok(Value::string(s))
        };
        Ok(Some(Value::object([
            ("create_duration", duration("create_duration", create)?),
            ("destroy_duration", duration("destroy_duration", destroy)?),
            ("triggers", Value::Map(Default::default())),
            ("id", Value::string(format_rfc3339(&now(self.clock)))),
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::system_clock;

    fn config(create: &str, destroy: Value) -> Value {
        Value::object([
            ("create_duration", Value::string(create)),
            ("destroy_duration", destroy),
            ("triggers", Value::Null),
        ])
    }

    #[tokio::test]
    async fn create_waits_its_duration_and_a_duration_change_is_in_place() {
        let ts = TimeSleep {
            clock: system_clock,
        };
        let started = std::time::Instant::now();
        let made = ts
            .create(
                &ts.plan(None, &config("200ms", Value::Null))
                    .expect("plan")
                    .planned,
            )
            .await
            .expect("create");
        assert!(started.elapsed() >= std::time::Duration::from_millis(200));
        assert!(made.str_attr("id").is_some_and(|s| s.ends_with('Z')));
        let longer = ts
            .plan(Some(&made), &config("1s", Value::Null))
            .expect("plan");
        assert!(longer.requires_replace.is_empty());
        assert_eq!(longer.planned.get("id"), made.get("id"));
        assert!(ts.plan(None, &config("10 seconds", Value::Null)).is_err());
        let neither = Value::object([
            ("create_duration", Value::Null),
            ("destroy_duration", Value::Null),
            ("triggers", Value::Null),
        ]);
        assert!(ts.plan(None, &neither).is_err());
        let imported = ts.import(",5s").await.expect("import").expect("some");
        assert_eq!(imported.str_attr("destroy_duration"), Some("5s"));
        assert_eq!(imported.get("create_duration"), Some(&Value::Null));
        assert!(ts.import("5s").await.is_err());
    }
}
