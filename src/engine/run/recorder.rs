//! Persistence of one unit run: every change to the unit's state is made durable as it
//! is recorded, in the journal (a group commit: changes recorded during a journal write
//! share the next one) with the backend written behind it (`write_behind`), or, without a
//! journal, by a backend write. Resources, data sources, orphans and outputs call
//! [`Recorder::record`] (or change the state under [`Recorder::state`] and
//! [`Recorder::commit`]); none of them writes state itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;

/// The unit's state and the machinery that makes each change to it durable.
pub(super) struct Recorder {
    store: tokio::sync::Mutex<StateStore>,
    /// Where a journal that cannot be written is reported.
    events: EventSink,
    unit: String,
    /// The caller makes the unit's last write (see `ApplyOptions::defer_outputs_write`).
    defer_outputs_write: bool,
    /// One state write at a time; see `write_through`.
    writer: tokio::sync::Mutex<()>,
    /// Changes made to the state so far, and how many of them the last write recorded.
    changes: AtomicU64,
    written: AtomicU64,
    /// The journal's last entry (see `journal_through`); its mutex makes the journal's
    /// writes one at a time. `journaled` is its `covers`, readable without waiting.
    journal_tail: tokio::sync::Mutex<JournalTail>,
    journaled: AtomicU64,
    /// Wakes the background writer (`write_behind`) after a journaled change, and once the
    /// operations are over (`operations_done`).
    write_wanted: tokio::sync::Notify,
    operations_done: AtomicBool,
    /// A background write failed: no further operation starts (the journal keeps what
    /// was done), and the run reports this error.
    write_failed: Mutex<Option<EngineError>>,
    /// The creates started and not yet recorded (beside the journal; in memory without
    /// one), with those an earlier run left unsettled.
    pub(super) intents: crate::intents::IntentBook,
}

/// What the journal holds: the state with changes `1..=covers` (serial `serial`). The
/// backend writes behind copy exactly these bytes, so the backend never holds a serial
/// the journal lacks.
#[derive(Clone, Default)]
struct JournalTail {
    covers: u64,
    serial: u64,
    bytes: Option<Arc<Vec<u8>>>,
}

/// Why a change could not be journaled: the state cannot be encoded (an error of the run),
/// or the file cannot be written (the run goes on without the journal).
enum JournalFailure {
    Encode(EngineError),
    Io(String),
}

impl Recorder {
    pub(super) fn new(store: StateStore, run: &UnitRun<'_>, defer_outputs_write: bool) -> Recorder {
        let intents = match &store.journal {
            Some(journal) => {
                let (book, notice) = crate::intents::IntentBook::beside(journal.path());
                if let Some(message) = notice {
                    (run.ctx.events)(Event::Notice {
                        unit: Some(run.unit.name.clone()),
                        message,
                    });
                }
                // A create recorded before the run stopped needs no looking for.
                book.drop_recorded(|addr| {
                    store
                        .state
                        .instances
                        .iter()
                        .find(|(recorded, _)| recorded.to_string() == addr)
                        .map(|(_, s)| s.attributes.str_attr("id").map(str::to_string))
                });
                book
            }
            None => crate::intents::IntentBook::in_memory(),
        };
        Recorder {
            intents,
            store: tokio::sync::Mutex::new(store),
            events: run.ctx.events.clone(),
            unit: run.unit.name.clone(),
            defer_outputs_write,
            writer: tokio::sync::Mutex::new(()),
            changes: AtomicU64::new(0),
            written: AtomicU64::new(0),
            journal_tail: Default::default(),
            journaled: AtomicU64::new(0),
            write_wanted: tokio::sync::Notify::new(),
            operations_done: AtomicBool::new(false),
            write_failed: Mutex::new(None),
        }
    }

    /// The state, locked: to read it, or to change it and then [`Recorder::commit`].
    pub(super) async fn state(&self) -> tokio::sync::MutexGuard<'_, StateStore> {
        self.store.lock().await
    }

    /// The state store, once the run is over.
    pub(super) fn into_store(self) -> StateStore {
        self.store.into_inner()
    }

    /// True once a background write failed: no new operation may start.
    pub(super) fn has_failed(&self) -> bool {
        lock(&self.write_failed).is_some()
    }

    /// The background write's failure, for the run to report.
    pub(super) fn take_failure(&self) -> Option<EngineError> {
        lock(&self.write_failed).take()
    }

    /// The operations are over: the background writer writes what is left and stops.
    pub(super) fn operations_over(&self) {
        self.operations_done.store(true, Ordering::SeqCst);
        self.write_wanted.notify_one();
    }

    /// Writes everything recorded so far to the backend (the unit's last write).
    pub(super) async fn write_all(&self) -> Result<(), EngineError> {
        self.write_through(self.changes.load(Ordering::SeqCst))
            .await
    }

    /// Records one operation's result at `addr` (`None`: the object is gone); returns once
    /// the journal (or, without one, a state write) has it.
    pub(super) async fn record(
        &self,
        addr: &InstanceAddr,
        inst: Option<InstanceState>,
    ) -> Result<(), EngineError> {
        let mut store = self.store.lock().await;
        match inst {
            Some(i) => store.state.instances.insert(addr.clone(), i),
            None => store.state.instances.remove(addr),
        };
        self.commit(store).await?;
        crate::fault_injection::after_recorded_operation();
        Ok(())
    }

    /// Records the change just made under `store` (a state guard from [`Recorder::state`])
    /// and returns once it is durable: in the
    /// journal, with the backend write left to `write_behind`; or, when there is no
    /// journal, once a backend write includes it.
    pub(super) async fn commit(
        &self,
        mut store: tokio::sync::MutexGuard<'_, StateStore>,
    ) -> Result<(), EngineError> {
        store.state.serial += 1;
        let change = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        let journal = store.journal.clone();
        drop(store);
        if let Some(journal) = journal {
            match self.journal_through(journal, change).await {
                Ok(()) => {
                    self.write_wanted.notify_one();
                    return Ok(());
                }
                Err(JournalFailure::Encode(e)) => return Err(e),
                Err(JournalFailure::Io(message)) => {
                    // Without the journal, each change waits for the backend instead.
                    self.store.lock().await.journal = None;
                    (self.events)(Event::Notice {
                        unit: Some(self.unit.clone()),
                        message,
                    });
                }
            }
        }
        self.write_through(change).await
    }

    /// Returns once the journal holds change number `change`. Journal writes go one at a
    /// time and each writes the whole state as it is, so changes recorded during a write
    /// share the next one (a group commit): many operations finishing together cost one
    /// fsync, not one each, and the store is locked only to encode.
    async fn journal_through(
        &self,
        journal: Arc<crate::journal::Journal>,
        change: u64,
    ) -> Result<(), JournalFailure> {
        use Ordering::SeqCst;
        let mut tail = self.journal_tail.lock().await;
        if tail.covers >= change {
            return Ok(());
        }
        let (bytes, serial, covers) = {
            let store = self.store.lock().await;
            (
                store.encode_current().map_err(JournalFailure::Encode)?,
                store.state.serial,
                self.changes.load(SeqCst),
            )
        };
        let bytes = Arc::new(bytes);
        let to_write = bytes.clone();
        let writer = journal.clone();
        // The fsync blocks: off the async threads.
        match tokio::task::spawn_blocking(move || writer.write(&to_write)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(JournalFailure::Io(journal.write_failed(e))),
            Err(e) => return Err(JournalFailure::Io(journal.write_failed(e))),
        }
        *tail = JournalTail {
            covers,
            serial,
            bytes: Some(bytes),
        };
        self.journaled.store(covers, SeqCst);
        Ok(())
    }

    /// Returns once the state is written with change number `change` in it. Writes go one
    /// at a time and each writes everything recorded so far (with a journal: everything
    /// the journal holds), so the changes recorded during a write share the next one
    /// instead of queueing one write each; the store is locked only to encode, so
    /// operations go on while a write is in flight.
    async fn write_through(&self, change: u64) -> Result<(), EngineError> {
        use Ordering::SeqCst;
        let _one_at_a_time = self.writer.lock().await;
        if self.written.load(SeqCst) >= change {
            return Ok(());
        }
        let (journal_active, backend, version) = {
            let store = self.store.lock().await;
            (
                store.journal.is_some(),
                store.backend.clone(),
                store.version.clone(),
            )
        };
        let tail = if journal_active {
            Some(self.journal_tail.lock().await.clone())
        } else {
            None
        };
        let (bytes, serial, covers) = match tail {
            Some(JournalTail {
                covers,
                serial,
                bytes: Some(bytes),
            }) if covers >= change => (bytes, serial, covers),
            _ => {
                let store = self.store.lock().await;
                (
                    Arc::new(store.encode_current()?),
                    store.state.serial,
                    self.changes.load(SeqCst),
                )
            }
        };
        let written = backend.write(&bytes, version.as_deref()).await;
        self.store.lock().await.finish_write(written, serial)?;
        self.written.store(covers, SeqCst);
        Ok(())
    }

    /// The backend writes behind the journal, for as long as operations run: whenever
    /// changes are recorded that no write holds yet, one write takes them all. A failed
    /// write stops further operations (`call`); the journal keeps what was done.
    pub(super) async fn write_behind(&self) {
        use Ordering::SeqCst;
        loop {
            let journal_active = self.store.lock().await.journal.is_some();
            // With a journal, what it holds (the bytes a backend write copies).
            let wanted = if journal_active {
                self.journaled.load(SeqCst)
            } else {
                self.changes.load(SeqCst)
            };
            // Once the operations are over, a caller that makes the unit's last write
            // anyway (`defer_outputs_write`) takes what is left, when the journal holds it:
            // the unit's dependents need not wait for this write.
            if self.operations_done.load(SeqCst) && self.defer_outputs_write && journal_active {
                return;
            }
            if wanted > self.written.load(SeqCst) {
                if let Err(e) = self.write_through(wanted).await {
                    *lock(&self.write_failed) = Some(e.hint("the local record .forge/journal.tfstate in the unit's folder keeps every operation; the next run writes it"));
                    return;
                }
                continue;
            }
            if self.operations_done.load(SeqCst) {
                return;
            }
            // `notify_one` leaves a permit when nobody waits, so no wake-up is lost.
            self.write_wanted.notified().await;
        }
    }
}
