# Baseline customer-managed policies, attached by whoever needs them.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "policies"
  }
}

data "aws_iam_policy_document" "read_only_app" {
  statement {
    sid    = "DescribeAppResources"
    effect = "Allow"
    actions = [
      "ec2:DescribeInstances",
      "ec2:DescribeSecurityGroups",
      "s3:ListAllMyBuckets",
      "sqs:ListQueues",
      "secretsmanager:ListSecrets",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "stay_in_region" {
  statement {
    sid         = "DenyOutsideRegion"
    effect      = "Deny"
    not_actions = ["iam:*", "sts:*"]
    resources   = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = [var.aws_region]
    }
  }
}

resource "aws_iam_policy" "read_only_app" {
  name        = "${local.name_prefix}-read-only-app"
  description = "Read-only view of the ${var.project_name} resources"
  policy      = data.aws_iam_policy_document.read_only_app.json
  tags        = local.tags
}

resource "aws_iam_policy" "stay_in_region" {
  name        = "${local.name_prefix}-stay-in-region"
  description = "Denies everything outside ${var.aws_region} except global IAM and STS"
  policy      = data.aws_iam_policy_document.stay_in_region.json
  tags        = local.tags
}
