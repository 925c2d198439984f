output "role_name" {
  description = "Name of the role of the EC2 hosts."
  value       = aws_iam_role.app.name
}

output "role_arn" {
  description = "ARN of the role of the EC2 hosts."
  value       = aws_iam_role.app.arn
}

output "instance_profile_name" {
  description = "Instance profile to launch the EC2 hosts with."
  value       = aws_iam_instance_profile.app.name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile."
  value       = aws_iam_instance_profile.app.arn
}

output "storage_policy_arn" {
  description = "ARN of the storage access policy."
  value       = aws_iam_policy.storage.arn
}
