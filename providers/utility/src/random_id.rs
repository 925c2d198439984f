//! `random_id`: `byte_length` random bytes, shown as base64 (URL-safe without padding, and
//! standard), hex and decimal, each after the optional `prefix`; `id` is the URL-safe form
//! without the prefix. Imported by `b64_url` (or `prefix,b64_url`).

use std::sync::OnceLock;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::entropy::{Entropy, OsEntropy};
use crate::replace::plan_keeping;
use crate::values::{attr, text, whole};

const COMPUTED: [&str; 5] = ["id", "b64_url", "b64_std", "hex", "dec"];

pub struct RandomId;

impl RandomId {
    /// The object for `bytes` with `prefix`.
    fn object(keepers: Value, prefix: Option<&str>, bytes: &[u8]) -> Value {
        let p = prefix.unwrap_or("");
        let id = URL_SAFE_NO_PAD.encode(bytes);
        Value::object([
            ("keepers", keepers),
            ("byte_length", Value::Number(bytes.len() as f64)),
            ("prefix", prefix.map_or(Value::Null, Value::string)),
            ("b64_url", Value::string(format!("{p}{id}"))),
            (
                "b64_std",
                Value::string(format!("{p}{}", STANDARD.encode(bytes))),
            ),
            ("hex", Value::string(format!("{p}{}", hex::encode(bytes)))),
            ("dec", Value::string(format!("{p}{}", decimal(bytes)))),
            ("id", Value::string(id)),
        ])
    }
}

/// The bytes read as one big-endian unsigned number, in decimal ("0" for none).
pub(crate) fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // least significant first
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            let x = (*d as u32) * 256 + carry;
            *d = (x % 10) as u8;
            carry = x / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    if digits.is_empty() {
        return "0".to_string();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[async_trait]
impl ResourceType for RandomId {
    fn type_name(&self) -> &'static str {
        "random_id"
    }

    fn schema(&self) -> &Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            COMPUTED.iter().fold(
                Schema::new()
                    .attr(
                        "keepers",
                        Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                    )
                    .attr(
                        "byte_length",
                        Attribute::required(AttrType::Number).force_new(),
                    )
                    .attr("prefix", Attribute::optional(AttrType::String).force_new()),
                |s, name| s.attr(name, Attribute::computed(AttrType::String)),
            )
        })
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(n) = whole(config, "byte_length")?
            && n < 1
        {
            return Err(ProviderError::new(format!(
                "byte_length must be at least 1, not {n}"
            )));
        }
        let planned = Value::object([
            ("keepers", attr(config, "keepers")),
            ("byte_length", attr(config, "byte_length")),
            ("prefix", attr(config, "prefix")),
        ]);
        Ok(plan_keeping(
            prior,
            config,
            planned,
            &["byte_length", "prefix"],
            &COMPUTED,
        ))
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let n = whole(planned, "byte_length")?
            .ok_or_else(|| ProviderError::new("byte_length is not known"))?;
        let mut bytes = vec![0u8; n.max(0) as usize];
        OsEntropy.fill(&mut bytes)?;
        Ok(Self::object(
            attr(planned, "keepers"),
            text(planned, "prefix"),
            &bytes,
        ))
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
        let (prefix, encoded) = match id.rfind(',') {
            Some(i) => (Some(&id[..i]), &id[i + 1..]),
            None => (None, id),
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|e| {
            ProviderError::new(format!(
                "the import id {id:?} is not a random_id's b64_url: {e}"
            ))
            .hint("import by b64_url (URL-safe base64 without padding), or prefix,b64_url")
        })?;
        let prefix = prefix.filter(|p| !p.is_empty());
        Ok(Some(Self::object(Value::Null, prefix, &bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(len: f64, prefix: Value) -> Value {
        Value::object([
            ("keepers", Value::Null),
            ("byte_length", Value::Number(len)),
            ("prefix", prefix),
        ])
    }

    #[test]
    fn decimal_reads_big_endian_bytes() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0, 0]), "0");
        assert_eq!(decimal(&[1, 0]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        assert_eq!(
            decimal(&[1, 0, 0, 0, 0, 0, 0, 0, 0]),
            "18446744073709551616"
        );
    }

    #[tokio::test]
    async fn the_forms_encode_the_same_bytes_after_the_prefix() {
        let planned = RandomId
            .plan(None, &config(8.0, Value::string("app-")))
            .expect("plan");
        let made = RandomId.create(&planned.planned).await.expect("create");
        let id = made.str_attr("id").expect("id");
        let bytes = URL_SAFE_NO_PAD.decode(id).expect("b64url");
        assert_eq!(bytes.len(), 8);
        assert_eq!(made.str_attr("b64_url"), Some(format!("app-{id}").as_str()));
        assert_eq!(
            made.str_attr("hex"),
            Some(format!("app-{}", hex::encode(&bytes)).as_str())
        );
        assert_eq!(
            made.str_attr("b64_std"),
            Some(format!("app-{}", STANDARD.encode(&bytes)).as_str())
        );
        let dec = u64::from_be_bytes(bytes.clone().try_into().expect("8 bytes"));
        assert_eq!(made.str_attr("dec"), Some(format!("app-{dec}").as_str()));
        // Import by prefix,b64_url gives the same object.
        let imported = RandomId
            .import(&format!("app-,{id}"))
            .await
            .expect("import")
            .expect("some");
        assert!(imported.same_as(&made), "{imported:?}\n{made:?}");
        assert!(RandomId.import("not base64!").await.is_err());
    }

    #[tokio::test]
    async fn a_prefix_change_replaces_and_no_change_keeps_the_id() {
        let c = config(4.0, Value::Null);
        let made = RandomId
            .create(&RandomId.plan(None, &c).expect("plan").planned)
            .await
            .expect("create");
        let same = RandomId.plan(Some(&made), &c).expect("plan");
        assert!(same.planned.same_as(&made));
        let other = RandomId
            .plan(Some(&made), &config(4.0, Value::string("x")))
            .expect("plan");
        assert_eq!(other.requires_replace, vec!["prefix".to_string()]);
        assert!(RandomId.plan(None, &config(0.0, Value::Null)).is_err());
    }
}
