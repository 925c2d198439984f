//! Assuming a role for the state backend: Terraform's `assume_role = {...}` object and
//! the older top-level `role_arn`, `session_name`, `external_id`, ... settings.

use std::collections::BTreeMap;
use std::time::Duration;

use forge_aws_common::provider_block::parse_duration;
use forge_provider::Value;

use super::config::Reader;

/// The role to assume before touching the bucket and table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSettings {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration: Option<Duration>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// Keys of the `assume_role` object.
const ASSUME_ROLE_KEYS: &[&str] = &[
    "role_arn",
    "session_name",
    "external_id",
    "duration",
    "policy",
    "policy_arns",
    "tags",
    "transitive_tag_keys",
    "source_identity",
];

/// The role settings of a backend config, `None` when no role is to be assumed.
pub fn read(top: &Reader<'_>) -> Result<Option<RoleSettings>, String> {
    let block = top.present("assume_role")?;
    let legacy = top.string("role_arn")?;
    match (block, legacy) {
        (Some(_), Some(_)) => Err(
            "remote_state config: both `assume_role` and `role_arn` are set; keep `assume_role = { role_arn = \"...\" }` only"
                .to_string(),
        ),
        (Some(block), None) => read_block(block).map(Some),
        (None, Some(role_arn)) => read_legacy(top, role_arn).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_block(block: &Value) -> Result<RoleSettings, String> {
    let object = match block.as_seq() {
        Some([first]) => first,
        Some(_) => {
            return Err(
                "remote_state config.assume_role: write one object, { role_arn = \"...\" }"
                    .to_string(),
            );
        }
        None => block,
    };
    let Some(map) = object.as_map() else {
        return Err(format!(
            "remote_state config.assume_role: expected an object such as {{ role_arn = \"arn:aws:iam::...:role/...\" }}, found a {}",
            object.kind_name()
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !ASSUME_ROLE_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "remote_state config.assume_role.{unknown}: assume_role has no setting named `{unknown}` (settings: {})",
            ASSUME_ROLE_KEYS.join(", ")
        ));
    }
    let reader = Reader {
        map,
        prefix: "config.assume_role",
    };
    let duration = match reader.string("duration")? {
        Some(text) => Some(parse_duration(&text).ok_or_else(|| {
            format!("remote_state config.assume_role.duration = {text:?}: write a duration such as \"1h\", \"45m\" or \"900s\"")
        })?),
        None => None,
    };
    Ok(RoleSettings {
        role_arn: reader.required_string("role_arn")?,
        session_name: reader.string("session_name")?,
        external_id: reader.string("external_id")?,
        duration,
        policy: reader.string("policy")?,
        policy_arns: string_list(&reader, "policy_arns")?,
        tags: reader.string_map("tags")?,
    })
}

fn read_legacy(top: &Reader<'_>, role_arn: String) -> Result<RoleSettings, String> {
    let duration = match top.present("assume_role_duration_seconds")? {
        Some(v) => match v.as_i64() {
            Some(secs) if secs > 0 => Some(Duration::from_secs(secs as u64)),
            _ => {
                return Err("remote_state config.assume_role_duration_seconds: expected a positive whole number of seconds".to_string());
            }
        },
        None => None,
    };
    Ok(RoleSettings {
        role_arn,
        session_name: top.string("session_name")?,
        external_id: top.string("external_id")?,
        duration,
        policy: top.string("assume_role_policy")?,
        policy_arns: string_list(top, "assume_role_policy_arns")?,
        tags: top.string_map("assume_role_tags")?,
    })
}

pub(super) fn string_list(reader: &Reader<'_>, key: &str) -> Result<Vec<String>, String> {
    let Some(v) = reader.present(key)? else {
        return Ok(Vec::new());
    };
    let Some(items) = v.as_seq() else {
        return Err(format!(
            "remote_state {}.{key}: expected a list of strings, found a {}",
            reader.prefix,
            v.kind_name()
        ));
    };
    items
        .iter()
        .map(|item| {
            item.as_str().map(str::to_string).ok_or_else(|| {
                format!(
                    "remote_state {}.{key}: expected a list of strings, found a {} in it",
                    reader.prefix,
                    item.kind_name()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_value(v: Value) -> Result<Option<RoleSettings>, String> {
        let map = v.as_map().cloned().unwrap_or_default();
        read(&Reader {
            map: &map,
            prefix: "config",
        })
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("900s"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("15"), None);
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(
            parse_duration("99999999999999999999h"),
            None,
            "too large is refused"
        );
        assert_eq!(
            parse_duration("9999999999999999h"),
            None,
            "an overflow is refused"
        );
    }

    #[test]
    fn assume_role_object() {
        let role = read_value(Value::object([(
            "assume_role",
            Value::object([
                ("role_arn", Value::string("arn:aws:iam::1:role/state")),
                ("session_name", Value::string("forge")),
                ("duration", Value::string("1h")),
                (
                    "policy_arns",
                    Value::Tuple(vec![Value::string(
                        "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    )]),
                ),
            ]),
        )]))
        .expect("valid")
        .expect("a role");
        assert_eq!(role.role_arn, "arn:aws:iam::1:role/state");
        assert_eq!(role.session_name.as_deref(), Some("forge"));
        assert_eq!(role.duration, Some(Duration::from_secs(3600)));
        assert_eq!(role.policy_arns, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    }

    #[test]
    fn legacy_role_settings() {
        let role = read_value(Value::object([
            ("role_arn", Value::string("arn:aws:iam::1:role/state")),
            ("external_id", Value::string("xyz")),
            ("assume_role_duration_seconds", Value::Number(1800.0)),
        ]))
        .expect("valid")
        .expect("a role");
        assert_eq!(role.external_id.as_deref(), Some("xyz"));
        assert_eq!(role.duration, Some(Duration::from_secs(1800)));
    }

    #[test]
    fn errors_name_the_setting() {
        let e = read_value(Value::object([(
            "assume_role",
            Value::object([("session_name", Value::string("x"))]),
        )]))
        .expect_err("no role_arn");
        assert!(e.contains("config.assume_role.role_arn"), "{e}");
        let e = read_value(Value::object([(
            "assume_role",
            Value::object([
                ("role_arn", Value::string("a")),
                ("duration", Value::string("soon")),
            ]),
        )]))
        .expect_err("bad duration");
        assert!(
            e.contains("config.assume_role.duration") && e.contains("\"soon\""),
            "{e}"
        );
        let e = read_value(Value::object([(
            "assume_role",
            Value::object([("rolearn", Value::string("a"))]),
        )]))
        .expect_err("misspelt");
        assert!(e.contains("config.assume_role.rolearn"), "{e}");
        let e = read_value(Value::object([
            (
                "assume_role",
                Value::object([("role_arn", Value::string("a"))]),
            ),
            ("role_arn", Value::string("b")),
        ]))
        .expect_err("both");
        assert!(e.contains("both"), "{e}");
    }
}
