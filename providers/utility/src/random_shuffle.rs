//! `random_shuffle`: `input` in a random order, `result_count` long (the input repeated,
//! each pass in its own order, when more are asked for than it has); the optional `seed`
//! makes the order repeat. `id` is "-". No import, as in the provider.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::for_seed;
use crate::replace::plan_keeping;
use crate::values::{attr, text, whole, with};

pub struct RandomShuffle;

const COMPUTED: [&str; 2] = ["id", "result"];

/// `count` elements of `input`, pass after pass of a fresh permutation.
pub(crate) fn shuffled(
    input: &[Value],
    count: usize,
    seed: Option<&str>,
) -> ProviderResult<Vec<Value>> {
    let mut out = Vec::with_capacity(count);
    if input.is_empty() {
        return Ok(out);
    }
    let mut source = for_seed(seed);
    while out.len() < count {
        for i in source.permutation(input.len())? {
            if out.len() == count {
                break;
            }
            out.push(input[i].clone());
        }
    }
    Ok(out)
}

#[async_trait]
impl ResourceType for RandomShuffle {
    fn type_name(&self) -> &'static str {
        "random_shuffle"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let strings = AttrType::List(Box::new(AttrType::String));
            Schema::new()
                .attr(
                    "keepers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                )
                .attr("seed", Attribute::optional(AttrType::String).force_new())
                .attr("input", Attribute::required(strings.clone()).force_new())
                .attr(
                    "result_count",
                    Attribute::optional(AttrType::Number).force_new(),
                )
                .attr("result", Attribute::computed(strings))
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(n) = whole(config, "result_count")?
            && n < 0
        {
            return Err(ProviderError::new(format!(
                "result_count must be at least 0, not {n}"
            )));
        }
        let planned = Value::object([
            ("keepers", attr(config, "keepers")),
            ("seed", attr(config, "seed")),
            ("input", attr(config, "input")),
            ("result_count", attr(config, "result_count")),
        ]);
        Ok(plan_keeping(
            prior,
            config,
            planned,
            &["seed", "input", "result_count"],
            &COMPUTED,
        ))
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let input = planned
            .get("input")
            .and_then(Value::as_seq)
            .ok_or_else(|| ProviderError::new("input is not known"))?;
        let count = whole(planned, "result_count")?.map_or(input.len(), |n| n.max(0) as usize);
        let result = shuffled(input, count, text(planned, "seed"))?;
        let mut out = with(planned.clone(), "result", Value::List(result));
        out = with(out, "id", Value::string("-"));
        Ok(out)
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
            "random_shuffle cannot be imported (the provider has no import for it)",
        )
        .hint("let forge create it: its result is a new shuffle"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<Value> {
        xs.iter().map(|s| Value::string(*s)).collect()
    }

    #[test]
    fn a_shuffle_is_a_permutation_repeats_passes_and_follows_its_seed() {
        let input = strings(&["a", "b", "c", "d"]);
        let mut once = shuffled(&input, 4, None).expect("shuffle");
        once.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(once, input);
        let more = shuffled(&input, 10, None).expect("shuffle");
        assert_eq!(more.len(), 10);
        // Each full pass holds every element once.
        let mut first_pass = more[..4].to_vec();
        first_pass.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(first_pass, input);
        assert_eq!(shuffled(&input, 2, None).expect("shuffle").len(), 2);
        assert_eq!(
            shuffled(&input, 4, Some("x")).expect("shuffle"),
            shuffled(&input, 4, Some("x")).expect("shuffle")
        );
        assert!(shuffled(&[], 3, None).expect("empty").is_empty());
    }
}
