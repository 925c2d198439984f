//! A unit's local write-ahead record of its state during a run that changes it
//! (`<unit>/.forge/journal.tfstate`, Terraform's state format).
//!
//! Why: an operation's dependents should not wait for a remote state write (an S3
//! PutObject per operation sat on every chain of dependent operations), yet a crash must
//! not lose the record of an object that exists. So every change is first written here,
//! durably (temp file, fsync, rename: about half a millisecond), and the remote state
//! follows in the background, each write carrying everything recorded so far. The file
//! goes once the remote state holds its serial; when a run dies first, the next one
//! finds it and takes it (see `StateStore::load`).
//!
//! Being a plain state file, it can also be pushed by hand (`forge state push FILE`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::encryption::TargetCipher;

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// The folder's entry for the file was made durable once (fsync of the folder).
    dir_synced: AtomicBool,
    /// The unit's state encryption: the journal is a state, so it is encrypted with the
    /// state's key, and a plain one is read only where the state's settings allow it.
    cipher: Option<Arc<TargetCipher>>,
}

impl Journal {
    /// The journal of the unit in `unit_dir`.
    pub fn for_unit(unit_dir: &Path) -> Journal {
        Journal::at(unit_dir.join(".forge").join("journal.tfstate"))
    }

    pub fn at(path: PathBuf) -> Journal {
        Journal {
            path,
            dir_synced: AtomicBool::new(false),
            cipher: None,
        }
    }

    /// The same journal, encrypted with the unit's state encryption.
    pub fn encrypted_with(mut self, cipher: Option<Arc<TargetCipher>>) -> Journal {
        self.cipher = cipher;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the record with `bytes`, durably: a reader (or the next run after a crash)
    /// sees the old record or the new one, never part of one.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let sealed;
        let bytes = match &self.cipher {
            Some(c) => {
                sealed = c.encrypt(bytes).map_err(std::io::Error::other)?;
                &sealed[..]
            }
            None => bytes,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::private_file::create_private_dir(dir)?;
        let tmp = self
            .path
            .with_extension(format!("tfstate.{}.tmp", std::process::id()));
        crate::private_file::write_atomic(&self.path, &tmp, bytes)?;
        // A rename is durable only once the folder is synced; the folder entry stays the
        // same name afterwards, so once per run is enough.
        if !self.dir_synced.swap(true, Ordering::SeqCst)
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The notice when writing the record failed and the run goes on without it.
    pub fn write_failed(&self, e: impl std::fmt::Display) -> String {
        format!(
            "cannot write the local record at {}: {e}; each operation now waits for the state write",
            self.path.display()
        )
    }

    /// The record a run left, if any.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(b) => match &self.cipher {
                Some(c) => c.decrypt(&b).map(Some).map_err(std::io::Error::other),
                None => Ok(Some(b)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Drops the record (the remote state holds it now), and the `.forge` folder when that
    /// leaves it empty, so a unit folder looks as before the run.
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.dir_synced.store(false, Ordering::SeqCst);
        if let Some(dir) = self.path.parent() {
            // Fails, as it should, when the folder holds anything else (a local state).
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }

    /// The records set aside earlier (`journal.<serial>.stale*.tfstate`), sorted.
    pub fn set_aside_records(&self) -> Vec<PathBuf> {
        let Some(dir) = self.path.parent() else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("journal.") && n.contains(".stale") && n.ends_with(".tfstate")
                })
            })
            .collect();
        found.sort();
        found
    }

    /// A set-aside record's state bytes (decrypted as the journal is).
    pub fn read_record(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let bytes = std::fs::read(path)?;
        match &self.cipher {
            Some(c) => c.decrypt(&bytes).map_err(std::io::Error::other),
            None => Ok(bytes),
        }
    }

    /// Moves a record that must not be taken (the stored state moved past it) out of the
    /// way, keeping it for the user: `journal.<serial>.stale.tfstate`. Returns where.
    pub fn set_aside(&self, serial: u64) -> std::io::Result<PathBuf> {
        let mut n = 0;
        let target = loop {
            let name = if n == 0 {
                format!("journal.{serial}.stale.tfstate")
            } else {
                format!("journal.{serial}.stale-{n}.tfstate")
            };
            let candidate = self.path.with_file_name(name);
            if !candidate.exists() {
                break candidate;
            }
            n += 1;
        };
        std::fs::rename(&self.path, &target)?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_read_returns_remove_cleans_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::for_unit(dir.path());
        assert_eq!(j.read().expect("read"), None);
        j.write(b"one").expect("write");
        j.write(b"two").expect("write");
        assert_eq!(j.read().expect("read").as_deref(), Some(&b"two"[..]));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".forge"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec![std::ffi::OsString::from("journal.tfstate")],
            "temp files left behind"
        );
        j.remove().expect("remove");
        assert_eq!(j.read().expect("read"), None);
        assert!(
            !dir.path().join(".forge").exists(),
            "the empty .forge folder stays"
        );
        j.remove().expect("removing twice is fine");
    }

    #[test]
    fn remove_keeps_a_folder_that_holds_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::for_unit(dir.path());
        j.write(b"x").expect("write");
        std::fs::write(dir.path().join(".forge/terraform.tfstate"), b"{}").expect("local state");
        j.remove().expect("remove");
        assert!(dir.path().join(".forge/terraform.tfstate").exists());
    }

    #[test]
    fn set_aside_never_overwrites_an_earlier_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::for_unit(dir.path());
        j.write(b"first").expect("write");
        let a = j.set_aside(7).expect("aside");
        j.write(b"second").expect("write");
        let b = j.set_aside(7).expect("aside");
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).expect("a"), b"first");
        assert_eq!(std::fs::read(&b).expect("b"), b"second");
        assert_eq!(j.read().expect("read"), None);
    }
}
