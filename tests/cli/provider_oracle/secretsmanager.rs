//! `aws_secretsmanager_secret`, `_secret_version`, `_secret_policy` and the data sources
//! against the provider.

use super::schemas::{Kind, assert_schemas_match};
use super::{Fixture, Masks, Tool, assert_states_match, both_ways, import_both_ways_but, oracle};

#[test]
fn secretsmanager_schemas_match_the_provider() {
    assert_schemas_match(
        Kind::Resource,
        &[
            "aws_secretsmanager_secret",
            "aws_secretsmanager_secret_version",
            "aws_secretsmanager_secret_policy",
        ],
        &[],
    );
    assert_schemas_match(
        Kind::Data,
        &[
            "aws_secretsmanager_secret",
            "aws_secretsmanager_secret_version",
        ],
        &[],
    );
}

const BEFORE: &str = r#"
resource "aws_secretsmanager_secret" "s" {
  name                    = "@NAME@-s"
  description             = "oracle"
  recovery_window_in_days = 0
  tags                    = { env = "oracle" }
}

resource "aws_secretsmanager_secret" "bare" {
  name                    = "@NAME@-bare"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "v" {
  secret_id     = aws_secretsmanager_secret.s.id
  secret_string = "hunter2"
}

resource "aws_secretsmanager_secret_version" "b" {
  secret_id     = aws_secretsmanager_secret.bare.id
  secret_binary = base64encode("bytes")
}

# The policy as a resource of its own, beside a secret that leaves its policy out.
resource "aws_secretsmanager_secret_policy" "p" {
  secret_arn = aws_secretsmanager_secret.bare.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "read"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::000000000000:root" }
      Action    = "secretsmanager:GetSecretValue"
      Resource  = "*"
    }]
  })
}

data "aws_secretsmanager_secret" "d" {
  arn = aws_secretsmanager_secret.s.arn
}

data "aws_secretsmanager_secret_version" "dv" {
  secret_id = aws_secretsmanager_secret_version.v.secret_id
}
"#;

/// Every updatable argument the fixture uses, changed.
fn updated(text: &str) -> String {
    text.replace(
        "description             = \"oracle\"",
        "description             = \"oracle 2\"",
    )
    .replace(
        "tags                    = { env = \"oracle\" }",
        "tags                    = { env = \"oracle\", tier = \"2\" }",
    )
    .replace("secret_string = \"hunter2\"", "secret_string = \"hunter3\"")
    .replace("Sid       = \"read\"", "Sid       = \"read2\"")
}

#[test]
fn secretsmanager_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    both_ways(oracle, "os", BEFORE, &updated(BEFORE));
}

/// The import round's configuration: the secret keeps the default recovery window, which
/// no importer can read from AWS, so a configured 0 would plan an update after any
/// import, Terraform's own included.
const IMPORTED: &str = r#"
resource "aws_secretsmanager_secret" "s" {
  name        = "@NAME@-s"
  description = "oracle"
  tags        = { env = "oracle" }
}

resource "aws_secretsmanager_secret_version" "v" {
  secret_id     = aws_secretsmanager_secret.s.id
  secret_string = "hunter2"
}

# The policy as a resource of its own, beside a secret that leaves its policy out.
resource "aws_secretsmanager_secret_policy" "p" {
  secret_arn = aws_secretsmanager_secret.s.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "read"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::000000000000:root" }
      Action    = "secretsmanager:GetSecretValue"
      Resource  = "*"
    }]
  })
}
"#;

/// A secret by its ARN and its version by `arn|version_id`, imported by the other tool.
/// The provider's importer leaves the secret's two Terraform-only settings null, so
/// Terraform's own plan after its own import sets them (to their defaults); forge's
/// importer records the defaults at once, and forge plans that state clean.
#[test]
fn secretsmanager_imports_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    import_both_ways_but(
        oracle,
        "ism",
        IMPORTED,
        &[
            ("aws_secretsmanager_secret", "recovery_window_in_days"),
            (
                "aws_secretsmanager_secret",
                "force_overwrite_replica_secret",
            ),
        ],
    );
}

// s3obj (#19): aws_secretsmanager_secret_rotation.

#[test]
fn secretsmanager_rotation_schema_matches_the_provider() {
    assert_schemas_match(Kind::Resource, &["aws_secretsmanager_secret_rotation"], &[]);
}

/// A rotation needs a Lambda function the emulator knows (RotateSecret asks Lambda for
/// it). forge has no aws_lambda_function, so the test makes one (CreateFunction over
/// plain HTTP) and both tools' configurations name it. LocalStack creates it without
/// Docker but cannot run it: a rotation started at once stays pending (the AWSPENDING
/// label on a new version), and the next RotateSecret is refused as "still in progress";
/// `finish_rotation` does what the function's last step would between the tools' applies.
/// LocalStack 4.14 answers `rotate_immediately = false` with an InternalError (after
/// applying it), so the fixture keeps the default.
const ROTATION: &str = r#"
resource "aws_secretsmanager_secret" "s" {
  name                    = "@NAME@-rot"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_rotation" "r" {
  secret_id           = aws_secretsmanager_secret.s.id
  rotation_lambda_arn = "@FUNCTION@"
  rotation_rules {
    automatically_after_days = 7
  }
}
"#;

/// A stored (uncompressed) zip holding one file.
fn one_file_zip(name: &str, body: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let crc = crc32(body);
    let (n, size) = (name.len() as u16, body.len() as u32);
    let mut out = Vec::new();
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(body);
    let central_at = out.len() as u32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let central_size = out.len() as u32 - central_at;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A Lambda function on the emulator, by CreateFunction over HTTP; its ARN. Fails
/// saying so when LocalStack's `lambda` service is off.
fn rotation_function(name: &str) -> String {
    use base64::Engine as _;
    use std::io::{Read, Write};
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("emulators");
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let zip = one_file_zip("index.py", b"def handler(event, context):\n    return {}\n");
    let body = serde_json::json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/forge-rotation",
        "Handler": "index.handler",
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(zip)},
    })
    .to_string();
    let request = format!(
        "POST /2015-03-31/functions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(&host).expect("connect to the emulator");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "CreateFunction on the emulator failed (is `lambda` in LocalStack's SERVICES?):\n{answer}"
    );
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

/// What the rotation function's last step does: AWSPENDING leaves the new version.
fn finish_rotation(secret: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&super::super::stacks::sdk_config().await);
        let out = sm
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .expect("describe the rotated secret");
        for (version, stages) in out.version_ids_to_stages().into_iter().flatten() {
            if stages.iter().any(|s| s == "AWSPENDING") {
                sm.update_secret_version_stage()
                    .secret_id(secret)
                    .version_stage("AWSPENDING")
                    .remove_from_version_id(version)
                    .send()
                    .await
                    .expect("remove AWSPENDING");
            }
        }
    });
}

fn rotation_config(function: &str, days: u32) -> String {
    ROTATION.replace("@FUNCTION@", function).replace(
        "automatically_after_days = 7",
        &format!("automatically_after_days = {days}"),
    )
}

/// As `both_ways`' Terraform-first round, the pending rotation finished after each apply.
fn rotation_terraform_first(f: &Fixture, function: &str) -> serde_json::Value {
    let secret = format!("{}-rot", f.name());
    f.write_config(&rotation_config(function, 7));
    f.terraform_apply();
    finish_rotation(&secret);
    f.terraform_refresh();
    let created = f.terraform_state();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge over Terraform's new state");
    f.forge_refresh();
    assert_states_match(&created, &f.forge_state(), &Masks::none());
    f.write_config(&rotation_config(function, 14));
    f.forge_apply();
    finish_rotation(&secret);
    f.assert_forge_plans_no_changes("forge after its own update");
    f.forge_refresh();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform over forge's updated state");
    f.write_config(&rotation_config(function, 7));
    f.terraform_apply();
    finish_rotation(&secret);
    f.terraform_refresh();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge after Terraform's update");
    f.destroy_with(Tool::Forge);
    created
}

/// As `both_ways`' forge-first round, the pending rotation finished after each apply.
fn rotation_forge_first(f: &Fixture, function: &str) -> serde_json::Value {
    let secret = format!("{}-rot", f.name());
    f.write_config(&rotation_config(function, 7));
    f.forge_apply();
    finish_rotation(&secret);
    f.forge_refresh();
    let created = f.forge_state();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform over forge's new state");
    f.terraform_refresh();
    assert_states_match(&f.terraform_state(), &created, &Masks::none());
    f.write_config(&rotation_config(function, 14));
    f.terraform_apply();
    finish_rotation(&secret);
    f.terraform_refresh();
    f.give_terraform_state_to_forge();
    f.assert_forge_plans_no_changes("forge after Terraform's update");
    f.write_config(&rotation_config(function, 7));
    f.forge_apply();
    finish_rotation(&secret);
    f.forge_refresh();
    f.give_forge_state_to_terraform();
    f.assert_terraform_plans_no_changes("Terraform after forge's update");
    f.destroy_with(Tool::Terraform);
    created
}

#[test]
fn secretsmanager_rotation_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    let function = rotation_function(&format!(
        "forge-rot-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ));
    let (tf, fg) = (Fixture::new(oracle, "orot"), Fixture::new(oracle, "orot"));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| rotation_terraform_first(&tf, &function));
        let b = s.spawn(|| rotation_forge_first(&fg, &function));
        (a.join(), b.join())
    });
    let (tf_created, forge_created) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => std::panic::resume_unwind(e),
    };
    assert_states_match(
        &tf_created,
        &forge_created,
        &Masks::separate_objects(tf.name(), fg.name()),
    );
}

/// Secret and rotation by the secret's ARN, imported by the other tool. The provider's
/// importer leaves `rotate_immediately` null (and the secret's two Terraform-only
/// settings), so Terraform's own plan after its own import sets them; forge's importer
/// records the defaults at once.
#[test]
fn secretsmanager_rotation_imports_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    let function = rotation_function(&format!(
        "forge-rot-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ));
    let config = ROTATION
        .replace("@FUNCTION@", &function)
        .replace("  recovery_window_in_days = 0\n", "");
    import_both_ways_but(
        oracle,
        "irot",
        &config,
        &[
            ("aws_secretsmanager_secret_rotation", "rotate_immediately"),
            ("aws_secretsmanager_secret", "recovery_window_in_days"),
            (
                "aws_secretsmanager_secret",
                "force_overwrite_replica_secret",
            ),
        ],
    );
}
