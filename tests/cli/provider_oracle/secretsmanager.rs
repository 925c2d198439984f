//! `aws_secretsmanager_secret`, `aws_secretsmanager_secret_version` and their data sources
//! against the provider.

use super::schemas::{Kind, assert_schemas_match};
use super::{both_ways, oracle};

#[test]
fn secretsmanager_schemas_match_the_provider() {
    assert_schemas_match(
        Kind::Resource,
        &[
            "aws_secretsmanager_secret",
            "aws_secretsmanager_secret_version",
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
}

#[test]
fn secretsmanager_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    both_ways(oracle, "os", BEFORE, &updated(BEFORE));
}
