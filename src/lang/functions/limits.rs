//! The bounds on what one function call may read or build.
//!
//! A configuration is input, and input can be hostile or simply mistaken: one
//! `indent(1e300, ...)` or a 500-byte YAML alias bomb must end in an error naming the
//! call, not in an aborted process. Each bound sits far above what real configurations
//! use (they are documented in the README, "Limits"), and each error names the bound so
//! the user knows which one was met.

use super::FnError;

/// The longest string one function may return (64 MiB).
pub(crate) const MAX_STRING_BYTES: usize = 64 << 20;
/// The most elements one function may return in one collection.
pub(crate) const MAX_ELEMENTS: usize = 1_000_000;
/// The largest width or precision a format verb may ask for.
pub(crate) const MAX_FORMAT_WIDTH: usize = 10_000;
/// The largest file `file()` and its siblings read (64 MiB); only regular files are read.
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most values a YAML document may expand to once its aliases are resolved.
pub(crate) const MAX_YAML_NODES: usize = 1_000_000;
/// The most patterns a glob's `{a,b}` alternatives may expand to.
pub(crate) const MAX_GLOB_PATTERNS: usize = 10_000;

/// Fails when a string of `len` bytes would be over [`MAX_STRING_BYTES`].
pub(crate) fn check_string_len(len: usize, what: &str) -> Result<(), FnError> {
    if len > MAX_STRING_BYTES {
        return Err(FnError::new(format!(
            "{what} would be {len} bytes long, over forge's limit of {MAX_STRING_BYTES} bytes for one string"
        ))
        .hint("a configuration value this large is almost certainly a mistake"));
    }
    Ok(())
}

/// Fails when a collection of `count` elements would be over [`MAX_ELEMENTS`].
pub(crate) fn check_elements(count: usize, what: &str) -> Result<(), FnError> {
    if count > MAX_ELEMENTS {
        return Err(FnError::new(format!(
            "{what} would have {count} elements, over forge's limit of {MAX_ELEMENTS} for one collection"
        )));
    }
    Ok(())
}
