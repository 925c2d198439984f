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

variable "visibility_timeout_seconds" {
  description = "How long a received upload event stays hidden while the API processes it."
  type        = number
  default     = 60
}

variable "message_retention_seconds" {
  description = "How long unprocessed upload events are kept (4 days by default)."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Receives before an event moves to the dead-letter queue."
  type        = number
  default     = 5
}
