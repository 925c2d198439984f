# The queue S3 notifies when a file is uploaded, with a dead-letter queue for messages
# the API fails to process.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "sqs-notifications"
  }
}

data "aws_caller_identity" "current" {}

resource "aws_sqs_queue" "file_upload_dlq" {
  name                      = "${local.name_prefix}-file-upload-dlq"
  message_retention_seconds = 1209600
  tags                      = local.tags
}

resource "aws_sqs_queue" "file_upload" {
  name                       = "${local.name_prefix}-file-upload"
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 10
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.file_upload_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = local.tags
}

# Only this account's storage bucket of this environment may send upload events. The
# pattern ends in "-storage-files-" so that another environment whose name starts with
# this one's ("prod" and "prod-eu") does not match.
data "aws_iam_policy_document" "s3_can_send" {
  statement {
    sid       = "AllowS3UploadEvents"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.file_upload.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:s3:::${local.name_prefix}-storage-files-*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "file_upload" {
  queue_url = aws_sqs_queue.file_upload.id
  policy    = data.aws_iam_policy_document.s3_can_send.json
}
