//! The provider block's `default_tags` and an `aws_instance` with no `key_name`, both
//! ways against the provider: `tags` and `tags_all` as the provider records them (a
//! resource's own tag overriding a default one, a resource with only default tags, an
//! instance and the tags its root volume gets), before and after each tool changes the
//! default tags.

use super::{both_ways, oracle};

/// One resource of each service whose tags the provider's `default_tags` reach, in the
/// shapes that differ: the role's own `env` overrides the default `env`; the bucket and
/// the secret have only default tags (their `tags` is `{}`, `tags_all` the defaults);
/// the security group and the instance add their own. The instance has no key pair.
const BEFORE: &str = r#"
provider "aws" {
  default_tags {
    tags = { team = "oracle", env = "default" }
  }
}

data "aws_vpc" "default" {
  default = true
}

data "aws_ami" "al" {
  owners      = ["amazon"]
  most_recent = true
  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-kernel-6.1-x86_64"]
  }
}

resource "aws_iam_role" "r" {
  name = "@NAME@-role"
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

resource "aws_s3_bucket" "b" {
  bucket        = "@NAME@-b"
  force_destroy = true
}

resource "aws_secretsmanager_secret" "s" {
  name                    = "@NAME@-s"
  recovery_window_in_days = 0
}

resource "aws_security_group" "sg" {
  name   = "@NAME@-sg"
  vpc_id = data.aws_vpc.default.id
  tags   = { Name = "@NAME@-sg" }
}

resource "aws_instance" "nokey" {
  ami           = data.aws_ami.al.id
  instance_type = "t3.micro"
  tags          = { Name = "@NAME@-i" }
}
"#;

/// The default tags changed: a value changed, a key added; every resource's `tags_all`
/// changes, and the bucket's and secret's `tags` stay `{}`.
fn updated(text: &str) -> String {
    text.replace(
        "tags = { team = \"oracle\", env = \"default\" }",
        "tags = { team = \"oracle2\", env = \"default\", owner = \"oracle\" }",
    )
}

#[test]
fn default_tags_and_a_keyless_instance_both_ways_on_the_emulator() {
    let Some(oracle) = oracle() else { return };
    let after = updated(BEFORE);
    assert_ne!(after, BEFORE, "the update must change the default tags");
    both_ways(oracle, "odt", BEFORE, &after);
}
