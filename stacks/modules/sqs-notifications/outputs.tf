output "file_upload_queue" {
  description = "ARN of the upload-event queue (what S3 notifications target)."
  value       = aws_sqs_queue.file_upload.arn
}

output "file_upload_queue_url" {
  description = "URL of the upload-event queue (what consumers poll)."
  value       = aws_sqs_queue.file_upload.url
}

output "file_upload_queue_name" {
  description = "Name of the upload-event queue."
  value       = aws_sqs_queue.file_upload.name
}

output "file_upload_dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.file_upload_dlq.arn
}
