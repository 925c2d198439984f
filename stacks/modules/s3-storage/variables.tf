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

variable "file_upload_queue" {
  description = "ARN of the queue that receives upload events (sqs-notifications output)."
  type        = string

  validation {
    condition     = startswith(var.file_upload_queue, "arn:")
    error_message = "file_upload_queue must be a queue ARN."
  }
}

variable "upload_prefix" {
  description = "Key prefix under which uploaded CSV files are announced."
  type        = string
  default     = "uploads/"
}

variable "force_destroy" {
  description = "Let destroy delete the bucket while it still holds files (every version is lost)."
  type        = bool
  default     = false
}
