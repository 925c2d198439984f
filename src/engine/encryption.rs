//! State encryption in OpenTofu's format, so that OpenTofu reads what forge writes and
//! forge reads what OpenTofu wrote.
//!
//! The encrypted form is a JSON document (backends and tools expect JSON):
//! `{"serial": N, "lineage": "...", "meta": {"key_provider.pbkdf2.k": base64(metadata JSON)},
//! "encrypted_data": base64(nonce || AES-GCM ciphertext || tag), "encryption_version": "v0"}`
//! (`serial` and `lineage` are copied in the clear for state, and checked against the
//! decrypted state). A target (`state`) names a chain of methods: the first encrypts,
//! each may decrypt (`fallback`: key rotation, and `unencrypted` for migrating a state
//! that was never encrypted). `enforced` forbids `unencrypted` anywhere in the chain.
//!
//! Key providers: `pbkdf2` (`encryption/pbkdf2.rs`). Methods: `aes_gcm`
//! (`encryption/aes_gcm.rs`) and `unencrypted`. `aws_kms` is refused with a message: forge
//! does not build the KMS client yet.

mod aes_gcm;
mod pbkdf2;

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use forge_config::EncryptionSettings;
use forge_config::encryption::TargetSettings;

use pbkdf2::{Metadata, Pbkdf2};

/// The envelope's version marker, OpenTofu's `encryptionVersion`.
const ENCRYPTION_VERSION: &str = "v0";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncryptionError {
    /// The encryption settings are wrong or name something forge does not support.
    Configuration(String),
    /// The metadata stored with the encrypted data cannot be used.
    Metadata(String),
    /// Decryption failed (wrong key, damaged data, unencrypted data refused).
    Decryption(String),
    /// The system's cryptography failed (no random data, ...).
    Crypto(String),
}

impl fmt::Display for EncryptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncryptionError::Configuration(m) => write!(f, "encryption settings: {m}"),
            EncryptionError::Metadata(m) => write!(f, "encryption metadata: {m}"),
            EncryptionError::Decryption(m) | EncryptionError::Crypto(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EncryptionError {}

/// True when `bytes` are an encrypted payload in OpenTofu's format (a JSON object with a
/// non-empty `encryption_version`), whatever the key.
pub fn is_encrypted_payload(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("encryption_version")
                .and_then(|s| s.as_str())
                .map(|s| !s.is_empty())
        })
        .unwrap_or(false)
}

/// What a target encrypts: the passthrough fields differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    State,
    Plan,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::State => "state",
            Target::Plan => "plan",
        }
    }
}

/// One method of a target's chain, ready to use.
#[derive(Clone, Debug)]
enum Method {
    Unencrypted,
    AesGcm {
        /// Where the key provider's metadata is stored (`key_provider.pbkdf2.k`, or its
        /// `encrypted_metadata_alias`).
        meta_key: String,
        provider: Pbkdf2,
        aad: Vec<u8>,
    },
}

/// The key this run encrypts with, derived once (OpenTofu does the same: one key per run
/// and target), with its stored metadata.
struct EncryptionKey {
    key: Vec<u8>,
    meta_key: String,
    meta_json: Vec<u8>,
    aad: Vec<u8>,
}

/// A key derived for reading: the metadata key it was stored under, the metadata JSON it
/// was derived from, and the key.
struct DerivedKey {
    meta_key: String,
    meta_json: Vec<u8>,
    key: Vec<u8>,
}

/// A target's encryption: encrypts with the chain's first method, decrypts with any.
pub struct TargetCipher {
    target: Target,
    chain: Vec<Method>,
    encrypt_with: Option<EncryptionKey>,
    /// Keys derived for reading, by (meta key, metadata): a run reads its own writes (the
    /// journal) and PBKDF2 costs a quarter of a second each time.
    derived: Mutex<Vec<DerivedKey>>,
}

impl fmt::Debug for TargetCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetCipher")
            .field("target", &self.target)
            .field("chain", &self.chain)
            .field("keys", &"(redacted)")
            .finish()
    }
}

/// A unit's encryption: its state target and its plan target, each optional.
#[derive(Debug, Default)]
pub struct UnitEncryption {
    pub state: Option<Arc<TargetCipher>>,
    pub plan: Option<Arc<TargetCipher>>,
}

impl UnitEncryption {
    /// Builds the targets the settings configure (deriving the primary method's key).
    pub fn from_settings(settings: &EncryptionSettings) -> Result<Self, EncryptionError> {
        let build = |t: &Option<TargetSettings>, target: Target| {
            t.as_ref()
                .map(|t| TargetCipher::new(settings, t, target).map(Arc::new))
                .transpose()
        };
        Ok(UnitEncryption {
            state: build(&settings.state, Target::State)?,
            plan: build(&settings.plan, Target::Plan)?,
        })
    }
}

impl TargetCipher {
    fn new(
        settings: &EncryptionSettings,
        target_settings: &TargetSettings,
        target: Target,
    ) -> Result<Self, EncryptionError> {
        let at = &target_settings.location;
        if target_settings.methods.is_empty() {
            return Err(EncryptionError::Configuration(format!(
                "{} at {at} names no method; write method = method.aes_gcm.NAME",
                target.name()
            )));
        }
        let mut chain = Vec::new();
        for (kind, name) in &target_settings.methods {
            let m = settings.method(kind, name).ok_or_else(|| {
                EncryptionError::Configuration(format!(
                    "{} at {at} names method.{kind}.{name}, which no method block declares",
                    target.name()
                ))
            })?;
            chain.push(match kind.as_str() {
                "unencrypted" => {
                    if target_settings.enforced {
                        return Err(EncryptionError::Configuration(format!(
                            "{} at {at} is enforced, so it cannot use the unencrypted method {name}",
                            target.name()
                        )));
                    }
                    Method::Unencrypted
                }
                "aes_gcm" => {
                    let (kp_kind, kp_name) = m.keys.as_ref().ok_or_else(|| {
                        EncryptionError::Configuration(format!(
                            "method \"aes_gcm\" \"{name}\" at {} needs keys = key_provider.TYPE.NAME",
                            m.location
                        ))
                    })?;
                    let kp = settings.key_provider(kp_kind, kp_name).ok_or_else(|| {
                        EncryptionError::Configuration(format!(
                            "method \"aes_gcm\" \"{name}\" at {} uses key_provider.{kp_kind}.{kp_name}, which no key_provider block declares",
                            m.location
                        ))
                    })?;
                    let provider = match kp_kind.as_str() {
                        "pbkdf2" => Pbkdf2::from_arguments(&kp.arguments).map_err(|e| {
                            EncryptionError::Configuration(format!("{e} (at {})", kp.location))
                        })?,
                        "aws_kms" => {
                            return Err(EncryptionError::Configuration(format!(
                                "the aws_kms key provider at {} is not supported by forge yet; use pbkdf2 (a passphrase) for now",
                                kp.location
                            )));
                        }
                        other => {
                            return Err(EncryptionError::Configuration(format!(
                                "unknown key provider type \"{other}\" at {} (forge supports pbkdf2)",
                                kp.location
                            )));
                        }
                    };
                    let meta_key = kp
                        .arguments
                        .get("encrypted_metadata_alias")
                        .and_then(|v| v.unmarked().as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("key_provider.{kp_kind}.{kp_name}"));
                    Method::AesGcm {
                        meta_key,
                        provider,
                        aad: m.aad.clone().unwrap_or_default(),
                    }
                }
                other => {
                    return Err(EncryptionError::Configuration(format!(
                        "unknown method type \"{other}\" at {} (forge supports aes_gcm and unencrypted)",
                        m.location
                    )));
                }
            });
        }
        let encrypt_with = match &chain[0] {
            Method::Unencrypted => None,
            Method::AesGcm {
                meta_key,
                provider,
                aad,
            } => {
                let (key, meta) = provider.new_key()?;
                let meta_json = serde_json::to_vec(&meta)
                    .map_err(|e| EncryptionError::Crypto(e.to_string()))?;
                // Check the key fits the method now, not at the first write.
                aes_gcm::seal(&key, aad, b"")?;
                Some(EncryptionKey {
                    key,
                    meta_key: meta_key.clone(),
                    meta_json,
                    aad: aad.clone(),
                })
            }
        };
        let derived = encrypt_with
            .as_ref()
            .map(|k| {
                vec![DerivedKey {
                    meta_key: k.meta_key.clone(),
                    meta_json: k.meta_json.clone(),
                    key: k.key.clone(),
                }]
            })
            .unwrap_or_default();
        Ok(TargetCipher {
            target,
            chain,
            encrypt_with,
            derived: Mutex::new(derived),
        })
    }

    /// True when what this writes is encrypted (the first method is not `unencrypted`).
    pub fn encrypts(&self) -> bool {
        self.encrypt_with.is_some()
    }

    /// The encrypted form of `plain` (a state's JSON for the state target).
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let Some(k) = &self.encrypt_with else {
            return Ok(plain.to_vec());
        };
        let sealed = aes_gcm::seal(&k.key, &k.aad, plain)?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut doc = serde_json::Map::new();
        if self.target == Target::State {
            let state: serde_json::Value = serde_json::from_slice(plain).map_err(|e| {
                EncryptionError::Crypto(format!("the state to encrypt is not JSON: {e}"))
            })?;
            doc.insert(
                "serial".into(),
                state
                    .get("serial")
                    .cloned()
                    .unwrap_or(serde_json::Value::Null),
            );
            doc.insert(
                "lineage".into(),
                state
                    .get("lineage")
                    .cloned()
                    .unwrap_or_else(|| serde_json::Value::String(String::new())),
            );
        }
        let mut meta = serde_json::Map::new();
        meta.insert(k.meta_key.clone(), b64.encode(&k.meta_json).into());
        doc.insert("meta".into(), meta.into());
        doc.insert("encrypted_data".into(), b64.encode(sealed).into());
        doc.insert("encryption_version".into(), ENCRYPTION_VERSION.into());
        serde_json::to_vec(&serde_json::Value::Object(doc))
            .map_err(|e| EncryptionError::Crypto(e.to_string()))
    }

    /// The plain form of `stored`: decrypted by the first method of the chain that can,
    /// or taken as it is when it is not encrypted and the chain allows `unencrypted`.
    pub fn decrypt(&self, stored: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let what = self.target.name();
        let doc: Option<serde_json::Value> = serde_json::from_slice(stored).ok();
        let version = doc
            .as_ref()
            .and_then(|d| d.get("encryption_version"))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty());
        let (Some(doc), Some(version)) = (doc.as_ref(), version) else {
            if self.chain.iter().any(|m| matches!(m, Method::Unencrypted)) {
                return Ok(stored.to_vec());
            }
            return Err(EncryptionError::Decryption(format!(
                "the {what} is not encrypted, and encryption is configured without an unencrypted fallback: forge refuses unencrypted data it could not tell from tampered data; to migrate, add method \"unencrypted\" \"migrate\" {{}} and a fallback {{ method = method.unencrypted.migrate }} for one apply"
            )));
        };
        if version != ENCRYPTION_VERSION {
            return Err(EncryptionError::Decryption(format!(
                "the {what} is encrypted with format version {version}; forge reads {ENCRYPTION_VERSION}"
            )));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let data = doc
            .get("encrypted_data")
            .and_then(|v| v.as_str())
            .and_then(|s| b64.decode(s).ok())
            .ok_or_else(|| {
                EncryptionError::Metadata(format!(
                    "the encrypted {what} has no readable encrypted_data"
                ))
            })?;
        let mut reasons = Vec::new();
        for method in &self.chain {
            let Method::AesGcm {
                meta_key,
                provider,
                aad,
            } = method
            else {
                continue;
            };
            let Some(meta_json) = doc
                .get("meta")
                .and_then(|m| m.get(meta_key))
                .and_then(|v| v.as_str())
                .and_then(|s| b64.decode(s).ok())
            else {
                reasons.push(format!(
                    "{meta_key}: the {what} holds no metadata for this key provider (it was encrypted by another one; a renamed key provider needs the old one as a fallback)"
                ));
                continue;
            };
            let key = match self.key_for(meta_key, &meta_json, provider) {
                Ok(k) => k,
                Err(e) => {
                    reasons.push(format!("{meta_key}: {e}"));
                    continue;
                }
            };
            match aes_gcm::open(&key, aad, &data) {
                Ok(plain) => {
                    if self.target == Target::State {
                        check_passthrough(doc, &plain)?;
                    }
                    return Ok(plain);
                }
                Err(e) => reasons.push(format!("{meta_key}: {e}")),
            }
        }
        if reasons.is_empty() {
            reasons
                .push("no configured method can decrypt (only unencrypted is configured)".into());
        }
        Err(EncryptionError::Decryption(format!(
            "cannot decrypt the {what} with the configured keys: {}",
            reasons.join("; ")
        )))
    }

    fn key_for(
        &self,
        meta_key: &str,
        meta_json: &[u8],
        provider: &Pbkdf2,
    ) -> Result<Vec<u8>, EncryptionError> {
        let mut derived = self
            .derived
            .lock()
            .map_err(|_| EncryptionError::Crypto("key cache poisoned".into()))?;
        if let Some(d) = derived
            .iter()
            .find(|d| d.meta_key == meta_key && d.meta_json == meta_json)
        {
            return Ok(d.key.clone());
        }
        let meta: Metadata = serde_json::from_slice(meta_json)
            .map_err(|e| EncryptionError::Metadata(format!("unreadable pbkdf2 metadata: {e}")))?;
        let key = provider.key_for(&meta)?;
        derived.push(DerivedKey {
            meta_key: meta_key.to_string(),
            meta_json: meta_json.to_vec(),
            key: key.clone(),
        });
        Ok(key)
    }
}

/// OpenTofu's check that the clear `serial`/`lineage` match the encrypted state's.
fn check_passthrough(doc: &serde_json::Value, plain: &[u8]) -> Result<(), EncryptionError> {
    let state: serde_json::Value = serde_json::from_slice(plain).map_err(|e| {
        EncryptionError::Decryption(format!("the decrypted state is not JSON: {e}"))
    })?;
    for field in ["serial", "lineage"] {
        let outer = doc.get(field).filter(|v| !v.is_null() && *v != "");
        if let Some(outer) = outer
            && state.get(field) != Some(outer)
        {
            return Err(EncryptionError::Decryption(format!(
                "the encrypted state's {field} ({outer}) differs from the {field} inside it: the file was altered"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
