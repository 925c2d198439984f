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
        location: at(),
    }
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
    UnitEncryption::from_settings(s)
        .expect("settings")
        .state
        .expect("state target")
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
    let enforced = UnitEncryption::from_settings(&settings(
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
    let mut kms = pbkdf2("k", PASSPHRASE);
    kms.kind = "aws_kms".into();
    let mut method = aes_gcm("m", "k");
    method.keys = Some(("aws_kms".into(), "k".into()));
    let err = UnitEncryption::from_settings(&settings(
        vec![kms],
        vec![method],
        &[("aes_gcm", "m")],
        false,
    ))
    .expect_err("aws_kms accepted");
    assert!(err.to_string().contains("aws_kms"), "{err}");
    let err = UnitEncryption::from_settings(&settings(
        vec![pbkdf2("k", PASSPHRASE)],
        vec![aes_gcm("m", "k")],
        &[("aes_gcm", "missing")],
        false,
    ))
    .expect_err("undeclared method accepted");
    assert!(err.to_string().contains("method.aes_gcm.missing"), "{err}");
}

#[test]
fn debug_never_shows_keys_or_passphrases() {
    let cipher = simple(PASSPHRASE);
    let text = format!("{cipher:?} {:?}", pbkdf2("k", PASSPHRASE));
    assert!(!text.contains(PASSPHRASE), "{text}");
}
