//! `aws_secretsmanager_secret`, `_secret_version`, `_secret_policy` and the data sources
//! against the provider.

use super::schemas::{Kind, assert_schemas_match};
use super::{both_ways, import_both_ways_but, oracle};

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
