//! `random_pet`: a name of `length` words joined by `separator` (default 2 and "-"): the
//! last word an animal, the one before it an adjective, any before those adverbs; after
//! the optional `prefix` and a separator. The name is the `id`. No import, as in the
//! provider. The words are forge's own short lists (`pet_words`).

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::{Entropy, OsEntropy};
use crate::pet_words::{ADJECTIVES, ADVERBS, ANIMALS};
use crate::replace::{differs, keepers_replace};
use crate::values::{attr, kept, or_default, text, whole, with};

pub struct RandomPet;

/// A name of `length` words.
pub(crate) fn pet_name(
    length: usize,
    separator: &str,
    source: &mut dyn Entropy,
) -> ProviderResult<String> {
    let mut pick = |list: &[&'static str]| -> ProviderResult<&'static str> {
        Ok(list[source.below(list.len() as u64)? as usize])
    };
    let mut words: Vec<&str> = Vec::with_capacity(length);
    for i in 0..length {
        let list = match length - i {
            1 => ANIMALS,
            2 => ADJECTIVES,
            _ => ADVERBS,
        };
        words.push(pick(list)?);
    }
    Ok(words.join(separator))
}

#[async_trait]
impl ResourceType for RandomPet {
    fn type_name(&self) -> &'static str {
        "random_pet"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::new()
                .attr(
                    "keepers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                )
                .attr(
                    "length",
                    Attribute::optional_computed(AttrType::Number)
                        .force_new()
                        .default(Value::Number(2.0)),
                )
                .attr("prefix", Attribute::optional(AttrType::String).force_new())
                .attr(
                    "separator",
                    Attribute::optional_computed(AttrType::String)
                        .force_new()
                        .default(Value::string("-")),
                )
                .attr("id", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(n) = whole(config, "length")?
            && n < 0
        {
            return Err(ProviderError::new(format!(
                "length must be at least 0, not {n}"
            )));
        }
        let planned = Value::object([
            ("keepers", attr(config, "keepers")),
            ("length", or_default(config, "length", Value::Number(2.0))),
            ("prefix", attr(config, "prefix")),
            (
                "separator",
                or_default(config, "separator", Value::string("-")),
            ),
            ("id", kept(prior, "id")),
        ]);
        let Some(prior) = prior else {
            return Ok(PlannedState {
                planned,
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace: Vec<String> = ["length", "prefix", "separator"]
            .into_iter()
            .filter(|n| differs(&attr(prior, n), &attr(&planned, n)))
            .map(String::from)
            .collect();
        if keepers_replace(&attr(prior, "keepers"), &attr(config, "keepers")) {
            requires_replace.push("keepers".to_string());
        }
        let planned = if requires_replace.is_empty() {
            planned
        } else {
            with(planned, "id", Value::Unknown)
        };
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let length = whole(planned, "length")?.unwrap_or(2).max(0) as usize;
        let separator = text(planned, "separator").unwrap_or("-").to_string();
        let name = pet_name(length, &separator, &mut OsEntropy)?;
        let id = match text(planned, "prefix") {
            Some(p) if !p.is_empty() => format!("{p}{separator}{name}"),
            _ => name,
        };
        Ok(Value::object([
            ("keepers", attr(planned, "keepers")),
            ("length", Value::Number(length as f64)),
            ("prefix", attr(planned, "prefix")),
            ("separator", Value::string(separator)),
            ("id", Value::string(id)),
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
        Err(
            ProviderError::new("random_pet cannot be imported (the provider has no import for it)")
                .hint("let forge create it: its name is drawn anew"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pet_has_its_words_in_order_after_the_prefix() {
        let c = Value::object([
            ("keepers", Value::Null),
            ("length", Value::Number(3.0)),
            ("prefix", Value::string("app")),
            ("separator", Value::string(".")),
        ]);
        let made = RandomPet
            .create(&RandomPet.plan(None, &c).expect("plan").planned)
            .await
            .expect("create");
        let id = made.str_attr("id").expect("id");
        let words: Vec<&str> = id.split('.').collect();
        assert_eq!(words.len(), 4, "{id}");
        assert_eq!(words[0], "app");
        assert!(ADVERBS.contains(&words[1]), "{id}");
        assert!(ADJECTIVES.contains(&words[2]), "{id}");
        assert!(ANIMALS.contains(&words[3]), "{id}");
        let defaults = Value::object([
            ("keepers", Value::Null),
            ("length", Value::Null),
            ("prefix", Value::Null),
            ("separator", Value::Null),
        ]);
        let two = RandomPet
            .create(&RandomPet.plan(None, &defaults).expect("plan").planned)
            .await
            .expect("create");
        assert_eq!(two.str_attr("id").expect("id").split('-').count(), 2);
        assert_eq!(two.get("separator"), Some(&Value::string("-")));
        let same = RandomPet.plan(Some(&two), &defaults).expect("plan");
        assert!(same.planned.same_as(&two) && same.requires_replace.is_empty());
    }
}
