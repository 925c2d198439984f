//! `time_rotating`: a moment (`rfc3339`, the configured base or the time of creation) and
//! the moment it rotates (`rotation_rfc3339`: the base plus `rotation_years`, `_months`,
//! `_days`, `_hours` or `_minutes`, or the configured `rotation_rfc3339`). The calendar
//! fields and `unix` are those of the rotation moment, as in the provider. Once the
//! rotation moment has passed, a refresh finds the object gone, so the plan creates it
//! anew (a new base); a change of the rotation arguments moves the rotation moment in
//! place, or replaces the object when the recorded one has passed. Imported by
//! `BASE,YEARS,MONTHS,DAYS,HOURS,MINUTES` or `BASE,ROTATION`.

use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::clock::{Clock, add_date, add_seconds, fields, format_rfc3339, now, parse_rfc3339};
use crate::replace::differs;
use crate::values::{attr, text, unknown_all, whole, with};

pub struct TimeRotating {
    pub clock: Clock,
}

const PERIODS: [&str; 5] = [
    "rotation_years",
    "rotation_months",
    "rotation_days",
    "rotation_hours",
    "rotation_minutes",
];

const COMPUTED: [&str; 8] = [
    "year", "month", "day", "hour", "minute", "second", "unix", "id",
];

/// The rotation moment from `base` and the arguments of `v`. Where several are set the
/// provider's order decides: years, then an explicit rotation_rfc3339, months, minutes,
/// hours, days.
fn rotation_of(v: &Value, base: &DateTime<FixedOffset>) -> ProviderResult<DateTime<FixedOffset>> {
    let overflow = || ProviderError::new("the rotation moment is beyond the calendar's range");
    if let Some(n) = whole(v, "rotation_years")? {
        return add_date(base, n, 0, 0).ok_or_else(overflow);
    }
    if let Some(s) = text(v, "rotation_rfc3339") {
        return parse_rfc3339("rotation_rfc3339", s);
    }
    if let Some(n) = whole(v, "rotation_months")? {
        return add_date(base, 0, n, 0).ok_or_else(overflow);
    }
    if let Some(n) = whole(v, "rotation_minutes")? {
        return add_seconds(base, n.saturating_mul(60)).ok_or_else(overflow);
    }
    if let Some(n) = whole(v, "rotation_hours")? {
        return add_seconds(base, n.saturating_mul(3600)).ok_or_else(overflow);
    }
    if let Some(n) = whole(v, "rotation_days")? {
        return add_date(base, 0, 0, n).ok_or_else(overflow);
    }
    Err(ProviderError::new(
        "one of rotation_minutes, rotation_hours, rotation_days, rotation_months, rotation_years or rotation_rfc3339 must be set",
    ))
}

/// `v` with every computed attribute of a base moment and its rotation.
fn rotated(v: Value, base: &DateTime<FixedOffset>, base_text: &str) -> ProviderResult<Value> {
    let rotation = rotation_of(&v, base)?;
    // A configured rotation_rfc3339 is kept as written, unless rotation_years wins.
    let years = whole(&v, "rotation_years")?;
    let rotation_text = match text(&v, "rotation_rfc3339") {
        Some(s) if years.is_none() => s.to_string(),
        _ => format_rfc3339(&rotation),
    };
    let mut v = with(v, "rotation_rfc3339", Value::string(rotation_text));
    v = with(v, "rfc3339", Value::string(base_text));
    v = with(v, "id", Value::string(base_text));
    for (name, value) in fields(&rotation) {
        v = with(v, name, value);
    }
    Ok(v)
}

impl TimeRotating {
    fn check(config: &Value) -> ProviderResult<()> {
        let mut any = false;
        for name in PERIODS {
            match attr(config, name) {
                Value::Null => {}
                _ => any = true,
            }
            if let Some(n) = whole(config, name)?
                && n < 1
            {
                return Err(ProviderError::new(format!(
                    "{name} must be at least 1, not {n}"
                )));
            }
        }
        if let Some(s) = text(config, "rotation_rfc3339") {
            parse_rfc3339("rotation_rfc3339", s)?;
        }
        if let Some(s) = text(config, "rfc3339") {
            parse_rfc3339("rfc3339", s)?;
        }
        if !any && attr(config, "rotation_rfc3339").is_null() {
            return Err(ProviderError::new(
                "one of rotation_minutes, rotation_hours, rotation_days, rotation_months, rotation_years or rotation_rfc3339 must be set",
            ));
        }
        Ok(())
    }

    /// The rotation moment a state records has passed.
    fn expired(&self, state: &Value) -> bool {
        text(state, "rotation_rfc3339")
            .filter(|s| !s.is_empty())
            .and_then(|s| parse_rfc3339("rotation_rfc3339", s).ok())
            .is_some_and(|r| now(self.clock) > r)
    }
}

#[async_trait]
impl ResourceType for TimeRotating {
    fn type_name(&self) -> &'static str {
        "time_rotating"
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
                    "rfc3339",
                    Attribute::optional_computed(AttrType::String).force_new(),
                )
                .attr(
                    "rotation_rfc3339",
                    Attribute::optional_computed(AttrType::String),
                );
            let schema = PERIODS.iter().fold(schema, |s, n| {
                s.attr(n, Attribute::optional(AttrType::Number))
            });
            COMPUTED.iter().fold(schema, |s, name| {
                let ty = if *name == "id" {
                    AttrType::String
                } else {
                    AttrType::Number
                };
                s.attr(name, Attribute::computed(ty))
            })
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        Self::check(config)?;
        let mut planned = Value::object([("triggers", attr(config, "triggers"))]);
        for name in PERIODS.iter().chain(&["rfc3339", "rotation_rfc3339"]) {
            planned = with(planned, name, attr(config, name));
        }
        let Some(prior) = prior else {
            for name in ["rfc3339", "rotation_rfc3339"] {
                if attr(&planned, name).is_null() {
                    planned = with(planned, name, Value::Unknown);
                }
            }
            return Ok(PlannedState {
                planned: unknown_all(planned, &COMPUTED),
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace = Vec::new();
        if differs(&attr(prior, "triggers"), &attr(config, "triggers")) {
            requires_replace.push("triggers".to_string());
        }
        let base_configured = attr(config, "rfc3339");
        if !base_configured.is_null() && differs(&attr(prior, "rfc3339"), &base_configured) {
            requires_replace.push("rfc3339".to_string());
        }
        let rotation_configured = attr(config, "rotation_rfc3339");
        let rotation_changed = PERIODS
            .iter()
            .any(|n| !attr(prior, n).same_as(&attr(config, n)))
            || (!rotation_configured.is_null()
                && !attr(prior, "rotation_rfc3339").same_as(&rotation_configured));
        if !requires_replace.is_empty() {
            return Ok(PlannedState {
                planned: unknown_all(planned, &COMPUTED),
                requires_replace,
            });
        }
        if !rotation_changed {
            // Nothing that moves the rotation changed: the recorded moments stay.
            let mut kept = prior.clone();
            kept = with(kept, "triggers", attr(config, "triggers"));
            return Ok(PlannedState {
                planned: kept,
                requires_replace,
            });
        }
        if self.expired(prior) {
            return Ok(PlannedState {
                planned: unknown_all(planned, &COMPUTED),
                requires_replace: vec!["rotation_rfc3339".to_string()],
            });
        }
        if !config.is_wholly_known() {
            let mut planned = unknown_all(planned, &COMPUTED);
            planned = with(planned, "rotation_rfc3339", Value::Unknown);
            planned = with(planned, "rfc3339", attr(prior, "rfc3339"));
            return Ok(PlannedState {
                planned,
                requires_replace,
            });
        }
        let base_text = text(prior, "rfc3339").unwrap_or_default().to_string();
        let base = parse_rfc3339("the recorded rfc3339", &base_text)?;
        Ok(PlannedState {
            planned: rotated(planned, &base, &base_text)?,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let (base, base_text) = match text(planned, "rfc3339") {
            Some(s) => (parse_rfc3339("rfc3339", s)?, s.to_string()),
            None => {
                let t = now(self.clock);
                (t, format_rfc3339(&t))
            }
        };
        let mut v = planned.clone();
        if attr(&v, "rotation_rfc3339").is_unknown() {
            v = with(v, "rotation_rfc3339", Value::Null);
        }
        rotated(v, &base, &base_text)
    }

    /// Gone once its rotation moment has passed: the plan then creates it anew.
    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        if self.expired(state) {
            return Ok(None);
        }
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        if planned.is_wholly_known() {
            return Ok(planned.clone());
        }
        let base_text = text(planned, "rfc3339").unwrap_or_default().to_string();
        let base = parse_rfc3339("rfc3339", &base_text)?;
        let mut v = planned.clone();
        if attr(&v, "rotation_rfc3339").is_unknown() {
            v = with(v, "rotation_rfc3339", Value::Null);
        }
        rotated(v, &base, &base_text)
    }

    async fn delete(&self, _state: &Value) -> ProviderResult<()> {
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let parts: Vec<&str> = id.split(',').collect();
        let bad = || {
            ProviderError::new(format!(
                "the import id {id:?} is not BASETIMESTAMP,YEARS,MONTHS,DAYS,HOURS,MINUTES or BASETIMESTAMP,ROTATIONTIMESTAMP"
            ))
        };
        let mut v = Value::object([("triggers", Value::Map(Default::default()))]);
        for name in PERIODS {
            v = with(v, name, Value::Null);
        }
        match parts.as_slice() {
            [base, rotation] if !base.is_empty() && !rotation.is_empty() => {
                let b = parse_rfc3339("the base timestamp", base)?;
                let r = parse_rfc3339("the rotation timestamp", rotation)?;
                v = with(v, "rotation_rfc3339", Value::string(format_rfc3339(&r)));
                v = with(v, "rfc3339", Value::string(format_rfc3339(&b)));
                v = with(v, "id", Value::string(format_rfc3339(&b)));
                for (name, value) in fields(&r) {
                    v = with(v, name, value);
                }
                Ok(Some(v))
            }
            [base, periods @ ..] if periods.len() == 5 && !base.is_empty() => {
                if periods.iter().all(|p| p.is_empty()) {
                    return Err(bad());
                }
                for (name, p) in PERIODS.iter().zip(periods) {
                    if !p.is_empty() {
                        let n: i64 = p.parse().map_err(|_| {
                            ProviderError::new(format!(
                                "{name} {p:?} in the import id is not a whole number"
                            ))
                        })?;
                        v = with(v, name, Value::Number(n as f64));
                    }
                }
                let b = parse_rfc3339("the base timestamp", base)?;
                v = with(v, "rotation_rfc3339", Value::Null);
                let text = format_rfc3339(&b);
                Ok(Some(rotated(v, &b, &text)?))
            }
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jan31() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2024-01-31T10:00:00Z")
            .expect("time")
            .to_utc()
    }

    fn much_later() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("time")
            .to_utc()
    }

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut c = Value::object([
            ("triggers", Value::Null),
            ("rfc3339", Value::Null),
            ("rotation_rfc3339", Value::Null),
        ]);
        for n in PERIODS {
            c = with(c, n, Value::Null);
        }
        for (k, v) in pairs {
            c = with(c, k, v.clone());
        }
        c
    }

    async fn created(tr: &TimeRotating, c: &Value) -> Value {
        tr.create(&tr.plan(None, c).expect("plan").planned)
            .await
            .expect("create")
    }

    #[tokio::test]
    async fn the_rotation_moment_follows_the_calendar_and_the_fields_are_its() {
        let tr = TimeRotating { clock: jan31 };
        let m = created(&tr, &config(&[("rotation_months", Value::Number(1.0))])).await;
        assert_eq!(m.str_attr("rfc3339"), Some("2024-01-31T10:00:00Z"));
        assert_eq!(m.str_attr("rotation_rfc3339"), Some("2024-03-02T10:00:00Z"));
        assert_eq!(m.get("month"), Some(&Value::Number(3.0)));
        assert_eq!(m.get("day"), Some(&Value::Number(2.0)));
        let d = created(&tr, &config(&[("rotation_days", Value::Number(30.0))])).await;
        assert_eq!(d.str_attr("rotation_rfc3339"), Some("2024-03-01T10:00:00Z"));
        let h = created(&tr, &config(&[("rotation_hours", Value::Number(36.0))])).await;
        assert_eq!(h.str_attr("rotation_rfc3339"), Some("2024-02-01T22:00:00Z"));
        // Years win over months when both are set, as in the provider.
        let y = created(
            &tr,
            &config(&[
                ("rotation_months", Value::Number(1.0)),
                ("rotation_years", Value::Number(1.0)),
            ]),
        )
        .await;
        assert_eq!(y.str_attr("rotation_rfc3339"), Some("2025-01-31T10:00:00Z"));
        assert!(tr.plan(None, &config(&[])).is_err(), "no rotation argument");
        assert!(
            tr.plan(None, &config(&[("rotation_days", Value::Number(0.0))]))
                .is_err()
        );
    }

    #[tokio::test]
    async fn past_its_rotation_it_reads_as_gone_and_a_change_replaces() {
        let tr = TimeRotating { clock: jan31 };
        let c = config(&[("rotation_days", Value::Number(1.0))]);
        let m = created(&tr, &c).await;
        assert!(tr.read(&m).await.expect("read").is_some());
        let same = tr.plan(Some(&m), &c).expect("plan");
        assert!(same.requires_replace.is_empty() && same.planned.same_as(&m));
        // Before the rotation: a longer period moves the rotation in place.
        let longer = tr
            .plan(Some(&m), &config(&[("rotation_days", Value::Number(2.0))]))
            .expect("plan");
        assert!(longer.requires_replace.is_empty());
        assert_eq!(
            longer.planned.str_attr("rotation_rfc3339"),
            Some("2024-02-02T10:00:00Z")
        );
        let later = TimeRotating { clock: much_later };
        assert_eq!(later.read(&m).await.expect("read"), None);
        let after = later
            .plan(Some(&m), &config(&[("rotation_days", Value::Number(2.0))]))
            .expect("plan");
        assert_eq!(after.requires_replace, vec!["rotation_rfc3339".to_string()]);
    }

    #[tokio::test]
    async fn import_takes_periods_or_a_rotation_timestamp() {
        let tr = TimeRotating { clock: jan31 };
        let a = tr
            .import("2024-01-01T00:00:00Z,,,7,,")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(a.get("rotation_days"), Some(&Value::Number(7.0)));
        assert_eq!(a.str_attr("rotation_rfc3339"), Some("2024-01-08T00:00:00Z"));
        let b = tr
            .import("2024-01-01T00:00:00Z,2024-06-01T00:00:00Z")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(b.get("month"), Some(&Value::Number(6.0)));
        assert!(tr.import("2024-01-01T00:00:00Z,,,,,").await.is_err());
        assert!(tr.import("2024-01-01T00:00:00Z").await.is_err());
    }
}
