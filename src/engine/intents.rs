//! Intent before action: the creates a unit's run has started and not yet recorded
//! (`<unit>/.forge/intents.json`, beside the journal).
//!
//! Why: the journal records an operation once its answer is back. A run killed while a
//! create is in flight, or a create whose answer is lost after AWS acted, leaves an object
//! nothing records, and the next create of the same name is refused ("already exists").
//! So before each create the intent (the address, a token, the time) is written durably
//! here; once the result is in the journal it is dropped. A later run that finds an
//! intent for an address state does not record asks the provider for the object that
//! create would have made (`ResourceType::find_created`) and adopts it when it is that
//! create's object (`run::adoption`), or creates it with the same token.
//!
//! The file is its own versioned document, not part of the state: the journal stays a
//! plain state file that any Terraform reads, and an older forge ignores this file. It
//! holds addresses, tokens, times, the provider, the object a replacement replaces, and
//! what recognises the object (`recognise`: the short, non-sensitive scalar arguments,
//! such as its name, VPC and deletion settings), so that a run whose configuration no
//! longer has the resource, or a destroy, can still find the object and delete it. No
//! argument marked sensitive is ever written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forge_provider::CreateIntent;
use serde::{Deserialize, Serialize};

/// The format version this code writes and reads.
const VERSION: u32 = 1;

/// One recorded intent, as the file spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// Only `create` so far: updates and deletes are idempotent at the provider (an update
    /// sets the same values again; a delete of an object already gone succeeds).
    action: String,
    #[serde(rename = "type")]
    type_name: String,
    token: String,
    /// Milliseconds since the Unix epoch.
    started_ms: u64,
    /// The provider configuration's address, as state writes it: the one to ask when the
    /// configuration no longer declares the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    /// The id of the object this create replaces (create_before_destroy): while state
    /// still records that object at the address, this create is not recorded yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replacing: Option<String>,
    /// The planned object's short non-sensitive scalar arguments (see the module's doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recognise: Option<serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    version: u32,
    intents: BTreeMap<String, Entry>,
}

/// A unit's intents: those an earlier run left (pending until this run settles them) and
/// this run's own, written through to the file.
#[derive(Debug)]
pub(crate) struct IntentBook {
    path: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// One file write at a time, each of the whole book.
    writer: tokio::sync::Mutex<()>,
}

/// A pending intent an earlier run left for an address.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pending {
    pub(crate) type_name: String,
    pub(crate) intent: CreateIntent,
    /// The provider configuration's address (older files do not say).
    pub(crate) provider: Option<String>,
    pub(crate) replacing: Option<String>,
    /// What recognises the object ([`IntentBook::intend_create`]'s `planned`, reduced);
    /// `Value::Null` when the file does not say.
    pub(crate) recognise: forge_provider::Value,
}

/// What a create is about to make, as [`IntentBook::intend_create`] records it.
pub(crate) struct Creating<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) provider: &'a str,
    /// The planned object: its short non-sensitive scalar arguments are kept.
    pub(crate) planned: &'a forge_provider::Value,
    pub(crate) replacing: Option<String>,
}

/// The longest argument value kept to recognise an object: names, ids and settings are
/// short; documents (policies, user data) are left out to keep the file small.
const RECOGNISE_MAX_LEN: usize = 512;

impl IntentBook {
    /// The book kept beside `journal` (the unit's `.forge` folder), with what an earlier
    /// run left there. A file that cannot be read or is of a newer format is reported
    /// in the returned notice and left in place (never overwritten by this run).
    pub(crate) fn beside(journal: &Path) -> (IntentBook, Option<String>) {
        let path = journal.with_file_name("intents.json");
        let (entries, notice, usable) = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), None, true),
            Err(e) => (
                BTreeMap::new(),
                Some(format!(
                    "cannot read the intents an earlier run recorded at {}: {e}; creates it left unrecorded are not looked for",
                    path.display()
                )),
                false,
            ),
            Ok(bytes) => match serde_json::from_slice::<Document>(&bytes) {
                Ok(doc) if doc.version == VERSION => (doc.intents, None, true),
                Ok(doc) => (
                    BTreeMap::new(),
                    Some(format!(
                        "{} is of format version {} (this forge reads {VERSION}): left as it is; creates it records are not looked for",
                        path.display(),
                        doc.version
                    )),
                    false,
                ),
                Err(e) => (
                    BTreeMap::new(),
                    Some(format!(
                        "{} cannot be read ({e}): left as it is; creates it records are not looked for",
                        path.display()
                    )),
                    false,
                ),
            },
        };
        let book = IntentBook {
            path: usable.then_some(path),
            entries: Mutex::new(entries),
            writer: tokio::sync::Mutex::new(()),
        };
        (book, notice)
    }

    /// A book that keeps intents in memory only (no journal: nothing local is written).
    pub(crate) fn in_memory() -> IntentBook {
        IntentBook {
            path: None,
            entries: Mutex::new(BTreeMap::new()),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// The intent an earlier run (or this one) recorded for `addr` and did not settle.
    pub(crate) fn pending(&self, addr: &str) -> Option<Pending> {
        let entries = self.lock();
        entries.get(addr).map(Entry::to_pending)
    }

    /// Every pending intent, by address.
    pub(crate) fn all_pending(&self) -> Vec<(String, Pending)> {
        self.lock()
            .iter()
            .map(|(addr, e)| (addr.clone(), e.to_pending()))
            .collect()
    }

    /// True when the file beside `journal` holds a pending intent: a destroy of a unit
    /// whose state records nothing still has those objects to look for.
    pub(crate) fn any_beside(journal: &Path) -> bool {
        let (book, _) = IntentBook::beside(journal);
        !book.lock().is_empty()
    }

    /// Every address with an intent.
    #[cfg(test)]
    pub(crate) fn addresses(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Records that a create of `addr` is about to start, durably: returns once the file
    /// holds it (or at once without a file). A pending intent for the same address keeps
    /// its token, so an API with idempotency tokens returns the object an earlier attempt
    /// made. Fails when the file cannot be written; the create must not start then.
    ///
    /// The pending intent's start time is kept with its token: the object an earlier
    /// attempt made was made after that start, and must still be recognised as this
    /// create's.
    pub(crate) async fn intend_create(
        &self,
        addr: &str,
        creating: Creating<'_>,
    ) -> std::io::Result<CreateIntent> {
        let intent = {
            let mut entries = self.lock();
            let (token, started_ms) = entries
                .get(addr)
                .filter(|e| e.type_name == creating.type_name)
                .map(|e| (e.token.clone(), e.started_ms))
                .unwrap_or_else(|| {
                    (
                        forge_provider::intent::new_token(uuid::Uuid::new_v4().as_u128()),
                        millis(SystemTime::now()),
                    )
                });
            let entry = Entry {
                action: "create".to_string(),
                type_name: creating.type_name.to_string(),
                token,
                started_ms,
                provider: Some(creating.provider.to_string()),
                replacing: creating.replacing,
                recognise: Some(recognising(creating.planned)),
            };
            let intent = entry.to_intent();
            entries.insert(addr.to_string(), entry);
            intent
        };
        self.write().await?;
        Ok(intent)
    }

    /// The create of `addr` is recorded in the journal (or found not to be needed): its
    /// intent goes. Not written at once: the next write, or [`IntentBook::finish`], drops
    /// it from the file, and an intent left for an address the state records is dropped
    /// by the next run (`drop_recorded`).
    pub(crate) fn settle(&self, addr: &str) {
        self.lock().remove(addr);
    }

    /// Drops the intents of addresses whose creates finished and were recorded before
    /// the run stopped: `recorded` gives the id of the object state records at an
    /// address. A replacement's intent stays while state still records the object it
    /// replaces.
    pub(crate) fn drop_recorded(&self, recorded: impl Fn(&str) -> Option<Option<String>>) {
        self.lock()
            .retain(|addr, e| match (recorded(addr), &e.replacing) {
                (None, _) => true,
                (Some(id), Some(replaced)) => id.as_deref() == Some(replaced.as_str()),
                (Some(_), None) => false,
            });
    }

    /// The run is over: the file goes when no intent is left, else it keeps the pending
    /// ones (creates whose outcome is still unknown).
    pub(crate) async fn finish(&self) -> std::io::Result<()> {
        if self.path.is_none() {
            return Ok(());
        }
        self.write().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the whole book (temp file, fsync, rename), or removes the file when the book
    /// is empty.
    async fn write(&self) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let _one_at_a_time = self.writer.lock().await;
        let doc = Document {
            version: VERSION,
            intents: self.lock().clone(),
        };
        let bytes = serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?;
        let empty = doc.intents.is_empty();
        // The fsync blocks: off the async threads.
        tokio::task::spawn_blocking(move || {
            if empty {
                return match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                };
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            crate::private_file::create_private_dir(dir)?;
            let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
            crate::private_file::write_atomic(&path, &tmp, &bytes)?;
            if let Ok(d) = std::fs::File::open(dir) {
                d.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

impl Entry {
    fn to_intent(&self) -> CreateIntent {
        CreateIntent {
            token: self.token.clone(),
            started: UNIX_EPOCH + Duration::from_millis(self.started_ms),
        }
    }

    fn to_pending(&self) -> Pending {
        Pending {
            type_name: self.type_name.clone(),
            intent: self.to_intent(),
            provider: self.provider.clone(),
            replacing: self.replacing.clone(),
            recognise: self
                .recognise
                .as_ref()
                .map(forge_provider::Value::from_json)
                .unwrap_or(forge_provider::Value::Null),
        }
    }
}

/// The planned object's top-level arguments that are known scalars, not sensitive, and
/// short: what a provider's `find_created` looks the object up by (its name, VPC) and
/// what its delete reads (force_destroy, a recovery window).
fn recognising(planned: &forge_provider::Value) -> serde_json::Value {
    use forge_provider::Value;
    let mut kept = serde_json::Map::new();
    if let Value::Object(attrs) = planned {
        for (name, value) in attrs {
            let keep = match value {
                Value::Bool(_) | Value::Number(_) => true,
                Value::String(s) => s.len() <= RECOGNISE_MAX_LEN,
                _ => false,
            };
            if keep {
                kept.insert(name.clone(), value.to_json());
            }
        }
    }
    serde_json::Value::Object(kept)
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_in(dir: &Path) -> PathBuf {
        dir.join(".forge").join("journal.tfstate")
    }

    const AWS: &str = "provider[\"registry.terraform.io/hashicorp/aws\"]";

    fn creating<'a>(type_name: &'a str, planned: &'a forge_provider::Value) -> Creating<'a> {
        Creating {
            type_name,
            provider: AWS,
            planned,
            replacing: None,
        }
    }

    #[tokio::test]
    async fn an_intent_is_on_disk_before_the_create_and_a_later_run_finds_it_with_its_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, notice) = IntentBook::beside(&journal_in(dir.path()));
        assert_eq!(notice, None);
        let planned = forge_provider::Value::Null;
        let first = book
            .intend_create("aws_iam_role.app", creating("aws_iam_role", &planned))
            .await
            .expect("intent");
        let file = dir.path().join(".forge/intents.json");
        let text = std::fs::read_to_string(&file).expect("written before the create");
        assert!(text.contains(&first.token), "{text}");

        // A run that dies here leaves it; the next one sees it, and a new attempt keeps
        // the token.
        let (next, _) = IntentBook::beside(&journal_in(dir.path()));
        let pending = next.pending("aws_iam_role.app").expect("pending");
        assert_eq!(pending.type_name, "aws_iam_role");
        assert_eq!(pending.intent.token, first.token);
        let again = next
            .intend_create("aws_iam_role.app", creating("aws_iam_role", &planned))
            .await
            .expect("intent");
        assert_eq!(again.token, first.token, "a retried create keeps its token");
        assert_eq!(
            again.started, pending.intent.started,
            "and its start: what the first attempt made is still this create's"
        );

        next.settle("aws_iam_role.app");
        next.finish().await.expect("finish");
        assert!(!file.exists(), "an empty book leaves no file");
    }

    #[tokio::test]
    async fn intents_of_recorded_addresses_are_dropped_and_others_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, _) = IntentBook::beside(&journal_in(dir.path()));
        let planned = forge_provider::Value::Null;
        book.intend_create("a.x", creating("a", &planned))
            .await
            .expect("intent");
        book.intend_create("a.y", creating("a", &planned))
            .await
            .expect("intent");
        book.drop_recorded(|addr| (addr == "a.x").then(|| Some("x-id".to_string())));
        assert_eq!(book.addresses(), vec!["a.y".to_string()]);
        book.finish().await.expect("finish");
        let (next, _) = IntentBook::beside(&journal_in(dir.path()));
        assert_eq!(next.addresses(), vec!["a.y".to_string()]);
    }

    #[test]
    fn a_newer_or_broken_file_is_reported_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".forge")).expect("dir");
        let file = dir.path().join(".forge/intents.json");
        std::fs::write(&file, br#"{"version": 9, "intents": {}}"#).expect("write");
        let (book, notice) = IntentBook::beside(&journal_in(dir.path()));
        assert!(
            notice.as_deref().is_some_and(|n| n.contains("version 9")),
            "{notice:?}"
        );
        assert!(book.path.is_none(), "the file must not be overwritten");
        std::fs::write(&file, b"{not json").expect("write");
        let (_, notice) = IntentBook::beside(&journal_in(dir.path()));
        assert!(notice.is_some());
    }

    #[tokio::test]
    async fn a_replacement_stays_pending_while_state_records_the_object_it_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, _) = IntentBook::beside(&journal_in(dir.path()));
        let planned = forge_provider::Value::Null;
        book.intend_create(
            "a.r",
            Creating {
                replacing: Some("old".to_string()),
                ..creating("a", &planned)
            },
        )
        .await
        .expect("intent");
        book.drop_recorded(|_| Some(Some("old".to_string())));
        assert_eq!(
            book.addresses(),
            vec!["a.r".to_string()],
            "still the old one"
        );
        book.drop_recorded(|_| Some(Some("new".to_string())));
        assert!(book.addresses().is_empty(), "the replacement is recorded");
    }

    #[tokio::test]
    async fn what_recognises_an_object_keeps_short_plain_scalars_and_never_a_secret() {
        use forge_provider::Value;
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, _) = IntentBook::beside(&journal_in(dir.path()));
        let planned = Value::object([
            ("name", Value::string("app")),
            ("force_destroy", Value::Bool(true)),
            ("recovery_window_in_days", Value::Number(0.0)),
            (
                "secret",
                Value::Sensitive(Box::new(Value::string("hunter2"))),
            ),
            ("policy", Value::string("x".repeat(RECOGNISE_MAX_LEN + 1))),
            ("arn", Value::Unknown),
            ("tags", Value::Map(Default::default())),
        ]);
        book.intend_create("a.s", creating("a", &planned))
            .await
            .expect("intent");
        let text = std::fs::read_to_string(dir.path().join(".forge/intents.json")).expect("file");
        assert!(!text.contains("hunter2"), "{text}");
        let (next, _) = IntentBook::beside(&journal_in(dir.path()));
        let pending = next.pending("a.s").expect("pending");
        assert_eq!(pending.provider.as_deref(), Some(AWS));
        assert_eq!(
            pending.recognise,
            Value::object([
                ("force_destroy", Value::Bool(true)),
                ("name", Value::string("app")),
                ("recovery_window_in_days", Value::Number(0.0)),
            ])
        );
    }
}
