//! `aws_iam_role`, `aws_iam_policy`, `aws_iam_role_policy`,
//! `aws_iam_role_policy_attachment`, `aws_iam_instance_profile` and the data sources
//! `aws_iam_role`, `aws_caller_identity`, `aws_region`, `aws_partition` and
//! `aws_iam_policy_document` against the provider.

use super::schemas::{Kind, assert_schemas_match};
use super::{both_ways, import_both_ways, oracle};

#[test]
fn iam_schemas_match_the_provider() {
    assert_schemas_match(
        Kind::Resource,
        &[
            "aws_iam_role",
            "aws_iam_policy",
            "aws_iam_role_policy",
            "aws_iam_role_policy_attachment",
            "aws_iam_instance_profile",
        ],
        &[],
    );
    assert_schemas_match(
        Kind::Data,
        &[
            "aws_iam_role",
            "aws_caller_identity",
            "aws_region",
            "aws_partition",
            "aws_iam_policy_document",
        ],
        &[(
            "aws_iam_role",
            "tags: optional+computed in the provider, computed in forge",
        )],
    );
}

const BEFORE: &str = r#"
resource "aws_iam_role" "r" {
  name        = "@NAME@-role"
  description = "oracle"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = { env = "oracle" }
}

resource "aws_iam_policy" "p" {
  name        = "@NAME@-policy"
  description = "oracle"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}

resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.r.name
  policy_arn = aws_iam_policy.p.arn
}

resource "aws_iam_role_policy" "rp" {
  name = "inline"
  role = aws_iam_role.r.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" }]
  })
}

resource "aws_iam_instance_profile" "ip" {
  name = "@NAME@-ip"
  role = aws_iam_role.r.name
}

data "aws_iam_role" "d" {
  name = aws_iam_role.r.name
}

data "aws_caller_identity" "me" {}

data "aws_region" "here" {}

data "aws_partition" "p" {}

data "aws_iam_policy_document" "doc" {
  statement {
    sid       = "read"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = ["arn:${data.aws_partition.p.partition}:s3:::oracle-*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.here.name]
    }
  }
  statement {
    effect    = "Deny"
    actions   = ["sqs:DeleteQueue"]
    resources = ["arn:${data.aws_partition.p.partition}:sqs:${data.aws_region.here.name}:${data.aws_caller_identity.me.account_id}:*"]
    not_principals {
      type        = "AWS"
      identifiers = [data.aws_caller_identity.me.arn]
    }
  }
}
"#;

/// Every updatable argument the fixture uses, changed.
///
/// Not `max_session_duration`: LocalStack's UpdateRole clears a role's description when
/// the call does not carry one, and the provider changes max_session_duration with such a
/// call after UpdateRoleDescription, so on the emulator Terraform's own update loses the
/// description it has just set (real IAM keeps it). forge's update of it is tested in
/// providers/iam/tests.
fn updated(text: &str) -> String {
    text.replace(
        "description = \"oracle\"\n  assume",
        "description = \"oracle 2\"\n  assume",
    )
    .replace(
        "tags = { env = \"oracle\" }",
        "tags = { env = \"oracle\", tier = \"2\" }",
    )
    .replace("Action = \"s3:GetObject\"", "Action = \"s3:PutObject\"")
    .replace(
        "Action = \"sqs:SendMessage\"",
        "Action = \"sqs:ReceiveMessage\"",
    )
}

#[test]
fn iam_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    both_ways(oracle, "oi", BEFORE, &updated(BEFORE));
}

/// Every type of the fixture, imported by the other tool: roles, policies and instance
/// profiles by name or ARN, inline policies by `role:name`, attachments by
/// `role/policy_arn` (the provider's import ids).
#[test]
fn iam_imports_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    import_both_ways(oracle, "iiam", BEFORE);
}
