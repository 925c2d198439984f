//! A unit's state as held during a run: the decoded state, the backend it came from and
//! the version token for the next conditional write.

use std::sync::Arc;

use forge_provider::{BackendError, StateBackend};

use crate::plan::EngineError;
use crate::state::State;

pub struct StateStore {
    pub backend: Arc<dyn StateBackend>,
    pub state: State,
    /// `None` when no state object exists yet.
    pub version: Option<String>,
}

pub fn backend_error(doing: &str, backend: &dyn StateBackend, e: &BackendError) -> EngineError {
    let err = EngineError::new(format!("cannot {doing} the state at {}", backend.describe())).cause(e.to_string());
    match e {
        BackendError::Conflict(_) => err.hint("someone else wrote this state during the run; run the command again (it reads the new state)"),
        _ => err,
    }
}

impl StateStore {
    pub async fn load(backend: Arc<dyn StateBackend>) -> Result<StateStore, EngineError> {
        let stored = backend.read().await.map_err(|e| backend_error("read", backend.as_ref(), &e))?;
        let (state, version) = match stored {
            None => (State::new(), None),
            Some(s) => {
                let state = State::from_bytes(&s.bytes).map_err(|e| {
                    EngineError::new(format!("the state at {} cannot be read", backend.describe()))
                        .cause(e.to_string())
                        .hint("restore a good copy (forge state push FILE) or move the broken object away")
                })?;
                (state, Some(s.version))
            }
        };
        Ok(StateStore { backend, state, version })
    }

    /// True when a state object exists (it may be empty).
    pub fn exists(&self) -> bool {
        self.version.is_some()
    }

    /// Writes the state: serial + 1, same lineage, conditional on the version read.
    pub async fn persist(&mut self) -> Result<(), EngineError> {
        let bytes = self.encode_next()?;
        let written = self.backend.write(&bytes, self.version.as_deref()).await;
        self.finish_write(written)
    }

    /// The next write's bytes (serial + 1); the write itself may then happen without
    /// holding the store, and `finish_write` records how it went.
    pub fn encode_next(&mut self) -> Result<Vec<u8>, EngineError> {
        self.state.serial += 1;
        self.state.to_bytes().map_err(|e| {
            self.state.serial -= 1;
            EngineError::new(e.to_string()).hint("this is a bug in forge or a provider: a created object must be wholly known")
        })
    }

    /// After the write of `encode_next`'s bytes: the new version, or the serial back.
    pub fn finish_write(&mut self, written: Result<String, BackendError>) -> Result<(), EngineError> {
        match written {
            Ok(v) => {
                self.version = Some(v);
                Ok(())
            }
            Err(e) => {
                self.state.serial -= 1;
                Err(backend_error("write", self.backend.as_ref(), &e))
            }
        }
    }
}
