//! `aws_sqs_queue`, `aws_sqs_queue_policy`, `_redrive_policy`, `_redrive_allow_policy` and
//! `data "aws_sqs_queue"` against the provider.

use super::schemas::{Kind, assert_schemas_match};
use super::{both_ways, import_both_ways, oracle};

/// Schema differences accepted for these types, each with its reason in README.
const SCHEMA_ALLOWED: &[(&str, &str)] = &[(
    "aws_sqs_queue",
    "timeouts: a block in the provider, an attribute in forge",
)];

#[test]
fn sqs_schemas_match_the_provider() {
    assert_schemas_match(
        Kind::Resource,
        &[
            "aws_sqs_queue",
            "aws_sqs_queue_policy",
            "aws_sqs_queue_redrive_policy",
            "aws_sqs_queue_redrive_allow_policy",
        ],
        SCHEMA_ALLOWED,
    );
    assert_schemas_match(Kind::Data, &["aws_sqs_queue"], &[]);
}

const BEFORE: &str = r#"
resource "aws_sqs_queue" "dlq" {
  name = "@NAME@-dlq"
}

resource "aws_sqs_queue" "q" {
  name                       = "@NAME@-q"
  visibility_timeout_seconds = 60
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 3
  })
  tags = { env = "oracle" }
}

resource "aws_sqs_queue" "fifo" {
  name                        = "@NAME@-f.fifo"
  fifo_queue                  = true
  content_based_deduplication = true
}

resource "aws_sqs_queue_policy" "p" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "send"
      Effect    = "Allow"
      Principal = "*"
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq.arn
    }]
  })
}

# The redrive policy as a resource of its own, beside a queue that leaves it out.
# aws_sqs_queue_redrive_allow_policy is in the schema check only: LocalStack reports an
# emptied RedriveAllowPolicy as "" where AWS leaves it out, and the provider's delete
# waits for it to read as no document, so a Terraform destroy of it hangs for the
# provider's 20-minute timeout (providers/COVERAGE.md, "Against the real provider").
resource "aws_sqs_queue" "src" {
  name = "@NAME@-src"
}

resource "aws_sqs_queue_redrive_policy" "r" {
  queue_url = aws_sqs_queue.src.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 7
  })
}

data "aws_sqs_queue" "d" {
  name = aws_sqs_queue.fifo.name
}
"#;

/// Every updatable argument the fixture uses, changed.
fn updated(text: &str) -> String {
    text.replace(
        "visibility_timeout_seconds = 60",
        "visibility_timeout_seconds = 90\n  delay_seconds              = 5\n  max_message_size           = 2048",
    )
    .replace("maxReceiveCount     = 3", "maxReceiveCount     = 5")
    .replace("tags = { env = \"oracle\" }", "tags = { env = \"oracle\", tier = \"2\" }")
    .replace("Sid       = \"send\"", "Sid       = \"send2\"")
    .replace("maxReceiveCount     = 7", "maxReceiveCount     = 8")
}

#[test]
fn sqs_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    both_ways(oracle, "oq", BEFORE, &updated(BEFORE));
}

#[test]
fn sqs_imports_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    import_both_ways(oracle, "isqs", BEFORE);
}
