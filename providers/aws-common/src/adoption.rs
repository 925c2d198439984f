//! What every service shares in answering `ResourceType::find_created` (the object a
//! create whose answer never arrived made): the configured name it is looked up by, the
//! creation time AWS reports, and the finding.

use std::time::SystemTime;

use forge_provider::{Finding, Found, FoundBy, Value};

/// The name the configuration gives in `attribute`, when known before the create (a name
/// made up at create time from a prefix cannot be looked up).
pub fn configured_name(planned: &Value, attribute: &str) -> Option<String> {
    planned
        .get(attribute)
        .filter(|v| v.is_wholly_known())
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// A creation date as AWS reports it.
pub fn creation_time(date: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    date.and_then(|d| SystemTime::try_from(*d).ok())
}

/// The finding for an object looked up by name: absent, or found with when it was made.
pub fn found_by_name(
    id: impl Into<String>,
    object: Option<Value>,
    created: Option<SystemTime>,
) -> Finding {
    match object {
        None => Finding::Absent,
        Some(object) => Finding::Found(Found {
            object,
            created,
            by: FoundBy::Name,
            id: id.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_non_empty_name_is_looked_up() {
        let planned = Value::object([
            ("name", Value::string("app")),
            ("empty", Value::string("")),
            ("later", Value::Unknown),
        ]);
        assert_eq!(configured_name(&planned, "name").as_deref(), Some("app"));
        assert_eq!(configured_name(&planned, "empty"), None);
        assert_eq!(configured_name(&planned, "later"), None);
        assert_eq!(configured_name(&planned, "missing"), None);
    }

    #[test]
    fn creation_dates_convert_and_absence_is_absent() {
        let d = aws_smithy_types::DateTime::from_secs(1_700_000_000);
        assert_eq!(
            creation_time(Some(&d)),
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        );
        assert_eq!(found_by_name("x", None, None), Finding::Absent);
    }
}
