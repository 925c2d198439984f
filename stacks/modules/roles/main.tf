# Baseline roles: a deployer role that people and CI in this account assume to run forge.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "roles"
  }
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "deployer_trust" {
  statement {
    sid     = "AccountPrincipals"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_iam_role" "deployer" {
  name                 = "${local.name_prefix}-deployer"
  description          = "Assumed to deploy ${var.project_name} (${var.environment})"
  assume_role_policy   = data.aws_iam_policy_document.deployer_trust.json
  max_session_duration = var.max_session_duration
  tags                 = local.tags
}
