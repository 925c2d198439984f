//! Encoding, hashing, file and time functions.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use forge_provider::Value;

use super::{Args, FnContext, FnError, FnResult, limits};
use crate::number::number_text;

pub(super) fn jsonencode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let mut out = String::new();
    write_json(a.get(0)?, &mut out);
    Ok(Value::String(out))
}

/// JSON as Terraform writes it: keys sorted, no spaces, `<`, `>` and `&` escaped as Go does.
fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null | Value::Unknown => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(*n)),
        Value::String(s) => write_json_string(s, out),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) | Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(x, out);
            }
            out.push('}');
        }
        Value::Sensitive(inner) => write_json(inner, out),
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub(super) fn jsondecode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let json: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
        FnError::new(format!("the string is not valid JSON: {e}"))
            .arg(0)
            .hint("check quotes and commas; jsonencode(...) produces valid JSON")
    })?;
    Ok(Value::from_json(&json))
}

/// `csvdecode`: RFC 4180 CSV with a header row, as a list of objects of strings.
pub(super) fn csvdecode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let text = a.string(0)?;
    let rows = parse_csv(&text).map_err(|m| FnError::new(m).arg(0))?;
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        return Err(FnError::new("missing header line")
            .arg(0)
            .hint("the first line names the columns"));
    };
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        if row.len() != header.len() {
            return Err(FnError::new(format!(
                "line {} has {} fields but the header has {}",
                n + 2,
                row.len(),
                header.len()
            ))
            .arg(0));
        }
        out.push(Value::Object(
            header
                .iter()
                .cloned()
                .zip(row.into_iter().map(Value::String))
                .collect(),
        ));
    }
    Ok(Value::List(out))
}

fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => in_quotes = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err("a quoted field is not closed".into());
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

pub(super) fn base64encode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(a.string(0)?.as_bytes()),
    ))
}

pub(super) fn base64decode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .map_err(|e| FnError::new(format!("the string is not valid base64: {e}")).arg(0))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::new("the decoded bytes are not valid UTF-8")
            .arg(0)
            .hint("use filebase64 for binary data")
    })
}

pub(super) fn base64sha256(a: Args) -> FnResult {
    use sha2::Digest as _;
    let a = a.arity(1, 1)?;
    let hash = sha2::Sha256::digest(a.string(0)?.as_bytes());
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(hash),
    ))
}

pub(super) fn base64sha512(a: Args) -> FnResult {
    use sha2::Digest as _;
    let a = a.arity(1, 1)?;
    let hash = sha2::Sha512::digest(a.string(0)?.as_bytes());
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(hash),
    ))
}

pub(super) enum Digest {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

pub(super) fn digest(a: Args, which: Digest) -> FnResult {
    use sha2::Digest as _;
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let bytes = s.as_bytes();
    let hex = match which {
        Digest::Md5 => hex::encode(md5::Md5::digest(bytes)),
        Digest::Sha1 => hex::encode(sha1::Sha1::digest(bytes)),
        Digest::Sha256 => hex::encode(sha2::Sha256::digest(bytes)),
        Digest::Sha512 => hex::encode(sha2::Sha512::digest(bytes)),
    };
    Ok(Value::String(hex))
}

fn digest_bytes(bytes: &[u8], which: &Digest) -> Vec<u8> {
    use sha2::Digest as _;
    match which {
        Digest::Md5 => md5::Md5::digest(bytes).to_vec(),
        Digest::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
        Digest::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
        Digest::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
    }
}

/// `filemd5`, `filesha256`, `filebase64sha256`, ...: the hash of a file's bytes, in hex or
/// base64 (what Lambda's `source_code_hash` wants).
pub(super) fn file_digest(a: Args, ctx: &FnContext<'_>, which: Digest, base64: bool) -> FnResult {
    let a = a.arity(1, 1)?;
    let bytes = read_file_bytes(ctx, &a.string(0)?)?;
    let hash = digest_bytes(&bytes, &which);
    Ok(Value::String(if base64 {
        base64::engine::general_purpose::STANDARD.encode(hash)
    } else {
        hex::encode(hash)
    }))
}

/// `fileset(path, pattern)`: the files under `path` whose path relative to it matches the
/// glob (`*`, `**`, `?`, `[abc]`, `{a,b}`), as a set of `/`-separated relative paths.
pub(super) fn fileset(a: Args, ctx: &FnContext<'_>) -> FnResult {
    let a = a.arity(2, 2)?;
    let root_arg = a.string(0)?;
    let pattern = a.string(1)?;
    let root = resolve(ctx, &root_arg);
    let glob = super::glob::Glob::new(&pattern)?;
    let mut files = Vec::new();
    collect_files(&root, "", &mut files, 0)
        .map_err(|e| FnError::new(format!("cannot list {}: {e}", root.display())).arg(0))?;
    let matched: Vec<Value> = files
        .into_iter()
        .filter(|f| glob.matches(f))
        .map(Value::String)
        .collect();
    Ok(crate::types::make_set(matched))
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<String>,
    depth: usize,
) -> std::io::Result<()> {
    if depth > 64 || !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let ty = entry.file_type()?;
        if ty.is_dir() {
            collect_files(&entry.path(), &rel, out, depth + 1)?;
        } else if ty.is_file() || entry.path().is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

pub(super) fn urlencode(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

pub(super) fn uuid_v4() -> String {
    // Random enough for resource names; forge does not need cryptographic uuids here.
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `uuidv5(namespace, name)`: a name-based UUID (SHA-1), with Terraform's shorthand
/// namespaces `dns`, `url`, `oid` and `x500`, or a namespace UUID.
pub(super) fn uuidv5(a: Args) -> FnResult {
    use sha1::Digest as _;
    let a = a.arity(2, 2)?;
    let ns = a.string(0)?;
    let name = a.string(1)?;
    let ns_text = match ns.as_str() {
        "dns" => "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "url" => "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
        "oid" => "6ba7b812-9dad-11d1-80b4-00c04fd430c8",
        "x500" => "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
        other => other,
    };
    let ns_bytes = hex::decode(ns_text.replace('-', ""))
        .ok()
        .filter(|b| b.len() == 16 && ns_text.len() == 36)
        .ok_or_else(|| {
            FnError::new(format!("\"{ns}\" is not a UUID namespace"))
                .arg(0)
                .hint("use \"dns\", \"url\", \"oid\", \"x500\" or a UUID")
        })?;
    let mut hasher = sha1::Sha1::new();
    hasher.update(&ns_bytes);
    hasher.update(name.as_bytes());
    let mut bytes = hasher.finalize()[..16].to_vec();
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    Ok(Value::String(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

pub(super) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn resolve(ctx: &FnContext<'_>, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        ctx.base_dir.join(path)
    }
}

/// Where relative paths are read from (`Scope::base_dir`).
const RELATIVE_PATHS_HINT: &str = "relative paths are read from the root module's folder (as Terraform reads them from its working folder), or a Terragrunt file's own folder; write \"${path.module}/...\" for a file beside the module";

/// A file's bytes, if it is a regular file of at most [`limits::MAX_FILE_BYTES`]: a FIFO
/// or a device would block or never end, and a huge file would exhaust memory.
fn read_file_bytes(ctx: &FnContext<'_>, p: &str) -> Result<Vec<u8>, FnError> {
    use std::io::Read as _;
    let path = resolve(ctx, p);
    let cannot = |e: std::io::Error| {
        FnError::new(format!("cannot read {}: {e}", path.display()))
            .arg(0)
            .hint(RELATIVE_PATHS_HINT)
    };
    let meta = std::fs::metadata(&path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(FnError::new(format!(
            "{} is not a regular file (a folder, FIFO or device cannot be read as a file)",
            path.display()
        ))
        .arg(0));
    }
    let too_large = || {
        FnError::new(format!(
            "{} is larger than forge's limit of {} bytes for a file read by a function",
            path.display(),
            limits::MAX_FILE_BYTES
        ))
        .arg(0)
    };
    if meta.len() > limits::MAX_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(&path).map_err(cannot)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow between the size check and the read: read one byte past the limit
    // at most, never more.
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

pub(crate) fn read_file_text(ctx: &FnContext<'_>, p: &str) -> Result<String, FnError> {
    let path = resolve(ctx, p);
    let bytes = read_file_bytes(ctx, p)?;
    String::from_utf8(bytes).map_err(|_| {
        FnError::new(format!("{} is not valid UTF-8 text", path.display()))
            .arg(0)
            .hint("use filebase64 for binary files")
    })
}

pub(super) fn file(a: Args, ctx: &FnContext<'_>) -> FnResult {
    let a = a.arity(1, 1)?;
    read_file_text(ctx, &a.string(0)?).map(Value::String)
}

pub(super) fn filebase64(a: Args, ctx: &FnContext<'_>) -> FnResult {
    let a = a.arity(1, 1)?;
    let bytes = read_file_bytes(ctx, &a.string(0)?)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

pub(super) fn fileexists(a: Args, ctx: &FnContext<'_>) -> FnResult {
    let a = a.arity(1, 1)?;
    Ok(Value::Bool(resolve(ctx, &a.string(0)?).is_file()))
}

pub(super) fn abspath(a: Args, ctx: &FnContext<'_>) -> FnResult {
    let a = a.arity(1, 1)?;
    let p = resolve(ctx, &a.string(0)?);
    Ok(Value::String(p.to_string_lossy().into_owned()))
}

pub(super) fn basename(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let trimmed = s.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::String(if s.is_empty() {
            ".".into()
        } else {
            "/".into()
        }));
    }
    Ok(Value::String(
        trimmed.rsplit('/').next().unwrap_or(trimmed).to_string(),
    ))
}

pub(super) fn dirname(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let dir = match s.rfind('/') {
        None => ".".to_string(),
        Some(0) => "/".to_string(),
        Some(i) => s[..i].trim_end_matches('/').to_string(),
    };
    Ok(Value::String(if dir.is_empty() { "/".into() } else { dir }))
}

pub(super) fn pathexpand(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    if let Some(rest) = s.strip_prefix('~')
        && (rest.is_empty() || rest.starts_with('/'))
        && let Ok(home) = std::env::var("HOME")
    {
        return Ok(Value::String(format!("{home}{rest}")));
    }
    Ok(Value::String(s))
}
