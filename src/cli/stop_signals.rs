//! Stopping a run cleanly on SIGINT (Ctrl-C), SIGTERM (a CI cancel, Kubernetes, systemd)
//! and SIGHUP (a closed terminal): the first signal starts nothing new, lets the
//! operations in flight finish and be recorded, writes the states and releases the locks;
//! forge then exits with 128 + the signal's number (130, 143, 129), as a shell reports a
//! process the signal ended. A second signal, or operations still running after the grace
//! period, make it quit at once, which may leave locks held.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// How long the operations in flight may take after the first signal, unless
/// `FORGE_STOP_GRACE_SECONDS` says otherwise. Long enough for an AWS call and its retries;
/// short enough to end within the grace period of most supervisors (systemd's 90 s).
const DEFAULT_GRACE: Duration = Duration::from_secs(60);
const GRACE_VAR: &str = "FORGE_STOP_GRACE_SECONDS";

/// The number of the first stop signal received; 0 while none has been.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The exit code the signal that stopped this run calls for, if one did.
pub fn exit_code() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(128 + signal),
    }
}

/// The last line of a run a signal stopped cleanly (the quick exits say their own).
pub fn stopped_summary() -> String {
    let name = match RECEIVED.load(Ordering::SeqCst) {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    };
    format!(
        "Stopped by {name}: every finished operation is recorded in state and the locks are released; run the same command again to continue."
    )
}

/// Starts listening. Registered before the engine starts anything, so that a signal never
/// meets the default action (an immediate exit) once a run can hold a lock.
pub fn watch(interrupted: Arc<AtomicBool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::interrupt(), "SIGINT", 2),
            (SignalKind::terminate(), "SIGTERM", 15),
            (SignalKind::hangup(), "SIGHUP", 1),
        ];
        for (kind, name, number) in kinds {
            let mut stream = match signal(kind) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("warning: cannot listen for {name}: {e}; it will end forge at once");
                    continue;
                }
            };
            let interrupted = interrupted.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    received(name, number, &interrupted);
                }
            });
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            received("Ctrl-C", 2, &interrupted);
        }
    });
}

fn received(name: &'static str, number: i32, interrupted: &AtomicBool) {
    let first = RECEIVED
        .compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if !first {
        // The user (or the supervisor) insists: leave now.
        eprintln!(
            "\n{name} received again: quitting now; locks may be left held (forge force-unlock releases them)"
        );
        std::process::exit(128 + number);
    }
    interrupted.store(true, Ordering::SeqCst);
    let grace = grace();
    eprintln!(
        "\n{name} received: waiting for the operations in flight to finish (at most {}s; a second signal or Ctrl-C quits now, which may leave locks held)",
        grace.as_secs()
    );
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        eprintln!(
            "\noperations still in flight {}s after {name}: quitting now; locks may be left held (forge force-unlock releases them)",
            grace.as_secs()
        );
        std::process::exit(128 + number);
    });
}

fn grace() -> Duration {
    match std::env::var(GRACE_VAR) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) => Duration::from_secs(seconds),
            Err(_) => {
                eprintln!(
                    "warning: {GRACE_VAR}={text:?} is not a whole number of seconds; waiting {}s",
                    DEFAULT_GRACE.as_secs()
                );
                DEFAULT_GRACE
            }
        },
        Err(_) => DEFAULT_GRACE,
    }
}
