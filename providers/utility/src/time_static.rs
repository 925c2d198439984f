//! `time_static`: a moment kept in state: the configured `rfc3339` or the time of
//! creation, with its calendar fields and unix time. A change of `triggers` or of a
//! configured `rfc3339` replaces it. Imported by the RFC 3339 timestamp.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderResult, ResourceType, Schema, Value,
};

use crate::clock::{Clock, fields, format_rfc3339, now, parse_rfc3339};
use crate::replace::differs;
use crate::values::{attr, text, unknown_all, with};

pub struct TimeStatic {
    pub clock: Clock,
}

const COMPUTED: [&str; 8] = [
    "year", "month", "day", "hour", "minute", "second", "unix", "id",
];

/// The object for `moment`, its `rfc3339` as written (configured) or as Go writes it.
fn object(
    triggers: Value,
    rfc3339: Option<&str>,
    moment: &chrono::DateTime<chrono::FixedOffset>,
) -> Value {
    let written = rfc3339.map_or_else(|| format_rfc3339(moment), str::to_string);
    let mut v = Value::object([
        ("triggers", triggers),
        ("rfc3339", Value::string(written.clone())),
        ("id", Value::string(written)),
    ]);
    for (name, value) in fields(moment) {
        v = with(v, name, value);
    }
    v
}

#[async_trait]
impl ResourceType for TimeStatic {
    fn type_name(&self) -> &'static str {
        "time_static"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            COMPUTED.iter().fold(
                Schema::new()
                    .attr(
                        "triggers",
                        Attribute::optional(AttrType::Map(Box::new(AttrType::String))).force_new(),
                    )
                    .attr(
                        "rfc3339",
                        Attribute::optional_computed(AttrType::String).force_new(),
                    ),
                |s, name| {
                    let ty = if *name == "id" {
                        AttrType::String
                    } else {
                        AttrType::Number
                    };
                    s.attr(name, Attribute::computed(ty))
                },
            )
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(s) = text(config, "rfc3339") {
            parse_rfc3339("rfc3339", s)?;
        }
        let Some(prior) = prior else {
            let configured = attr(config, "rfc3339");
            let planned = unknown_all(
                Value::object([
                    ("triggers", attr(config, "triggers")),
                    (
                        "rfc3339",
                        if configured.is_null() {
                            Value::Unknown
                        } else {
                            configured
                        },
                    ),
                ]),
                &COMPUTED,
            );
            return Ok(PlannedState {
                planned,
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace = Vec::new();
        if differs(&attr(prior, "triggers"), &attr(config, "triggers")) {
            requires_replace.push("triggers".to_string());
        }
        let configured = attr(config, "rfc3339");
        if !configured.is_null() && differs(&attr(prior, "rfc3339"), &configured) {
            requires_replace.push("rfc3339".to_string());
        }
        let mut planned = with(prior.clone(), "triggers", attr(config, "triggers"));
        if !configured.is_null() {
            planned = with(planned, "rfc3339", configured);
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let configured = text(planned, "rfc3339");
        let moment = match configured {
            Some(s) => parse_rfc3339("rfc3339", s)?,
            None => now(self.clock),
        };
        Ok(object(attr(planned, "triggers"), configured, &moment))
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

    /// As the provider: the moment's fields, and `triggers` an empty map.
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let moment = parse_rfc3339("the import id", id)?;
        Ok(Some(object(Value::Map(Default::default()), None, &moment)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2024-02-29T13:14:15Z")
            .expect("time")
            .to_utc()
    }

    #[tokio::test]
    async fn the_moment_is_now_or_the_configured_one_and_triggers_replace() {
        let ts = TimeStatic { clock: fixed };
        let c =
            |triggers: Value, rfc: Value| Value::object([("triggers", triggers), ("rfc3339", rfc)]);
        let made = ts
            .create(
                &ts.plan(None, &c(Value::Null, Value::Null))
                    .expect("plan")
                    .planned,
            )
            .await
            .expect("create");
        assert_eq!(made.str_attr("rfc3339"), Some("2024-02-29T13:14:15Z"));
        assert_eq!(made.str_attr("id"), Some("2024-02-29T13:14:15Z"));
        assert_eq!(made.get("day"), Some(&Value::Number(29.0)));
        assert_eq!(made.get("unix"), Some(&Value::Number(1709212455.0)));
        let same = ts
            .plan(Some(&made), &c(Value::Null, Value::Null))
            .expect("plan");
        assert!(same.requires_replace.is_empty() && same.planned.same_as(&made));
        let k = Value::Map([("k".to_string(), Value::string("v"))].into());
        let trig = ts.plan(Some(&made), &c(k, Value::Null)).expect("plan");
        assert_eq!(trig.requires_replace, vec!["triggers".to_string()]);
        let set = ts
            .create(
                &ts.plan(
                    None,
                    &c(Value::Null, Value::string("2020-01-02T03:04:05+01:00")),
                )
                .expect("plan")
                .planned,
            )
            .await
            .expect("create");
        assert_eq!(set.get("hour"), Some(&Value::Number(3.0)));
        assert_eq!(set.get("unix"), Some(&Value::Number(1577930645.0)));
        assert!(
            ts.plan(None, &c(Value::Null, Value::string("yesterday")))
                .is_err()
        );
        let imported = ts
            .import("2020-01-02T03:04:05Z")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(imported.get("year"), Some(&Value::Number(2020.0)));
        assert_eq!(
            imported.get("triggers"),
            Some(&Value::Map(Default::default()))
        );
    }
}
