//! A test hook for crash safety (`tests/cli/crash_recovery.rs`): with
//! `FORGE_FAULT_ABORT_AFTER_OPS=N`, the process aborts right after the N-th recorded
//! operation, as a killed run would, leaving its lock and its journal behind.
//!
//! The hook is compiled only with the cargo feature `test-support` (on under `cargo test`,
//! off in a plain build): a product binary never aborts on purpose, and says so when the
//! variable is set ([`unavailable_warning`]).

/// The variable that arms the hook.
pub const ABORT_AFTER_OPS_VAR: &str = "FORGE_FAULT_ABORT_AFTER_OPS";

/// The warning a build without the hook gives when the variable is set anyway.
pub fn unavailable_warning() -> Option<String> {
    if cfg!(feature = "test-support") || std::env::var_os(ABORT_AFTER_OPS_VAR).is_none() {
        return None;
    }
    Some(format!(
        "{ABORT_AFTER_OPS_VAR} is set, but this forge was built without its test hooks \
         (cargo feature `test-support`): it is ignored and no run is aborted"
    ))
}

/// Called once per recorded operation; aborts the process at the armed count.
#[cfg(feature = "test-support")]
pub(crate) fn after_recorded_operation() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);

    let limit = LIMIT.get_or_init(|| {
        std::env::var(ABORT_AFTER_OPS_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(limit) = limit
        && DONE.fetch_add(1, Ordering::SeqCst) + 1 >= *limit
    {
        std::process::abort();
    }
}

/// Without the test hooks there is nothing to count.
#[cfg(not(feature = "test-support"))]
pub(crate) fn after_recorded_operation() {}
