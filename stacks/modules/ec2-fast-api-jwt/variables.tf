variable "environment" {
  description = "Environment name (production, staging, ...), from the root inputs."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.environment))
    error_message = "The environment must be lower-case letters, digits and dashes."
  }
}

variable "aws_region" {
  description = "AWS region the environment lives in, from the root inputs."
  type        = string
}

variable "project_name" {
  description = "Project name; every resource name starts with <project_name>-<environment>."
  type        = string
}

variable "bucket_name" {
  description = "Storage bucket the host works with (s3-storage output)."
  type        = string
}

variable "instance_profile_name" {
  description = "Instance profile the host runs as (iam output)."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.micro"
}

variable "ami_name_pattern" {
  description = "Name pattern of the Amazon Linux 2023 image to run."
  type        = string
  default     = "al2023-ami-2023.*-kernel-6.1-x86_64"
}

variable "secret_arn" {
  description = "ARN of the JWT secret the API signs tokens with (secret-manager output)."
  type        = string
}

variable "app_port" {
  description = "Port the FastAPI service listens on."
  type        = number
  default     = 8000
}

variable "allowed_cidr_blocks" {
  description = "Networks allowed to call the API."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
