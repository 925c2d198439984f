//! OpenTofu's `pbkdf2` key provider: an AES key derived from a passphrase with PBKDF2
//! (HMAC-SHA-512 or -SHA-256). Each encryption takes a fresh random salt; the salt,
//! iteration count, hash and key length travel with the encrypted data as the key
//! provider's metadata (`{"salt": base64, "iterations", "hash_function", "key_length"}`),
//! so a later reader derives the same key from the passphrase alone.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use forge_provider::Value;
use serde::{Deserialize, Serialize};

use super::EncryptionError;

/// OpenTofu's defaults and minimums (its pbkdf2 descriptor and constants).
pub(crate) const DEFAULT_ITERATIONS: u32 = 600_000;
pub(crate) const MINIMUM_ITERATIONS: u32 = 200_000;
pub(crate) const DEFAULT_KEY_LENGTH: usize = 32;
pub(crate) const DEFAULT_SALT_LENGTH: usize = 32;
pub(crate) const MINIMUM_PASSPHRASE_LENGTH: usize = 16;

/// A configured pbkdf2 key provider. Holds the passphrase: Debug leaves it out.
#[derive(Clone)]
pub(crate) struct Pbkdf2 {
    /// `None` when the passphrase comes from a chained key provider (`chain`).
    passphrase: Option<Vec<u8>>,
    key_length: usize,
    iterations: u32,
    hash: Hash,
    salt_length: usize,
}

impl std::fmt::Debug for Pbkdf2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pbkdf2")
            .field("passphrase", &"(redacted)")
            .field("key_length", &self.key_length)
            .field("iterations", &self.iterations)
            .field("hash", &self.hash)
            .field("salt_length", &self.salt_length)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

/// The key provider's metadata, as OpenTofu stores it (Go's `[]byte` salt is base64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Metadata {
    #[serde(with = "base64_bytes")]
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub hash_function: Hash,
    pub key_length: usize,
}

impl Pbkdf2 {
    /// From the key provider's arguments: `passphrase` (16+ characters; or, when
    /// `chained`, none: the chained key provider's key is the passphrase), `key_length`,
    /// `iterations` (200000+), `hash_function` (sha256/sha512), `salt_length`.
    pub(crate) fn from_arguments(
        args: &BTreeMap<String, Value>,
        chained: bool,
    ) -> Result<Self, EncryptionError> {
        let bad =
            |m: String| EncryptionError::Configuration(format!("key_provider \"pbkdf2\": {m}"));
        for name in args.keys() {
            match name.as_str() {
                "passphrase"
                | "key_length"
                | "iterations"
                | "hash_function"
                | "salt_length"
                | "encrypted_metadata_alias" => {}
                "chain" => {
                    return Err(bad(
                        "chain must name another key provider: chain = key_provider.TYPE.NAME"
                            .into(),
                    ));
                }
                other => {
                    return Err(bad(format!(
                        "unknown argument `{other}` (takes passphrase, key_length, iterations, hash_function, salt_length, encrypted_metadata_alias)"
                    )));
                }
            }
        }
        let passphrase = args.get("passphrase").map(|v| v.unmarked().as_str());
        let passphrase = match (passphrase, chained) {
            (Some(_), true) => {
                return Err(bad(
                    "passphrase and chain are mutually exclusive; keep one".into()
                ));
            }
            (None, true) => None,
            (Some(Some(p)), false) => {
                if p.chars().count() < MINIMUM_PASSPHRASE_LENGTH {
                    return Err(bad(format!(
                        "the passphrase is too short (minimum {MINIMUM_PASSPHRASE_LENGTH} characters)"
                    )));
                }
                Some(p.as_bytes().to_vec())
            }
            _ => {
                return Err(bad(
                    "passphrase is required (a string of 16 characters or more), or chain = key_provider.TYPE.NAME".into()
                ));
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, EncryptionError> {
            match args.get(name) {
                None => Ok(default),
                Some(v) => v
                    .unmarked()
                    .as_i64()
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(format!("{name} must be a whole number above zero"))),
            }
        };
        let iterations = u32::try_from(number("iterations", u64::from(DEFAULT_ITERATIONS))?)
            .map_err(|_| bad("iterations is too large".into()))?;
        if iterations < MINIMUM_ITERATIONS {
            return Err(bad(format!(
                "the number of iterations is dangerously low (<{MINIMUM_ITERATIONS}), refusing to generate a key"
            )));
        }
        // Bounded so a typo cannot ask for gigabytes.
        let key_length = number("key_length", DEFAULT_KEY_LENGTH as u64)?;
        let salt_length = number("salt_length", DEFAULT_SALT_LENGTH as u64)?;
        if key_length > 1024 || salt_length > 1024 {
            return Err(bad(
                "key_length and salt_length may be at most 1024 bytes".into()
            ));
        }
        let hash = match args.get("hash_function").map(|v| v.unmarked().as_str()) {
            None => Hash::Sha512,
            Some(Some("sha512")) => Hash::Sha512,
            Some(Some("sha256")) => Hash::Sha256,
            Some(other) => {
                return Err(bad(format!(
                    "invalid hash_function {:?} (sha256 or sha512)",
                    other.unwrap_or("(not a string)")
                )));
            }
        };
        Ok(Pbkdf2 {
            passphrase,
            key_length: key_length as usize,
            iterations,
            hash,
            salt_length: salt_length as usize,
        })
    }

    /// A fresh key for encrypting, with the metadata to store beside the data; the
    /// passphrase is the configured one, or `chained` (the chained key provider's key).
    pub(crate) fn new_key(
        &self,
        chained: Option<&[u8]>,
    ) -> Result<(Vec<u8>, Metadata), EncryptionError> {
        let mut salt = vec![0u8; self.salt_length];
        aws_lc_rs::rand::fill(&mut salt)
            .map_err(|_| EncryptionError::Crypto("no random data for the salt".into()))?;
        let meta = Metadata {
            salt,
            iterations: self.iterations,
            hash_function: self.hash,
            key_length: self.key_length,
        };
        Ok((self.key_for(&meta, chained)?, meta))
    }

    /// The key the stored metadata says the data was encrypted with.
    pub(crate) fn key_for(
        &self,
        meta: &Metadata,
        chained: Option<&[u8]>,
    ) -> Result<Vec<u8>, EncryptionError> {
        let passphrase = match (&self.passphrase, chained) {
            (Some(p), _) => &p[..],
            (None, Some(upstream)) => {
                // OpenTofu's minimum for a chained key, as for a passphrase.
                if upstream.len() < MINIMUM_PASSPHRASE_LENGTH {
                    return Err(EncryptionError::Configuration(format!(
                        "key_provider \"pbkdf2\": the chained key provider's key is too short (minimum {MINIMUM_PASSPHRASE_LENGTH} bytes)"
                    )));
                }
                upstream
            }
            (None, None) => {
                return Err(EncryptionError::Configuration(
                    "key_provider \"pbkdf2\": no passphrase and no chained key".into(),
                ));
            }
        };
        derive(passphrase, meta)
    }
}

/// PBKDF2 as OpenTofu calls it (golang.org/x/crypto/pbkdf2.Key).
pub(crate) fn derive(passphrase: &[u8], meta: &Metadata) -> Result<Vec<u8>, EncryptionError> {
    let iterations = NonZeroU32::new(meta.iterations)
        .ok_or_else(|| EncryptionError::Metadata("pbkdf2 iterations of 0".into()))?;
    if meta.key_length == 0 || meta.key_length > 1024 {
        return Err(EncryptionError::Metadata(format!(
            "pbkdf2 key length {} out of range",
            meta.key_length
        )));
    }
    let algorithm = match meta.hash_function {
        Hash::Sha256 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        Hash::Sha512 => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
    };
    let mut key = vec![0u8; meta.key_length];
    aws_lc_rs::pbkdf2::derive(algorithm, iterations, &meta.salt, passphrase, &mut key);
    Ok(key)
}

/// Go's encoding of `[]byte` in JSON: standard base64 with padding.
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenTofu's own vector (internal/encryption/keyprovider/pbkdf2/example_decrypt_test.go):
    /// this passphrase, salt and the defaults give this key.
    #[test]
    fn derives_the_key_opentofu_derives() {
        let meta = Metadata {
            salt: vec![
                0x10, 0xec, 0x3d, 0x3f, 0xe0, 0x2a, 0xd2, 0xbe, 0xe6, 0xf1, 0xf5, 0x54, 0x0f, 0x8e,
                0x6b, 0xbe, 0x3b, 0x8b, 0x29, 0x44, 0x5c, 0xf5, 0x02, 0xd2, 0x7d, 0x47, 0xad, 0x55,
                0x4a, 0xa8, 0x97, 0x1f,
            ],
            iterations: 600_000,
            hash_function: Hash::Sha512,
            key_length: 32,
        };
        let key = derive(b"correct-horse-battery-staple", &meta).expect("derive");
        assert_eq!(
            hex::encode(key),
            "225872367198760137e0a18580433447bbf578fbe2b87ff36aef3c175fe5709c"
        );
    }

    #[test]
    fn metadata_is_stored_as_opentofu_stores_it() {
        let meta = Metadata {
            salt: b"fakesalt".to_vec(),
            iterations: 600_000,
            hash_function: Hash::Sha512,
            key_length: 32,
        };
        let json = serde_json::to_string(&meta).expect("json");
        assert_eq!(
            json,
            r#"{"salt":"ZmFrZXNhbHQ=","iterations":600000,"hash_function":"sha512","key_length":32}"#
        );
        let back: Metadata = serde_json::from_str(&json).expect("back");
        assert_eq!(back, meta);
    }

    #[test]
    fn short_passphrases_and_low_iterations_are_refused() {
        let args = |pairs: &[(&str, Value)]| -> BTreeMap<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let short = Pbkdf2::from_arguments(
            &args(&[("passphrase", Value::String("short".into()))]),
            false,
        );
        assert!(matches!(short, Err(EncryptionError::Configuration(m)) if m.contains("too short")));
        let low = Pbkdf2::from_arguments(
            &args(&[
                (
                    "passphrase",
                    Value::String("a-long-enough-passphrase".into()),
                ),
                ("iterations", Value::Number(1000.0)),
            ]),
            false,
        );
        assert!(
            matches!(low, Err(EncryptionError::Configuration(m)) if m.contains("dangerously low"))
        );
        let p = Pbkdf2::from_arguments(
            &args(&[(
                "passphrase",
                Value::Sensitive(Box::new(Value::String("a-long-enough-passphrase".into()))),
            )]),
            false,
        )
        .expect("valid");
        assert!(
            !format!("{p:?}").contains("a-long-enough"),
            "Debug shows the passphrase"
        );
    }
}
