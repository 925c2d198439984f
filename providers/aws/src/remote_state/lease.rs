//! The lease of a forge lock item: when it lapses (an RFC 3339 time in the item's
//! `ForgeLeaseExpires`, written by the holder's clock) and the task that keeps pushing it
//! forward while the lock is held.
//!
//! A run killed with SIGKILL, a machine that died or lost its network stops renewing, so
//! its lease lapses; a run that is merely slow (or waiting for a confirmation) keeps it
//! fresh. The engine decides what a lapsed lease allows (`--lock-timeout`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use forge_aws_dynamodb::LockTable;
use forge_provider::LockLease;

/// The lease attribute's text for `at`: RFC 3339 in UTC with milliseconds, readable by a
/// person looking at the table.
pub(super) fn expiry_text(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A lease as read from a lock item. A text that is no time gives no expiry, and a lock
/// whose lease cannot be told lapsed is never taken over.
pub(super) fn read(text: &str) -> LockLease {
    LockLease {
        term: Duration::ZERO,
        expires: chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(SystemTime::from),
    }
}

/// The renewal task of one held lock.
pub(super) struct Renewal {
    task: tokio::task::AbortHandle,
    lost: Arc<AtomicBool>,
}

impl Renewal {
    /// Renews the lease of the item `lock_id` every third of `term`, each time to `term`
    /// from now, and only while the item's `guard` attribute is still this lock's (so a
    /// lock taken over or force-unlocked is never written back). A renewal that finds the
    /// item changed stops and marks the lease lost; one that fails otherwise (the network)
    /// is tried again at the next tick, with the rest of the lease still to run.
    pub(super) fn start(
        table: LockTable,
        lock_id: String,
        guard: (&'static str, String),
        lease_attr: &'static str,
        term: Duration,
    ) -> Renewal {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let every = (term / 3).max(Duration::from_millis(100));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let until = expiry_text(SystemTime::now() + term);
                match table
                    .set_if(&lock_id, (guard.0, &guard.1), (lease_attr, &until))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(_) => {}
                }
            }
        });
        Renewal {
            task: task.abort_handle(),
            lost,
        }
    }

    /// Whether a renewal found the lock item no longer this lock's.
    pub(super) fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    pub(super) fn stop(self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_text_reads_back_as_the_same_instant() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_000_000_123);
        let text = expiry_text(at);
        assert_eq!(text, "2026-11-30T00:53:20.123Z");
        assert_eq!(read(&text).expires, Some(at));
        assert_eq!(read("soon").expires, None);
    }
}
