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

variable "jwt_signing_key" {
  description = "HMAC key that signs the API's tokens; empty generates one per environment."
  type        = string
  default     = ""
  sensitive   = true
}

variable "jwt_algorithm" {
  description = "JWT signing algorithm."
  type        = string
  default     = "HS256"

  validation {
    condition     = contains(["HS256", "HS384", "HS512"], var.jwt_algorithm)
    error_message = "jwt_algorithm must be one of HS256, HS384, HS512."
  }
}

variable "jwt_expiration_minutes" {
  description = "Lifetime of an access token."
  type        = number
  default     = 30
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored; 0 deletes at once."
  type        = number
  default     = 0
}
