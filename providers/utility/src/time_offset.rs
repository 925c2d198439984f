//! `time_offset`: a base moment (`base_rfc3339`, configured or the time of creation) and
//! the moment `offset_years`, `_months`, `_days`, `_hours`, `_minutes` and `_seconds` away
//! from it (all of them added, as in the provider), with that moment's calendar fields.
//! A change of the offsets updates it in place from the recorded base; `triggers`
//! replace it. Imported by `BASE,YEARS,MONTHS,DAYS,HOURS,MINUTES,SECONDS`.

use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::clock::{Clock, add_date, add_seconds, fields, format_rfc3339, now, parse_rfc3339};
use crate::replace::differs;
use crate::values::{attr, text, unknown_all, whole, with};

pub struct TimeOffset {
    pub clock: Clock,
}

const OFFSETS: [&str; 6] = [
    "offset_years",
    "offset_months",
    "offset_days",
    "offset_hours",
    "offset_minutes",
    "offset_seconds",
];

const COMPUTED: [&str; 9] = [
    "year", "month", "day", "hour", "minute", "second", "unix", "rfc3339", "id",
];

/// The base moved by every offset of `v`, in the provider's order (days, hours, minutes,
/// months, seconds, years).
fn offset_of(v: &Value, base: &DateTime<FixedOffset>) -> ProviderResult<DateTime<FixedOffset>> {
    let overflow = || ProviderError::new("the offset moment is beyond the calendar's range");
    let n = |name: &str| -> ProviderResult<i64> { Ok(whole(v, name)?.unwrap_or(0)) };
    let mut t = *base;
    t = add_date(&t, 0, 0, n("offset_days")?).ok_or_else(overflow)?;
    t = add_seconds(&t, n("offset_hours")?.saturating_mul(3600)).ok_or_else(overflow)?;
    t = add_seconds(&t, n("offset_minutes")?.saturating_mul(60)).ok_or_else(overflow)?;
    t = add_date(&t, 0, n("offset_months")?, 0).ok_or_else(overflow)?;
    t = add_seconds(&t, n("offset_seconds")?).ok_or_else(overflow)?;
    t = add_date(&t, n("offset_years")?, 0, 0).ok_or_else(overflow)?;
    Ok(t)
}

/// `v` with the computed attributes of `base` (written `base_text`) and its offset.
fn offset(v: Value, base: &DateTime<FixedOffset>, base_text: &str) -> ProviderResult<Value> {
    let moment = offset_of(&v, base)?;
    let mut v = with(v, "base_rfc3339", Value::string(base_text));
    v = with(v, "id", Value::string(base_text));
    v = with(v, "rfc3339", Value::string(format_rfc3339(&moment)));
    for (name, value) in fields(&moment) {
        v = with(v, name, value);
    }
    Ok(v)
}

fn check(config: &Value) -> ProviderResult<()> {
    let mut any = false;
    for name in OFFSETS {
        whole(config, name)?;
        any |= !attr(config, name).is_null();
    }
    if let Some(s) = text(config, "base_rfc3339") {
        parse_rfc3339("base_rfc3339", s)?;
    }
    if !any {
        return Err(ProviderError::new(
            "one of offset_seconds, offset_minutes, offset_hours, offset_days, offset_months or offset_years must be set",
        ));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for TimeOffset {
    fn type_name(&self) -> &'static str {
        "time_offset"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let schema = Schema::new()
                .attr(
                    "triggers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))).force_new(),
                )
                .attr(
                    "base_rfc3339",
                    Attribute::optional_computed(AttrType::String),
                );
            let schema = OFFSETS.iter().fold(schema, |s, n| {
                s.attr(n, Attribute::optional(AttrType::Number))
            });
            COMPUTED.iter().fold(schema, |s, name| {
                let ty = if matches!(*name, "id" | "rfc3339") {
                    AttrType::String
                } else {
                    AttrType::Number
                };
                s.attr(name, Attribute::computed(ty))
            })
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check(config)?;
        let mut planned = Value::object([
            ("triggers", attr(config, "triggers")),
            ("base_rfc3339", attr(config, "base_rfc3339")),
        ]);
        for name in OFFSETS {
            planned = with(planned, name, attr(config, name));
        }
        let Some(prior) = prior else {
            if attr(&planned, "base_rfc3339").is_null() {
                planned = with(planned, "base_rfc3339", Value::Unknown);
            }
            return Ok(PlannedState {
                planned: unknown_all(planned, &COMPUTED),
                requires_replace: Vec::new(),
            });
        };
        if differs(&attr(prior, "triggers"), &attr(config, "triggers")) {
            return Ok(PlannedState {
                planned: unknown_all(planned, &COMPUTED),
                requires_replace: vec!["triggers".to_string()],
            });
        }
        let base_value = match attr(config, "base_rfc3339") {
            Value::Null => attr(prior, "base_rfc3339"),
            v => v,
        };
        planned = with(planned, "base_rfc3339", base_value.clone());
        let offsets_changed = OFFSETS
            .iter()
            .any(|n| !attr(prior, n).same_as(&attr(config, n)));
        let base_changed = !attr(prior, "base_rfc3339").same_as(&base_value);
        if !offsets_changed && !base_changed {
            return Ok(PlannedState {
                planned: with(prior.clone(), "triggers", attr(config, "triggers")),
                requires_replace: Vec::new(),
            });
        }
        // The provider computes the new moment while planning only when the offsets
        // changed; a new base alone shows its results as known after apply.
        let planned = match (
            offsets_changed && config.is_wholly_known(),
            base_value.as_str(),
        ) {
            (true, Some(base_text)) => {
                let base = parse_rfc3339("base_rfc3339", base_text)?;
                offset(planned, &base, base_text)?
            }
            _ => unknown_all(planned, &COMPUTED),
        };
        Ok(PlannedState {
            planned,
            requires_replace: Vec::new(),
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let (base, base_text) = match text(planned, "base_rfc3339") {
            Some(s) => (parse_rfc3339("base_rfc3339", s)?, s.to_string()),
            None => {
                let t = now(self.clock);
                (t, format_rfc3339(&t))
            }
        };
        offset(planned.clone(), &base, &base_text)
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.create(planned).await
    }

    async fn delete(&self, _state: &Value) -> ProviderResult<()> {
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let parts: Vec<&str> = id.split(',').collect();
        if parts.len() != 7 || parts[0].is_empty() || parts[1..].iter().all(|p| p.is_empty()) {
            return Err(ProviderError::new(format!(
                "the import id {id:?} is not BASETIMESTAMP,YEARS,MONTHS,DAYS,HOURS,MINUTES,SECONDS with at least one offset"
            )));
        }
        let mut v = Value::object([("triggers", Value::Map(Default::default()))]);
        for (name, p) in OFFSETS.iter().zip(&parts[1..]) {
            let value = if p.is_empty() {
                Value::Null
            } else {
                let n: i64 = p.parse().map_err(|_| {
                    ProviderError::new(format!(
                        "{name} {p:?} in the import id is not a whole number"
                    ))
                })?;
                Value::Number(n as f64)
            };
            v = with(v, name, value);
        }
        let base = parse_rfc3339("the base timestamp", parts[0])?;
        let text = format_rfc3339(&base);
        Ok(Some(offset(v, &base, &text)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2024-01-31T23:30:00Z")
            .expect("time")
            .to_utc()
    }

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut c = Value::object([("triggers", Value::Null), ("base_rfc3339", Value::Null)]);
        for n in OFFSETS {
            c = with(c, n, Value::Null);
        }
        for (k, v) in pairs {
            c = with(c, k, v.clone());
        }
        c
    }

    #[tokio::test]
    async fn offsets_add_up_and_a_change_updates_in_place_from_the_recorded_base() {
        let to = TimeOffset { clock: fixed };
        let c = config(&[
            ("offset_days", Value::Number(1.0)),
            ("offset_minutes", Value::Number(45.0)),
        ]);
        let made = to
            .create(&to.plan(None, &c).expect("plan").planned)
            .await
            .expect("create");
        assert_eq!(made.str_attr("base_rfc3339"), Some("2024-01-31T23:30:00Z"));
        assert_eq!(made.str_attr("rfc3339"), Some("2024-02-02T00:15:00Z"));
        assert_eq!(made.get("day"), Some(&Value::Number(2.0)));
        let same = to.plan(Some(&made), &c).expect("plan");
        assert!(same.requires_replace.is_empty() && same.planned.same_as(&made));
        let changed = to
            .plan(
                Some(&made),
                &config(&[("offset_months", Value::Number(1.0))]),
            )
            .expect("plan");
        assert!(changed.requires_replace.is_empty());
        assert_eq!(
            changed.planned.str_attr("rfc3339"),
            Some("2024-03-02T23:30:00Z")
        );
        assert!(to.plan(None, &config(&[])).is_err());
        let imported = to
            .import("2024-01-31T23:30:00Z,,,1,,45,")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(imported.str_attr("rfc3339"), Some("2024-02-02T00:15:00Z"));
        assert!(to.import("2024-01-31T23:30:00Z,,,,,,").await.is_err());
    }
}
