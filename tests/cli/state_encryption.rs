//! State encryption in OpenTofu's format, end to end on the emulators: the state object
//! in S3 (and the local journal) holds no secret in clear, the right key plans clean, a
//! wrong or missing key is an error that says so (never a fresh state), `enforced`
//! refuses plaintext, an `unencrypted` fallback migrates; saved plans keep their values
//! encrypted. (ExpectedBucketOwner is tested in providers/aws/tests/remote_state.rs:
//! LocalStack ignores the header, so another account's bucket cannot be refused here.)

use super::s3_unit::{Backend, forge};
use crate::emulator::unique;

const PASSPHRASE: &str = "a-passphrase-for-the-state-test";

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-state-encryption".to_string(),
        table: "forge-cli-state-encryption-locks".to_string(),
        use_lockfile: false,
    }
}

/// A unit on the test's bucket whose remote_state carries `encryption` (Terragrunt's
/// form) when given.
fn terragrunt_hcl(backend: &Backend, key: &str, encryption: Option<&str>) -> String {
    let encryption = encryption
        .map(|e| format!("  encryption = {e}\n"))
        .unwrap_or_default();
    format!(
        "remote_state {{\n  backend = \"s3\"\n  config = {{\n    bucket         = \"{}\"\n    key            = \"{key}\"\n    region         = \"us-east-1\"\n    dynamodb_table = \"{}\"\n  }}\n{encryption}}}\n\ninputs = {{}}\n",
        backend.bucket, backend.table
    )
}

fn module(secret: &str, extra: &str) -> String {
    format!(
        "resource \"terraform_data\" \"secret\" {{\n  input = \"{secret}\"\n}}\n\noutput \"secret\" {{\n  value = terraform_data.secret.output\n}}\n{extra}"
    )
}

fn assert_encrypted(bytes: &[u8], secret: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(secret), "the secret is readable: {text}");
    let doc: serde_json::Value = serde_json::from_slice(bytes).expect("encrypted state is JSON");
    assert_eq!(doc["encryption_version"], "v0", "{doc}");
    assert!(doc["encrypted_data"].is_string(), "{doc}");
    assert!(
        doc["meta"]["key_provider.pbkdf2.default"].is_string(),
        "{doc}"
    );
    assert!(
        doc["serial"].is_number() && doc["lineage"].is_string(),
        "{doc}"
    );
}

#[tokio::test]
async fn cli_terragrunt_encryption_keeps_secrets_out_of_s3_and_the_journal() {
    let backend = backend();
    let prefix = unique("encrypted");
    let key = format!("{prefix}/a/terraform.tfstate");
    let secret = unique("secret-marker");
    let encryption =
        "{\n    key_provider = \"pbkdf2\"\n    passphrase   = get_env(\"STATE_PASSPHRASE\")\n  }";
    let world = super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key, Some(encryption)),
        ),
        ("env/a/main.tf", &module(&secret, "")),
    ]);
    let dir = world.dir.path();
    let good = [("STATE_PASSPHRASE", PASSPHRASE)];

    let applied = forge(dir, &["apply", "env", "--auto-approve"], &good);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let stored = backend.object(&key).await.expect("state in S3");
    assert_encrypted(&stored, &secret);

    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &good);
    assert_eq!(
        plan.code,
        0,
        "the right key does not plan clean:\n{}",
        plan.all()
    );

    let wrong = forge(
        dir,
        &["plan", "env"],
        &[("STATE_PASSPHRASE", "another-passphrase-entirely")],
    );
    assert_ne!(wrong.code, 0, "a wrong key planned:\n{}", wrong.all());
    assert!(
        wrong.all().contains("cannot decrypt the state"),
        "{}",
        wrong.all()
    );
    assert!(!wrong.all().contains("will be created"), "{}", wrong.all());

    // A saved plan keeps the planned values only encrypted with the unit's plan key;
    // show decrypts them with it.
    let planned = unique("planned-marker");
    world.write(&[("env/a/main.tf", &module(&planned, ""))]);
    let saved = forge(dir, &["plan", "env", "-out", "saved.plan"], &good);
    assert_eq!(saved.code, 0, "{}", saved.all());
    let file = std::fs::read_to_string(world.path("saved.plan")).expect("plan file");
    assert!(
        !file.contains(&planned),
        "the plan file holds the value in clear"
    );
    assert!(file.contains("shown_encrypted"), "{file}");
    let shown = forge(dir, &["show", "saved.plan"], &good);
    assert_eq!(shown.code, 0, "{}", shown.all());
    assert!(shown.stdout.contains(&planned), "{}", shown.all());
    let unshown = forge(
        dir,
        &["show", "saved.plan"],
        &[("STATE_PASSPHRASE", "another-passphrase-entirely")],
    );
    assert_ne!(unshown.code, 0, "{}", unshown.all());
    assert!(
        unshown.all().contains("cannot decrypt the plan"),
        "{}",
        unshown.all()
    );
    world.write(&[("env/a/main.tf", &module(&secret, ""))]);

    // Without any key: an error saying the state is encrypted, never a fresh state.
    world.write(&[(
        "env/a/terragrunt.hcl",
        &terragrunt_hcl(&backend, &key, None),
    )]);
    let keyless = forge(dir, &["plan", "env"], &[]);
    assert_ne!(keyless.code, 0, "{}", keyless.all());
    assert!(
        keyless
            .all()
            .contains("is encrypted, and this unit configures no key"),
        "{}",
        keyless.all()
    );
    assert!(
        !keyless.all().contains("will be created"),
        "{}",
        keyless.all()
    );

    // The journal a killed apply leaves is encrypted with the state's key, and the next
    // run takes it.
    world.write(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key, Some(encryption)),
        ),
        (
            "env/a/main.tf",
            &module(
                &secret,
                "resource \"terraform_data\" \"more\" {\n  input = terraform_data.secret.output\n}\n",
            ),
        ),
    ]);
    let killed = forge(
        dir,
        &["apply", "env", "--auto-approve"],
        &[
            ("STATE_PASSPHRASE", PASSPHRASE),
            ("FORGE_FAULT_ABORT_AFTER_OPS", "1"),
        ],
    );
    assert_ne!(killed.code, 0, "{}", killed.all());
    let journal = std::fs::read(world.path("env/a/.forge/journal.tfstate"))
        .expect("the killed apply left its journal");
    assert_encrypted(&journal, &secret);
    let again = forge(dir, &["apply", "env", "--auto-approve"], &good);
    assert_eq!(again.code, 0, "{}", again.all());
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &good);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_encrypted(&backend.object(&key).await.expect("state"), &secret);
}

#[tokio::test]
async fn cli_enforced_refuses_plaintext_and_an_unencrypted_fallback_migrates() {
    let backend = backend();
    let prefix = unique("migrate");
    let key = format!("{prefix}/a/terraform.tfstate");
    let secret = unique("secret-marker");
    let world = super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key, None),
        ),
        ("env/a/main.tf", &module(&secret, "")),
    ]);
    let dir = world.dir.path();
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        String::from_utf8_lossy(&backend.object(&key).await.expect("state")).contains(&secret),
        "the plain state lacks the value"
    );

    let encryption = |state: &str| {
        format!(
            "terraform {{\n  encryption {{\n    key_provider \"pbkdf2\" \"main\" {{\n      passphrase = \"{PASSPHRASE}\"\n    }}\n    method \"aes_gcm\" \"main\" {{\n      keys = key_provider.pbkdf2.main\n    }}\n    method \"unencrypted\" \"migrate\" {{}}\n    state {{\n{state}    }}\n  }}\n}}\n"
        )
    };
    let enforced = encryption("      method   = method.aes_gcm.main\n      enforced = true\n");
    world.write(&[("env/a/main.tf", &module(&secret, &enforced))]);
    let refused = forge(dir, &["plan", "env"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(refused.all().contains("not encrypted"), "{}", refused.all());

    // The migration: an unencrypted fallback reads the plain state, the apply writes it
    // encrypted (a changed input makes it write).
    let secret2 = unique("secret-marker");
    let migrating = encryption(
        "      method = method.aes_gcm.main\n      fallback {\n        method = method.unencrypted.migrate\n      }\n",
    );
    world.write(&[("env/a/main.tf", &module(&secret2, &migrating))]);
    let migrated = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(migrated.code, 0, "{}", migrated.all());
    let stored = backend.object(&key).await.expect("state");
    let doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    assert_eq!(doc["encryption_version"], "v0", "{doc}");
    assert!(doc["meta"]["key_provider.pbkdf2.main"].is_string(), "{doc}");
    assert!(!String::from_utf8_lossy(&stored).contains(&secret2));

    world.write(&[("env/a/main.tf", &module(&secret2, &enforced))]);
    let clean = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(clean.code, 0, "{}", clean.all());
}

#[test]
fn cli_validate_reports_encryption_settings_at_their_place() {
    let w = super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            "remote_state {\n  backend = \"local\"\n  config  = {}\n  encryption = {\n    key_provider = \"pbkdf2\"\n    passphrase   = \"short\"\n  }\n}\n",
        ),
        (
            "env/a/main.tf",
            "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
        ),
        // aws_kms is checked without AWS (no KMS call from validate).
        (
            "env/b/terragrunt.hcl",
            "remote_state {\n  backend = \"local\"\n  config  = {}\n  encryption = {\n    key_provider = \"aws_kms\"\n    kms_key_id   = \"alias/state\"\n    key_spec     = \"AES_512\"\n  }\n}\n",
        ),
        (
            "env/b/main.tf",
            "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
        ),
    ]);
    let out = w.forge(&["validate", "env"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("passphrase is too short") && out.all().contains("terragrunt.hcl:4:"),
        "{}",
        out.all()
    );
    assert!(
        out.all().contains("invalid key_spec \"AES_512\""),
        "{}",
        out.all()
    );
}

/// The local backend too: the state file and the journal are encrypted; the unit's own
/// terraform { encryption } block with its passphrase from a function.
#[test]
fn cli_local_state_is_encrypted_with_the_modules_encryption_block() {
    let secret = unique("local-secret");
    let w = super::World::new(&[
        ("env/a/terragrunt.hcl", "inputs = {}\n"),
        ("env/a/passphrase.txt", PASSPHRASE),
        (
            "env/a/main.tf",
            &module(
                &secret,
                "terraform {\n  encryption {\n    key_provider \"pbkdf2\" \"k\" {\n      passphrase = trimspace(file(\"passphrase.txt\"))\n    }\n    method \"aes_gcm\" \"m\" {\n      keys = key_provider.pbkdf2.k\n    }\n    state {\n      method   = method.aes_gcm.m\n      enforced = true\n    }\n  }\n}\n",
            ),
        ),
    ]);
    let applied = w.forge(&["apply", "env", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let stored = std::fs::read(w.path("env/a/.forge/terraform.tfstate")).expect("local state");
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains(&secret), "{text}");
    assert!(text.contains("\"encryption_version\":\"v0\""), "{text}");
    assert!(text.contains("key_provider.pbkdf2.k"), "{text}");
    let plan = w.forge(&["plan", "env", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}

/// OpenTofu's `terraform { encryption }` block with an aws_kms key provider named
/// `main` (and, when `fallback`, the pbkdf2 key the state had before, as a fallback).
fn kms_block(kms_key_id: &str, fallback: bool) -> String {
    let (fallback_provider, fallback_method) = if fallback {
        (
            format!(
                "    key_provider \"pbkdf2\" \"default\" {{\n      passphrase = \"{PASSPHRASE}\"\n    }}\n    method \"aes_gcm\" \"default\" {{\n      keys = key_provider.pbkdf2.default\n    }}\n"
            ),
            "      fallback {\n        method = method.aes_gcm.default\n      }\n".to_string(),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        "terraform {{\n  encryption {{\n    key_provider \"aws_kms\" \"main\" {{\n      kms_key_id = \"{kms_key_id}\"\n      key_spec   = \"AES_256\"\n      region     = \"us-east-1\"\n    }}\n{fallback_provider}    method \"aes_gcm\" \"kms\" {{\n      keys = key_provider.aws_kms.main\n    }}\n    state {{\n      method = method.aes_gcm.kms\n{fallback_method}    }}\n  }}\n}}\n"
    )
}

/// The aws_kms key provider on the emulator's KMS: a state under pbkdf2 rotates to a KMS
/// data key through a fallback; the object in S3 holds the wrapped data key (OpenTofu's
/// `ciphertext_blob`), which only KMS turns back into the key, and no secret in clear;
/// with KMS the plan is clean, with the passphrase alone the state cannot be read; a key
/// id KMS does not know is an error naming it. Terragrunt's form works on a second unit.
#[tokio::test]
async fn cli_aws_kms_key_provider_wraps_the_state_key_with_kms() {
    use base64::Engine as _;
    let backend = backend();
    let prefix = unique("kms");
    let key_a = format!("{prefix}/a/terraform.tfstate");
    let key_b = format!("{prefix}/b/terraform.tfstate");
    let kms = aws_sdk_kms::Client::new(&crate::emulator::sdk_config().await);
    let kms_key = kms
        .create_key()
        .description(&prefix)
        .send()
        .await
        .expect("KMS CreateKey on the emulator (is kms in the emulator's SERVICES?)")
        .key_metadata
        .expect("key metadata")
        .arn
        .expect("key ARN");
    let secret = unique("secret-marker");
    let pbkdf2 =
        "{\n    key_provider = \"pbkdf2\"\n    passphrase   = get_env(\"STATE_PASSPHRASE\")\n  }";
    let terragrunt_kms = format!(
        "{{\n    key_provider = \"aws_kms\"\n    kms_key_id   = \"{kms_key}\"\n    key_spec     = \"AES_256\"\n    region       = \"us-east-1\"\n  }}"
    );
    let world = super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key_a, Some(pbkdf2)),
        ),
        ("env/a/main.tf", &module(&secret, "")),
        (
            "env/b/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key_b, Some(&terragrunt_kms)),
        ),
        ("env/b/main.tf", &module(&secret, "")),
    ]);
    let dir = world.dir.path();
    let good = [("STATE_PASSPHRASE", PASSPHRASE)];
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &good);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert_encrypted(&backend.object(&key_a).await.expect("state a"), &secret);

    // Terragrunt's form: the key provider and method named `default`.
    let stored_b = backend.object(&key_b).await.expect("state b");
    assert!(!String::from_utf8_lossy(&stored_b).contains(&secret));
    let doc_b: serde_json::Value = serde_json::from_slice(&stored_b).expect("json");
    assert!(
        doc_b["meta"]["key_provider.aws_kms.default"].is_string(),
        "{doc_b}"
    );

    // Rotation: aws_kms first, the pbkdf2 key as fallback, in the module's block.
    world.write(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key_a, None),
        ),
        (
            "env/a/main.tf",
            &module(&secret, &kms_block(&kms_key, true)),
        ),
    ]);
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &good);
    assert_eq!(
        plan.code,
        0,
        "the fallback does not read the state:\n{}",
        plan.all()
    );
    let secret2 = unique("secret-marker");
    world.write(&[(
        "env/a/main.tf",
        &module(&secret2, &kms_block(&kms_key, true)),
    )]);
    let rotated = forge(dir, &["apply", "env", "--auto-approve"], &good);
    assert_eq!(rotated.code, 0, "{}", rotated.all());
    let stored = backend.object(&key_a).await.expect("state a");
    assert!(!String::from_utf8_lossy(&stored).contains(&secret2));
    let doc: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    assert_eq!(doc["encryption_version"], "v0", "{doc}");
    let meta = doc["meta"]["key_provider.aws_kms.main"]
        .as_str()
        .unwrap_or_else(|| panic!("no aws_kms metadata: {doc}"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let meta: serde_json::Value =
        serde_json::from_slice(&b64.decode(meta).expect("base64")).expect("metadata JSON");
    let blob = b64
        .decode(meta["ciphertext_blob"].as_str().expect("ciphertext_blob"))
        .expect("blob base64");
    // Only KMS turns the stored blob into the 256-bit key.
    let data_key = kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
        .send()
        .await
        .expect("KMS Decrypt of the stored data key")
        .plaintext
        .expect("plaintext");
    assert_eq!(data_key.as_ref().len(), 32);

    // KMS alone plans clean; the passphrase alone cannot read the state.
    world.write(&[(
        "env/a/main.tf",
        &module(&secret2, &kms_block(&kms_key, false)),
    )]);
    let clean = forge(dir, &["plan", "env", "--detailed-exitcode"], &good);
    assert_eq!(clean.code, 0, "{}", clean.all());
    world.write(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key_a, Some(pbkdf2)),
        ),
        ("env/a/main.tf", &module(&secret2, "")),
    ]);
    let without_kms = forge(dir, &["plan", "env"], &good);
    assert_ne!(without_kms.code, 0, "{}", without_kms.all());
    assert!(
        without_kms.all().contains("cannot decrypt the state"),
        "{}",
        without_kms.all()
    );
    assert!(
        !without_kms.all().contains("will be created"),
        "{}",
        without_kms.all()
    );

    // A key id KMS does not know: an error naming it and the call, at the block.
    let missing = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000";
    world.write(&[
        (
            "env/a/terragrunt.hcl",
            &terragrunt_hcl(&backend, &key_a, None),
        ),
        (
            "env/a/main.tf",
            &module(&secret2, &kms_block(missing, false)),
        ),
    ]);
    let wrong = forge(dir, &["plan", "env"], &good);
    assert_ne!(wrong.code, 0, "{}", wrong.all());
    let text = wrong.all();
    assert!(
        text.contains(missing) && text.contains("kms:GenerateDataKey") && text.contains("main.tf:"),
        "{text}"
    );
}
