output "read_only_policy_arn" {
  description = "ARN of the read-only policy."
  value       = aws_iam_policy.read_only_app.arn
}

output "stay_in_region_policy_arn" {
  description = "ARN of the region guard policy."
  value       = aws_iam_policy.stay_in_region.arn
}
