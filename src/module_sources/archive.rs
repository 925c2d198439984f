//! Unpacking module archives (`.zip`, `.tar.gz`/`.tgz`, `.tar`) into a folder, safely:
//! no entry may land outside the folder (absolute names, `..`, or through a symlink),
//! symlinks must resolve inside the folder, and the unpacked size and entry count are
//! bounded, so a hostile or broken archive fails with a message instead of writing
//! elsewhere or filling the disk.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The archive formats forge unpacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    Zip,
    TarGz,
    Tar,
}

impl ArchiveFormat {
    /// The format go-getter's `?archive=` value or a file name's extension names.
    /// `Err` for a known archive type forge does not unpack.
    pub fn from_name(name: &str) -> Result<Option<ArchiveFormat>, String> {
        let lower = name.to_ascii_lowercase();
        let format = if lower == "zip" || lower.ends_with(".zip") {
            Some(ArchiveFormat::Zip)
        } else if ["tar.gz", "tgz"]
            .iter()
            .any(|e| lower == *e || lower.ends_with(&format!(".{e}")))
        {
            Some(ArchiveFormat::TarGz)
        } else if lower == "tar" || lower.ends_with(".tar") {
            Some(ArchiveFormat::Tar)
        } else if [
            "tar.bz2", "tbz2", "tar.xz", "txz", "tar.zst", "tzst", "bz2", "xz", "gz",
        ]
        .iter()
        .any(|e| lower == *e || lower.ends_with(&format!(".{e}")))
        {
            return Err(format!(
                "forge unpacks .zip, .tar.gz, .tgz and .tar archives, not {name:?}; repackage the module as one of these"
            ));
        } else {
            None
        };
        Ok(format)
    }
}

/// How much an archive may unpack to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Far above any real module (the largest public modules are a few MB).
        Limits {
            max_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}

/// Unpacks `data` into the folder `into` (which must exist and be empty).
pub fn unpack(
    data: &[u8],
    format: ArchiveFormat,
    into: &Path,
    limits: Limits,
) -> Result<(), String> {
    let mut out = Writer::new(into, limits);
    match format {
        ArchiveFormat::Zip => unzip(data, &mut out)?,
        ArchiveFormat::TarGz => untar(flate2::read::MultiGzDecoder::new(data), &mut out)?,
        ArchiveFormat::Tar => untar(data, &mut out)?,
    }
    out.finish()
}

/// Writes entries under the root, checking each name and the running totals; symlinks
/// are made last (so no file is ever written through one) and checked once all exist.
struct Writer<'a> {
    root: &'a Path,
    limits: Limits,
    bytes: u64,
    entries: usize,
    links: Vec<(PathBuf, String)>,
}

impl<'a> Writer<'a> {
    fn new(root: &'a Path, limits: Limits) -> Self {
        Writer {
            root,
            limits,
            bytes: 0,
            entries: 0,
            links: Vec::new(),
        }
    }

    fn count(&mut self, name: &str) -> Result<(), String> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(format!(
                "the archive has more than {} entries (at {name:?})",
                self.limits.max_entries
            ));
        }
        Ok(())
    }

    fn dir(&mut self, name: &str) -> Result<(), String> {
        self.count(name)?;
        let Some(rel) = safe_name(name)? else {
            return Ok(());
        };
        std::fs::create_dir_all(self.root.join(rel))
            .map_err(|e| format!("cannot create the folder {name:?}: {e}"))
    }

    fn file(&mut self, name: &str, content: &mut dyn Read, executable: bool) -> Result<(), String> {
        self.count(name)?;
        let Some(rel) = safe_name(name)? else {
            return Ok(());
        };
        let path = self.root.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create the folder for {name:?}: {e}"))?;
        }
        let mut file =
            std::fs::File::create(&path).map_err(|e| format!("cannot write {name:?}: {e}"))?;
        let left = self.limits.max_bytes.saturating_sub(self.bytes);
        let written = std::io::copy(&mut content.take(left + 1), &mut file)
            .map_err(|e| format!("cannot unpack {name:?}: {e}"))?;
        self.bytes += written;
        if self.bytes > self.limits.max_bytes {
            return Err(format!(
                "the archive unpacks to more than {} bytes (at {name:?})",
                self.limits.max_bytes
            ));
        }
        if executable {
            set_executable(&path)?;
        }
        Ok(())
    }

    fn symlink(&mut self, name: &str, target: &str) -> Result<(), String> {
        self.count(name)?;
        let Some(rel) = safe_name(name)? else {
            return Ok(());
        };
        if target.is_empty() || target.starts_with('/') || target.contains('\\') {
            return Err(format!(
                "the symlink {name:?} points at {target:?}, outside the module"
            ));
        }
        self.links.push((rel, target.to_string()));
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        let root = std::fs::canonicalize(self.root)
            .map_err(|e| format!("cannot read {}: {e}", self.root.display()))?;
        for (rel, target) in &self.links {
            let path = self.root.join(rel);
            let parent = path.parent().unwrap_or(self.root);
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create the folder for {}: {e}", rel.display()))?;
            // The link's own folder must really be inside (no link on the way to it).
            let real_parent = std::fs::canonicalize(parent)
                .map_err(|e| format!("cannot read the folder of {}: {e}", rel.display()))?;
            if !real_parent.starts_with(&root) {
                return Err(format!(
                    "the symlink {} lies outside the module",
                    rel.display()
                ));
            }
            make_symlink(target, &path)
                .map_err(|e| format!("cannot create the symlink {}: {e}", rel.display()))?;
        }
        // Checked once all exist, since links may point through each other.
        for (rel, target) in &self.links {
            let real = std::fs::canonicalize(self.root.join(rel)).map_err(|_| {
                format!(
                    "the symlink {} points at {target:?}, which is not in the archive",
                    rel.display()
                )
            })?;
            if !real.starts_with(&root) {
                return Err(format!(
                    "the symlink {} points at {target:?}, outside the module",
                    rel.display()
                ));
            }
        }
        Ok(())
    }
}

/// An entry's name as a relative path with no `..`, or `None` for the archive's root
/// itself (`./`). Absolute names, drive letters and `..` are refused.
fn safe_name(name: &str) -> Result<Option<PathBuf>, String> {
    let unix = name.replace('\\', "/");
    if unix.starts_with('/') || unix.as_bytes().get(1) == Some(&b':') {
        return Err(format!("the archive entry {name:?} has an absolute path"));
    }
    let mut rel = PathBuf::new();
    for component in Path::new(&unix).components() {
        match component {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "the archive entry {name:?} would be written outside the module folder"
                ));
            }
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

#[cfg(unix)]
fn make_symlink(target: &str, path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _path: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "symlinks in module archives need a Unix system",
    ))
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make {} executable: {e}", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), String> {
    Ok(())
}

// ---- tar (ustar, with GNU long names and pax path records) ----

const BLOCK: usize = 512;

fn untar(mut input: impl Read, out: &mut Writer<'_>) -> Result<(), String> {
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    loop {
        let mut header = [0u8; BLOCK];
        if !read_block(&mut input, &mut header)? || header.iter().all(|b| *b == 0) {
            return Ok(());
        }
        check_tar_checksum(&header)?;
        let size = tar_size(&header)?;
        let kind = header[156];
        let name = long_name.take().unwrap_or_else(|| {
            let base = tar_text(&header[0..100]);
            let prefix = if &header[257..262] == b"ustar" {
                tar_text(&header[345..500])
            } else {
                String::new()
            };
            if prefix.is_empty() {
                base
            } else {
                format!("{prefix}/{base}")
            }
        });
        let link = long_link
            .take()
            .unwrap_or_else(|| tar_text(&header[157..257]));
        let mut content = (&mut input).take(size);
        match kind {
            b'0' | 0 | b'7' => out.file(&name, &mut content, tar_mode(&header) & 0o111 != 0)?,
            b'5' => out.dir(&name)?,
            b'2' => out.symlink(&name, &link)?,
            b'1' => {
                // A hard link names an earlier entry: copied, if it is inside.
                let Some(from) = safe_name(&link)? else {
                    return Err(format!(
                        "the hard link {name:?} points at the module folder"
                    ));
                };
                let data = std::fs::read(out.root.join(&from)).map_err(|_| {
                    format!(
                        "the hard link {name:?} points at {link:?}, which is not in the archive"
                    )
                })?;
                out.file(&name, &mut data.as_slice(), false)?;
            }
            b'L' | b'K' | b'x' => {
                let mut data = Vec::new();
                content
                    .by_ref()
                    .take(1 << 20)
                    .read_to_end(&mut data)
                    .map_err(|e| format!("cannot read the archive: {e}"))?;
                match kind {
                    b'L' => long_name = Some(tar_text(&data)),
                    b'K' => long_link = Some(tar_text(&data)),
                    _ => {
                        let (path, linkpath) = pax_paths(&data);
                        long_name = path.or(long_name);
                        long_link = linkpath.or(long_link);
                    }
                }
            }
            // Global pax headers carry nothing forge uses.
            b'g' => {}
            other => {
                return Err(format!(
                    "the archive entry {name:?} is a device, pipe or other special file (type {:?}); modules hold files, folders and links",
                    other as char
                ));
            }
        }
        // The rest of the entry and its padding to a whole block.
        std::io::copy(&mut content, &mut std::io::sink())
            .map_err(|e| format!("cannot read the archive: {e}"))?;
        let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        std::io::copy(&mut (&mut input).take(padding), &mut std::io::sink())
            .map_err(|e| format!("cannot read the archive: {e}"))?;
    }
}

/// Reads one block; `false` at a clean end of input.
fn read_block(input: &mut impl Read, block: &mut [u8; BLOCK]) -> Result<bool, String> {
    let mut filled = 0;
    while filled < BLOCK {
        let n = input
            .read(&mut block[filled..])
            .map_err(|e| format!("cannot read the archive (not a valid tar or gzip file?): {e}"))?;
        if n == 0 {
            if filled == 0 {
                return Ok(false);
            }
            return Err("the archive ends in the middle of an entry".into());
        }
        filled += n;
    }
    Ok(true)
}

fn check_tar_checksum(header: &[u8; BLOCK]) -> Result<(), String> {
    let stored = octal(&header[148..156]);
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if stored != Some(sum) {
        return Err(
            "the archive is not a valid tar file (a header's checksum does not match)".into(),
        );
    }
    Ok(())
}

fn tar_size(header: &[u8; BLOCK]) -> Result<u64, String> {
    let field = &header[124..136];
    if field[0] & 0x80 != 0 {
        // Base-256 for sizes of 8 GiB and more: beyond any limit anyway.
        return Err("the archive has an entry larger than forge unpacks".into());
    }
    octal(field).ok_or_else(|| "the archive is not a valid tar file (a size is unreadable)".into())
}

fn tar_mode(header: &[u8; BLOCK]) -> u64 {
    octal(&header[100..108]).unwrap_or(0o644)
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = tar_text(field);
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn tar_text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The `path` and `linkpath` records of a pax header ("LEN key=value\n" each).
fn pax_paths(data: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(data);
    let (mut path, mut linkpath) = (None, None);
    for record in text.split('\n') {
        let Some((_, kv)) = record.split_once(' ') else {
            continue;
        };
        match kv.split_once('=') {
            Some(("path", v)) => path = Some(v.to_string()),
            Some(("linkpath", v)) => linkpath = Some(v.to_string()),
            _ => {}
        }
    }
    (path, linkpath)
}

// ---- zip (stored and deflated entries; no zip64, no encryption) ----

fn unzip(data: &[u8], out: &mut Writer<'_>) -> Result<(), String> {
    let bad = |what: &str| format!("the archive is not a valid zip file ({what})");
    let u16_at = |at: usize| -> Result<usize, String> {
        data.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("truncated"))
    };
    let u32_at = |at: usize| -> Result<u32, String> {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| bad("truncated"))
    };
    // The end-of-central-directory record, within the last 64 KiB + 22 bytes.
    let lowest = data.len().saturating_sub(65_535 + 22);
    let end = (lowest..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| bad("no end of central directory"))?;
    let count = u16_at(end + 10)?;
    let mut at = u32_at(end + 16)? as usize;
    if count == 0xffff || at == 0xffff_ffff {
        return Err(
            "the archive is a zip64 file, which forge does not unpack; repackage it as .tar.gz"
                .into(),
        );
    }
    for _ in 0..count {
        if u32_at(at)? != 0x0201_4b50 {
            return Err(bad("a central directory entry is damaged"));
        }
        let flags = u16_at(at + 8)?;
        let method = u16_at(at + 10)?;
        let crc = u32_at(at + 16)?;
        let compressed = u32_at(at + 20)? as usize;
        let size = u64::from(u32_at(at + 24)?);
        let name_len = u16_at(at + 28)?;
        let extra_len = u16_at(at + 30)?;
        let comment_len = u16_at(at + 32)?;
        let unix_mode = u32_at(at + 38)? >> 16;
        let local = u32_at(at + 42)? as usize;
        let name_bytes = data
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("truncated"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if flags & 1 != 0 {
            return Err(format!("the archive entry {name:?} is encrypted"));
        }
        if u32_at(local)? != 0x0403_4b50 {
            return Err(bad("a local header is damaged"));
        }
        let start = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
        let raw = data
            .get(start..start + compressed)
            .ok_or_else(|| bad("truncated"))?;
        if name.ends_with('/') || name.ends_with('\\') {
            out.dir(&name)?;
            continue;
        }
        let mut content: Box<dyn Read> = match method {
            0 => Box::new(raw),
            8 => Box::new(flate2::read::DeflateDecoder::new(raw)),
            other => {
                return Err(format!(
                    "the archive entry {name:?} uses compression method {other}; forge reads stored and deflated entries"
                ));
            }
        };
        let mut checked = Checked {
            inner: content.as_mut(),
            crc: flate2::Crc::new(),
            limit: size,
        };
        if unix_mode & 0o170_000 == 0o120_000 {
            let mut target = String::new();
            checked
                .by_ref()
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|e| format!("cannot read the symlink {name:?}: {e}"))?;
            out.symlink(&name, &target)?;
        } else {
            out.file(&name, &mut checked, unix_mode & 0o111 != 0)?;
            if checked.crc.sum() != crc || u64::from(checked.crc.amount()) != size & 0xffff_ffff {
                return Err(format!(
                    "the archive entry {name:?} is damaged (its checksum does not match)"
                ));
            }
        }
    }
    Ok(())
}

/// A reader that keeps a CRC-32 of what passes and stops at the declared size (a
/// deflate stream that inflates beyond it is cut there, then fails the checksum).
struct Checked<'a> {
    inner: &'a mut dyn Read,
    crc: flate2::Crc,
    limit: u64,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read_so_far = u64::from(self.crc.amount());
        if read_so_far > self.limit {
            return Ok(0);
        }
        let room = usize::try_from(self.limit - read_so_far + 1)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}
