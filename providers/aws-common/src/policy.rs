//! JSON policy documents compared by meaning, as Terraform's policy equivalence does.
//!
//! AWS hands policies back re-spelled: keys re-ordered, whitespace dropped, IAM even
//! URL-encodes them, and a one-element list may come back as a bare string. A policy is
//! only drift when its meaning changed, so read keeps the stored spelling when the live
//! document means the same.

use serde_json::Value as Json;

/// The text of a policy as AWS returned it: IAM URL-encodes documents (`%7B%22Version...`),
/// other services return plain JSON.
pub fn decode_policy(raw: &str) -> String {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('{') || !trimmed.starts_with('%') {
        return raw.to_string();
    }
    match percent_decode(raw) {
        Some(decoded) => decoded,
        None => raw.to_string(),
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                // Form encoding spells a space as '+'; a literal '+' arrives as %2B.
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// True when two policy documents mean the same: equal after both are normalised.
/// Documents that do not parse are equal only when their text is.
pub fn policies_equivalent(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Json>(a),
        serde_json::from_str::<Json>(b),
    ) {
        (Ok(x), Ok(y)) => normalise(&x) == normalise(&y),
        _ => a.trim() == b.trim(),
    }
}

/// The policy string to put in state after a read: the stored one when the live document
/// means the same (so the plan stays quiet), else the live one as AWS returned it.
pub fn policy_for_state(stored: Option<&str>, live: &str) -> String {
    let live = decode_policy(live);
    match stored {
        Some(stored) if policies_equivalent(stored, &live) => stored.to_string(),
        _ => live,
    }
}

/// In a plan, keeps the prior spelling of a policy when the configured one means the
/// same, so a re-formatted document is not a change (the provider's
/// `SuppressEquivalentPolicyDiffs` on every policy argument).
pub fn keep_equivalent_policy(
    planned: &mut forge_provider::Value,
    prior: Option<&forge_provider::Value>,
    attribute: &str,
) {
    let (Some(configured), Some(stored)) = (
        planned.str_attr(attribute),
        prior.and_then(|p| p.str_attr(attribute)),
    ) else {
        return;
    };
    if configured != stored && policies_equivalent(configured, stored) {
        let stored = stored.to_string();
        crate::values::set_attr(planned, attribute, forge_provider::Value::String(stored));
    }
}

/// A JSON document spelt as the provider's `NormalizeJsonString` spells what it records
/// for `aws_s3_bucket_policy` and `aws_sqs_queue_policy`: Go's encoder over the parsed
/// document, so compact, every object's keys sorted, and `<`, `>`, `&`, U+2028 and U+2029
/// escaped. Text that is not JSON is returned as it is (the provider records it so too).
/// Numbers keep serde_json's spelling, which differs from Go's only for exponents, never
/// seen in policies.
pub fn normalize_json_string(text: &str) -> String {
    match serde_json::from_str::<Json>(text) {
        Ok(doc) => go_escape(sorted_json(&doc)),
        Err(_) => text.to_string(),
    }
}

/// Go's JSON encoder escapes these inside strings; outside strings JSON has none of them.
fn go_escape(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A policy spelt as the provider's "legacy" IAM normalisation spells it (what it sends
/// for, and records of, inline role policies): compact JSON with `Version`, `Id` and
/// `Statement` first, in that order, then any other top-level key; every object inside
/// with its keys sorted. Text that is not a JSON object is returned as it is.
pub fn legacy_policy_normalize(text: &str) -> String {
    let Ok(Json::Object(doc)) = serde_json::from_str::<Json>(text) else {
        return text.to_string();
    };
    const FIRST: [&str; 3] = ["Version", "Id", "Statement"];
    let ordered = FIRST
        .iter()
        .filter_map(|k| doc.get(*k).map(|v| (*k, v)))
        .chain(
            doc.iter()
                .filter(|(k, _)| !FIRST.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        );
    let members: Vec<String> = ordered
        .map(|(k, v)| format!("{}:{}", Json::String(k.to_string()), sorted_json(v)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The canonical spelling of a JSON value: compact, with every object's keys in sorted
/// order whatever order the parsed map keeps (serde_json keeps insertion order when a
/// dependency enables `preserve_order`). The legacy spelling writes it, and the
/// equivalence orders the members of an array by it.
fn sorted_json(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Json::String(k.clone()), sorted_json(&m[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Json::Array(xs) => {
            let items: Vec<String> = xs.iter().map(sorted_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Checks a resource's policy argument at plan time: when set, it must be a JSON object.
/// The error names the resource and the argument and says how to build a document.
pub fn check_policy_attribute(
    resource: &str,
    config: &forge_provider::Value,
    attribute: &str,
) -> forge_provider::ProviderResult<()> {
    match config.str_attr(attribute) {
        // "" is how the provider records "no document" in state; a planned value that
        // carries it over from the prior state is not a document to check.
        Some(text) if !text.is_empty() => validate_policy_json(attribute, text).map_err(|msg| {
            forge_provider::ProviderError::new(format!("{resource}: {msg}"))
                .hint("build the document with jsonencode(...) or data.aws_iam_policy_document.<name>.json")
        }),
        _ => Ok(()),
    }
}

/// Checks that a policy is a JSON object, with a message saying where it breaks.
pub fn validate_policy_json(attribute: &str, text: &str) -> Result<(), String> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(_)) => Ok(()),
        Ok(other) => Err(format!(
            "`{attribute}` must be a JSON object, got a JSON {}",
            json_kind(&other)
        )),
        Err(e) => Err(format!(
            "`{attribute}` is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// The form two equivalent documents share: arrays treated as sets (in canonical order,
/// duplicates dropped) and a one-element array equal to its element, as IAM treats
/// `"Action": "s3:GetObject"` and `"Action": ["s3:GetObject"]` alike;
/// `"Principal": "*"` equals `{"AWS": "*"}`. Objects compare whatever their key order
/// (serde_json's map equality ignores it), and arrays are ordered by [`sorted_json`], so
/// key order never decides equivalence.
fn normalise(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, value)| {
                    let value = if (k == "Principal" || k == "NotPrincipal")
                        && value == &Json::String("*".into())
                    {
                        serde_json::json!({"AWS": "*"})
                    } else {
                        value.clone()
                    };
                    (k.clone(), normalise(&value))
                })
                .collect(),
        ),
        Json::Array(xs) => {
            let mut items: Vec<Json> = xs.iter().map(normalise).collect();
            items.sort_by_cached_key(sorted_json);
            items.dedup();
            if items.len() == 1 {
                items.pop().unwrap_or(Json::Null)
            } else {
                Json::Array(items)
            }
        }
        // Numbers and booleans in conditions are strings to IAM ("true" == true).
        Json::Bool(b) => Json::String(b.to_string()),
        Json::Number(n) => Json::String(n.to_string()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_reordered_policy_is_equivalent() {
        let stored = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let live = "%7B%22Statement%22%3A%5B%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Effect%22%3A%22Allow%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(policy_for_state(Some(stored), live), stored);
    }

    #[test]
    fn a_changed_action_is_not_equivalent() {
        let a = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]}"#;
        let b = r#"{"Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"*"}]}"#;
        let c = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}"#;
        assert!(policies_equivalent(a, b));
        assert!(!policies_equivalent(a, c));
        let live_changed = policy_for_state(Some(a), c);
        assert_eq!(live_changed, c);
    }

    #[test]
    fn statement_object_equals_one_element_list_and_star_principal() {
        let a = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*"}}"#;
        let b = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:*"]}]}"#;
        assert!(policies_equivalent(a, b));
    }

    #[test]
    fn statements_in_another_order_with_keys_reordered_are_equivalent() {
        let a = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#;
        let b = r#"{"Statement":[{"Resource":"*","Action":"s3:DeleteObject","Effect":"Deny"},{"Resource":"*","Effect":"Allow","Action":["s3:GetObject"]}]}"#;
        let c = r#"{"Statement":[{"Resource":"*","Action":"s3:DeleteObject","Effect":"Allow"},{"Resource":"*","Effect":"Allow","Action":["s3:GetObject"]}]}"#;
        assert!(policies_equivalent(a, b));
        assert!(!policies_equivalent(a, c));
    }

    #[test]
    fn normalized_json_is_compact_sorted_and_go_escaped() {
        let indented = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"a<b\", \"Effect\": \"Allow\"}\n  ]\n}";
        assert_eq!(
            normalize_json_string(indented),
            r#"{"Statement":[{"Effect":"Allow","Sid":"a\u003cb"}],"Version":"2012-10-17"}"#
        );
        assert_eq!(normalize_json_string("not json"), "not json");
    }

    #[test]
    fn an_equivalent_configured_policy_keeps_the_stored_spelling() {
        use forge_provider::Value;
        let stored = r#"{"Statement":[{"Action":"s3:*","Effect":"Deny"}],"Version":"2012-10-17"}"#;
        let prior = Value::object([("policy", Value::string(stored))]);
        let mut planned = Value::object([(
            "policy",
            Value::string(
                "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Deny\", \"Action\": [\"s3:*\"]}]\n}",
            ),
        )]);
        keep_equivalent_policy(&mut planned, Some(&prior), "policy");
        assert_eq!(planned.str_attr("policy"), Some(stored));
        let mut changed = Value::object([(
            "policy",
            Value::string(
                r#"{"Statement":[{"Action":"s3:*","Effect":"Allow"}],"Version":"2012-10-17"}"#,
            ),
        )]);
        keep_equivalent_policy(&mut changed, Some(&prior), "policy");
        assert_ne!(changed.str_attr("policy"), Some(stored));
    }

    #[test]
    fn plain_json_is_left_alone_by_decode() {
        assert_eq!(decode_policy("{\"a\":\"50%\"}"), "{\"a\":\"50%\"}");
        assert_eq!(decode_policy("%7B%7D"), "{}");
    }

    #[test]
    fn invalid_policy_names_line_and_column() {
        let err = validate_policy_json("policy", "{\"Version\": }").unwrap_err();
        assert!(
            err.contains("not valid JSON") && err.contains("line 1"),
            "{err}"
        );
        assert!(
            validate_policy_json("policy", "[]")
                .unwrap_err()
                .contains("JSON object")
        );
    }

    #[test]
    fn a_policy_argument_is_checked_with_the_resource_named() {
        use forge_provider::Value;
        let bad = Value::object([("policy", Value::string("{\"Version\": "))]);
        let err =
            check_policy_attribute("aws_s3_bucket_policy", &bad, "policy").expect_err("not JSON");
        assert!(
            err.to_string()
                .contains("aws_s3_bucket_policy: `policy` is not valid JSON"),
            "{err}"
        );
        assert!(
            check_policy_attribute("r", &Value::object([("policy", Value::Null)]), "policy")
                .is_ok(),
            "unset is fine"
        );
        assert!(
            check_policy_attribute(
                "r",
                &Value::object([("policy", Value::string("{}"))]),
                "policy"
            )
            .is_ok()
        );
    }

    #[test]
    fn legacy_normalisation_puts_version_first_and_sorts_the_rest() {
        let config = r#"{"Statement":[{"Resource":"*","Effect":"Allow","Action":"sqs:SendMessage"}],"Version":"2012-10-17"}"#;
        assert_eq!(
            legacy_policy_normalize(config),
            r#"{"Version":"2012-10-17","Statement":[{"Action":"sqs:SendMessage","Effect":"Allow","Resource":"*"}]}"#
        );
        assert_eq!(legacy_policy_normalize("not json"), "not json");
        assert!(policies_equivalent(
            config,
            &legacy_policy_normalize(config)
        ));
    }
}
