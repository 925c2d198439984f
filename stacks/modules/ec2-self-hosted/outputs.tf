output "instance_id" {
  description = "ID of the runner host."
  value       = aws_instance.runner.id
}

output "private_ip" {
  description = "Private address of the runner host."
  value       = aws_instance.runner.private_ip
}

output "security_group_id" {
  description = "Security group of the runner host."
  value       = aws_security_group.runner.id
}
