# The identity the EC2 hosts run as: a role EC2 may assume, its access to the storage
# bucket, to the JWT secret of this environment, and to its own log groups.

locals {
  name_prefix       = "${var.project_name}-${var.environment}"
  storage_resources = split(",", var.storage_files_csv)
  tags = {
    Component = "iam"
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    sid     = "EC2AssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = "${local.name_prefix}-app"
  description        = "Role of the ${var.project_name} EC2 hosts (${var.environment})"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "storage" {
  statement {
    sid       = "ListBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.storage_resources[0]]
  }

  statement {
    sid       = "ReadWriteFiles"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = slice(local.storage_resources, 1, length(local.storage_resources))
  }
}

resource "aws_iam_policy" "storage" {
  name        = "${local.name_prefix}-storage-access"
  description = "Read and write the ${var.project_name} storage bucket"
  policy      = data.aws_iam_policy_document.storage.json
  tags        = local.tags
}

resource "aws_iam_role_policy_attachment" "storage" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.storage.arn
}

# The secret lives in a unit applied in parallel with this one, so it is named by
# pattern rather than by ARN.
data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "ReadJwtSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = ["arn:aws:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${local.name_prefix}/*"]
  }

  statement {
    sid       = "WriteLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/${var.project_name}/${var.environment}/*"]
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "${local.name_prefix}-runtime"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_iam_instance_profile" "app" {
  name = "${local.name_prefix}-app"
  role = aws_iam_role.app.name
  tags = local.tags
}
