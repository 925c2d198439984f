//! The lock description Terraform stores (the DynamoDB item's `Info`, the body of the S3
//! `.tflock` object): a JSON object with Go's field names, in Go's field order.

use forge_provider::{LockInfo, LockProcess};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Default)]
struct Wire {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Operation", default)]
    operation: String,
    #[serde(rename = "Info", default)]
    info: String,
    #[serde(rename = "Who", default)]
    who: String,
    #[serde(rename = "Version", default)]
    version: String,
    #[serde(rename = "Created", default)]
    created: String,
    #[serde(rename = "Path", default)]
    path: String,
    /// forge's own member (`forge_provider::LOCK_PROCESS_MEMBER`), after Terraform's.
    #[serde(
        rename = "ForgeProcess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    process: Option<LockProcess>,
}

/// The JSON Terraform writes for a lock.
pub fn to_json(info: &LockInfo) -> String {
    let wire = Wire {
        id: info.id.clone(),
        operation: info.operation.clone(),
        info: info.info.clone(),
        who: info.who.clone(),
        version: info.version.clone(),
        created: info.created.clone(),
        path: info.path.clone(),
        process: info.process.as_deref().cloned(),
    };
    // Serializing a struct of strings cannot fail; fall back to an empty object anyway
    // rather than panic.
    serde_json::to_string(&wire).unwrap_or_else(|_| "{}".to_string())
}

/// Reads a lock written by Terraform or forge. A body that is not such JSON still names
/// a holder: its text goes into `info`, so that the user sees what holds the lock.
pub fn from_json(text: &str, path: &str) -> LockInfo {
    match serde_json::from_str::<Wire>(text) {
        Ok(w) => LockInfo {
            id: w.id,
            operation: w.operation,
            info: w.info,
            who: w.who,
            version: w.version,
            created: w.created,
            path: if w.path.is_empty() {
                path.to_string()
            } else {
                w.path
            },
            process: w.process.map(Box::new),
            // The lease is an attribute of the lock item beside this JSON, read with it.
            lease: None,
        },
        Err(_) => LockInfo {
            id: String::new(),
            operation: String::new(),
            info: format!(
                "unreadable lock info: {}",
                text.chars().take(200).collect::<String>()
            ),
            who: "unknown".to_string(),
            version: String::new(),
            created: String::new(),
            path: path.to_string(),
            process: None,
            lease: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_terraform_field_names_in_go_order() {
        let info = LockInfo {
            id: "1b0c".into(),
            operation: "OperationTypeApply".into(),
            info: "".into(),
            who: "root@vm".into(),
            version: "1.11.4".into(),
            created: "2026-11-25T21:07:10.123456789Z".into(),
            path: "b/k".into(),
            process: None,
            lease: None,
        };
        assert_eq!(
            to_json(&info),
            r#"{"ID":"1b0c","Operation":"OperationTypeApply","Info":"","Who":"root@vm","Version":"1.11.4","Created":"2026-11-25T21:07:10.123456789Z","Path":"b/k"}"#
        );
        assert_eq!(from_json(&to_json(&info), "other"), info);
    }

    #[test]
    fn the_holding_process_follows_terraform_s_fields_and_round_trips() {
        let info = LockInfo {
            id: "1b0c".into(),
            path: "b/k".into(),
            process: Some(Box::new(LockProcess {
                host: "ci-7".into(),
                boot_id: "b9e1".into(),
                pid_namespace: "pid:[4026531836]".into(),
                pid: 4242,
                start_time: 123456,
            })),
            ..LockInfo::default()
        };
        let json = to_json(&info);
        assert!(
            json.ends_with(r#""Path":"b/k","ForgeProcess":{"Host":"ci-7","BootID":"b9e1","PIDNamespace":"pid:[4026531836]","PID":4242,"StartTime":123456}}"#),
            "{json}"
        );
        assert_eq!(from_json(&json, "other"), info);
        // Terraform's lock has none.
        let terraform = r#"{"ID":"x","Operation":"OperationTypeApply","Info":"","Who":"me@vm","Version":"1.11.4","Created":"2026-11-25T21:07:10Z","Path":"b/k"}"#;
        assert_eq!(from_json(terraform, "b/k").process, None);
    }

    #[test]
    fn unreadable_lock_still_names_something() {
        let l = from_json("not json", "b/k");
        assert_eq!(l.path, "b/k");
        assert!(l.info.contains("not json"));
    }
}
