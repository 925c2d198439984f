# The JWT signing configuration the FastAPI service reads at boot.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "secret-manager"
  }

  # Without a key given (TF_VAR_jwt_signing_key or inputs), one is derived from the
  # account and environment so every environment signs with a different key. Give a real
  # key for anything exposed to users.
  jwt_signing_key = var.jwt_signing_key != "" ? var.jwt_signing_key : sha256("${local.name_prefix}-${data.aws_caller_identity.current.account_id}-jwt")
}

data "aws_caller_identity" "current" {}

resource "aws_secretsmanager_secret" "jwt" {
  name                    = "${local.name_prefix}/fast-api/jwt"
  description             = "JWT signing settings of the ${var.project_name} API (${var.environment})"
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id = aws_secretsmanager_secret.jwt.id
  secret_string = jsonencode({
    algorithm          = var.jwt_algorithm
    signing_key        = local.jwt_signing_key
    expiration_minutes = var.jwt_expiration_minutes
    issuer             = "${var.project_name}.${var.environment}"
  })
}
