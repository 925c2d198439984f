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

variable "ssh_cidr_blocks" {
  description = "Networks allowed to reach the host over SSH."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "runner_labels" {
  description = "Labels the self-hosted CI runner registers with."
  type        = list(string)
  default     = ["self-hosted", "linux", "x64"]
}
