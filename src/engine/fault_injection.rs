//! Test hooks for crash safety:
//! - `FORGE_FAULT_ABORT_AFTER_OPS=N` (`tests/cli/crash_recovery.rs`): the process aborts
//!   right after the N-th recorded operation, as a killed run would, leaving its lock and
//!   its journal behind.
//! - `FORGE_FAULT_PANIC_AFTER_OPS=N` (`tests/cli/crash_recovery.rs`): the run panics right
//!   after the N-th recorded operation, as a bug in forge would.
//! - `FORGE_FAULT_ABORT_AFTER_CREATES=N` (`tests/cli/create_intents.rs`): the process
//!   aborts right after the N-th provider create of the run returned, before its result
//!   is recorded: AWS has the object, the journal does not (only the create's intent).
//! - `FORGE_FAULT_SLOW_OPS_MS=N` (`tests/cli/stop_signals.rs`): every resource operation
//!   that changes something takes N ms longer, so that a test can signal forge while an
//!   operation is surely in flight.
//! - `FORGE_FAULT_LOCK_LEASE_MS=N` (`tests/cli/lock_leases.rs`): the lease of every lock
//!   this run takes lasts N ms (renewed every third of that) instead of
//!   [`crate::lock_holder::LEASE_TERM`], so a test sees renewals and lapses in seconds.
//!
//! The hooks are compiled only with the cargo feature `test-support` (on under `cargo
//! test`, off in a plain build): a product binary never aborts or waits on purpose, and
//! says so when a variable is set ([`unavailable_warning`]).

/// The variable that arms the abort.
pub(crate) const ABORT_AFTER_OPS_VAR: &str = "FORGE_FAULT_ABORT_AFTER_OPS";
/// The variable that arms the panic.
pub(crate) const PANIC_AFTER_OPS_VAR: &str = "FORGE_FAULT_PANIC_AFTER_OPS";
/// The variable that arms the abort after a create returned.
pub(crate) const ABORT_AFTER_CREATES_VAR: &str = "FORGE_FAULT_ABORT_AFTER_CREATES";
/// The variable that slows operations down.
pub(crate) const SLOW_OPS_VAR: &str = "FORGE_FAULT_SLOW_OPS_MS";
/// The variable that shortens lock leases.
pub(crate) const LOCK_LEASE_VAR: &str = "FORGE_FAULT_LOCK_LEASE_MS";

/// The warning a build without the hooks gives when a variable is set anyway.
pub fn unavailable_warning() -> Option<String> {
    if cfg!(feature = "test-support") {
        return None;
    }
    let set: Vec<&str> = [
        ABORT_AFTER_OPS_VAR,
        PANIC_AFTER_OPS_VAR,
        ABORT_AFTER_CREATES_VAR,
        SLOW_OPS_VAR,
        LOCK_LEASE_VAR,
    ]
    .into_iter()
    .filter(|v| std::env::var_os(v).is_some())
    .collect();
    if set.is_empty() {
        return None;
    }
    Some(format!(
        "{} is set, but this forge was built without its test hooks \
         (cargo feature `test-support`): it is ignored",
        set.join(" and ")
    ))
}

/// Called as each resource operation that changes something finishes, before its result
/// is recorded; waits as long as the test asked.
#[cfg(feature = "test-support")]
pub(crate) async fn slow_operation() {
    use std::sync::OnceLock;
    static DELAY: OnceLock<Option<std::time::Duration>> = OnceLock::new();
    let delay = DELAY.get_or_init(|| {
        std::env::var(SLOW_OPS_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    });
    if let Some(delay) = delay {
        tokio::time::sleep(*delay).await;
    }
}

/// Without the test hooks operations take their own time.
#[cfg(not(feature = "test-support"))]
pub(crate) async fn slow_operation() {}

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
    static PANIC_LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    let panic_limit = PANIC_LIMIT.get_or_init(|| {
        std::env::var(PANIC_AFTER_OPS_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
    });
    let done = DONE.fetch_add(1, Ordering::SeqCst) + 1;
    if limit.is_some_and(|limit| done >= limit) {
        std::process::abort();
    }
    if panic_limit.is_some_and(|limit| done == limit) {
        panic!("{PANIC_AFTER_OPS_VAR}: a test asked for a panic after operation {done}");
    }
}

/// Without the test hooks there is nothing to count.
#[cfg(not(feature = "test-support"))]
pub(crate) fn after_recorded_operation() {}

/// Called as each provider create returns, before its result is recorded; aborts the
/// process at the armed count.
#[cfg(feature = "test-support")]
pub(crate) fn after_create_returned() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);
    let limit = LIMIT.get_or_init(|| {
        std::env::var(ABORT_AFTER_CREATES_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
    });
    let done = DONE.fetch_add(1, Ordering::SeqCst) + 1;
    if limit.is_some_and(|limit| done >= limit) {
        std::process::abort();
    }
}

/// Without the test hooks there is nothing to count.
#[cfg(not(feature = "test-support"))]
pub(crate) fn after_create_returned() {}

/// The term of the leases this run's locks carry.
#[cfg(feature = "test-support")]
pub(crate) fn lease_term() -> std::time::Duration {
    std::env::var(LOCK_LEASE_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
        .unwrap_or(crate::lock_holder::LEASE_TERM)
}

/// Without the test hooks every lease has the product's term.
#[cfg(not(feature = "test-support"))]
pub(crate) fn lease_term() -> std::time::Duration {
    crate::lock_holder::LEASE_TERM
}
