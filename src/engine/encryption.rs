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
//! Key providers (`encryption/key_provider.rs`): `pbkdf2` (`encryption/pbkdf2.rs`), also
//! chained to another key provider, and `aws_kms` through a key service the binary hands
//! in (`KeyServices`). Methods: `aes_gcm` (`encryption/aes_gcm.rs`) and `unencrypted`.

mod aes_gcm;
mod key_provider;
mod pbkdf2;

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use forge_config::EncryptionSettings;
use forge_config::encryption::TargetSettings;

pub use key_provider::KeyServices;
use key_provider::{KeyProvider, KeyProviders};

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
        provider: Arc<KeyProvider>,
        aad: Vec<u8>,
    },
}

/// The key this run encrypts with, derived once (OpenTofu does the same: one key per run
/// and target), with its stored metadata.
struct EncryptionKey {
    key: Vec<u8>,
    /// The metadata to store, by meta key (a chain's upstream key providers' too).
    metas: Vec<(String, Vec<u8>)>,
    aad: Vec<u8>,
}

/// A key derived for reading: the key provider's meta key, the stored metadata it was
/// derived from (every entry, so a chain's upstream counts), and the key.
struct DerivedKey {
    meta_key: String,
    metadata: String,
    key: Vec<u8>,
}

/// A target's encryption: encrypts with the chain's first method, decrypts with any.
pub struct TargetCipher {
    target: Target,
    chain: Vec<Method>,
    encrypt_with: Option<EncryptionKey>,
    /// Keys derived for reading, by (meta key, metadata): a run reads its own writes (the
    /// journal), PBKDF2 costs a quarter of a second each time and KMS a request.
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
    /// Checks the settings as building them would (`forge validate`), without making a
    /// key or asking a key service.
    pub fn check(settings: &EncryptionSettings) -> Result<(), EncryptionError> {
        let mut services = KeyServices {
            check_only: true,
            ..KeyServices::default()
        };
        Self::from_settings(settings, &mut services).map(|_| ())
    }

    /// Builds the targets the settings configure (making the primary method's key), with
    /// the key services `services` offers (their notices are left there).
    pub fn from_settings(
        settings: &EncryptionSettings,
        services: &mut KeyServices<'_>,
    ) -> Result<Self, EncryptionError> {
        let check_only = services.check_only;
        let mut providers = KeyProviders::new(settings, services);
        let mut build = |t: &Option<TargetSettings>, target: Target| {
            t.as_ref()
                .map(|t| {
                    TargetCipher::new(settings, t, target, &mut providers, check_only).map(Arc::new)
                })
                .transpose()
        };
        let state = build(&settings.state, Target::State)?;
        let plan = build(&settings.plan, Target::Plan)?;
        Ok(UnitEncryption { state, plan })
    }
}

impl TargetCipher {
    fn new(
        settings: &EncryptionSettings,
        target_settings: &TargetSettings,
        target: Target,
        providers: &mut KeyProviders<'_, '_>,
        check_only: bool,
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
                    let provider = providers.get(
                        kp_kind,
                        kp_name,
                        &format!("method \"aes_gcm\" \"{name}\" at {}", m.location),
                    )?;
                    Method::AesGcm {
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
            // Checked only: no key is made (no PBKDF2 run, no KMS request).
            Method::AesGcm { .. } if check_only => None,
            Method::AesGcm { provider, aad } => {
                let new = provider.new_key()?;
                // Check the key fits the method now, not at the first write.
                aes_gcm::seal(&new.key, aad, b"")?;
                Some((
                    provider.meta_key.clone(),
                    EncryptionKey {
                        key: new.key,
                        metas: new.metas,
                        aad: aad.clone(),
                    },
                ))
            }
        };
        // What this run writes, it reads back (the journal) without asking again.
        let derived = encrypt_with
            .as_ref()
            .map(|(meta_key, k)| {
                vec![DerivedKey {
                    meta_key: meta_key.clone(),
                    metadata: metadata_fingerprint(&k.metas),
                    key: k.key.clone(),
                }]
            })
            .unwrap_or_default();
        let encrypt_with = encrypt_with.map(|(_, k)| k);
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
        for (meta_key, json) in &k.metas {
            meta.insert(meta_key.clone(), b64.encode(json).into());
        }
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
        let stored_metas: Vec<(String, Vec<u8>)> = doc
            .get("meta")
            .and_then(|m| m.as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), b64.decode(v.as_str()?).ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        let meta_of = |meta_key: &str| {
            stored_metas
                .iter()
                .find(|(k, _)| k == meta_key)
                .map(|(_, v)| v.clone())
        };
        let fingerprint = metadata_fingerprint(&stored_metas);
        let mut reasons = Vec::new();
        for method in &self.chain {
            let Method::AesGcm { provider, aad } = method else {
                continue;
            };
            let key = match self.key_for(provider, &fingerprint, &meta_of) {
                Ok(k) => k,
                Err(e) => {
                    reasons.push(e.to_string());
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
                Err(e) => reasons.push(format!("{}: {e}", provider.meta_key)),
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
        provider: &KeyProvider,
        fingerprint: &str,
        meta_of: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<Vec<u8>, EncryptionError> {
        let mut derived = self
            .derived
            .lock()
            .map_err(|_| EncryptionError::Crypto("key cache poisoned".into()))?;
        if let Some(d) = derived
            .iter()
            .find(|d| d.meta_key == provider.meta_key && d.metadata == fingerprint)
        {
            return Ok(d.key.clone());
        }
        let key = provider.stored_key(meta_of)?;
        derived.push(DerivedKey {
            meta_key: provider.meta_key.clone(),
            metadata: fingerprint.to_string(),
            key: key.clone(),
        });
        Ok(key)
    }
}

/// The stored metadata as one comparable text (sorted by meta key).
fn metadata_fingerprint(metas: &[(String, Vec<u8>)]) -> String {
    let mut sorted: Vec<String> = metas
        .iter()
        .map(|(k, v)| format!("{k}={}", hex::encode(v)))
        .collect();
    sorted.sort();
    sorted.join(";")
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
