output "secret_arn" {
  description = "ARN of the JWT secret."
  value       = aws_secretsmanager_secret.jwt.arn
}

output "secret_name" {
  description = "Name of the JWT secret."
  value       = aws_secretsmanager_secret.jwt.name
}
