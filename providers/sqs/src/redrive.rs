//! Redrive policies compared by meaning. SQS hands `RedrivePolicy` back re-spelled:
//! keys re-ordered and, depending on the service version, `maxReceiveCount` as a string
//! (`"5"`) where `jsonencode` wrote a number (`5`). Neither is a change.

use serde_json::Value as Json;

/// True when two redrive (or redrive-allow) policies mean the same.
pub fn redrives_equivalent(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Json>(a),
        serde_json::from_str::<Json>(b),
    ) {
        (Ok(x), Ok(y)) => numbers_as_numbers(x) == numbers_as_numbers(y),
        _ => a.trim() == b.trim(),
    }
}

/// The redrive policy to keep in state: the stored spelling when the live one means the
/// same, else the live one as SQS returned it.
pub fn redrive_for_state(stored: Option<&str>, live: &str) -> String {
    match stored {
        Some(stored) if redrives_equivalent(stored, live) => stored.to_string(),
        _ => live.to_string(),
    }
}

/// Strings that hold integers become numbers, recursively.
fn numbers_as_numbers(v: Json) -> Json {
    match v {
        Json::String(s) => match s.parse::<i64>() {
            Ok(n) => Json::from(n),
            Err(_) => Json::String(s),
        },
        Json::Array(xs) => Json::Array(xs.into_iter().map(numbers_as_numbers).collect()),
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| (k, numbers_as_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_number_counts_are_the_same_policy() {
        let ours = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":5}"#;
        let theirs =
            r#"{"maxReceiveCount": "5", "deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq"}"#;
        assert!(redrives_equivalent(ours, theirs));
        assert_eq!(redrive_for_state(Some(ours), theirs), ours);
    }

    #[test]
    fn a_different_count_or_target_is_drift() {
        let ours = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":5}"#;
        let count =
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":"6"}"#;
        let target =
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:other","maxReceiveCount":5}"#;
        assert!(!redrives_equivalent(ours, count));
        assert!(!redrives_equivalent(ours, target));
        assert_eq!(redrive_for_state(Some(ours), count), count);
    }

    #[test]
    fn unparsable_documents_compare_as_text() {
        assert!(redrives_equivalent("not json", " not json "));
        assert!(!redrives_equivalent("not json", "{}"));
    }
}
