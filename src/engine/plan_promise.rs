//! What a reviewed plan promises, so that `forge apply FILE` performs exactly that: for
//! each change the plan shows, its action and a digest of every known value of the object
//! before and after (by path: never the value itself, so a saved plan holds no secret).
//! Applying re-plans the unit under its lock first; the new plan keeps the promise when
//! it has the same changes and every value known at review is the same now. A value
//! unknown at review (an output of a unit applied first) may be anything.
//!
//! The digests are keyed (HMAC-SHA-256 under the plan key, with a salt of the plan's
//! own), so that a digest of a secret with little entropy (a short password, a port)
//! cannot be found by trying values against the plan file: the key is not in the file.
//! It is `FORGE_PLAN_KEY` when set (the same value at plan and at apply, for a plan
//! applied on another machine), else a random key kept in the environment folder's
//! `.forge/plan.key`, private to the user. The file records the key's id, so a plan
//! applied with another key is refused as such rather than as stale.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Action, EngineError, ErrorKind, UnitPlan};
use forge_provider::Value;

/// The variable that gives the plan key (any text of 16 characters or more).
pub const PLAN_KEY_VARIABLE: &str = "FORGE_PLAN_KEY";
const PLAN_KEY_FILE: &str = "plan.key";
const MINIMUM_PLAN_KEY_LENGTH: usize = 16;
const SALT_LENGTH: usize = 16;

/// How a plan's values are digested: HMAC-SHA-256 under the plan key, over the plan's
/// salt and the value. Debug never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PromiseDigest {
    key: Vec<u8>,
    salt: Vec<u8>,
}

impl std::fmt::Debug for PromiseDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromiseDigest")
            .field("key_id", &self.key_id())
            .field("salt", &hex::encode(&self.salt))
            .finish()
    }
}

/// A reviewed plan's promises for one unit, with how their digests were made.
#[derive(Clone, Debug, PartialEq)]
pub struct Promised {
    pub digest: PromiseDigest,
    pub changes: BTreeMap<String, ChangePromise>,
}

impl PromiseDigest {
    /// For a new plan of the environment in `dir`: the plan key (made on first use) and a
    /// fresh salt.
    pub fn for_new_plan(dir: &Path) -> Result<Self, EngineError> {
        let key = plan_key(dir, true)?;
        let mut salt = vec![0u8; SALT_LENGTH];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| {
            EngineError::new(ErrorKind::Internal, "no random data for the plan's salt")
        })?;
        Ok(PromiseDigest { key, salt })
    }

    /// For a saved plan of `dir`: its salt, and the plan key, which must be the one its
    /// digests were made with (`key_id`).
    pub fn for_saved(dir: &Path, salt_hex: &str, key_id: &str) -> Result<Self, EngineError> {
        let salt = hex::decode(salt_hex).ok().filter(|s| !s.is_empty()).ok_or_else(|| {
            EngineError::new(
                ErrorKind::Request,
                "the saved plan holds no keyed digests (it was saved by an earlier forge), so what it promised cannot be checked",
            )
            .hint("make the plan again with forge plan <env> -out FILE")
        })?;
        let key = plan_key(dir, false)?;
        let digest = PromiseDigest { key, salt };
        if digest.key_id() != key_id {
            return Err(EngineError::new(
                ErrorKind::Request,
                "the saved plan's digests were made with another plan key, so what it promised cannot be checked; nothing was applied",
            )
            .hint(format!(
                "apply it where it was made, or set {PLAN_KEY_VARIABLE} to the value it had when the plan was made"
            )));
        }
        Ok(digest)
    }

    pub fn salt_hex(&self) -> String {
        hex::encode(&self.salt)
    }

    /// Names the key without revealing it (a keyed digest of a fixed text).
    pub fn key_id(&self) -> String {
        let mac = self.mac(b"forge plan key id");
        mac[..16].to_string()
    }

    fn digest(&self, text: &str) -> String {
        let mut message = self.salt.clone();
        message.push(0);
        message.extend_from_slice(text.as_bytes());
        self.mac(&message)
    }

    fn mac(&self, message: &[u8]) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.key);
        hex::encode(aws_lc_rs::hmac::sign(&key, message).as_ref())
    }
}

/// The plan key: from `FORGE_PLAN_KEY`, else `<dir>/.forge/plan.key` (made when `create`
/// and missing: 32 random bytes, 0600 in a 0700 folder).
fn plan_key(dir: &Path, create: bool) -> Result<Vec<u8>, EngineError> {
    if let Ok(text) = std::env::var(PLAN_KEY_VARIABLE) {
        if text.chars().count() < MINIMUM_PLAN_KEY_LENGTH {
            return Err(EngineError::new(
                ErrorKind::Request,
                format!("{PLAN_KEY_VARIABLE} is too short (minimum {MINIMUM_PLAN_KEY_LENGTH} characters)"),
            )
            .hint("use a long random value, kept as a secret of the pipeline that plans and applies"));
        }
        return Ok(Sha256::digest(text.as_bytes()).to_vec());
    }
    let folder = dir.join(".forge");
    let path = folder.join(PLAN_KEY_FILE);
    let failed = |what: &str, e: std::io::Error| {
        EngineError::new(
            ErrorKind::Backend,
            format!("cannot {what} the plan key {}", path.display()),
        )
        .cause(e.to_string())
        .hint(format!("or set {PLAN_KEY_VARIABLE}"))
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return hex::decode(text.trim())
                .ok()
                .filter(|k| k.len() == 32)
                .ok_or_else(|| {
                    EngineError::new(
                        ErrorKind::Backend,
                        format!("the plan key {} is damaged", path.display()),
                    )
                    .hint("remove it (plans saved with it can then no longer be applied) or set FORGE_PLAN_KEY")
                });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::new(
                ErrorKind::Request,
                format!("there is no plan key at {}, so what the saved plan promised cannot be checked; nothing was applied", path.display()),
            )
            .hint(format!(
                "apply the plan where it was made, or set {PLAN_KEY_VARIABLE} as when it was made"
            )));
        }
        Err(e) => return Err(failed("read", e)),
    }
    let mut key = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut key)
        .map_err(|_| EngineError::new(ErrorKind::Internal, "no random data for the plan key"))?;
    crate::private_file::create_private_dir(&folder).map_err(|e| failed("write", e))?;
    // A plan made at the same time may have made the key first: keep the one written.
    match crate::private_file::create_new_private(&path) {
        Ok(mut file) => {
            use std::io::Write as _;
            file.write_all(hex::encode(&key).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| failed("write", e))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => plan_key(dir, false),
        Err(e) => Err(failed("write", e)),
    }
}

/// The promise about one change: its action and the digests of its known values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangePromise {
    pub action: Action,
    /// Path (`tags.Name`, `ingress[0].port`) to the digest of the value there.
    #[serde(default)]
    pub before: BTreeMap<String, String>,
    #[serde(default)]
    pub after: BTreeMap<String, String>,
}

/// The promises of a unit's plan, by instance address: every change the plan shows.
pub fn promises(plan: &UnitPlan, digest: &PromiseDigest) -> BTreeMap<String, ChangePromise> {
    plan.changes
        .iter()
        .filter(|c| c.is_visible())
        .map(|c| {
            (
                c.addr.to_string(),
                ChangePromise {
                    action: c.action,
                    before: c
                        .before
                        .as_ref()
                        .map(|v| digests(v, digest))
                        .unwrap_or_default(),
                    after: c
                        .after
                        .as_ref()
                        .map(|v| digests(v, digest))
                        .unwrap_or_default(),
                },
            )
        })
        .collect()
}

/// How a new plan breaks the promises of a reviewed one, one sentence each (empty when
/// it keeps them). Knowing more at apply time may turn a planned replacement into an
/// update, never the reverse.
pub fn broken(
    reviewed: &BTreeMap<String, ChangePromise>,
    now: &BTreeMap<String, ChangePromise>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (addr, promised) in reviewed {
        let Some(planned) = now.get(addr) else {
            out.push(format!(
                "{addr}: the plan said {:?}, and now nothing is to be done",
                promised.action
            ));
            continue;
        };
        let was = promised.action;
        let compatible = was == planned.action
            || (was.is_replace()
                && (planned.action.is_replace() || planned.action == Action::Update));
        if !compatible {
            out.push(format!(
                "{addr}: the plan said {was:?}, and now it needs {:?}",
                planned.action
            ));
            continue;
        }
        for (side, promised, planned) in [
            (
                "the object as it was read",
                &promised.before,
                &planned.before,
            ),
            ("the planned value", &promised.after, &planned.after),
        ] {
            let changed: Vec<&str> = promised
                .iter()
                .filter(|(path, digest)| planned.get(*path) != Some(*digest))
                .map(|(path, _)| path.as_str())
                .collect();
            if !changed.is_empty() {
                out.push(format!("{addr}: {side} differs at {}", changed.join(", ")));
            }
        }
    }
    for (addr, planned) in now {
        if !reviewed.contains_key(addr) {
            out.push(format!(
                "{addr}: not in the plan, and now it needs {:?}",
                planned.action
            ));
        }
    }
    out
}

/// Every known leaf of a value by its path, as a digest.
fn digests(v: &Value, digest: &PromiseDigest) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out, digest);
    out
}

fn walk(v: &Value, path: String, out: &mut BTreeMap<String, String>, d: &PromiseDigest) {
    let digest_text = |text: &str| d.digest(text);
    let v = v.unmarked();
    match v {
        Value::Unknown => {}
        Value::Object(m) | Value::Map(m) => {
            out.insert(
                format!("{path}#keys"),
                digest_text(&m.keys().cloned().collect::<Vec<_>>().join("\u{0}")),
            );
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(x, p, out, d);
            }
        }
        Value::Tuple(xs) | Value::List(xs) => {
            out.insert(format!("{path}#len"), digest_text(&xs.len().to_string()));
            for (i, x) in xs.iter().enumerate() {
                walk(x, format!("{path}[{i}]"), out, d);
            }
        }
        // A set has no order: one digest of its elements' sorted digests, when all known.
        Value::Set(xs) => {
            if v.is_wholly_known() {
                let mut each: Vec<String> = xs.iter().map(|x| digest_text(&canonical(x))).collect();
                each.sort();
                out.insert(path, digest_text(&each.join(",")));
            }
        }
        leaf => {
            out.insert(path, digest_text(&canonical(leaf)));
        }
    }
}

/// A value's canonical text (marks dropped), for digests only.
fn canonical(v: &Value) -> String {
    match v.unmarked() {
        Value::Null => "null".into(),
        Value::Unknown => "?".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => forge_provider::value::number_to_json(*n).to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Tuple(xs) | Value::List(xs) => {
            format!(
                "[{}]",
                xs.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        Value::Set(xs) => {
            let mut each: Vec<String> = xs.iter().map(canonical).collect();
            each.sort();
            format!("set[{}]", each.join(","))
        }
        Value::Object(m) | Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Sensitive(inner) => canonical(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_digest() -> PromiseDigest {
        PromiseDigest {
            key: vec![7; 32],
            salt: vec![1; SALT_LENGTH],
        }
    }

    fn promise(action: Action, after: Value) -> BTreeMap<String, ChangePromise> {
        BTreeMap::from([(
            "terraform_data.a".to_string(),
            ChangePromise {
                action,
                before: BTreeMap::new(),
                after: digests(&after, &test_digest()),
            },
        )])
    }

    #[test]
    fn the_same_plan_keeps_its_promise_and_a_changed_value_breaks_it() {
        let reviewed = promise(
            Action::Create,
            Value::object([("input", Value::Number(45.0))]),
        );
        assert!(broken(&reviewed, &reviewed).is_empty());
        let now = promise(
            Action::Create,
            Value::object([("input", Value::Number(99.0))]),
        );
        let why = broken(&reviewed, &now);
        assert_eq!(
            why,
            ["terraform_data.a: the planned value differs at input"]
        );
    }

    #[test]
    fn a_value_unknown_at_review_may_be_anything_but_a_known_one_may_not_change() {
        let reviewed = promise(
            Action::Create,
            Value::object([("input", Value::Unknown), ("name", Value::string("n"))]),
        );
        let now = promise(
            Action::Create,
            Value::object([
                ("input", Value::string("from upstream")),
                ("name", Value::string("n")),
            ]),
        );
        assert!(broken(&reviewed, &now).is_empty());
        let renamed = promise(
            Action::Create,
            Value::object([("input", Value::string("x")), ("name", Value::string("m"))]),
        );
        assert_eq!(broken(&reviewed, &renamed).len(), 1);
    }

    #[test]
    fn another_action_or_another_change_breaks_the_promise() {
        let reviewed = promise(Action::Update, Value::Object(BTreeMap::new()));
        let replace = promise(Action::DeleteThenCreate, Value::Object(BTreeMap::new()));
        assert_eq!(
            broken(&reviewed, &replace).len(),
            1,
            "an update may not become a replacement"
        );
        // The reverse is allowed: more is known now.
        assert!(broken(&replace, &reviewed).is_empty());
        let extra = BTreeMap::from([(
            "terraform_data.b".to_string(),
            ChangePromise {
                action: Action::Create,
                before: BTreeMap::new(),
                after: BTreeMap::new(),
            },
        )]);
        let mut more = reviewed.clone();
        more.extend(extra);
        assert_eq!(
            broken(&reviewed, &more),
            ["terraform_data.b: not in the plan, and now it needs Create"]
        );
    }

    #[test]
    fn digests_hold_no_value_and_sets_ignore_order() {
        let d = test_digest();
        let secret = Value::object([("password", Value::string("hunter2").sensitive())]);
        let text = format!("{:?}", digests(&secret, &d));
        assert!(!text.contains("hunter2"), "{text}");
        let a = digests(
            &Value::Set(vec![Value::string("x"), Value::string("y")]),
            &d,
        );
        let b = digests(
            &Value::Set(vec![Value::string("y"), Value::string("x")]),
            &d,
        );
        assert_eq!(a, b);
    }

    /// A digest is not the value's plain SHA-256 (which a dictionary of candidate values
    /// would find) and depends on the key and on the plan's salt.
    #[test]
    fn digests_are_keyed_and_salted() {
        let value = Value::object([("password", Value::string("hunter2").sensitive())]);
        let d = test_digest();
        let made = digests(&value, &d)["password"].clone();
        let plain = hex::encode(Sha256::digest(
            canonical(&Value::string("hunter2")).as_bytes(),
        ));
        assert_ne!(made, plain, "an unkeyed digest");
        let other_key = PromiseDigest {
            key: vec![8; 32],
            ..d.clone()
        };
        assert_ne!(made, digests(&value, &other_key)["password"]);
        let other_salt = PromiseDigest {
            salt: vec![2; SALT_LENGTH],
            ..d.clone()
        };
        assert_ne!(made, digests(&value, &other_salt)["password"]);
        assert_eq!(
            made,
            digests(&value, &d.clone())["password"],
            "not repeatable"
        );
        assert!(
            !format!("{d:?}").contains(&hex::encode([7u8; 32])),
            "Debug shows the key"
        );
    }

    #[test]
    fn the_plan_key_is_made_once_privately_and_a_saved_plan_needs_the_same_key() {
        use std::os::unix::fs::PermissionsExt as _;
        // SAFETY of the test: no other test of this crate sets FORGE_PLAN_KEY.
        if std::env::var_os(PLAN_KEY_VARIABLE).is_some() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let made = PromiseDigest::for_new_plan(dir.path()).expect("new plan");
        let key_file = dir.path().join(".forge").join(PLAN_KEY_FILE);
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let again = PromiseDigest::for_new_plan(dir.path()).expect("second plan");
        assert_eq!(
            made.key_id(),
            again.key_id(),
            "a second plan made another key"
        );
        assert_ne!(made.salt, again.salt, "two plans share a salt");
        let read = PromiseDigest::for_saved(dir.path(), &made.salt_hex(), &made.key_id())
            .expect("saved plan");
        assert_eq!(read, made);
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let err = PromiseDigest::for_saved(elsewhere.path(), &made.salt_hex(), &made.key_id())
            .expect_err("no key accepted");
        assert!(err.to_string().contains("no plan key"), "{err}");
        let other = PromiseDigest::for_new_plan(elsewhere.path()).expect("other key");
        let err = PromiseDigest::for_saved(elsewhere.path(), &made.salt_hex(), &made.key_id())
            .expect_err("another key accepted");
        assert!(err.to_string().contains("another plan key"), "{err}");
        assert_ne!(other.key_id(), made.key_id());
        let err = PromiseDigest::for_saved(dir.path(), "", &made.key_id()).expect_err("no salt");
        assert!(err.to_string().contains("earlier forge"), "{err}");
    }
}
