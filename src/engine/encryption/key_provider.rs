//! A configured key provider, ready to give keys: `pbkdf2` (a passphrase, or the key of
//! the key provider it is chained to, OpenTofu's `chain = key_provider.TYPE.NAME`) and
//! `aws_kms` (a data key from a key service, `forge_provider::DataKeyService`).
//!
//! Each key provider stores its own metadata beside the encrypted data, under its meta
//! key (`key_provider.TYPE.NAME`, or its `encrypted_metadata_alias`); a chained one's
//! upstream stores its own too, so a reader rebuilds the chain's keys from the metadata
//! alone, as OpenTofu does.

use std::collections::BTreeMap;
use std::sync::Arc;

use forge_config::EncryptionSettings;
use forge_provider::{DataKeyService, KeyServiceFactory, UnitRole, Value};
use serde::{Deserialize, Serialize};

use super::EncryptionError;
use super::pbkdf2::{Metadata as Pbkdf2Metadata, Pbkdf2, base64_bytes};

/// What a unit's encryption may use beyond its settings: the key services (`aws_kms`) and
/// the identity they act as. The notices of the services opened are gathered here.
#[derive(Default)]
pub struct KeyServices<'a> {
    pub factories: &'a [Arc<dyn KeyServiceFactory>],
    pub role: Option<&'a UnitRole>,
    pub notices: Vec<String>,
    /// Only check the settings (`forge validate`): no key is made, no service opened.
    pub check_only: bool,
}

/// A fresh key for encrypting, with the metadata to store: this key provider's and,
/// for a chain, every upstream one's, by meta key.
pub(crate) struct NewKey {
    pub key: Vec<u8>,
    pub metas: Vec<(String, Vec<u8>)>,
}

pub(crate) struct KeyProvider {
    /// Where its metadata is stored.
    pub meta_key: String,
    /// Its block's place, for messages.
    location: String,
    kind: Kind,
}

enum Kind {
    Pbkdf2 {
        params: Pbkdf2,
        chain: Option<Arc<KeyProvider>>,
    },
    AwsKms {
        service: Arc<dyn DataKeyService>,
    },
    /// Checked, not opened (`KeyServices::check_only`): never asked for a key.
    Unopened,
}

impl std::fmt::Debug for KeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Pbkdf2 { chain, .. } => match chain {
                Some(c) => format!("pbkdf2 chained to {}", c.meta_key),
                None => "pbkdf2".to_string(),
            },
            Kind::AwsKms { .. } => "aws_kms".to_string(),
            Kind::Unopened => "not opened".to_string(),
        };
        f.debug_struct("KeyProvider")
            .field("meta_key", &self.meta_key)
            .field("kind", &kind)
            .finish()
    }
}

/// OpenTofu's aws_kms metadata: the wrapped data key (Go's `[]byte`, base64).
#[derive(Serialize, Deserialize)]
struct KmsMetadata {
    #[serde(with = "base64_bytes")]
    ciphertext_blob: Vec<u8>,
}

/// The key providers of one encryption configuration, each built once (a KMS service is
/// opened once per unit and run, whichever targets use it).
pub(crate) struct KeyProviders<'s, 'f> {
    settings: &'s EncryptionSettings,
    services: &'s mut KeyServices<'f>,
    built: BTreeMap<(String, String), Arc<KeyProvider>>,
}

impl<'s, 'f> KeyProviders<'s, 'f> {
    pub(crate) fn new(settings: &'s EncryptionSettings, services: &'s mut KeyServices<'f>) -> Self {
        KeyProviders {
            settings,
            services,
            built: BTreeMap::new(),
        }
    }

    /// The key provider `key_provider.KIND.NAME`, with the key providers it chains from;
    /// `needed_by` names the referrer for messages.
    pub(crate) fn get(
        &mut self,
        kind: &str,
        name: &str,
        needed_by: &str,
    ) -> Result<Arc<KeyProvider>, EncryptionError> {
        self.get_in(kind, name, needed_by, &mut Vec::new())
    }

    fn get_in(
        &mut self,
        kind: &str,
        name: &str,
        needed_by: &str,
        stack: &mut Vec<String>,
    ) -> Result<Arc<KeyProvider>, EncryptionError> {
        let id = (kind.to_string(), name.to_string());
        if let Some(built) = self.built.get(&id) {
            return Ok(built.clone());
        }
        let address = format!("key_provider.{kind}.{name}");
        let kp = self.settings.key_provider(kind, name).ok_or_else(|| {
            EncryptionError::Configuration(format!(
                "{needed_by} uses {address}, which no key_provider block declares"
            ))
        })?;
        if stack.contains(&address) {
            stack.push(address);
            return Err(EncryptionError::Configuration(format!(
                "the key providers' chains form a cycle: {} (at {})",
                stack.join(" -> "),
                kp.location
            )));
        }
        stack.push(address.clone());
        let meta_key = kp
            .arguments
            .get("encrypted_metadata_alias")
            .and_then(|v| v.unmarked().as_str())
            .map(str::to_string)
            .unwrap_or_else(|| address.clone());
        let at = |e: String| EncryptionError::Configuration(format!("{e} (at {})", kp.location));
        let chain = match &kp.chain {
            Some((up_kind, up_name)) => Some(self.get_in(
                up_kind,
                up_name,
                &format!("the chain of {address} at {}", kp.location),
                stack,
            )?),
            None => None,
        };
        let kind_built = match kind {
            "pbkdf2" => Kind::Pbkdf2 {
                params: Pbkdf2::from_arguments(&kp.arguments, chain.is_some())
                    .map_err(|e| at(e.to_string()))?,
                chain,
            },
            "aws_kms" => {
                if chain.is_some() {
                    return Err(at(
                        "key_provider \"aws_kms\" takes no chain (OpenTofu's takes none): its key comes from KMS".into(),
                    ));
                }
                if self.services.check_only {
                    check_kms_arguments(&kp.arguments).map_err(at)?;
                    stack.pop();
                    let built = Arc::new(KeyProvider {
                        meta_key,
                        location: kp.location.to_string(),
                        kind: Kind::Unopened,
                    });
                    self.built.insert(id, built.clone());
                    return Ok(built);
                }
                let factory = self
                    .services
                    .factories
                    .iter()
                    .find(|f| f.key_provider_type() == "aws_kms")
                    .ok_or_else(|| {
                        at("the aws_kms key provider needs AWS, which this forge run has no access to".into())
                    })?;
                let arguments: BTreeMap<String, Value> = kp
                    .arguments
                    .iter()
                    .filter(|(k, _)| k.as_str() != "encrypted_metadata_alias")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let opened = factory
                    .open(&arguments, self.services.role)
                    .map_err(|e| at(format!("key_provider \"aws_kms\" \"{name}\": {e}")))?;
                self.services.notices.extend(
                    opened
                        .notices
                        .into_iter()
                        .map(|n| format!("{address} at {}: {n}", kp.location)),
                );
                Kind::AwsKms {
                    service: opened.service,
                }
            }
            other => {
                return Err(at(format!(
                    "unknown key provider type \"{other}\" (forge supports pbkdf2 and aws_kms)"
                )));
            }
        };
        stack.pop();
        let built = Arc::new(KeyProvider {
            meta_key,
            location: kp.location.to_string(),
            kind: kind_built,
        });
        self.built.insert(id, built.clone());
        Ok(built)
    }
}

impl KeyProvider {
    /// A fresh key for encrypting (a new salt; a new data key from KMS).
    pub(crate) fn new_key(&self) -> Result<NewKey, EncryptionError> {
        match &self.kind {
            Kind::Pbkdf2 { params, chain } => {
                let mut metas = Vec::new();
                let upstream = match chain {
                    Some(c) => {
                        let up = c.new_key()?;
                        metas.extend(up.metas);
                        Some(up.key)
                    }
                    None => None,
                };
                let (key, meta) = params.new_key(upstream.as_deref())?;
                metas.push((self.meta_key.clone(), to_json(&meta)?));
                Ok(NewKey { key, metas })
            }
            Kind::AwsKms { service } => {
                let data_key = service.generate().map_err(|e| {
                    EncryptionError::Crypto(format!(
                        "{} at {}: cannot generate a data key: {e}",
                        self.meta_key, self.location
                    ))
                })?;
                let meta = KmsMetadata {
                    ciphertext_blob: data_key.wrapped,
                };
                Ok(NewKey {
                    key: data_key.plaintext,
                    metas: vec![(self.meta_key.clone(), to_json(&meta)?)],
                })
            }
            Kind::Unopened => Err(unopened(&self.meta_key)),
        }
    }

    /// The key stored data was encrypted with, from its metadata (`meta_of` gives a meta
    /// key's decoded metadata JSON, `None` when the data holds none).
    pub(crate) fn stored_key(
        &self,
        meta_of: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<Vec<u8>, EncryptionError> {
        let meta_json = meta_of(&self.meta_key).ok_or_else(|| {
            EncryptionError::Metadata(format!(
                "{}: the data holds no metadata for this key provider (it was encrypted by another one; a renamed key provider needs the old one as a fallback)",
                self.meta_key
            ))
        })?;
        match &self.kind {
            Kind::Pbkdf2 { params, chain } => {
                let meta: Pbkdf2Metadata = serde_json::from_slice(&meta_json).map_err(|e| {
                    EncryptionError::Metadata(format!(
                        "{}: unreadable pbkdf2 metadata: {e}",
                        self.meta_key
                    ))
                })?;
                let upstream = match chain {
                    Some(c) => Some(c.stored_key(meta_of)?),
                    None => None,
                };
                params.key_for(&meta, upstream.as_deref())
            }
            Kind::AwsKms { service } => {
                let meta: KmsMetadata = serde_json::from_slice(&meta_json).map_err(|e| {
                    EncryptionError::Metadata(format!(
                        "{}: unreadable aws_kms metadata: {e}",
                        self.meta_key
                    ))
                })?;
                if meta.ciphertext_blob.is_empty() {
                    return Err(EncryptionError::Metadata(format!(
                        "{}: the aws_kms metadata holds no encrypted data key",
                        self.meta_key
                    )));
                }
                service.unwrap_key(&meta.ciphertext_blob).map_err(|e| {
                    EncryptionError::Decryption(format!(
                        "{} at {}: KMS cannot decrypt the data key: {e}",
                        self.meta_key, self.location
                    ))
                })
            }
            Kind::Unopened => Err(unopened(&self.meta_key)),
        }
    }
}

fn unopened(meta_key: &str) -> EncryptionError {
    EncryptionError::Configuration(format!(
        "{meta_key} was only checked, not opened; it gives no key"
    ))
}

/// What `forge validate` checks of an aws_kms key provider without AWS: the two
/// arguments it cannot do without (the AWS settings are checked when it is opened).
fn check_kms_arguments(args: &BTreeMap<String, Value>) -> Result<(), String> {
    let text = |name: &str| {
        args.get(name)
            .and_then(|v| v.unmarked().as_str().map(str::to_string))
    };
    if text("kms_key_id").is_none_or(|s| s.is_empty()) {
        return Err("key_provider \"aws_kms\": no kms_key_id provided".into());
    }
    match text("key_spec").as_deref() {
        Some("AES_256" | "AES_128") => Ok(()),
        None | Some("") => {
            Err("key_provider \"aws_kms\": no key_spec provided (key_spec = \"AES_256\")".into())
        }
        Some(other) => Err(format!(
            "key_provider \"aws_kms\": invalid key_spec {other:?}, expected one of AES_256, AES_128"
        )),
    }
}

fn to_json<T: Serialize>(meta: &T) -> Result<Vec<u8>, EncryptionError> {
    serde_json::to_vec(meta).map_err(|e| EncryptionError::Crypto(e.to_string()))
}
