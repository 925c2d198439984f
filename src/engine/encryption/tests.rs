use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use forge_config::encryption::{KeyProviderSettings, MethodSettings, TargetSettings};
use forge_lang::Location;
use forge_provider::Value;

use super::*;

const PASSPHRASE: &str = "correct-horse-battery-staple";
const STATE: &str = r#"{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"abc-123","outputs":{"secret":{"value":"hunter2-in-clear","type":"string"}},"resources":[]}"#;

fn at() -> Location {
    Location {
        file: Arc::new(PathBuf::from("terragrunt.hcl")),
        line: 1,
        col: 1,
        line_text: String::new(),
        width: 1,
    }
}

fn pbkdf2(name: &str, passphrase: &str) -> KeyProviderSettings {
    KeyProviderSettings {
        kind: "pbkdf2".into(),
        name: name.into(),
        arguments: BTreeMap::from([
            ("passphrase".to_string(), Value::String(passphrase.into())),
            // OpenTofu's minimum, so the tests derive keys quickly.
            ("iterations".to_string(), Value::Number(200_000.0)),
        ]),
        chain: None,
        location: at(),
    }
}

fn build(s: &EncryptionSettings) -> Result<UnitEncryption, EncryptionError> {
    UnitEncryption::from_settings(s, &mut KeyServices::default())
}

fn aes_gcm(name: &str, key_provider: &str) -> MethodSettings {
    MethodSettings {
        kind: "aes_gcm".into(),
        name: name.into(),
        keys: Some(("pbkdf2".into(), key_provider.into())),
        aad: None,
        location: at(),
    }
}

fn unencrypted() -> MethodSettings {
    MethodSettings {
        kind: "unencrypted".into(),
        name: "migrate".into(),
        keys: None,
        aad: None,
        location: at(),
    }
}

fn settings(
    providers: Vec<KeyProviderSettings>,
    methods: Vec<MethodSettings>,
    chain: &[(&str, &str)],
    enforced: bool,
) -> EncryptionSettings {
    EncryptionSettings {
        key_providers: providers,
        methods,
        state: Some(TargetSettings {
            enforced,
            methods: chain
                .iter()
                .map(|(k, n)| (k.to_string(), n.to_string()))
                .collect(),
            location: at(),
        }),
        plan: None,
        location: at(),
    }
}

fn state_cipher(s: &EncryptionSettings) -> Arc<TargetCipher> {
    build(s).expect("settings").state.expect("state target")
}

fn simple(passphrase: &str) -> Arc<TargetCipher> {
    state_cipher(&settings(
        vec![pbkdf2("k", passphrase)],
        vec![aes_gcm("m", "k")],
        &[("aes_gcm", "m")],
        false,
    ))
}

#[test]
fn the_encrypted_state_has_opentofus_envelope_and_reads_back() {
    let cipher = simple(PASSPHRASE);
    let stored = cipher.encrypt(STATE.as_bytes()).expect("encrypt");
    let text = String::from_utf8(stored.clone()).expect("utf8");
    assert!(!text.contains("hunter2"), "a secret is readable: {text}");
    let doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    let keys: Vec<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "serial",
            "lineage",
            "meta",
            "encrypted_data",
            "encryption_version"
        ]
    );
    assert_eq!(doc["serial"], 3);
    assert_eq!(doc["lineage"], "abc-123");
    assert_eq!(doc["encryption_version"], "v0");
    let meta = base64::engine::general_purpose::STANDARD
        .decode(doc["meta"]["key_provider.pbkdf2.k"].as_str().expect("meta"))
        .expect("base64");
    let meta: serde_json::Value = serde_json::from_slice(&meta).expect("meta json");
    assert_eq!(meta["iterations"], 200_000);
    assert_eq!(meta["hash_function"], "sha512");
    assert_eq!(meta["key_length"], 32);
    let salt = base64::engine::general_purpose::STANDARD
        .decode(meta["salt"].as_str().expect("salt"))
        .expect("salt base64");
    assert_eq!(salt.len(), 32);
    assert_eq!(cipher.decrypt(&stored).expect("decrypt"), STATE.as_bytes());
    // Another run (another salt) with the same passphrase reads it too.
    assert_eq!(
        simple(PASSPHRASE).decrypt(&stored).expect("decrypt"),
        STATE.as_bytes()
    );
    assert!(is_encrypted_payload(&stored));
    assert!(!is_encrypted_payload(STATE.as_bytes()));
}

/// A state as OpenTofu writes it, put together from its documented steps with OpenTofu's
/// own PBKDF2 vector (the salt and key of its example_decrypt_test.go): metadata JSON in
/// base64 under `key_provider.pbkdf2.NAME`, nonce || ciphertext || tag in base64.
#[test]
fn reads_a_state_laid_out_as_opentofu_writes_it() {
    let salt: [u8; 32] = [
        0x10, 0xec, 0x3d, 0x3f, 0xe0, 0x2a, 0xd2, 0xbe, 0xe6, 0xf1, 0xf5, 0x54, 0x0f, 0x8e, 0x6b,
        0xbe, 0x3b, 0x8b, 0x29, 0x44, 0x5c, 0xf5, 0x02, 0xd2, 0x7d, 0x47, 0xad, 0x55, 0x4a, 0xa8,
        0x97, 0x1f,
    ];
    let key = hex::decode("225872367198760137e0a18580433447bbf578fbe2b87ff36aef3c175fe5709c")
        .expect("hex");
    let b64 = base64::engine::general_purpose::STANDARD;
    let meta = format!(
        r#"{{"salt":"{}","iterations":600000,"hash_function":"sha512","key_length":32}}"#,
        b64.encode(salt)
    );
    let sealed = aes_gcm::seal(&key, b"", STATE.as_bytes()).expect("seal");
    let stored = format!(
        r#"{{"serial":3,"lineage":"abc-123","meta":{{"key_provider.pbkdf2.main":"{}"}},"encrypted_data":"{}","encryption_version":"v0"}}"#,
        b64.encode(meta),
        b64.encode(sealed)
    );
    let cipher = state_cipher(&settings(
        vec![KeyProviderSettings {
            arguments: BTreeMap::from([(
                "passphrase".to_string(),
                Value::String(PASSPHRASE.into()),
            )]),
            ..pbkdf2("main", PASSPHRASE)
        }],
        vec![aes_gcm("m", "main")],
        &[("aes_gcm", "m")],
        false,
    ));
    assert_eq!(
        cipher.decrypt(stored.as_bytes()).expect("decrypt"),
        STATE.as_bytes()
    );
}

#[test]
fn a_wrong_passphrase_is_an_error_that_says_so() {
    let stored = simple(PASSPHRASE)
        .encrypt(STATE.as_bytes())
        .expect("encrypt");
    let err = simple("another-passphrase-entirely")
        .decrypt(&stored)
        .expect_err("decrypted with the wrong key");
    let text = err.to_string();
    assert!(text.contains("cannot decrypt the state"), "{text}");
    assert!(text.contains("wrong passphrase"), "{text}");
}

#[test]
fn unencrypted_state_is_refused_unless_a_fallback_allows_it() {
    let err = simple(PASSPHRASE)
        .decrypt(STATE.as_bytes())
        .expect_err("plain state taken");
    assert!(err.to_string().contains("not encrypted"), "{err}");
    let migrating = state_cipher(&settings(
        vec![pbkdf2("k", PASSPHRASE)],
        vec![aes_gcm("m", "k"), unencrypted()],
        &[("aes_gcm", "m"), ("unencrypted", "migrate")],
        false,
    ));
    assert_eq!(
        migrating.decrypt(STATE.as_bytes()).expect("fallback"),
        STATE.as_bytes()
    );
    assert!(migrating.encrypts());
    assert!(is_encrypted_payload(
        &migrating.encrypt(STATE.as_bytes()).expect("encrypt")
    ));
    let enforced = build(&settings(
        vec![pbkdf2("k", PASSPHRASE)],
        vec![aes_gcm("m", "k"), unencrypted()],
        &[("aes_gcm", "m"), ("unencrypted", "migrate")],
        true,
    ));
    assert!(
        matches!(&enforced, Err(EncryptionError::Configuration(m)) if m.contains("enforced")),
        "{enforced:?}"
    );
}

#[test]
fn a_fallback_reads_what_the_old_key_wrote() {
    let old = state_cipher(&settings(
        vec![pbkdf2("old", "the-old-passphrase-1")],
        vec![aes_gcm("old", "old")],
        &[("aes_gcm", "old")],
        false,
    ));
    let stored = old.encrypt(STATE.as_bytes()).expect("encrypt");
    let rotated = state_cipher(&settings(
        vec![
            pbkdf2("new", "the-new-passphrase-2"),
            pbkdf2("old", "the-old-passphrase-1"),
        ],
        vec![aes_gcm("new", "new"), aes_gcm("old", "old")],
        &[("aes_gcm", "new"), ("aes_gcm", "old")],
        false,
    ));
    assert_eq!(
        rotated.decrypt(&stored).expect("fallback"),
        STATE.as_bytes()
    );
    let rewritten = rotated.encrypt(STATE.as_bytes()).expect("encrypt");
    let doc: serde_json::Value = serde_json::from_slice(&rewritten).expect("json");
    assert!(doc["meta"].get("key_provider.pbkdf2.new").is_some());
    assert!(
        old.decrypt(&rewritten).is_err(),
        "the old key reads the new state"
    );
}

#[test]
fn an_altered_serial_is_refused() {
    let cipher = simple(PASSPHRASE);
    let stored = cipher.encrypt(STATE.as_bytes()).expect("encrypt");
    let mut doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    doc["serial"] = 99.into();
    let err = cipher
        .decrypt(&serde_json::to_vec(&doc).expect("json"))
        .expect_err("altered serial taken");
    assert!(err.to_string().contains("serial"), "{err}");
}

#[test]
fn unsupported_key_providers_and_methods_are_refused_by_name() {
    let mut other = pbkdf2("k", PASSPHRASE);
    other.kind = "gcp_kms".into();
    let mut method = aes_gcm("m", "k");
    method.keys = Some(("gcp_kms".into(), "k".into()));
    let err = build(&settings(
        vec![other],
        vec![method],
        &[("aes_gcm", "m")],
        false,
    ))
    .expect_err("gcp_kms accepted");
    assert!(err.to_string().contains("gcp_kms"), "{err}");
    assert!(err.to_string().contains("terragrunt.hcl:1:1"), "{err}");
    let err = build(&settings(
        vec![pbkdf2("k", PASSPHRASE)],
        vec![aes_gcm("m", "k")],
        &[("aes_gcm", "missing")],
        false,
    ))
    .expect_err("undeclared method accepted");
    assert!(err.to_string().contains("method.aes_gcm.missing"), "{err}");
}

/// A key service that keeps its master key in memory, for the engine's logic only (the
/// real one, AWS KMS, is tested on the emulator in tests/cli/state_encryption.rs):
/// the wrapped key is the plaintext XORed with the master key, behind the key's name.
struct MemoryKms {
    name: String,
    master: u8,
    calls: std::sync::Mutex<Vec<&'static str>>,
}

impl forge_provider::DataKeyService for MemoryKms {
    fn generate(&self) -> Result<forge_provider::DataKey, forge_provider::ProviderError> {
        self.calls.lock().expect("calls").push("generate");
        let mut plaintext = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut plaintext).expect("random");
        let mut wrapped = self.name.as_bytes().to_vec();
        wrapped.push(0);
        wrapped.extend(plaintext.iter().map(|b| b ^ self.master));
        Ok(forge_provider::DataKey { plaintext, wrapped })
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Vec<u8>, forge_provider::ProviderError> {
        self.calls.lock().expect("calls").push("unwrap");
        let prefix = format!("{}\0", self.name);
        let rest = wrapped
            .strip_prefix(prefix.as_bytes())
            .ok_or_else(|| forge_provider::ProviderError::new("IncorrectKeyException"))?;
        Ok(rest.iter().map(|b| b ^ self.master).collect())
    }
}

struct MemoryKmsFactory(Arc<MemoryKms>);

impl forge_provider::KeyServiceFactory for MemoryKmsFactory {
    fn key_provider_type(&self) -> &'static str {
        "aws_kms"
    }

    fn open(
        &self,
        arguments: &BTreeMap<String, Value>,
        _role: Option<&forge_provider::UnitRole>,
    ) -> Result<forge_provider::OpenedKeyService, forge_provider::ProviderError> {
        let id = arguments
            .get("kms_key_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if id != self.0.name {
            return Err(forge_provider::ProviderError::new(format!(
                "NotFoundException: key {id} does not exist"
            )));
        }
        Ok(forge_provider::OpenedKeyService {
            service: self.0.clone(),
            notices: vec!["a notice".into()],
        })
    }
}

fn kms(name: &str, key_id: &str) -> KeyProviderSettings {
    KeyProviderSettings {
        kind: "aws_kms".into(),
        name: name.into(),
        arguments: BTreeMap::from([
            ("kms_key_id".to_string(), Value::string(key_id)),
            ("key_spec".to_string(), Value::string("AES_256")),
        ]),
        chain: None,
        location: at(),
    }
}

fn with_kms(
    s: &EncryptionSettings,
    service: &Arc<MemoryKms>,
) -> Result<(UnitEncryption, Vec<String>), EncryptionError> {
    let factories: Vec<Arc<dyn forge_provider::KeyServiceFactory>> =
        vec![Arc::new(MemoryKmsFactory(service.clone()))];
    let mut services = KeyServices {
        factories: &factories,
        ..KeyServices::default()
    };
    let built = UnitEncryption::from_settings(s, &mut services)?;
    Ok((built, services.notices))
}

fn memory_kms(name: &str) -> Arc<MemoryKms> {
    Arc::new(MemoryKms {
        name: name.into(),
        master: 0x5a,
        calls: Default::default(),
    })
}

#[test]
fn aws_kms_stores_the_wrapped_data_key_as_opentofu_does_and_unwraps_it_to_read() {
    let service = memory_kms("alias/state");
    let config = settings(
        vec![kms("k", "alias/state")],
        vec![MethodSettings {
            keys: Some(("aws_kms".into(), "k".into())),
            ..aes_gcm("m", "k")
        }],
        &[("aes_gcm", "m")],
        false,
    );
    let (built, notices) = with_kms(&config, &service).expect("settings");
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].starts_with("key_provider.aws_kms.k at terragrunt.hcl:1:1"),
        "{notices:?}"
    );
    let cipher = built.state.expect("state");
    let stored = cipher.encrypt(STATE.as_bytes()).expect("encrypt");
    let doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    let b64 = base64::engine::general_purpose::STANDARD;
    let meta: serde_json::Value = serde_json::from_slice(
        &b64.decode(
            doc["meta"]["key_provider.aws_kms.k"]
                .as_str()
                .expect("meta"),
        )
        .expect("base64"),
    )
    .expect("meta json");
    let blob = b64
        .decode(meta["ciphertext_blob"].as_str().expect("ciphertext_blob"))
        .expect("blob base64");
    assert!(blob.starts_with(b"alias/state\0"), "not the wrapped key");
    // Its own write is read back without asking the key service again.
    assert_eq!(cipher.decrypt(&stored).expect("decrypt"), STATE.as_bytes());
    assert_eq!(*service.calls.lock().expect("calls"), ["generate"]);
    // Another run unwraps the stored data key.
    let (again, _) = with_kms(&config, &service).expect("settings");
    let again = again.state.expect("state");
    assert_eq!(again.decrypt(&stored).expect("decrypt"), STATE.as_bytes());
    assert!(service.calls.lock().expect("calls").contains(&"unwrap"));
    // forge validate checks it without AWS; a missing key_spec is an error there.
    UnitEncryption::check(&config).expect("valid aws_kms settings");
    let mut no_spec = config.clone();
    no_spec.key_providers[0].arguments.remove("key_spec");
    let err = UnitEncryption::check(&no_spec).expect_err("no key_spec accepted");
    assert!(err.to_string().contains("no key_spec provided"), "{err}");
    // Without a key service, aws_kms is an error at its place, never a plain state.
    let err = build(&config).expect_err("aws_kms without AWS");
    assert!(
        err.to_string().contains("needs AWS") && err.to_string().contains("terragrunt.hcl:1:1"),
        "{err}"
    );
    // A key id KMS does not know is an error naming it.
    let wrong = settings(
        vec![kms("k", "alias/missing")],
        config.methods.clone(),
        &[("aes_gcm", "m")],
        false,
    );
    let err = with_kms(&wrong, &service).expect_err("unknown key accepted");
    assert!(err.to_string().contains("alias/missing"), "{err}");
}

#[test]
fn a_chained_pbkdf2_takes_its_passphrase_from_kms_and_both_store_their_metadata() {
    let service = memory_kms("alias/state");
    let mut chained = pbkdf2("p", PASSPHRASE);
    chained.arguments.remove("passphrase");
    chained.chain = Some(("aws_kms".into(), "k".into()));
    let config = settings(
        vec![kms("k", "alias/state"), chained],
        vec![aes_gcm("m", "p")],
        &[("aes_gcm", "m")],
        false,
    );
    let stored = with_kms(&config, &service)
        .expect("settings")
        .0
        .state
        .expect("state")
        .encrypt(STATE.as_bytes())
        .expect("encrypt");
    let doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    assert!(doc["meta"].get("key_provider.aws_kms.k").is_some(), "{doc}");
    assert!(doc["meta"].get("key_provider.pbkdf2.p").is_some(), "{doc}");
    let reread = with_kms(&config, &service)
        .expect("settings")
        .0
        .state
        .expect("state");
    assert_eq!(reread.decrypt(&stored).expect("decrypt"), STATE.as_bytes());
    // The same pbkdf2 settings with a passphrase instead of the chain cannot read it.
    let plain = state_cipher(&settings(
        vec![pbkdf2("p", PASSPHRASE)],
        vec![aes_gcm("m", "p")],
        &[("aes_gcm", "m")],
        false,
    ));
    assert!(plain.decrypt(&stored).is_err());
    // A chain that comes back to itself is an error naming the cycle.
    let mut a = pbkdf2("a", PASSPHRASE);
    a.arguments.remove("passphrase");
    a.chain = Some(("pbkdf2".into(), "b".into()));
    let mut b = pbkdf2("b", PASSPHRASE);
    b.arguments.remove("passphrase");
    b.chain = Some(("pbkdf2".into(), "a".into()));
    let err = build(&settings(
        vec![a, b],
        vec![aes_gcm("m", "a")],
        &[("aes_gcm", "m")],
        false,
    ))
    .expect_err("cycle accepted");
    assert!(
        err.to_string()
            .contains("key_provider.pbkdf2.a -> key_provider.pbkdf2.b -> key_provider.pbkdf2.a"),
        "{err}"
    );
}

#[test]
fn a_fallback_rotates_from_pbkdf2_to_aws_kms() {
    let old = simple(PASSPHRASE);
    let stored = old.encrypt(STATE.as_bytes()).expect("encrypt");
    let service = memory_kms("alias/state");
    let rotated = settings(
        vec![kms("new", "alias/state"), pbkdf2("k", PASSPHRASE)],
        vec![
            MethodSettings {
                keys: Some(("aws_kms".into(), "new".into())),
                ..aes_gcm("new", "new")
            },
            aes_gcm("m", "k"),
        ],
        &[("aes_gcm", "new"), ("aes_gcm", "m")],
        false,
    );
    let cipher = with_kms(&rotated, &service)
        .expect("settings")
        .0
        .state
        .expect("state");
    assert_eq!(cipher.decrypt(&stored).expect("fallback"), STATE.as_bytes());
    let rewritten = cipher.encrypt(STATE.as_bytes()).expect("encrypt");
    let doc: serde_json::Value = serde_json::from_slice(&rewritten).expect("json");
    assert!(
        doc["meta"].get("key_provider.aws_kms.new").is_some(),
        "{doc}"
    );
    assert!(
        old.decrypt(&rewritten).is_err(),
        "the passphrase alone reads the rotated state"
    );
}

#[test]
fn debug_never_shows_keys_or_passphrases() {
    let cipher = simple(PASSPHRASE);
    let text = format!("{cipher:?} {:?}", pbkdf2("k", PASSPHRASE));
    assert!(!text.contains(PASSPHRASE), "{text}");
}
