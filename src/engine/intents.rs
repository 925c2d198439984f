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
//! holds no configured value (no secret): addresses, tokens and times only.

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) type_name: String,
    pub(crate) intent: CreateIntent,
}

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
        entries.get(addr).map(|e| Pending {
            type_name: e.type_name.clone(),
            intent: e.to_intent(),
        })
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
    pub(crate) async fn intend_create(
        &self,
        addr: &str,
        type_name: &str,
    ) -> std::io::Result<CreateIntent> {
        let intent = {
            let mut entries = self.lock();
            let token = entries
                .get(addr)
                .filter(|e| e.type_name == type_name)
                .map(|e| e.token.clone())
                .unwrap_or_else(|| {
                    forge_provider::intent::new_token(uuid::Uuid::new_v4().as_u128())
                });
            let entry = Entry {
                action: "create".to_string(),
                type_name: type_name.to_string(),
                token,
                started_ms: millis(SystemTime::now()),
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

    /// Drops the intents of addresses `recorded` says the state holds: their creates
    /// finished and were recorded before the run stopped.
    pub(crate) fn drop_recorded(&self, recorded: impl Fn(&str) -> bool) {
        self.lock().retain(|addr, _| !recorded(addr));
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

    #[tokio::test]
    async fn an_intent_is_on_disk_before_the_create_and_a_later_run_finds_it_with_its_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, notice) = IntentBook::beside(&journal_in(dir.path()));
        assert_eq!(notice, None);
        let first = book
            .intend_create("aws_iam_role.app", "aws_iam_role")
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
            .intend_create("aws_iam_role.app", "aws_iam_role")
            .await
            .expect("intent");
        assert_eq!(again.token, first.token, "a retried create keeps its token");

        next.settle("aws_iam_role.app");
        next.finish().await.expect("finish");
        assert!(!file.exists(), "an empty book leaves no file");
    }

    #[tokio::test]
    async fn intents_of_recorded_addresses_are_dropped_and_others_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (book, _) = IntentBook::beside(&journal_in(dir.path()));
        book.intend_create("a.x", "a").await.expect("intent");
        book.intend_create("a.y", "a").await.expect("intent");
        book.drop_recorded(|addr| addr == "a.x");
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
}
