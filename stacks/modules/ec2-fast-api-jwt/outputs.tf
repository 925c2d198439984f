output "instance_id" {
  description = "ID of the API host."
  value       = aws_instance.api.id
}

output "private_ip" {
  description = "Private address of the API host."
  value       = aws_instance.api.private_ip
}

output "security_group_id" {
  description = "Security group of the API host."
  value       = aws_security_group.api.id
}

output "api_url" {
  description = "Where the API answers inside the VPC."
  value       = "http://${aws_instance.api.private_ip}:${var.app_port}"
}
