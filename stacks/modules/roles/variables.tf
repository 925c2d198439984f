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

variable "max_session_duration" {
  description = "How long a deployer session lasts, in seconds (1 to 12 hours)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}
