//! A unit's state as held during a run: the decoded state, the backend it came from, the
//! version token for the next conditional write, and (when the run holds the unit's lock)
//! the local journal that records each change before the backend does.

use std::sync::Arc;

use forge_provider::{BackendError, StateBackend};

use crate::journal::Journal;
use crate::plan::{EngineError, ErrorKind};
use crate::state::State;

pub struct StateStore {
    pub backend: Arc<dyn StateBackend>,
    pub state: State,
    /// `None` when no state object exists yet.
    pub version: Option<String>,
    /// The local write-ahead record (`journal`); `None` when the store is read without
    /// the lock, or once writing it failed (every change then waits for the backend).
    pub journal: Option<Arc<Journal>>,
    /// The state came from the journal of a run that stopped before the backend had it:
    /// it must be written even if this run changes nothing.
    pub recovered: bool,
    /// Something to tell the user (a journal taken, set aside or failing), taken by the
    /// engine, which reports it.
    pub notice: Option<String>,
}

pub(crate) fn backend_error(
    doing: &str,
    backend: &dyn StateBackend,
    e: &BackendError,
) -> EngineError {
    let err = EngineError::new(
        ErrorKind::Backend,
        format!("cannot {doing} the state at {}", backend.describe()),
    )
    .cause(e.to_string());
    match e {
        BackendError::Conflict(_) => err.hint("someone else wrote this state during the run; run the command again (it reads the new state)"),
        _ => err,
    }
}

impl StateStore {
    /// A store that is never read nor written (nodes that need no state).
    pub fn detached() -> StateStore {
        StateStore {
            backend: Arc::new(crate::local_backend::LocalBackend::at(Default::default())),
            state: State::new(),
            version: None,
            journal: None,
            recovered: false,
            notice: None,
        }
    }

    /// Reads the state from `backend`. With the unit's `journal`: a record left by a run
    /// that stopped before the backend had it (same lineage, higher serial) is taken
    /// instead; under the lock (`locked`), one the backend already holds is removed, one
    /// it moved past (or of another lineage) is set aside for the user, and the journal
    /// is kept for this run's writes.
    pub async fn load(
        backend: Arc<dyn StateBackend>,
        journal: Option<Journal>,
        locked: bool,
    ) -> Result<StateStore, EngineError> {
        let stored = backend
            .read()
            .await
            .map_err(|e| backend_error("read", backend.as_ref(), &e))?;
        let (state, version) = match stored {
            None => (State::new(), None),
            Some(s) => {
                let state = State::from_bytes(&s.bytes).map_err(|e| {
                    if crate::encryption::is_encrypted_payload(&s.bytes) {
                        // Never a fresh state: the unit lost its key, not its state.
                        return EngineError::new(ErrorKind::Backend, format!("the state at {} is encrypted, and this unit configures no key to decrypt it", backend.describe()))
                            .hint("configure the state's encryption (remote_state { encryption = {...} } or terraform { encryption {...} }) with the key it was written with");
                    }
                    EngineError::new(ErrorKind::Backend, format!("the state at {} cannot be read", backend.describe()))
                        .cause(e.to_string())
                        .hint("restore a good copy (forge state push FILE) or move the broken object away")
                })?;
                (state, Some(s.version))
            }
        };
        let mut store = StateStore {
            backend,
            state,
            version,
            journal: None,
            recovered: false,
            notice: None,
        };
        if let Some(j) = journal {
            store.take_journal(&j, locked);
            if locked {
                store.clean_set_aside(&j);
                store.journal = Some(Arc::new(j));
            }
        }
        Ok(store)
    }

    /// Removes the records set aside by earlier runs that the stored state has caught up
    /// with: same lineage, a serial the stored state reached, and the same objects and
    /// outputs as the stored state (pushed by the user, or written by a later run). Nothing
    /// they hold is lost; any other stays for the user (a record with fewer objects may
    /// be the only trace of a destroy).
    fn clean_set_aside(&mut self, journal: &Journal) {
        if !self.exists() {
            return;
        }
        let mut removed = Vec::new();
        for path in journal.set_aside_records() {
            let Ok(bytes) = journal.read_record(&path) else {
                continue;
            };
            let Ok(left) = State::from_bytes(&bytes) else {
                continue;
            };
            let held = left.lineage == self.state.lineage
                && left.serial <= self.state.serial
                && left.instances == self.state.instances
                && left.outputs == self.state.outputs;
            if held && std::fs::remove_file(&path).is_ok() {
                removed.push(path.display().to_string());
            }
        }
        if !removed.is_empty() {
            let message = format!(
                "removed {} set-aside local record(s) the state at {} now holds (serial {}): {}",
                removed.len(),
                self.backend.describe(),
                self.state.serial,
                removed.join(", ")
            );
            self.notice = Some(match self.notice.take() {
                Some(earlier) => format!("{earlier}\n{message}"),
                None => message,
            });
        }
    }

    fn take_journal(&mut self, journal: &Journal, locked: bool) {
        let path = journal.path().display().to_string();
        let bytes = match journal.read() {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                self.notice = Some(format!(
                    "cannot read the local record of an earlier run at {path}: {e}; using the state at {}",
                    self.backend.describe()
                ));
                return;
            }
        };
        let stored = if self.exists() {
            format!("serial {}", self.state.serial)
        } else {
            "none yet".to_string()
        };
        let left = match State::from_bytes(&bytes) {
            Ok(s) => s,
            Err(e) => {
                self.notice = Some(match locked.then(|| journal.set_aside(0)) {
                    Some(Ok(to)) => format!(
                        "set aside {path} as {}: it cannot be read ({e})",
                        to.display()
                    ),
                    _ => format!("ignored {path}: it cannot be read ({e})"),
                });
                return;
            }
        };
        let same_lineage = !self.exists() || left.lineage == self.state.lineage;
        if same_lineage && left.serial > self.state.serial {
            self.notice = Some(if locked {
                format!(
                    "an earlier run stopped before its state reached {}: took its local record {path} (serial {}; stored: {stored}); this run writes it",
                    self.backend.describe(),
                    left.serial
                )
            } else {
                format!(
                    "an earlier run stopped before its state reached {}: showing its local record {path} (serial {}; stored: {stored}); the next apply writes it",
                    self.backend.describe(),
                    left.serial
                )
            });
            self.state = left;
            self.recovered = true;
        } else if same_lineage && left.serial == self.state.serial {
            // The backend holds it already: the run stopped after its last write.
            if locked {
                let _ = journal.remove();
            }
        } else if locked {
            let why = if same_lineage {
                format!(
                    "the stored state (serial {}) moved past it (serial {})",
                    self.state.serial, left.serial
                )
            } else {
                "it belongs to another state (its lineage differs)".to_string()
            };
            self.notice = Some(match journal.set_aside(left.serial) {
                Ok(to) => format!(
                    "set aside an earlier run's local record {path} as {}: {why}; if it is the right state, forge state push it",
                    to.display()
                ),
                Err(e) => format!(
                    "ignored an earlier run's local record {path} ({why}); it cannot be moved aside: {e}"
                ),
            });
        }
    }

    /// True when the journal holds changes the backend lacks (it is removed once the
    /// backend holds its serial), or the state was taken from an earlier run's journal.
    pub fn has_unwritten_changes(&self) -> bool {
        self.recovered || self.journal.as_ref().is_some_and(|j| j.path().exists())
    }

    /// True when a state object exists (it may be empty).
    pub fn exists(&self) -> bool {
        self.version.is_some()
    }

    /// Records a change made to `state`: serial + 1 and, with a journal, the state written
    /// to it durably. True when the journal has it (the backend write may then follow in
    /// the background); false when only the backend write will record it. A failing
    /// journal is dropped for the rest of the run, with a notice.
    pub fn record(&mut self) -> Result<bool, EngineError> {
        self.state.serial += 1;
        let Some(journal) = &self.journal else {
            return Ok(false);
        };
        let bytes = self
            .encode_current()
            .inspect_err(|_| self.state.serial -= 1)?;
        match journal.write(&bytes) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.notice = Some(journal.write_failed(e));
                self.journal = None;
                Ok(false)
            }
        }
    }

    /// The current state's bytes, for the backend (the serial is `record`'s).
    pub fn encode_current(&self) -> Result<Vec<u8>, EngineError> {
        self.state.to_bytes().map_err(|e| {
            EngineError::new(ErrorKind::Provider, e.to_string())
                .hint("this is a bug in forge or a provider: a created object must be wholly known")
        })
    }

    /// After a backend write of the state with `serial`: the new version, and the journal
    /// removed when nothing newer was recorded meanwhile.
    pub fn finish_write(
        &mut self,
        written: Result<String, BackendError>,
        serial: u64,
    ) -> Result<(), EngineError> {
        match written {
            Ok(v) => {
                self.version = Some(v);
                self.recovered = false;
                if serial == self.state.serial
                    && let Some(j) = &self.journal
                {
                    // Failing to remove it is harmless: the next run finds the backend
                    // holds its serial and removes it then.
                    let _ = j.remove();
                }
                Ok(())
            }
            Err(e) => Err(backend_error("write", self.backend.as_ref(), &e)),
        }
    }

    /// Records and writes the state: serial + 1, same lineage, conditional on the version
    /// read. On a failed write the journal (if any) keeps the record for the next run.
    pub async fn persist(&mut self) -> Result<(), EngineError> {
        self.record()?;
        let bytes = self.encode_current()?;
        let written = self.backend.write(&bytes, self.version.as_deref()).await;
        self.finish_write(written, self.state.serial)
    }
}
