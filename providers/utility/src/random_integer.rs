//! `random_integer`: a whole number in `min..=max`, from the optional `seed` (the same seed
//! and range give the same number, see `entropy`) or the OS. `id` is the number as text.
//! Imported by `result,min,max` or `result,min,max,seed`.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::for_seed;
use crate::replace::plan_keeping;
use crate::values::{attr, number, text, whole};

pub struct RandomInteger;

const COMPUTED: [&str; 2] = ["id", "result"];

/// A number in `min..=max` drawn from the seed's stream (or the OS's).
pub(crate) fn pick(min: i64, max: i64, seed: Option<&str>) -> ProviderResult<i64> {
    if max < min {
        return Err(ProviderError::new(format!(
            "min ({min}) must be less than or equal to max ({max})"
        )));
    }
    let span = (max as i128 - min as i128 + 1) as u128;
    let offset = if span > u64::MAX as u128 {
        // The whole i64 range: any 64 bits will do.
        let mut b = [0u8; 8];
        for_seed(seed).fill(&mut b)?;
        u64::from_le_bytes(b) as u128
    } else {
        for_seed(seed).below(span as u64)? as u128
    };
    Ok((min as i128 + offset as i128) as i64)
}

#[async_trait]
impl ResourceType for RandomInteger {
    fn type_name(&self) -> &'static str {
        "random_integer"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::new()
                .attr(
                    "keepers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                )
                .attr("min", Attribute::required(AttrType::Number).force_new())
                .attr("max", Attribute::required(AttrType::Number).force_new())
                .attr("seed", Attribute::optional(AttrType::String).force_new())
                .attr("result", Attribute::computed(AttrType::Number))
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let (Some(min), Some(max)) = (whole(config, "min")?, whole(config, "max")?)
            && max < min
        {
            return Err(ProviderError::new(format!(
                "min ({min}) must be less than or equal to max ({max})"
            )));
        }
        let planned = Value::object([
            ("keepers", attr(config, "keepers")),
            ("min", attr(config, "min")),
            ("max", attr(config, "max")),
            ("seed", attr(config, "seed")),
        ]);
        Ok(plan_keeping(
            prior,
            config,
            planned,
            &["min", "max", "seed"],
            &COMPUTED,
        ))
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let (Some(min), Some(max)) = (whole(planned, "min")?, whole(planned, "max")?) else {
            return Err(ProviderError::new("min and max are not known"));
        };
        let n = pick(min, max, text(planned, "seed"))?;
        Ok(Value::object([
            ("keepers", attr(planned, "keepers")),
            ("min", number(min)),
            ("max", number(max)),
            ("seed", attr(planned, "seed")),
            ("result", number(n)),
            ("id", Value::string(n.to_string())),
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

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let parts: Vec<&str> = id.split(',').collect();
        if parts.len() != 3 && parts.len() != 4 {
            return Err(ProviderError::new(format!(
                "the import id {id:?} is not result,min,max or result,min,max,seed"
            )));
        }
        let parse = |what: &str, s: &str| {
            s.parse::<i64>().map_err(|e| {
                ProviderError::new(format!(
                    "the {what} {s:?} in the import id is not a whole number: {e}"
                ))
            })
        };
        let result = parse("result", parts[0])?;
        let min = parse("min", parts[1])?;
        let max = parse("max", parts[2])?;
        Ok(Some(Value::object([
            ("keepers", Value::Null),
            ("min", number(min)),
            ("max", number(max)),
            (
                "seed",
                parts.get(3).map_or(Value::Null, |s| Value::string(*s)),
            ),
            ("result", number(result)),
            ("id", Value::string(parts[0])),
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_stay_in_range_and_a_seed_repeats_its_pick() {
        for _ in 0..200 {
            let n = pick(-3, 3, None).expect("pick");
            assert!((-3..=3).contains(&n));
        }
        assert_eq!(pick(5, 5, None).expect("pick"), 5);
        assert_eq!(
            pick(1, 1_000_000, Some("s")).expect("pick"),
            pick(1, 1_000_000, Some("s")).expect("pick")
        );
        assert!(pick(i64::MIN, i64::MAX, None).is_ok());
        assert!(pick(2, 1, None).is_err());
    }

    #[tokio::test]
    async fn import_parses_result_min_max_and_seed() {
        let v = RandomInteger
            .import("15,1,50,abc")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(v.get("result"), Some(&Value::Number(15.0)));
        assert_eq!(v.get("max"), Some(&Value::Number(50.0)));
        assert_eq!(v.str_attr("seed"), Some("abc"));
        assert_eq!(v.str_attr("id"), Some("15"));
        let no_seed = RandomInteger
            .import("15,1,50")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(no_seed.get("seed"), Some(&Value::Null));
        assert!(RandomInteger.import("15,1").await.is_err());
        assert!(RandomInteger.import("x,1,2").await.is_err());
    }

    #[tokio::test]
    async fn a_range_change_replaces_and_min_above_max_is_refused() {
        let c = |min: f64, max: f64| {
            Value::object([
                ("keepers", Value::Null),
                ("min", Value::Number(min)),
                ("max", Value::Number(max)),
                ("seed", Value::Null),
            ])
        };
        let made = RandomInteger
            .create(
                &RandomInteger
                    .plan(None, &c(1.0, 9.0))
                    .expect("plan")
                    .planned,
            )
            .await
            .expect("create");
        assert!(
            RandomInteger
                .plan(Some(&made), &c(1.0, 9.0))
                .expect("plan")
                .requires_replace
                .is_empty()
        );
        assert_eq!(
            RandomInteger
                .plan(Some(&made), &c(1.0, 10.0))
                .expect("plan")
                .requires_replace,
            vec!["max".to_string()]
        );
        assert!(RandomInteger.plan(None, &c(9.0, 1.0)).is_err());
    }
}
