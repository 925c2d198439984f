//! `textencodebase64`, `textdecodebase64` and `base64gzip`.
//!
//! Terraform looks encodings up by IANA name or alias (case-insensitive). forge knows the
//! Unicode forms and the single-byte Latin sets below; any other name Terraform would
//! accept (Shift_JIS, KOI8-R, ...) is an error that says which names forge knows.

use base64::Engine as _;
use forge_provider::Value;

use super::{Args, FnError, FnResult};

#[derive(Clone, Copy, PartialEq)]
enum Charset {
    Utf8,
    /// `UTF-16`: big-endian with a byte order mark when encoding; the mark decides when
    /// decoding (big-endian without one).
    Utf16,
    Utf16Le,
    Utf16Be,
    Latin1,
    Windows1252,
    Ascii,
}

impl Charset {
    /// The name Terraform's messages use for the encoding.
    fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Utf16 => "UTF-16",
            Charset::Utf16Le => "UTF-16LE",
            Charset::Utf16Be => "UTF-16BE",
            Charset::Latin1 => "ISO_8859-1:1987",
            Charset::Windows1252 => "windows-1252",
            Charset::Ascii => "US-ASCII",
        }
    }
}

/// IANA names and aliases (lower-cased) of the supported encodings.
fn charset(name: &str) -> Option<Charset> {
    Some(match name.to_ascii_lowercase().as_str() {
        "utf-8" | "csutf8" => Charset::Utf8,
        "utf-16" | "csutf16" => Charset::Utf16,
        "utf-16le" | "csutf16le" => Charset::Utf16Le,
        "utf-16be" | "csutf16be" => Charset::Utf16Be,
        "iso_8859-1:1987" | "iso-ir-100" | "iso_8859-1" | "iso-8859-1" | "latin1" | "l1"
        | "ibm819" | "cp819" | "csisolatin1" => Charset::Latin1,
        "windows-1252" | "cswindows1252" => Charset::Windows1252,
        "us-ascii" | "iso-ir-6" | "ansi_x3.4-1968" | "ansi_x3.4-1986" | "iso_646.irv:1991"
        | "iso646-us" | "us" | "ibm367" | "cp367" | "csascii" => Charset::Ascii,
        _ => return None,
    })
}

fn charset_arg(a: &Args, i: usize) -> Result<Charset, FnError> {
    let name = a.string(i)?;
    charset(&name).ok_or_else(|| {
        FnError::new(format!(
            "\"{name}\" is not a supported IANA encoding name or alias"
        ))
        .arg(i)
        .hint("forge supports UTF-8, UTF-16, UTF-16LE, UTF-16BE, ISO-8859-1, windows-1252 and US-ASCII")
    })
}

/// windows-1252's characters for the bytes 0x80..=0x9F; the five bytes it leaves
/// undefined map to the C1 control of the same number, as Go's charmap does.
const CP1252_HIGH: [u32; 32] = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
];

fn encode(s: &str, cs: Charset) -> Option<Vec<u8>> {
    let utf16 = |big: bool, bom: bool| {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(&[0xFE, 0xFF]);
        }
        for unit in s.encode_utf16() {
            let b = if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&b);
        }
        out
    };
    Some(match cs {
        Charset::Utf8 => s.as_bytes().to_vec(),
        Charset::Utf16 => utf16(true, true),
        Charset::Utf16Le => utf16(false, false),
        Charset::Utf16Be => utf16(true, false),
        Charset::Latin1 => s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<_>>()?,
        Charset::Ascii => s
            .chars()
            .map(|c| c.is_ascii().then_some(c as u8))
            .collect::<Option<_>>()?,
        Charset::Windows1252 => s
            .chars()
            .map(|c| {
                let cp = u32::from(c);
                if let Some(i) = CP1252_HIGH.iter().position(|&h| h == cp) {
                    return Some(0x80 + i as u8);
                }
                match cp {
                    0..=0x7F | 0xA0..=0xFF => Some(cp as u8),
                    _ => None,
                }
            })
            .collect::<Option<_>>()?,
    })
}

fn decode(bytes: &[u8], cs: Charset) -> Option<String> {
    let utf16 = |body: &[u8], big: bool| {
        if !body.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = body
            .chunks(2)
            .map(|p| {
                if big {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match cs {
        Charset::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
        Charset::Utf16 => match bytes {
            [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
            [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
            _ => utf16(bytes, true),
        },
        Charset::Utf16Le => utf16(bytes, false),
        Charset::Utf16Be => utf16(bytes, true),
        Charset::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Charset::Ascii => bytes
            .iter()
            .map(|&b| b.is_ascii().then_some(char::from(b)))
            .collect(),
        Charset::Windows1252 => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => char::from_u32(CP1252_HIGH[usize::from(b - 0x80)]),
                _ => Some(char::from(b)),
            })
            .collect(),
    }
}

pub(super) fn textencodebase64(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let s = a.string(0)?;
    let cs = charset_arg(&a, 1)?;
    let bytes = encode(&s, cs).ok_or_else(|| {
        FnError::new(format!(
            "the given string contains characters that cannot be represented in {}",
            cs.name()
        ))
        .arg(0)
        .hint("choose an encoding that covers every character, such as UTF-8")
    })?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

pub(super) fn textdecodebase64(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let source = a.string(0)?;
    let cs = charset_arg(&a, 1)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(source.as_bytes())
        .map_err(|e| FnError::new(format!("the given value is not valid base64: {e}")).arg(0))?;
    decode(&bytes, cs).map(Value::String).ok_or_else(|| {
        FnError::new(format!(
            "the given string contains symbols that are not defined for {}",
            cs.name()
        ))
        .arg(0)
        .hint("check that the encoding named is the one the bytes were written in")
    })
}

/// gzip, then base64. The header is Go's (no name, mtime 0, OS byte 255, XFL 0); the
/// deflate stream ends as Go's writer ends it after Terraform's Flush + Close: a sync
/// marker, then an empty final stored block. The compressed blocks themselves come from
/// miniz, not Go's compressor, so for most inputs the bytes differ from Terraform's while
/// the decompressed content is the same (see the corpus' KNOWN_DIFFERENCES.md).
pub(super) fn base64gzip(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let s = a.string(0)?;
    let data = s.as_bytes();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    // flush() is a sync flush; the encoder is then dropped without finishing, since Go's
    // final block is appended by hand below.
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let body = std::io::Write::write_all(&mut encoder, data)
        .and_then(|()| std::io::Write::flush(&mut encoder))
        .map(|()| encoder.get_ref().clone())
        .map_err(|e| FnError::new(format!("compression failed: {e}")))?;
    out.extend_from_slice(&body);
    out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(out),
    ))
}
