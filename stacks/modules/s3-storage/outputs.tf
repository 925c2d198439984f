output "bucket_name" {
  description = "Name of the storage bucket."
  value       = aws_s3_bucket.files.id
}

output "bucket_arn" {
  description = "ARN of the storage bucket."
  value       = aws_s3_bucket.files.arn
}

# The resources an IAM policy must name to read and write the stored files, as one
# comma-separated string (the bucket, then its objects).
output "storage_files_csv" {
  description = "Comma-separated ARNs of the bucket and its objects, for IAM policies."
  value       = join(",", [aws_s3_bucket.files.arn, "${aws_s3_bucket.files.arn}/*"])
}
