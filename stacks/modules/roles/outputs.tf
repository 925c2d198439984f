output "deployer_role_name" {
  description = "Name of the deployer role."
  value       = aws_iam_role.deployer.name
}

output "deployer_role_arn" {
  description = "ARN of the deployer role."
  value       = aws_iam_role.deployer.arn
}
