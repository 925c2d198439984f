//! A value on one line, as Terraform writes one in plans and messages: strings quoted,
//! map keys bare when they are identifiers, `(sensitive value)` and `(known after apply)`
//! for what must not or cannot be shown. The engine's messages (failed conditions) and the
//! plan text (forge-render) both use it.

use forge_provider::Value;

/// A value on one line.
pub fn inline(v: &Value) -> String {
    match v {
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => forge_provider::value::number_to_json(*n).to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
            format!("[{}]", xs.iter().map(inline).collect::<Vec<_>>().join(", "))
        }
        Value::Object(m) | Value::Map(m) => {
            format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, x)| format!("{} = {}", key_text(k), inline(x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// A map key as Terraform writes it: bare when it is an identifier, quoted otherwise.
pub fn key_text(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !k.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        k.to_string()
    } else {
        serde_json::Value::String(k.to_string()).to_string()
    }
}
