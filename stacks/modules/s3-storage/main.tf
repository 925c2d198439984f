# The bucket users upload files to. Uploads of CSV files under uploads/ are announced on
# the queue of the sqs-notifications unit.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "s3-storage"
  }
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "files" {
  # Bucket names are global: the account id keeps two accounts from colliding.
  bucket = "${local.name_prefix}-storage-files-${data.aws_caller_identity.current.account_id}"
  # Off by default: destroying the environment must not silently delete users' files.
  force_destroy = var.force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_versioning" "files" {
  bucket = aws_s3_bucket.files.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "files" {
  bucket = aws_s3_bucket.files.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "files" {
  bucket                  = aws_s3_bucket.files.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "files" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.files.arn, "${aws_s3_bucket.files.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "files" {
  bucket = aws_s3_bucket.files.id
  policy = data.aws_iam_policy_document.files.json

  # A bucket policy is rejected while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.files]
}

resource "aws_s3_bucket_notification" "files" {
  bucket = aws_s3_bucket.files.id

  queue {
    id            = "csv-uploads"
    queue_arn     = var.file_upload_queue
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.upload_prefix
    filter_suffix = ".csv"
  }
}
