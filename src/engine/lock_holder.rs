//! Locks that heal: every lock forge takes records the process holding it
//! ([`LockProcess`]: host name, boot id, PID namespace, PID, start time). A run that finds
//! a lock whose holder ran on this same machine (same host, same boot, same PID namespace)
//! and is gone, because no process has that PID any more or another process has it now,
//! releases that lock with a notice and goes on: a killed run needs no `force-unlock`.
//!
//! Anything less certain is left alone: a lock Terraform took (no process recorded), one
//! taken on another host, in another container or before a reboot, or one whose process
//! cannot be looked at. Those still need the holder to finish, or `force-unlock`.
//!
//! Leases reach further: a forge lock on a backend that keeps leases (the s3 backend's
//! DynamoDB lock) carries one, renewed by the holder while it runs ([`LEASE_TERM`]). With
//! `--lock-timeout D`, a lock whose lease lapsed more than D ago ([`lapsed_for`]) is
//! taken over, wherever its holder ran: a holder that stopped renewing for that long is
//! dead, or cut off and unable to write state anyway (every state write is conditional on
//! the version it read). A lock without a lease (Terraform's) is never taken over.

use std::time::{Duration, SystemTime};

use forge_provider::{LockInfo, LockProcess};

/// How long a lock's lease lasts unless renewed; the holder renews it every third of that,
/// so two renewals in a row may fail (a network blip) before it lapses.
pub(crate) const LEASE_TERM: Duration = Duration::from_secs(60);

/// How long ago `holder`'s lease lapsed, when it did more than `grace` ago (`grace` zero:
/// never; only `--lock-timeout` allows a take-over). `None` for a lock without a lease, a
/// lease still running, or one lapsed too recently.
pub(crate) fn lapsed_for(holder: &LockInfo, grace: Duration, now: SystemTime) -> Option<Duration> {
    if grace.is_zero() {
        return None;
    }
    let expires = holder.lease.as_ref()?.expires?;
    let lapsed = now.duration_since(expires).ok()?;
    (lapsed > grace).then_some(lapsed)
}

/// The lease of `holder` in words for a message: when it lapsed, or until when it runs.
pub(crate) fn lease_text(holder: &LockInfo, now: SystemTime) -> Option<String> {
    let expires = holder.lease.as_ref()?.expires?;
    Some(match now.duration_since(expires) {
        Ok(ago) => format!("its lease lapsed {}s ago", ago.as_secs()),
        Err(ahead) => format!(
            "its lease is renewed by the holder (runs {}s more unless renewed again)",
            ahead.duration().as_secs()
        ),
    })
}

/// What can be said of a lock's holding process from here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HolderState {
    /// It still runs: the lock is held.
    Running,
    /// It is gone; the text says how we know.
    Gone(String),
    /// It ran elsewhere (another host, boot or PID namespace), or this system cannot tell.
    Unknown,
}

/// This process, as a lock records it; `None` where `/proc` cannot tell (not Linux),
/// so that such locks are never healed.
pub(crate) fn this_process() -> Option<LockProcess> {
    let pid = std::process::id();
    Some(LockProcess {
        host: host_name()?,
        boot_id: read_trimmed("/proc/sys/kernel/random/boot_id")?,
        pid_namespace: std::fs::read_link("/proc/self/ns/pid")
            .ok()?
            .to_string_lossy()
            .into_owned(),
        pid,
        start_time: process_stat(pid).ok()??.start_time,
    })
}

/// Whether the process that took a lock is still there.
pub(crate) fn holder_state(holder: &LockProcess) -> HolderState {
    let Some(here) = this_process() else {
        return HolderState::Unknown;
    };
    if holder.host != here.host
        || holder.boot_id != here.boot_id
        || holder.pid_namespace != here.pid_namespace
    {
        return HolderState::Unknown;
    }
    match process_stat(holder.pid) {
        Ok(None) => HolderState::Gone(format!(
            "no process has PID {} on this host any more",
            holder.pid
        )),
        Ok(Some(stat)) if stat.start_time != holder.start_time => HolderState::Gone(format!(
            "PID {} now belongs to another process (started at tick {}, not {})",
            holder.pid, stat.start_time, holder.start_time
        )),
        // A zombie has exited; only its parent has not collected its exit status yet.
        Ok(Some(stat)) if matches!(stat.state, 'Z' | 'X' | 'x') => {
            HolderState::Gone(format!("process {} has exited", holder.pid))
        }
        Ok(Some(_)) => HolderState::Running,
        Err(_) => HolderState::Unknown,
    }
}

/// The fields of `/proc/<pid>/stat` that tell a process apart.
struct ProcessStat {
    /// R, S, D, Z, ... (field 3).
    state: char,
    /// Clock ticks after boot (field 22).
    start_time: u64,
}

/// `Ok(None)` when there is no such process.
fn process_stat(pid: u32) -> std::io::Result<Option<ProcessStat>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => Ok(parse_stat(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `pid (comm) state ppid ...`: the command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<ProcessStat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    Some(ProcessStat {
        state: fields.first()?.chars().next()?,
        // Field 22 of the line is the 20th after the name (fields 1 and 2 precede it).
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// The kernel's host name: what `hostname` prints, in a container too.
fn host_name() -> Option<String> {
    read_trimmed("/proc/sys/kernel/hostname")
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lease_lapsed_longer_than_the_timeout_allows_a_take_over() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let leased = |expires: Option<SystemTime>| LockInfo {
            lease: Some(forge_provider::LockLease {
                term: Duration::ZERO,
                expires,
            }),
            ..LockInfo::default()
        };
        let ten = Duration::from_secs(10);
        let lapsed_long_ago = leased(Some(now - Duration::from_secs(60)));
        assert_eq!(
            lapsed_for(&lapsed_long_ago, ten, now),
            Some(Duration::from_secs(60))
        );
        // Without --lock-timeout, never.
        assert_eq!(lapsed_for(&lapsed_long_ago, Duration::ZERO, now), None);
        // Lapsed, but not for longer than the timeout.
        assert_eq!(
            lapsed_for(&leased(Some(now - Duration::from_secs(5))), ten, now),
            None
        );
        // Still running.
        assert_eq!(
            lapsed_for(&leased(Some(now + Duration::from_secs(50))), ten, now),
            None
        );
        // An unreadable lease, and Terraform's lock without any.
        assert_eq!(lapsed_for(&leased(None), ten, now), None);
        assert_eq!(lapsed_for(&LockInfo::default(), ten, now), None);
        assert_eq!(
            lease_text(&lapsed_long_ago, now).as_deref(),
            Some("its lease lapsed 60s ago")
        );
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (forge (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 2 0 0 20 0 3 0 987654 1000 200 18446744073709551615";
        let stat = parse_stat(line).expect("parses");
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.start_time, 987654);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_runs_and_a_finished_one_is_gone() {
        let Some(me) = this_process() else {
            panic!("this test runs on Linux, where /proc tells the lock's process");
        };
        assert_eq!(holder_state(&me), HolderState::Running);

        // A child that has exited and been collected: its PID is free.
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("run true");
        let pid = child.id();
        child.wait().expect("wait");
        let gone = LockProcess { pid, ..me.clone() };
        assert!(
            matches!(holder_state(&gone), HolderState::Gone(_)),
            "{:?}",
            holder_state(&gone)
        );

        // The same PID with another start time: reused by another process.
        let reused = LockProcess {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert!(
            matches!(holder_state(&reused), HolderState::Gone(why) if why.contains("another process"))
        );

        // Elsewhere, nothing can be said.
        for elsewhere in [
            LockProcess {
                host: format!("{}-other", me.host),
                pid,
                ..me.clone()
            },
            LockProcess {
                boot_id: "another-boot".into(),
                pid,
                ..me.clone()
            },
            LockProcess {
                pid_namespace: "pid:[1]".into(),
                pid,
                ..me.clone()
            },
        ] {
            assert_eq!(holder_state(&elsewhere), HolderState::Unknown);
        }
    }
}
