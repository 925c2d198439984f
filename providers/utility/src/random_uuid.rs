//! `random_uuid`: 16 random bytes in the 8-4-4-4-12 hex form, as hashicorp/go-uuid makes
//! them (no version bits set). Imported by the UUID, which is written in lower case.

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::{Entropy, OsEntropy};
use crate::replace::keepers_replace;
use crate::values::{attr, kept, unknown_all, with};

pub struct RandomUuid;

const COMPUTED: [&str; 2] = ["id", "result"];

/// The 8-4-4-4-12 form of 16 bytes.
fn format_uuid(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The bytes of a UUID in the 8-4-4-4-12 form (either case).
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let dashes = [8, 13, 18, 23];
    if s.len() != 36
        || !s.char_indices().all(|(i, c)| {
            if dashes.contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    {
        return None;
    }
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    hex::decode(digits).ok()?.try_into().ok()
}

fn object(keepers: Value, uuid: &str) -> Value {
    Value::object([
        ("keepers", keepers),
        ("id", Value::string(uuid)),
        ("result", Value::string(uuid)),
    ])
}

#[async_trait]
impl ResourceType for RandomUuid {
    fn type_name(&self) -> &'static str {
        "random_uuid"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::new()
                .attr(
                    "keepers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                )
                .attr("id", Attribute::computed(AttrType::String))
                .attr("result", Attribute::computed(AttrType::String))
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let mut planned = Value::object([("keepers", attr(config, "keepers"))]);
        for name in COMPUTED {
            planned = with(planned, name, kept(prior, name));
        }
        let mut requires_replace = Vec::new();
        if let Some(prior) = prior
            && keepers_replace(&attr(prior, "keepers"), &attr(config, "keepers"))
        {
            requires_replace.push("keepers".to_string());
            planned = unknown_all(planned, &COMPUTED);
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let mut bytes = [0u8; 16];
        OsEntropy.fill(&mut bytes)?;
        Ok(object(attr(planned, "keepers"), &format_uuid(&bytes)))
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
        let bytes = parse_uuid(id).ok_or_else(|| {
            ProviderError::new(format!("the import id {id:?} is not a UUID"))
                .hint("import by the UUID in its 8-4-4-4-12 hex form")
        })?;
        Ok(Some(object(Value::Null, &format_uuid(&bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_uuid_has_the_hex_form_and_imports_in_lower_case() {
        let c = Value::object([("keepers", Value::Null)]);
        let made = RandomUuid
            .create(&RandomUuid.plan(None, &c).expect("plan").planned)
            .await
            .expect("create");
        let id = made.str_attr("result").expect("result");
        assert!(parse_uuid(id).is_some(), "{id}");
        assert_eq!(made.str_attr("id"), Some(id));
        let imported = RandomUuid
            .import("6A1B8E4C-0000-4D2E-9F00-AABBCCDDEEFF")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(
            imported.str_attr("result"),
            Some("6a1b8e4c-0000-4d2e-9f00-aabbccddeeff")
        );
        assert!(
            RandomUuid
                .import("6a1b8e4c00004d2e9f00aabbccddeeff")
                .await
                .is_err()
        );
    }
}
