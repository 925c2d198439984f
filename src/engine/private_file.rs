//! Files that may hold state, written so only their owner can read them.
//!
//! A state (and so a journal, a saved plan, a lock's info) can hold secrets in clear.
//! Every such file is created 0600 and written atomically (a temp file of the same mode,
//! fsync, rename), and the `.forge` folder that holds them is 0700, so nothing forge
//! writes is readable by other users of the machine whatever the umask says.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// The mode of every file forge writes that may hold state.
pub(crate) const FILE_MODE: u32 = 0o600;
/// The mode of the folder forge keeps them in.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and its parents) and makes `dir` itself private. Parents that already
/// exist keep their mode: they are the user's folders, not forge's.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Opens a new file at `path` with [`FILE_MODE`]; fails if it exists.
pub(crate) fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Replaces `path` with `bytes`, durably and atomically: a reader sees the old file or
/// the new one, never part of one, and the new one is [`FILE_MODE`] from its first byte.
/// `tmp` is the temporary name to write first (beside `path`, so the rename stays in
/// one file system).
pub(crate) fn write_atomic(path: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let written = (|| {
        let _ = std::fs::remove_file(tmp);
        let mut f = create_new_private(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folder_are_private_whatever_was_there() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("unit/.forge");
        create_private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), DIR_MODE);
        let file = dir.join("terraform.tfstate");
        std::fs::write(&file, b"old").expect("old file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_atomic(&file, &dir.join("t.tmp"), b"new").expect("write");
        assert_eq!(std::fs::read(&file).expect("read"), b"new");
        assert_eq!(mode(&file), FILE_MODE);
        assert!(!dir.join("t.tmp").exists());
    }
}
